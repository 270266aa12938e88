"""OTEL spans of the agent worker, grouped per learning session.

Every span carries ``langfuse.session.id`` (the learning session) and ``langfuse.user.id`` (the
student), so a session's turns, routing decisions, guardrail checks and handoffs line up as one
session in Langfuse even though they run in different worker processes (pipeline and English).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from tutorplane.agent.state import SessionState
from tutorplane.common.telemetry import SESSION_ID_ATTR, USER_ID_ATTR

tracer = trace.get_tracer("tutorplane.agent")


def session_attributes(state: SessionState) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        SESSION_ID_ATTR: state.session_id,
        "tutorplane.session_id": state.session_id,
        "tutorplane.room": state.room_name,
        "tutorplane.worker_role": state.role,
    }
    if state.student_id:
        attrs[USER_ID_ATTR] = state.student_id
    return attrs


@contextmanager
def session_span(name: str, state: SessionState, **attributes: Any) -> Iterator[trace.Span]:
    """A span stamped with the session grouping attributes (``None`` values are left out)."""
    attrs = session_attributes(state)
    attrs.update({f"tutorplane.{k}": v for k, v in attributes.items() if v is not None})
    with tracer.start_as_current_span(name, attributes=attrs) as span:
        yield span


def event_span(name: str, state: SessionState, **attributes: Any) -> None:
    """A zero-length span marking a moment (a handoff, an escalation, an agent entering)."""
    with session_span(name, state, **attributes):
        pass
