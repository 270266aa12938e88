/**
 * Browser events and client errors, sent to `POST /api/events` (recorded as trace spans).
 * Fire-and-forget: reporting never fails or slows the page, and a crash loop cannot flood the
 * gateway (at most MAX_PER_MINUTE events leave the page per minute).
 */
import { api, type ApiClient } from "./http";

const MAX_PER_MINUTE = 30;
const MAX_TEXT = 500;
const KEY = /^[a-z][a-z0-9_.]{0,63}$/;

type Attr = string | number | boolean;

let sentThisMinute = 0;
let windowStart = 0;

function allowed(now: number): boolean {
  if (now - windowStart > 60_000) {
    windowStart = now;
    sentThisMinute = 0;
  }
  sentThisMinute += 1;
  return sentThisMinute <= MAX_PER_MINUTE;
}

export function cleanAttributes(attributes: Record<string, unknown>): Record<string, Attr> {
  const out: Record<string, Attr> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (!KEY.test(key) || Object.keys(out).length >= 32) continue;
    if (typeof value === "number" && Number.isFinite(value)) out[key] = value;
    else if (typeof value === "boolean") out[key] = value;
    else if (typeof value === "string") out[key] = value.slice(0, MAX_TEXT);
  }
  return out;
}

export function reportEvent(
  name: string,
  attributes: Record<string, unknown> = {},
  options: { sessionId?: string | null; durationMs?: number; client?: ApiClient } = {},
): void {
  if (!allowed(Date.now())) return;
  const client = options.client ?? api;
  const body = {
    name,
    session_id: options.sessionId ?? null,
    attributes: cleanAttributes({ page: location.pathname, ...attributes }),
    duration_ms: options.durationMs ?? null,
    client_ts_ms: Date.now(),
  };
  client.post("/api/events", { body }).catch(() => undefined);
}

export function reportError(error: unknown, kind: string, extra: Record<string, unknown> = {}): void {
  const err = error instanceof Error ? error : new Error(String(error));
  reportEvent("client.error", {
    kind,
    message: err.message,
    error_name: err.name,
    stack: (err.stack ?? "").split("\n").slice(0, 4).join(" | "),
    ...extra,
  });
}

let installed = false;

/** Report uncaught errors and unhandled promise rejections of the whole page. */
export function installErrorReporting(): void {
  if (installed) return;
  installed = true;
  window.addEventListener("error", (ev) => reportError(ev.error ?? ev.message, "window.error"));
  window.addEventListener("unhandledrejection", (ev) => reportError(ev.reason, "unhandledrejection"));
}
