"""Value types of routing: subjects, conversation turns and the structured routing decision.

Decisions are plain frozen dataclasses (hot path, no validation cost); they become
``routing_decisions`` rows through :meth:`RoutingDecision.to_row`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Literal


class Subject(StrEnum):
    """Where a student turn goes. The values are the ``routing_decisions.subject`` CHECK values."""

    math = "math"
    history = "history"
    english = "english"
    off_topic = "off_topic"
    needs_teacher = "needs_teacher"

    @property
    def is_specialist(self) -> bool:
        """True for the three teaching subjects (a follow-up can stay on these)."""
        return self in TEACHING_SUBJECTS


TEACHING_SUBJECTS: frozenset[Subject] = frozenset({Subject.math, Subject.history, Subject.english})


class Strategy(StrEnum):
    """How the decision was made (``routing_decisions.strategy``)."""

    two_stage = "two_stage"
    function_tools = "function_tools"


class Stage(StrEnum):
    """Which stage produced the decision (``routing_decisions.stage``)."""

    local = "local"
    llm = "llm"
    tool = "tool"


Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier turn of the conversation as the router and specialists see it.

    ``subject`` is the subject the turn was routed to (user turns) or answered in (assistant
    turns); it is what lets an elliptical follow-up stay on the previous subject.
    """

    role: Role
    text: str
    subject: Subject | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        role = data.get("role")
        if role not in ("user", "assistant"):
            raise ValueError(f"turn role must be 'user' or 'assistant', got {role!r}")
        subject = data.get("subject")
        return cls(role=role, text=str(data.get("text", "")), subject=Subject(subject) if subject else None)


def last_subject(history: list[Turn] | tuple[Turn, ...]) -> Subject | None:
    """The most recent teaching subject in ``history`` (off_topic/needs_teacher do not carry over)."""
    for turn in reversed(history):
        if turn.subject is not None:
            return turn.subject if turn.subject.is_specialist else None
    return None


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_LONG_DIGITS = re.compile(r"\d[\d \-]{6,}\d")
EXCERPT_CHARS = 120


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A short, masked excerpt of student text for audit rows (emails and phone-like numbers hidden)."""
    masked = _LONG_DIGITS.sub("[number]", _EMAIL.sub("[email]", " ".join(text.split())))
    return masked if len(masked) <= limit else masked[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """The structured result of routing one student turn.

    Attributes:
        subject: where the turn goes.
        confidence: calibrated probability in [0, 1] that ``subject`` is right.
        strategy: ``two_stage`` (local then LLM) or ``function_tools`` (LLM tool call).
        stage: ``local``, ``llm`` or ``tool``: which stage produced this answer.
        latency_ms: wall time the routing took, all stages included.
        rationale: a short human-readable reason (rule hit, strongest features, LLM rationale).
    """

    subject: Subject
    confidence: float
    strategy: Strategy
    stage: Stage
    latency_ms: float
    rationale: str

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be within [0, 1], got {self.confidence}")
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {self.latency_ms}")

    def with_latency(self, latency_ms: float) -> RoutingDecision:
        return replace(self, latency_ms=max(0.0, latency_ms))

    def to_row(self, session_id: Any, turn_index: int, text: str) -> dict[str, Any]:
        """The ``routing_decisions`` row for this decision (for ``AuditWriter.submit``)."""
        return {
            "session_id": session_id,
            "turn_index": turn_index,
            "subject": self.subject.value,
            "confidence": round(self.confidence, 4),
            "strategy": self.strategy.value,
            "stage": self.stage.value,
            "latency_ms": round(self.latency_ms, 3),
            "rationale": self.rationale[:500],
            "excerpt": excerpt(text),
        }


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens one model call consumed, for cost accounting (``provider_usage`` rows)."""

    provider: Literal["openai", "anthropic"]
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    kind: str = "chat"

    def to_row(self, session_id: Any, turn_index: int) -> dict[str, Any]:
        return {
            "session_id": session_id,
            "turn_index": turn_index,
            "provider": self.provider,
            "model": self.model,
            "input_tokens": max(0, int(self.input_tokens)),
            "output_tokens": max(0, int(self.output_tokens)),
            "audio_seconds": 0.0,
            "kind": self.kind,
        }
