"""Small wire-level helpers shared by both providers: ids, token estimates, SSE framing."""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Iterator
from typing import Any

from aiohttp import web

_WORD_CHUNK = re.compile(r"\s*\S+\s*")


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + secrets.token_hex(length // 2 + 1)[:length]


def estimate_tokens(text: str) -> int:
    """About four characters per token, never zero for non-empty text."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def text_chunks(text: str) -> list[str]:
    """Word-sized stream deltas whose concatenation is exactly `text`."""
    pieces = _WORD_CHUNK.findall(text)
    if "".join(pieces) != text:
        return [text] if text else []
    return pieces


def json_chunks(payload: str, size: int = 12) -> Iterator[str]:
    for start in range(0, len(payload), size):
        yield payload[start : start + size]


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


STARTED_RESPONSE = web.RequestKey("tutorplane.started_response", web.StreamResponse)


async def start_stream(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Send the head of a streamed response and remember it on the request: when the client hangs
    up mid-stream (a barge-in, a first-token probe), the error middleware hands it back to aiohttp,
    which then ends the exchange quietly instead of logging a server error."""
    await response.prepare(request)
    request[STARTED_RESPONSE] = response
    return response


async def start_sse(request: web.Request, headers: dict[str, str] | None = None) -> web.StreamResponse:
    response = web.StreamResponse(
        status=200,
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", **(headers or {})},
    )
    return await start_stream(request, response)


async def send_sse(response: web.StreamResponse, data: Any, *, event: str | None = None) -> None:
    payload = data if isinstance(data, str) else dumps(data)
    frame = (f"event: {event}\n" if event else "") + f"data: {payload}\n\n"
    await response.write(frame.encode("utf-8"))
