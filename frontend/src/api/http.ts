/**
 * The typed API client: every call is checked against the gateway's OpenAPI schema (schema.d.ts).
 *
 * Cookies carry the sign-in (HttpOnly); state-changing calls send the CSRF token in X-CSRF-Token
 * (double submit). A token is fetched before the first such call and once more when the gateway
 * answers that the CSRF check failed (for example after signing in or out in another tab).
 */
import type { paths } from "./schema";

export const CSRF_HEADER = "X-CSRF-Token";

type Method = "get" | "post";
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

type JsonOf<R> = R extends { content: { "application/json": infer J } } ? J : never;
type SuccessOf<O> = O extends { responses: infer R }
  ? 200 extends keyof R
    ? JsonOf<R[200]>
    : 201 extends keyof R
      ? JsonOf<R[201]>
      : 202 extends keyof R
        ? JsonOf<R[202]>
        : never
  : never;
type BodyOf<O> = O extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;
type PathParamsOf<O> = O extends { parameters: { path?: infer P } } ? (P extends undefined ? never : P) : never;
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? (Q extends undefined ? never : Q) : never;

export type PathsWith<M extends Method> = {
  [P in keyof paths]: paths[P][M] extends undefined | never ? never : P;
}[keyof paths];

export interface CallOptions<O> {
  path?: PathParamsOf<O>;
  query?: QueryOf<O>;
  body?: BodyOf<O>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A failed call: the HTTP status and the gateway's own explanation (its `detail`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
    this.name = "ApiError";
  }

  get isCsrf(): boolean {
    return this.status === 403 && /csrf/i.test(this.detail);
  }
}

export function describeFailure(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429) return `You're going a bit fast: ${error.detail}`;
    return error.detail;
  }
  if (error instanceof TypeError) {
    return "Can't reach the tutor service. Check your internet connection, then try again.";
  }
  return error instanceof Error ? error.message : String(error);
}

export function fillPath(template: string, params: Record<string, unknown> | undefined): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined || value === null) throw new Error(`missing path parameter ${name} for ${template}`);
    return encodeURIComponent(String(value));
  });
}

function queryString(query: Record<string, unknown> | undefined): string {
  if (!query) return "";
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

async function errorFrom(response: Response): Promise<ApiError> {
  let detail = `${response.status} ${response.statusText}`.trim();
  try {
    const body: unknown = await response.json();
    if (body && typeof body === "object" && "detail" in body) {
      const d = (body as { detail: unknown }).detail;
      if (typeof d === "string") detail = d;
      else if (Array.isArray(d)) {
        detail = d
          .map((item: { loc?: unknown[]; msg?: string }) => `${(item.loc ?? []).slice(1).join(".")}: ${item.msg ?? ""}`)
          .join("; ");
      }
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, detail);
}

export interface ApiClientOptions {
  baseUrl?: string;
  fetchImpl?: typeof fetch;
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private csrf: { token: string; expiresAt: number } | null = null;
  private pendingCsrf: Promise<string> | null = null;

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? "";
    this.fetchImpl = options.fetchImpl ?? ((input, init) => fetch(input, init));
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  /** Remember a token the gateway handed out (the login response carries one). */
  setCsrf(token: string, expiresAt: number): void {
    this.csrf = { token, expiresAt };
  }

  forgetCsrf(): void {
    this.csrf = null;
  }

  async csrfToken(): Promise<string> {
    const now = Date.now() / 1000;
    if (this.csrf && this.csrf.expiresAt - now > 30) return this.csrf.token;
    if (!this.pendingCsrf) {
      this.pendingCsrf = (async () => {
        const response = await this.fetchImpl(this.url("/api/auth/csrf"), {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (!response.ok) throw await errorFrom(response);
        const body = (await response.json()) as { token: string; expires_at: number };
        this.setCsrf(body.token, body.expires_at);
        return body.token;
      })().finally(() => {
        this.pendingCsrf = null;
      });
    }
    return this.pendingCsrf;
  }

  /** Raw request with the CSRF header on anything that is not a GET; retried once on a CSRF refusal. */
  async request(method: string, path: string, init: RequestInit = {}, retry = true): Promise<Response> {
    const headers = new Headers(init.headers);
    if (!headers.has("Accept")) headers.set("Accept", "application/json");
    const unsafe = method !== "GET" && method !== "HEAD";
    if (unsafe) headers.set(CSRF_HEADER, await this.csrfToken());
    const response = await this.fetchImpl(this.url(path), {
      ...init,
      method,
      headers,
      credentials: "same-origin",
    });
    if (response.ok) return response;
    const error = await errorFrom(response);
    if (unsafe && retry && error.isCsrf) {
      this.forgetCsrf();
      return this.request(method, path, init, false);
    }
    throw error;
  }

  async get<P extends PathsWith<"get">>(
    path: P,
    options: CallOptions<Operation<P, "get">> = {},
  ): Promise<SuccessOf<Operation<P, "get">>> {
    return this.call("GET", path, options);
  }

  async post<P extends PathsWith<"post">>(
    path: P,
    options: CallOptions<Operation<P, "post">> = {},
  ): Promise<SuccessOf<Operation<P, "post">>> {
    return this.call("POST", path, options);
  }

  private async call<T>(
    method: string,
    template: string,
    options: { path?: unknown; query?: unknown; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal },
  ): Promise<T> {
    const path =
      fillPath(template, options.path as Record<string, unknown> | undefined) +
      queryString(options.query as Record<string, unknown> | undefined);
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    const response = await this.request(method, path, { headers, body, signal: options.signal });
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }
}

export const api = new ApiClient();
