"""Who may hand the student to whom, and the lines spoken at each handoff.

The orchestrator is always in control: it routes to a specialist, and a specialist only ever
hands back to the orchestrator (or escalates to a teacher). Specialists never hand over to each
other; a question for another subject goes back through the orchestrator, which routes it. This is
enforced here, in code, not left to the prompts.
"""

from __future__ import annotations

from tutorplane.agent import metrics
from tutorplane.agent.metadata import truncate_question
from tutorplane.agent.services import SessionServices
from tutorplane.agent.telemetry import event_span

ORCHESTRATOR = "orchestrator"
SPECIALISTS: frozenset[str] = frozenset({"math", "history", "english", "english_fallback"})

ALLOWED_HANDOFFS: dict[str, frozenset[str]] = {
    ORCHESTRATOR: SPECIALISTS,
    **{specialist: frozenset({ORCHESTRATOR}) for specialist in SPECIALISTS},
}

TRANSITION_LINES: dict[str, str] = {
    "math": "Great question! Let me bring in our math tutor.",
    "history": "Ooh, a history question! Let me bring in our history tutor.",
    "english": "Let me bring in our English tutor for that.",
    "english_fallback": "Let me help you with that English question.",
    ORCHESTRATOR: "Let me take you back to your main tutor.",
}
RETURN_GREETING = "Welcome back! What would you like to learn about next?"


class HandoffNotAllowed(RuntimeError):
    """A handoff that would break the orchestrator-in-control topology."""


def check_handoff(from_agent: str, to_agent: str) -> None:
    allowed = ALLOWED_HANDOFFS.get(from_agent, frozenset())
    if to_agent not in allowed:
        raise HandoffNotAllowed(
            f"{from_agent} may not hand the student to {to_agent}; "
            f"allowed targets of {from_agent}: {sorted(allowed) or 'none'}. "
            "Specialists hand back to the orchestrator, which routes the question."
        )


def record_handoff(
    services: SessionServices,
    *,
    from_agent: str,
    to_agent: str,
    mode: str,
    reason: str | None = None,
    question: str | None = None,
) -> None:
    """Check the handoff is allowed, then count it, trace it and tell the room."""
    check_handoff(from_agent, to_agent)
    services.state.handoffs_this_turn += 1
    masked = services.guard.mask(truncate_question(question)) if question else None
    metrics.HANDOFFS.labels(from_agent, to_agent, mode).inc()
    event_span(
        "agent.handoff", services.state, from_agent=from_agent, to_agent=to_agent, mode=mode, reason=reason
    )
    services.events.emit(
        "handoff",
        from_agent=from_agent,
        to_agent=to_agent,
        mode=mode,
        reason=reason,
        question=masked[:200] if masked else None,
    )
