"""The guardrail as the agents see it: a port over the shared engine in ``tutorplane.guardrail``.

* :meth:`SpeechGuard.guard_output` turns a stream of LLM text deltas into a stream of released
  sentences, each checked before it may be spoken (pipelined: sentence n+1 is checked while n is
  being spoken; the residual tail is always flushed).
* :meth:`SpeechGuard.check_input` moderates one student utterance after masking PII in it.
* :meth:`SpeechGuard.mask` masks PII locally (no network), for transcripts and logs.

Decisions that are not ``allow`` are audited by the engine (``guardrail_events`` rows through the
audit writer) and counted here; the agents turn ``escalate`` into a teacher escalation.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from tutorplane.guardrail import CheckContext, Guardrail, mask_pii

ALLOW = "allow"
REWRITE = "rewrite"
BLOCK = "block"
ESCALATE = "escalate"


@dataclass(frozen=True, slots=True)
class SentenceDecision:
    """One sentence released for speech."""

    text: str  # what may be spoken: the original, a rewrite, or the safe line
    action: str
    category: str | None = None
    score: float | None = None
    fail_closed: bool = False

    @property
    def stops_answer(self) -> bool:
        """After an escalation nothing more of the model's answer is spoken."""
        return self.action == ESCALATE


@dataclass(frozen=True, slots=True)
class InputDecision:
    masked_text: str
    action: str
    category: str | None = None
    score: float | None = None
    fail_closed: bool = False
    safe_line: str | None = None

    @property
    def allowed(self) -> bool:
        return self.action not in (BLOCK, ESCALATE)


class SpeechGuard(Protocol):
    def guard_output(
        self, deltas: AsyncIterable[str], *, session_id: str | None, source: str
    ) -> AsyncIterator[SentenceDecision]: ...

    async def check_input(self, text: str, *, session_id: str | None) -> InputDecision: ...

    def mask(self, text: str) -> str: ...

    async def aclose(self) -> None: ...


class GuardrailSpeechGuard:
    """:class:`SpeechGuard` over the shared engine (``tutorplane.guardrail.Guardrail``).

    The engine audits every non-allow decision through its audit sink; session ids that are not
    learning-session UUIDs (console mode) are left off its rows.
    """

    def __init__(self, guardrail: Guardrail) -> None:
        self.guardrail = guardrail

    @staticmethod
    def _context(session_id: str | None, source: str) -> CheckContext:
        sid: str | None = None
        if session_id:
            try:
                sid = str(uuid.UUID(session_id))
            except ValueError:
                sid = None
        return CheckContext(session_id=sid, source=source)

    async def guard_output(
        self, deltas: AsyncIterable[str], *, session_id: str | None, source: str
    ) -> AsyncIterator[SentenceDecision]:
        async with self.guardrail.stream(deltas, context=self._context(session_id, source)) as stream:
            async for sentence in stream:
                yield SentenceDecision(
                    text=sentence.text,
                    action=sentence.action.value,
                    category=sentence.category,
                    score=sentence.score,
                    fail_closed=sentence.fail_closed,
                )

    async def check_input(self, text: str, *, session_id: str | None) -> InputDecision:
        decision = await self.guardrail.check_input(text, context=self._context(session_id, "agent:input"))
        return InputDecision(
            masked_text=decision.text,
            action=decision.action.value,
            category=decision.category,
            score=decision.score,
            fail_closed=decision.fail_closed,
            safe_line=decision.safe_line,
        )

    def mask(self, text: str) -> str:
        return mask_pii(text).text

    async def aclose(self) -> None:
        await self.guardrail.aclose()
