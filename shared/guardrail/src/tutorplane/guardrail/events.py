"""What the guardrail tells its caller, and its fire-and-forget side effects (audit rows, hook calls)."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tutorplane.guardrail.audit import AuditSink, submit_decision
from tutorplane.guardrail.decision import CheckContext, Decision
from tutorplane.guardrail.policy import Action, Direction

log = logging.getLogger(__name__)

# Hook tasks stay referenced here until done (the event loop keeps only weak references to tasks).
_HOOK_TASKS: set[asyncio.Task[Any]] = set()


@dataclass(frozen=True, slots=True)
class GuardedSentence:
    """One checked sentence. Speak ``text``; ``original`` is what the model wrote."""

    text: str
    original: str
    action: Action
    category: str | None
    score: float
    index: int
    fail_closed: bool
    escalate: bool
    flagged: bool = False
    reason: str = "clean"

    @classmethod
    def from_decision(cls, decision: Decision, index: int) -> GuardedSentence:
        return cls(
            text=decision.text,
            original=decision.original,
            action=decision.action,
            category=decision.category,
            score=decision.score,
            index=index,
            fail_closed=decision.fail_closed,
            escalate=decision.escalate,
            flagged=decision.flagged,
            reason=decision.reason,
        )


@dataclass(frozen=True, slots=True)
class GuardrailEvent:
    """Hook payload. ``kind``: ``sentence`` (a non-allow or flagged sentence, at release, in order),
    ``escalation`` (as soon as decided, before release), ``stall_flush``, ``halted``, ``input``."""

    kind: str
    direction: Direction
    context: CheckContext
    sentence: GuardedSentence | None = None
    decision: Decision | None = None
    detail: str = ""


# The hook may return an awaitable; it is run as a task and never awaited by the stream.
EventHook = Callable[[GuardrailEvent], object]


@dataclass(slots=True)
class SideEffects:
    """Audit rows and hook calls, never awaited by the speaking path."""

    direction: Direction
    context: CheckContext
    audit: AuditSink | None
    on_event: EventHook | None
    hash_key: bytes | None

    @staticmethod
    def run_in_background(awaitable: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(awaitable)
        _HOOK_TASKS.add(task)
        task.add_done_callback(_hook_done)

    def audit_decision(self, decision: Decision) -> None:
        submit_decision(
            self.audit, decision, direction=self.direction, context=self.context, hash_key=self.hash_key
        )

    def emit(
        self,
        kind: str,
        *,
        sentence: GuardedSentence | None = None,
        decision: Decision | None = None,
        detail: str = "",
    ) -> None:
        if self.on_event is None:
            return
        event = GuardrailEvent(kind, self.direction, self.context, sentence, decision, detail)
        try:
            result = self.on_event(event)
        except Exception:
            log.exception("guardrail event hook failed", extra={"kind": kind})
            return
        if inspect.isawaitable(result):
            self.run_in_background(result)


def _hook_done(task: asyncio.Task[Any]) -> None:
    _HOOK_TASKS.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("guardrail background task failed", exc_info=task.exception())
