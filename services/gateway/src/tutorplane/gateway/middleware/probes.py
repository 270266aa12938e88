"""Liveness answered at the edge: ``GET /healthz`` never traverses routing, auth or the database.

Kubernetes probes every few seconds on every replica; the answer only says "this process serves
HTTP", so it is a constant built once. The FastAPI route of the same path documents it in OpenAPI.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

HEALTH_BODY = b'{"status":"ok"}'


class ProbeMiddleware:
    def __init__(self, app: ASGIApp, extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.app = app
        self.headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(HEALTH_BODY)).encode()),
            (b"cache-control", b"no-store"),
            *(extra_headers or []),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/healthz" and scope["method"] in ("GET", "HEAD"):
            await send({"type": "http.response.start", "status": 200, "headers": self.headers})
            body = b"" if scope["method"] == "HEAD" else HEALTH_BODY
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
