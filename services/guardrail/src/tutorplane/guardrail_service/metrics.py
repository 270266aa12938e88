"""The service's Prometheus collectors (the default registry, served at /metrics)."""

from __future__ import annotations

from tutorplane.common.metrics import counter, histogram

CHECKS = counter(
    "tutorplane_guardrail_checks_total", "Texts checked by the guardrail service.", ["direction"]
)
ACTIONS = counter(
    "tutorplane_guardrail_actions_total",
    "Decisions by direction, action and category ('none' when no category fired).",
    ["direction", "action", "category"],
)
CHECK_SECONDS = histogram(
    "tutorplane_guardrail_check_seconds", "Time to answer one /v1/check request.", ["direction"]
)
REJECTED = counter(
    "tutorplane_guardrail_rejected_requests_total", "Requests refused before checking.", ["reason"]
)
