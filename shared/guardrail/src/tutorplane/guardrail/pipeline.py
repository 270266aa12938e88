"""The streaming guardrail: text deltas in, checked sentences out, in order, pipelined.

``GuardedStream`` reads model output deltas, splits them into sentences and starts checking each
sentence the moment it is complete — so sentence n+1 is being checked while sentence n is spoken,
and after the first sentence the guardrail adds no delay whenever checking is faster than speaking.
Look-ahead is bounded (``lookahead`` sentences checked but not yet consumed); sentences that become
complete together are checked in one batch, the first sentence of a stream alone so it is released
as early as possible. The buffered tail is always flushed at the end of the stream and whenever no
delta arrives for ``stall_timeout_s``.

Side effects never sit in the speaking path: audit rows are handed to a non-blocking sink, and the
event hook is called synchronously (a coroutine it returns runs as a task that is not awaited).

``check_input`` is the input side: moderation of the student's text plus PII masking.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

from tutorplane.common.metrics import counter, histogram
from tutorplane.guardrail.audit import AuditSink
from tutorplane.guardrail.checker import GuardrailChecker
from tutorplane.guardrail.decision import CheckContext, Decision, unavailable_decision
from tutorplane.guardrail.events import EventHook, GuardedSentence, GuardrailEvent, SideEffects
from tutorplane.guardrail.pii import mask_pii
from tutorplane.guardrail.policy import Action, Direction
from tutorplane.guardrail.splitter import DEFAULT_MAX_CHARS, DEFAULT_MIN_CHARS, SentenceSplitter

__all__ = ["EventHook", "GuardedSentence", "GuardedStream", "GuardrailEvent", "PipelineConfig", "check_input"]

log = logging.getLogger(__name__)

SENTENCES = counter(
    "tutorplane_guardrail_sentences_total", "Sentences released by the streaming guardrail.", ["action"]
)
FAIL_CLOSED = counter(
    "tutorplane_guardrail_fail_closed_total",
    "Decisions made by the fail mode (no moderation answer).",
    ["direction", "closed"],
)
RELEASE_WAIT = histogram(
    "tutorplane_guardrail_release_wait_seconds",
    "Time a consumer waited for a complete sentence's check (the delay the guardrail added).",
)
STALL_FLUSHES = counter(
    "tutorplane_guardrail_stall_flushes_total", "Buffers flushed because the stream stalled."
)


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Streaming knobs. Defaults suit a voice tutor; every one is a setting of the services."""

    min_chars: int = DEFAULT_MIN_CHARS
    max_chars: int = DEFAULT_MAX_CHARS
    lookahead: int = 16  # sentences checked ahead of the consumer (bounds concurrent work)
    max_batch: int = 8  # sentences per moderation request
    # Checks in flight at once. Sentences that complete while both are out wait and go together in
    # the next request: a slow model gets one check per sentence as before, a fast stream (or a
    # loaded service) gets fewer, fuller requests instead of one per sentence.
    max_inflight: int = 3
    stall_timeout_s: float | None = 2.0  # flush the buffer when no delta arrives this long
    check_timeout_s: float = 5.0  # backstop over one check (moderation + rewrite); then fail mode
    halt_on_escalate: bool = True  # after an escalated sentence, the rest of the answer is not spoken
    first_sentence_alone: bool = True  # the first sentence is never waiting on a batch

    def __post_init__(self) -> None:
        if self.lookahead < 1 or self.max_batch < 1 or self.max_inflight < 1:
            raise ValueError("lookahead, max_batch and max_inflight must be >= 1")
        if self.stall_timeout_s is not None and self.stall_timeout_s <= 0:
            raise ValueError("stall_timeout_s must be > 0 (or None to disable stall flushing)")
        if self.check_timeout_s <= 0:
            raise ValueError("check_timeout_s must be > 0")
        SentenceSplitter(min_chars=self.min_chars, max_chars=self.max_chars)  # validates lengths


@dataclass(slots=True)
class _Slot:
    index: int
    text: str
    future: asyncio.Future[Decision]


_END = object()


class GuardedStream(AsyncIterator[GuardedSentence]):
    """``async for sentence in GuardedStream(deltas, checker): speak(sentence.text)``.

    Use it as an async context manager (or call :meth:`aclose`) so an abandoned stream cancels its
    checks and closes the delta source. An error from the delta source is raised after every
    sentence received before it has been released.

    The model stream is read by one background task at the model's pace (never held back by a slow
    consumer); complete sentences are queued in order and their checks are started as soon as the
    look-ahead window has room. Everything between reading a delta and starting a check is
    synchronous, so sentence order cannot be disturbed by a stall flush.
    """

    def __init__(
        self,
        deltas: AsyncIterable[str],
        checker: GuardrailChecker,
        *,
        context: CheckContext | None = None,
        config: PipelineConfig | None = None,
        audit: AuditSink | None = None,
        on_event: EventHook | None = None,
        hash_key: bytes | None = None,
        direction: Direction = Direction.output,
    ) -> None:
        self._deltas = deltas
        self._checker = checker
        self.context = context or CheckContext()
        self.config = config or PipelineConfig()
        self.direction = direction
        self._side = SideEffects(direction, self.context, audit, on_event, hash_key)
        self._splitter = SentenceSplitter(min_chars=self.config.min_chars, max_chars=self.config.max_chars)
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._waiting: deque[_Slot] = deque()  # complete sentences whose check has not started
        self._outstanding = 0  # checks started whose sentence has not been consumed
        self._checks: set[asyncio.Task[None]] = set()
        self._producer: asyncio.Task[None] | None = None
        self._stall_timer: asyncio.TimerHandle | None = None
        self._last_delta_at = 0.0
        self._reading = False
        self._next_index = 0
        self._error: BaseException | None = None
        self._finished = False
        self._last_replacement: str | None = None  # the safe line just released, if it was one

    # -- consumer side ----------------------------------------------------------------------------

    def __aiter__(self) -> GuardedStream:
        return self

    async def __anext__(self) -> GuardedSentence:
        if self._finished:
            raise StopAsyncIteration
        if self._producer is None:
            self._producer = asyncio.create_task(self._produce(), name="guardrail-producer")
        item = await self._queue.get()
        if item is _END:
            self._finished = True
            if self._error is not None:
                raise self._error
            raise StopAsyncIteration
        slot: _Slot = item
        loop = asyncio.get_running_loop()
        waited_from = loop.time()
        decision = await slot.future
        RELEASE_WAIT.observe(loop.time() - waited_from)
        self._outstanding -= 1
        self._launch_waiting()
        sentence = GuardedSentence.from_decision(decision, slot.index)
        replaced = sentence.action != Action.allow and sentence.text != sentence.original
        if replaced and sentence.text and sentence.text == self._last_replacement:
            # The same safe line again (typically moderation down and every sentence failing
            # closed): said once, not once per sentence. The decision is still reported below.
            sentence = dataclasses.replace(sentence, text="")
        elif sentence.text:
            self._last_replacement = sentence.text if replaced else None
        SENTENCES.labels(sentence.action.value).inc()
        if sentence.action != Action.allow or sentence.flagged or decision.unchecked:
            self._side.emit("sentence", sentence=sentence, decision=decision)
        if sentence.escalate and self.config.halt_on_escalate:
            self._halt(sentence)
        return sentence

    async def __aenter__(self) -> GuardedStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading, cancel checks in flight, close the delta source. Idempotent."""
        self._finished = True
        self._cancel_work()
        tasks = [t for t in (self._producer, *self._checks) if t is not None and not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._close_source()

    def _halt(self, sentence: GuardedSentence) -> None:
        self._finished = True
        dropped = self._queue.qsize()
        self._cancel_work()
        self._side.emit(
            "halted", sentence=sentence, detail=f"stopped after escalation; {dropped} queued dropped"
        )
        self._side.run_in_background(self._close_source())

    def _cancel_work(self) -> None:
        if self._stall_timer is not None:
            self._stall_timer.cancel()
        self._waiting.clear()
        for task in (self._producer, *self._checks):
            if task is not None and not task.done():
                task.cancel()

    async def _close_source(self) -> None:
        """Close the model stream (stops token generation) once the producer has let go of it."""
        if self._producer is not None and not self._producer.done():
            await asyncio.wait({self._producer})
        closer = getattr(self._deltas, "aclose", None)
        if closer is not None:
            with contextlib.suppress(Exception):
                await closer()

    # -- producer side ----------------------------------------------------------------------------

    async def _produce(self) -> None:
        loop = asyncio.get_running_loop()
        stall = self.config.stall_timeout_s
        try:
            if stall is not None:
                self._last_delta_at = loop.time()
                self._stall_timer = loop.call_at(self._last_delta_at + stall, self._on_stall_timer)
            self._reading = True
            async for delta in self._deltas:
                self._last_delta_at = loop.time()
                if delta:
                    self._dispatch(self._splitter.push(delta))
            self._reading = False
            self._dispatch(self._splitter.flush())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the model stream failed: release what we have, then raise it
            self._error = exc
            self._dispatch(self._splitter.flush())
        finally:
            self._reading = False
            if self._stall_timer is not None:
                self._stall_timer.cancel()
            self._queue.put_nowait(_END)

    def _on_stall_timer(self) -> None:
        """No delta for ``stall_timeout_s``: flush the buffer so the student is not left waiting."""
        if not self._reading:
            return
        loop = asyncio.get_running_loop()
        stall = self.config.stall_timeout_s
        assert stall is not None
        now = loop.time()
        if now - self._last_delta_at >= stall:
            chunks = self._splitter.flush()
            if chunks:
                STALL_FLUSHES.inc()
                self._side.emit("stall_flush", detail=f"{len(chunks)} chunk(s) after {stall}s without text")
                self._dispatch(chunks)
            self._last_delta_at = now
        self._stall_timer = loop.call_at(self._last_delta_at + stall, self._on_stall_timer)

    def _dispatch(self, chunks: list[str]) -> None:
        if not chunks or self._finished:
            return
        loop = asyncio.get_running_loop()
        for text in chunks:
            slot = _Slot(self._next_index, text, loop.create_future())
            self._next_index += 1
            self._queue.put_nowait(slot)
            self._waiting.append(slot)
        self._launch_waiting()

    def _launch_waiting(self) -> None:
        """Start checks for waiting sentences while the look-ahead window has room, in batches."""
        config = self.config
        while (
            self._waiting and self._outstanding < config.lookahead and len(self._checks) < config.max_inflight
        ):
            room = config.lookahead - self._outstanding
            size = min(room, config.max_batch, len(self._waiting))
            if config.first_sentence_alone and self._waiting[0].index == 0:
                size = 1
            batch = [self._waiting.popleft() for _ in range(size)]
            self._outstanding += size
            task = asyncio.create_task(self._check(batch), name="guardrail-check")
            self._checks.add(task)
            task.add_done_callback(self._check_done)

    def _check_done(self, task: asyncio.Task[None]) -> None:
        self._checks.discard(task)
        if not task.cancelled() and not self._finished:
            self._launch_waiting()  # a slot is free: send what completed meanwhile

    async def _check(self, slots: list[_Slot]) -> None:
        texts = [slot.text for slot in slots]
        try:
            async with asyncio.timeout(self.config.check_timeout_s):
                decisions = await self._checker.check(texts, direction=self.direction, context=self.context)
            if len(decisions) != len(texts):
                raise ValueError(f"checker returned {len(decisions)} decisions for {len(texts)} texts")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            why = "timeout" if isinstance(exc, TimeoutError) else "checker_error"
            log.warning("guardrail check failed; applying fail mode", extra={"reason": why}, exc_info=exc)
            decisions = [unavailable_decision(self._checker.policy, t, self.direction, why) for t in texts]
        for slot, decision in zip(slots, decisions, strict=True):
            if decision.unchecked:
                FAIL_CLOSED.labels(self.direction.value, str(decision.fail_closed).lower()).inc()
            self._side.audit_decision(decision)
            if decision.escalate:
                self._side.emit(
                    "escalation",
                    decision=decision,
                    sentence=GuardedSentence.from_decision(decision, slot.index),
                )
            if not slot.future.done():
                slot.future.set_result(decision)


async def check_input(
    text: str,
    checker: GuardrailChecker,
    *,
    context: CheckContext | None = None,
    audit: AuditSink | None = None,
    on_event: EventHook | None = None,
    hash_key: bytes | None = None,
    timeout_s: float = 5.0,
) -> Decision:
    """Check a student's text before it reaches a model: PII masked, moderated, escalated if needed.

    Forward ``decision.text`` (masked) to the model when ``decision.action`` is allow; otherwise say
    ``decision.safe_line`` instead, and when ``decision.escalate`` raise a teacher escalation (the
    ``escalation`` event is emitted for that).
    """
    context = context or CheckContext()
    side = SideEffects(Direction.input, context, audit, on_event, hash_key)
    try:
        async with asyncio.timeout(timeout_s):
            (decision,) = await checker.check([text], direction=Direction.input, context=context)
    except Exception as exc:
        why = "timeout" if isinstance(exc, TimeoutError) else "checker_error"
        log.warning("input check failed; applying fail mode", extra={"reason": why}, exc_info=exc)
        masked = mask_pii(text)
        decision = unavailable_decision(
            checker.policy, text, Direction.input, why, masked=masked.text, pii=tuple(masked.kinds)
        )
    if decision.unchecked:
        FAIL_CLOSED.labels(Direction.input.value, str(decision.fail_closed).lower()).inc()
    side.audit_decision(decision)
    side.emit("input", decision=decision)
    if decision.escalate:
        side.emit("escalation", decision=decision)
    return decision
