"""Hand a consumer every text delta that has already arrived as one string.

A model stream often delivers several deltas in one network read; passing them on together lets
the sentence guardrail check the sentences they complete in one batch. Nothing ever waits for more
text: when only one delta is ready, it goes on alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

_END = object()


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def coalesce_ready(source: AsyncIterator[str]) -> AsyncIterator[str]:
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for delta in source:
                queue.put_nowait(delta)
        except Exception as exc:
            queue.put_nowait(_Failure(exc))
        finally:
            queue.put_nowait(_END)

    task = asyncio.create_task(pump(), name="delta-pump")
    try:
        while True:
            item = await queue.get()
            parts: list[str] = []
            while True:
                if item is _END:
                    if parts:
                        yield "".join(parts)
                    return
                if isinstance(item, _Failure):
                    if parts:
                        yield "".join(parts)
                    raise item.error
                parts.append(item)
                if queue.empty():
                    break
                item = queue.get_nowait()
            yield "".join(parts)
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        closer = getattr(source, "aclose", None)
        if closer is not None:
            with contextlib.suppress(Exception):
                await closer()
