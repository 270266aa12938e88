"""The body-limit middleware both HTTP services use, driven at the ASGI level."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.types import Message, Receive, Scope, Send
from tutorplane.common.asgi import BodyLimitMiddleware

pytestmark = pytest.mark.unit


async def call(app: Any, chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> tuple[int, Any]:
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/echo",
        "raw_path": b"/echo",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body)


class Echo(BaseModel):
    text: str


def fastapi_app(**options: Any) -> Any:
    app = FastAPI()

    @app.post("/echo")
    async def echo(payload: Echo) -> Echo:
        return payload

    return BodyLimitMiddleware(app, 64, **options)


async def test_a_declared_length_over_the_limit_is_refused_before_the_app_runs() -> None:
    refused: list[int] = []
    reached: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope)

    limited = BodyLimitMiddleware(
        app,
        64,
        advice="send fewer texts",
        error_body=lambda status, error, message: {"error": error, "message": message},
        on_refused=lambda: refused.append(1),
    )
    status, body = await call(limited, [b"x" * 65], [(b"content-length", b"65")])
    assert (status, body) == (
        413,
        {"error": "request_too_large", "message": "request body over 64 bytes; send fewer texts"},
    )
    assert refused == [1] and reached == []

    status, body = await call(limited, [b"{}"], [(b"content-length", b"12abc")])
    assert (status, body) == (400, {"error": "bad_request", "message": "Content-Length is not a number"})


async def test_a_streamed_body_is_cut_off_once_it_passes_the_limit() -> None:
    # No Content-Length (chunked upload): FastAPI's body parsing meets the error and answers 413.
    status, body = await call(fastapi_app(), [b'{"text": "', b"y" * 40, b"z" * 40, b'"}'], [])
    assert status == 413 and body == {"detail": "request body over 64 bytes; send less"}


async def test_bodies_within_the_limit_pass() -> None:
    payload = b'{"text": "hello"}'
    status, body = await call(fastapi_app(), [payload[:5], payload[5:]], [])
    assert (status, body) == (200, {"text": "hello"})
    status, body = await call(fastapi_app(), [payload], [(b"content-length", str(len(payload)).encode())])
    assert (status, body) == (200, {"text": "hello"})
