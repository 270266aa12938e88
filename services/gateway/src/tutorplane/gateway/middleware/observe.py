"""Request metrics and request ids (pure ASGI; the route template keeps label cardinality bounded)."""

from __future__ import annotations

import os
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tutorplane.common.logging import request_id_var
from tutorplane.gateway.core.metrics import REQUEST_SECONDS, REQUESTS

_COUNTERS: dict[tuple[str, str, str], Any] = {}
_TIMERS: dict[tuple[str, str], Any] = {}


def _counter(route: str, method: str, status: str) -> Any:
    key = (route, method, status)
    child = _COUNTERS.get(key)
    if child is None:
        child = _COUNTERS[key] = REQUESTS.labels(route, method, status)
    return child


def _timer(route: str, method: str) -> Any:
    key = (route, method)
    child = _TIMERS.get(key)
    if child is None:
        child = _TIMERS[key] = REQUEST_SECONDS.labels(route, method)
    return child


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "static" if scope.get("method") == "GET" else "unmatched"


class ObserveMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if 0 < len(candidate) <= 64 and candidate.replace("-", "").isalnum():
                    request_id = candidate
                break
        request_id = request_id or os.urandom(12).hex()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", request_id.encode())

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
                _timer(_route_template(scope), scope["method"]).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            _counter(_route_template(scope), scope["method"], f"{status // 100}xx").inc()
            request_id_var.reset(token)
