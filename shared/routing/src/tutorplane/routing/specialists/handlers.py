"""Handlers for the two non-teaching outcomes. They answer with fixed, reviewed lines (no model
call: instant, free, and nothing for the guardrail to catch) through the same port as the
specialists.

* ``off_topic``: a brief, kind redirect; a greeting, a goodbye, or a clarifying question when the
  student asked for help without saying the subject.
* ``needs_teacher``: a reassuring line, and an :class:`EscalationRequest` the caller persists as an
  ``escalation_events`` row (it knows the student; the insert trigger notifies the teacher feed).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any

from tutorplane.routing.features import tokens
from tutorplane.routing.prompts import (
    CLARIFY_LINE,
    FAREWELL_LINE,
    GREETING_LINE,
    NEEDS_TEACHER_LINE,
    OFF_TOPIC_LINES,
)
from tutorplane.routing.specialists.base import SpecialistReply
from tutorplane.routing.types import RoutingDecision, Subject, Turn, excerpt

_GREETINGS = frozenset({"hi", "hello", "hey", "hiya", "morning", "afternoon"})
_FAREWELLS = frozenset({"bye", "goodbye", "goodnight", "later"})
_HELP_WORDS = frozenset({"help", "homework", "question", "stuck", "assignment", "test", "exam", "revise"})


def off_topic_line(question: str) -> str:
    toks = tokens(question)
    words = set(toks)
    if words & _FAREWELLS:
        return FAREWELL_LINE
    if words & _HELP_WORDS:
        return CLARIFY_LINE
    if toks and toks[0] in _GREETINGS and len(toks) <= 6:
        return GREETING_LINE
    index = hashlib.blake2s(question.encode(), digest_size=1).digest()[0] % len(OFF_TOPIC_LINES)
    return OFF_TOPIC_LINES[index]


async def _lines(*lines: str) -> AsyncGenerator[str, None]:
    for line in lines:
        yield line


class OffTopicHandler:
    name = "off_topic"
    subject = Subject.off_topic

    def stream(self, question: str, history: Sequence[Turn] = ()) -> SpecialistReply:
        return SpecialistReply(self.name, None)._attach(_lines(off_topic_line(question)))


class ClarifyHandler:
    """Asks which subject the question is about (routing stayed unsure after both stages)."""

    name = "clarify"
    subject = Subject.off_topic

    def stream(self, question: str, history: Sequence[Turn] = ()) -> SpecialistReply:
        return SpecialistReply(self.name, None)._attach(_lines(CLARIFY_LINE))


@dataclass(frozen=True, slots=True)
class EscalationRequest:
    """A request for a teacher, raised by the router (``source='router'``) or a specialist."""

    reason: str
    source: str = "router"

    def to_row(self, session_id: Any, student_id: Any) -> dict[str, Any]:
        """The ``escalation_events`` row (status defaults to 'open')."""
        return {
            "session_id": session_id,
            "student_id": student_id,
            "reason": self.reason,
            "source": self.source,
        }


class NeedsTeacherHandler:
    name = "needs_teacher"
    subject = Subject.needs_teacher

    def stream(self, question: str, history: Sequence[Turn] = ()) -> SpecialistReply:
        return SpecialistReply(self.name, None)._attach(_lines(NEEDS_TEACHER_LINE))

    @staticmethod
    def escalation(decision: RoutingDecision, question: str) -> EscalationRequest:
        """What the teacher sees: why the router escalated and a masked excerpt of the message."""
        return EscalationRequest(
            reason=f"{decision.rationale[:200]} — student said: “{excerpt(question)}”",
            source="router",
        )
