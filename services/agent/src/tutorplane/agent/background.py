"""Fire-and-forget work that is still owned: every task is referenced until done and awaited at close.

``asyncio.create_task`` keeps only a weak reference; an unreferenced task can be garbage collected
mid-flight. LiveKit event handlers must be synchronous, so they start work here instead of awaiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class BackgroundTasks:
    def __init__(self, name: str = "background") -> None:
        self._name = name
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str | None = None) -> asyncio.Task[Any] | None:
        """Run ``coro`` in the background; errors are logged, never raised into the caller."""
        if self._closed:
            coro.close()
            log.warning("background work dropped after close", extra={"owner": self._name, "task": name})
            return None
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:
            log.error(
                "background task failed",
                extra={"owner": self._name, "task": task.get_name(), "error": repr(exc)},
                exc_info=exc,
            )

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, grace_s: float = 5.0) -> None:
        """Wait for pending work (up to ``grace_s``), then cancel what is left."""
        pending = set(self._tasks)
        if pending:
            _, still = await asyncio.wait(pending, timeout=grace_s)
            for task in still:
                task.cancel()
            if still:
                await asyncio.gather(*still, return_exceptions=True)

    async def aclose(self, grace_s: float = 5.0) -> None:
        self._closed = True
        await self.drain(grace_s)
