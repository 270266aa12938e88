"""Server-Sent Events of a model stream, read as plain dicts.

The SDKs still build, authenticate, retry and check the request (``with_streaming_response``
raises their usual status errors); only the body is read here. Their typed stream builds a
validated model object for every event, which on a ten-sentence answer cost more CPU than the
rest of the turn together; a specialist needs three fields of those events.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import orjson


class ProviderStreamError(Exception):
    """The provider reported an error inside an already-started stream (``event: error``)."""

    def __init__(self, provider: str, body: Any) -> None:
        detail = body.get("error", body) if isinstance(body, dict) else body
        super().__init__(f"{provider} stream error: {detail}")
        self.provider = provider
        self.body = body


async def sse_event_batches(
    chunks: AsyncIterable[bytes],
) -> AsyncIterator[list[tuple[str | None, Any]]]:
    """The events completed by each network read, as one list (comments and ``[DONE]`` skipped).

    A model stream is one small event per token or word; handing them on per read instead of per
    event lets a consumer join the text that has already arrived, and saves a pass through every
    generator above it for each event. Nothing waits: a read that completes one event yields it.
    """
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        if b"\n\n" not in buffer and b"\r\n\r\n" not in buffer:
            continue
        buffer = buffer.replace(b"\r\n", b"\n")
        *frames, buffer = buffer.split(b"\n\n")
        batch = [parsed for parsed in map(_frame, frames) if parsed is not None]
        if batch:
            yield batch
    parsed = _frame(buffer.replace(b"\r\n", b"\n"))
    if parsed is not None:
        yield [parsed]


def _frame(frame: bytes) -> tuple[str | None, Any] | None:
    event: str | None = None
    data: list[bytes] = []
    for line in frame.split(b"\n"):
        if line.startswith(b"data:"):
            data.append(line[6:] if line[5:6] == b" " else line[5:])
        elif line.startswith(b"event:"):
            event = line[6:].strip().decode()
    if not data:
        return None
    payload = b"\n".join(data)
    if payload == b"[DONE]":
        return None
    # orjson: a ten-sentence answer is ~150 events, and the stdlib parser took 4-5 us on each
    return event, orjson.loads(payload)
