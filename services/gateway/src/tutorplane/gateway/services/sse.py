"""Server-Sent Events framing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

SSE_HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
    "Connection": "keep-alive",
}
SSE_MEDIA_TYPE = "text/event-stream"


def sse_event(event: str, data: Any, event_id: int | str | None = None) -> bytes:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), default=str)
    lines.extend(f"data: {line}" for line in text.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


def sse_comment(text: str = "ping") -> bytes:
    return f": {text}\n\n".encode()


def sse_retry(ms: int) -> bytes:
    return f"retry: {ms}\n\n".encode()


HEARTBEAT = object()
CLOSING = object()


async def next_item(
    queue: asyncio.Queue[Any], *, heartbeat_s: float, closing: Callable[[], bool], poll_s: float = 1.0
) -> Any:
    """The next queued item, ``HEARTBEAT`` after ``heartbeat_s`` of quiet, or ``CLOSING`` once
    ``closing()`` turns true (checked every ``poll_s``). Leaves no pending task behind."""
    quiet = 0.0
    while True:
        if closing():
            return CLOSING
        step = min(poll_s, heartbeat_s - quiet)
        try:
            return await asyncio.wait_for(queue.get(), step)
        except TimeoutError:
            quiet += step
            if quiet >= heartbeat_s:
                return HEARTBEAT
