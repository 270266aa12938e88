"""Prometheus collectors of routing and specialists (names carry units)."""

from __future__ import annotations

from tutorplane.common.metrics import counter, histogram

ROUTING_DECISIONS = counter(
    "tutorplane_routing_decisions_total",
    "Routing decisions by strategy, stage and subject.",
    ("strategy", "stage", "subject"),
)
ROUTING_SECONDS = histogram(
    "tutorplane_routing_seconds",
    "Wall time of one routing decision, all stages included.",
    ("strategy", "stage"),
)
ROUTING_LLM_FALLBACKS = counter(
    "tutorplane_routing_llm_fallbacks_total",
    "Stage-2 classifier failures answered with the stage-1 decision, by reason.",
    ("reason",),
)
SPECIALIST_ERRORS = counter(
    "tutorplane_specialist_errors_total",
    "Specialist model calls that failed and were answered with a polite fallback, by reason.",
    ("specialist", "reason"),
)
SPECIALIST_FIRST_TOKEN_SECONDS = histogram(
    "tutorplane_specialist_first_token_seconds",
    "Time from a specialist request to its first text delta.",
    ("specialist",),
)
