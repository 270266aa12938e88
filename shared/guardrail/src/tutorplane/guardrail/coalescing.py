"""Moderation requests from concurrent checks, merged into fewer, fuller API calls.

The guardrail service answers many turns at once; each check carries one or a few sentences. Sent
as they come, every check is one moderation API call (its own HTTP round trip, rate-limit token
and response parsing). :class:`CoalescingModeration` keeps at most ``max_inflight`` calls open;
texts that arrive while they are all out wait and go together in the next call (up to
``max_batch`` texts). Nothing ever waits for company: with a free slot a check is sent at once,
so an idle service adds no latency and a busy one sends fewer requests.

A failed call fails exactly the checks it carried (each caller applies its fail mode); a caller
that gave up (timeout, cancel) is dropped from the batch it was waiting for.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from tutorplane.common.metrics import counter, histogram
from tutorplane.guardrail.moderation import ModerationClient, ModerationError, ModerationResult

BATCH_TEXTS = histogram(
    "tutorplane_guardrail_moderation_batch_texts",
    "Texts per moderation API call after merging concurrent checks.",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
MERGED = counter(
    "tutorplane_guardrail_moderation_merged_checks_total",
    "Checks that shared a moderation API call with another check.",
)


@dataclass(slots=True)
class _Waiting:
    texts: list[str]
    future: asyncio.Future[list[ModerationResult]]


class CoalescingModeration:
    """A :class:`ModerationClient` that merges concurrent calls to ``inner``."""

    def __init__(self, inner: ModerationClient, *, max_batch: int = 32, max_inflight: int = 4) -> None:
        if max_batch < 1 or max_inflight < 1:
            raise ValueError("max_batch and max_inflight must be >= 1")
        self.inner = inner
        self.model = inner.model
        self.max_batch = max_batch
        self.max_inflight = max_inflight
        self._waiting: deque[_Waiting] = deque()
        self._calls: set[asyncio.Task[None]] = set()
        self._closed = False

    async def moderate(self, texts: Sequence[str]) -> list[ModerationResult]:
        if not texts:
            return []
        if self._closed:
            raise ModerationError("closed", "moderation client closed")
        future: asyncio.Future[list[ModerationResult]] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(list(texts), future))
        self._launch()
        return await future

    def _launch(self) -> None:
        while not self._closed and self._waiting and len(self._calls) < self.max_inflight:
            batch = [self._waiting.popleft()]
            size = len(batch[0].texts)
            while self._waiting and size + len(self._waiting[0].texts) <= self.max_batch:
                item = self._waiting.popleft()
                batch.append(item)
                size += len(item.texts)
            batch = [w for w in batch if not w.future.done()]  # callers that gave up
            if not batch:
                continue
            task = asyncio.create_task(self._call(batch), name="moderation-call")
            self._calls.add(task)
            task.add_done_callback(self._call_done)

    def _call_done(self, task: asyncio.Task[None]) -> None:
        self._calls.discard(task)
        self._launch()

    async def _call(self, batch: list[_Waiting]) -> None:
        texts = [t for w in batch for t in w.texts]
        BATCH_TEXTS.observe(len(texts))
        if len(batch) > 1:
            MERGED.inc(len(batch))
        try:
            results = await self.inner.moderate(texts)
            if len(results) != len(texts):
                raise ModerationError(
                    "bad_response", f"moderation returned {len(results)} results for {len(texts)} texts"
                )
        except asyncio.CancelledError:
            _fail(batch, ModerationError("closed", "moderation client closed"))
            raise
        except Exception as exc:  # ModerationError, or anything unexpected: fail these checks only
            _fail(batch, exc if isinstance(exc, ModerationError) else ModerationError("error", repr(exc)))
            return
        start = 0
        for waiting in batch:
            end = start + len(waiting.texts)
            if not waiting.future.done():
                waiting.future.set_result(results[start:end])
            start = end

    async def aclose(self) -> None:
        self._closed = True
        for task in list(self._calls):
            task.cancel()
        for task in list(self._calls):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        _fail(list(self._waiting), ModerationError("closed", "moderation client closed"))
        self._waiting.clear()
        await self.inner.aclose()


def _fail(batch: list[_Waiting], error: ModerationError) -> None:
    for waiting in batch:
        if not waiting.future.done():
            waiting.future.set_exception(error)
