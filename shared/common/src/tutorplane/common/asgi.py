"""Pure-ASGI pieces the HTTP services share (the gateway and the guardrail service).

Needs Starlette (the ``asgi`` extra; both services have it through FastAPI).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Each service answers errors in its own JSON shape: (status, error name, message) -> body.
ErrorBody = Callable[[int, str, str], dict[str, Any]]


def detail_body(status: int, error: str, message: str) -> dict[str, Any]:
    """FastAPI's own error shape: ``{"detail": message}``."""
    return {"detail": message}


async def send_json(
    send: Send, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A whole JSON response, straight to ``send`` (for middleware answering before the app)."""
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def too_large_message(limit: int, advice: str) -> str:
    return f"request body over {limit} bytes; {advice}"


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` once a streamed body passes the limit. An HTTPException, so FastAPI's
    body parsing re-raises it (any other error there becomes a 400 "error parsing the body")."""

    def __init__(self, limit: int, advice: str) -> None:
        super().__init__(413, too_large_message(limit, advice))


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with a JSON 413 before a handler reads them.

    A declared Content-Length over the limit is refused at once, a non-numeric one with 400; a
    streamed body is cut off as soon as it passes the limit. ``advice`` ends the message (what to
    send instead), ``error_body`` gives the service's error shape, ``on_refused`` counts refusals.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        advice: str = "send less",
        error_body: ErrorBody = detail_body,
        on_refused: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.advice = advice
        self.error_body = error_body
        self.on_refused = on_refused

    async def _refuse(self, send: Send) -> None:
        if self.on_refused is not None:
            self.on_refused()
        message = too_large_message(self.max_bytes, self.advice)
        await send_json(send, 413, self.error_body(413, "request_too_large", message))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    body = self.error_body(400, "bad_request", "Content-Length is not a number")
                    await send_json(send, 400, body)
                    return
                if int(value) > limit:
                    await self._refuse(send)
                    return
                break
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit, self.advice)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError:
            # Reached only when the app let it through (a handler reading the body itself); FastAPI's
            # body parsing turns it into a 413 through the app's exception handlers.
            if not started:
                await self._refuse(send)
