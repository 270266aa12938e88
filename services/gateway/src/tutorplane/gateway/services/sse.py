"""Server-Sent Events framing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson

SSE_HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
    "Connection": "keep-alive",
}
SSE_MEDIA_TYPE = "text/event-stream"


# As the stdlib encoder wrote them: datetimes and dataclasses through ``default=str`` (orjson would
# write datetimes with a "T" and dataclasses as objects), non-string keys as strings (orjson would
# refuse them); UUIDs come out the same either way.
_JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


def sse_event(event: str, data: Any, event_id: int | str | None = None) -> bytes:
    """One SSE frame. ``data`` that is not a string is written as compact JSON on one line (JSON
    escapes newlines); a string is split into ``data:`` lines."""
    head = f"event: {event}\n" if event_id is None else f"id: {event_id}\nevent: {event}\n"
    if isinstance(data, str):
        return (head + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n").encode()
    return b"".join(
        (head.encode(), b"data: ", orjson.dumps(data, default=str, option=_JSON_OPTIONS), b"\n\n")
    )


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
