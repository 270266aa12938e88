"""Escalation to a teacher: an ``escalation_events`` row (the gateway's durable, NOTIFY-driven teacher
feed), a flow event for the room and a metric. The student hears a spoken confirmation from the agent
that raised it.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field

from tutorplane.agent import metrics
from tutorplane.agent.audit import AuditSink
from tutorplane.agent.events import EventBus
from tutorplane.agent.state import SessionState
from tutorplane.agent.telemetry import event_span

log = logging.getLogger(__name__)

SOURCES = frozenset({"student", "guardrail", "router", "agent", "teacher"})
MAX_REASON_CHARS = 500
# The same reason from the same source within this window is one incident (one teacher alert).
DEBOUNCE_S = 60.0


@dataclass
class Escalations:
    state: SessionState
    audit: AuditSink
    events: EventBus
    _recent: dict[tuple[str, str], float] = field(default_factory=dict)

    def raise_(self, reason: str, *, source: str) -> bool:
        """Record an escalation; returns False when it repeats one raised moments ago."""
        if source not in SOURCES:
            raise ValueError(f"escalation source must be one of {sorted(SOURCES)}, got {source!r}")
        reason = " ".join(reason.split())[:MAX_REASON_CHARS] or "the student needs a teacher"
        now = time.monotonic()
        key = (source, reason)
        if (last := self._recent.get(key)) is not None and now - last < DEBOUNCE_S:
            return False
        self._recent[key] = now
        self.state.escalated = True
        self.state.escalation_reasons.append(reason)
        metrics.ESCALATIONS.labels(source).inc()
        event_span("teacher.escalation", self.state, reason=reason, source=source, turn=self.state.turn_index)
        self.events.emit("escalation", reason=reason, source=source, turn_index=self.state.turn_index)
        student_id = self.state.student_id
        if not student_id or not _is_uuid(self.state.session_id):
            log.error(
                "escalation not stored: the session has no student id (dispatch metadata must carry "
                "student_id); the flow event was still published",
                extra={"session_id": self.state.session_id, "reason": reason, "source": source},
            )
            return True
        self.audit.submit(
            "escalation_events",
            {
                "session_id": self.state.session_id,
                "student_id": student_id,
                "reason": reason,
                "source": source,
            },
        )
        return True


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
