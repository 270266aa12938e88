import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ApiClient, ApiError, CSRF_HEADER } from "../src/api/http";

/** A real HTTP server standing in for the gateway's CSRF rules (double submit, one token at a time). */
interface Seen {
  method: string;
  path: string;
  csrf: string | undefined;
  body: string;
}

let server: Server;
let baseUrl: string;
let seen: Seen[] = [];
let issued = 0;
let valid = "";

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await bodyOf(req);
    const csrf = req.headers["x-csrf-token"];
    seen.push({ method: req.method ?? "", path: req.url ?? "", csrf: typeof csrf === "string" ? csrf : undefined, body });
    res.setHeader("Content-Type", "application/json");
    if (req.url === "/api/auth/csrf") {
      issued += 1;
      valid = `token-${issued}`;
      res.end(JSON.stringify({ token: valid, expires_at: Math.floor(Date.now() / 1000) + 3600 }));
      return;
    }
    if (req.method === "POST" && csrf !== valid) {
      res.statusCode = 403;
      res.end(JSON.stringify({ detail: "CSRF check failed: CSRF token belongs to another sign-in; fetch a new one" }));
      return;
    }
    if (req.url?.startsWith("/api/sessions/")) {
      res.statusCode = 404;
      res.end(JSON.stringify({ detail: "no session 42 here; start one with POST /api/sessions" }));
      return;
    }
    res.statusCode = req.method === "POST" ? 201 : 200;
    res.end(JSON.stringify({ ok: true, path: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
});

describe("ApiClient", () => {
  it("sends the CSRF token on state-changing calls and not on reads", async () => {
    const client = new ApiClient({ baseUrl });
    await client.get("/api/config");
    await client.post("/api/sessions", { body: { client: { touch: false } }, query: { variant: "B" } });
    await client.post("/api/auth/logout");
    const [read, csrf, create, logout] = seen;
    expect(read).toMatchObject({ method: "GET", path: "/api/config", csrf: undefined });
    expect(csrf.path).toBe("/api/auth/csrf");
    expect(create).toMatchObject({ method: "POST", path: "/api/sessions?variant=B", csrf: valid });
    expect(JSON.parse(create.body)).toEqual({ client: { touch: false } });
    expect(logout.csrf).toBe(valid);
    expect(seen.filter((s) => s.path === "/api/auth/csrf")).toHaveLength(1);
  });

  it("uses a token handed over at sign-in without fetching one", async () => {
    const client = new ApiClient({ baseUrl });
    await client.get("/api/auth/csrf");
    client.setCsrf(valid, Math.floor(Date.now() / 1000) + 600);
    seen = [];
    await client.post("/api/auth/logout");
    expect(seen).toHaveLength(1);
    expect(seen[0].csrf).toBe(valid);
  });

  it("fetches a fresh token once when the gateway refuses a stale one", async () => {
    const client = new ApiClient({ baseUrl });
    client.setCsrf("stale", Math.floor(Date.now() / 1000) + 600);
    await client.post("/api/auth/logout");
    expect(seen.map((s) => [s.path, s.csrf])).toEqual([
      ["/api/auth/logout", "stale"],
      ["/api/auth/csrf", undefined],
      ["/api/auth/logout", valid],
    ]);
    expect(seen[0]).toBeDefined();
    expect(CSRF_HEADER).toBe("X-CSRF-Token");
  });

  it("fills path parameters and surfaces the gateway's explanation as ApiError", async () => {
    const client = new ApiClient({ baseUrl });
    const error = await client
      .post("/api/sessions/{session_id}/escalate", { path: { session_id: "42" }, body: { reason: "help" } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(404);
    expect((error as ApiError).detail).toBe("no session 42 here; start one with POST /api/sessions");
    expect(seen.at(-1)?.path).toBe("/api/sessions/42/escalate");
  });
});
