"""Refuse request bodies over the configured size with a JSON 413 before a handler reads them (pure ASGI).

A declared Content-Length over the limit is refused at once; a streamed body is cut off as soon as
it passes the limit (the error surfaces as an HTTPException(413), which the app's handler formats).
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tutorplane.guardrail_service.metrics import REJECTED


def too_large_message(limit: int) -> str:
    return f"request body over {limit} bytes; send fewer or shorter texts per request"


class BodyTooLargeError(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    await _send_json(
                        send, 400, {"error": "bad_request", "message": "Content-Length is not a number"}
                    )
                    return
                if int(value) > limit:
                    REJECTED.labels("too_large").inc()
                    await _send_json(
                        send, 413, {"error": "request_too_large", "message": too_large_message(limit)}
                    )
                    return
                break
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        await self.app(scope, limited_receive, send)


async def _send_json(send: Send, status: int, payload: dict[str, str]) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
