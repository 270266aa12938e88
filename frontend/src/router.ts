/** A few routes, the History API and nothing else (the gateway falls back to index.html). */
import { useSyncExternalStore } from "react";

export type RouteName = "signin" | "student" | "teacher" | "status" | "notfound";

const ROUTES: Record<string, RouteName> = {
  "/": "signin",
  "/signin": "signin",
  "/student": "student",
  "/teacher": "teacher",
  "/status": "status",
};

export function routeOf(pathname: string): RouteName {
  const clean = pathname.replace(/\/+$/, "") || "/";
  return ROUTES[clean] ?? "notfound";
}

const listeners = new Set<() => void>();

function notify(): void {
  for (const listener of listeners) listener();
}

window.addEventListener("popstate", notify);

export function navigate(path: string, replace = false): void {
  if (`${location.pathname}${location.search}` === path) return;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  notify();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useLocation(): { pathname: string; search: string } {
  const href = useSyncExternalStore(subscribe, () => `${location.pathname}${location.search}`);
  const url = new URL(href, location.origin);
  return { pathname: url.pathname, search: url.search };
}

export function homeFor(role: string): string {
  if (role === "student") return "/student";
  if (role === "teacher") return "/teacher";
  return "/status";
}
