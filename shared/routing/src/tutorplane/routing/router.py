"""The router: stage 1 locally, stage 2 only when unsure, every decision audited.

``TwoStageRouter.route`` never raises on provider trouble (stage 2 falls back to stage 1) and
never waits on the database: the ``routing_decisions`` row (and the stage-2 ``provider_usage``
row) go to an audit sink whose ``submit`` is fire-and-forget (``tutorplane.db.audit.AuditWriter``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from tutorplane.routing.llm_classifier import LLMClassifier
from tutorplane.routing.local import LocalClassifier
from tutorplane.routing.metrics import ROUTING_DECISIONS, ROUTING_SECONDS
from tutorplane.routing.types import RoutingDecision, Turn, Usage


class AuditSink(Protocol):
    """What the router needs of ``AuditWriter``: a non-blocking, non-raising ``submit``."""

    def submit(self, table: str, row: dict[str, Any]) -> None: ...


@runtime_checkable
class Router(Protocol):
    """Both strategies (two-stage and function tools) answer this call."""

    async def route(
        self,
        text: str,
        history: Sequence[Turn] = (),
        *,
        session_id: Any = None,
        turn_index: int | None = None,
    ) -> RoutingDecision: ...


def record_decision(
    audit: AuditSink | None,
    decision: RoutingDecision,
    *,
    text: str,
    session_id: Any,
    turn_index: int | None,
    usage: Usage | None = None,
) -> None:
    """Count the decision and hand its rows to the audit sink (when the turn belongs to a session)."""
    ROUTING_DECISIONS.labels(decision.strategy.value, decision.stage.value, decision.subject.value).inc()
    ROUTING_SECONDS.labels(decision.strategy.value, decision.stage.value).observe(
        decision.latency_ms / 1000.0
    )
    if audit is None or session_id is None or turn_index is None:
        return
    audit.submit("routing_decisions", decision.to_row(session_id, turn_index, text))
    if usage is not None:
        audit.submit("provider_usage", usage.to_row(session_id, turn_index))


class TwoStageRouter:
    """Local classifier first; the LLM classifier only when stage-1 confidence < ``threshold``.

    ``llm=None`` makes a local-only router (stage 1 decides everything).
    """

    def __init__(
        self,
        local: LocalClassifier,
        llm: LLMClassifier | None,
        threshold: float = 0.7,
        *,
        audit: AuditSink | None = None,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], got {threshold}")
        self.local = local
        self.llm = llm
        self.threshold = threshold
        self.audit = audit

    async def route(
        self,
        text: str,
        history: Sequence[Turn] = (),
        *,
        session_id: Any = None,
        turn_index: int | None = None,
    ) -> RoutingDecision:
        started = time.perf_counter()
        decision = self.local.classify(text, history)
        usage: Usage | None = None
        if self.llm is not None and decision.confidence < self.threshold:
            classification = await self.llm.classify(text, history, fallback=decision)
            decision, usage = classification.decision, classification.usage
        decision = decision.with_latency((time.perf_counter() - started) * 1000.0)
        record_decision(
            self.audit, decision, text=text, session_id=session_id, turn_index=turn_index, usage=usage
        )
        return decision
