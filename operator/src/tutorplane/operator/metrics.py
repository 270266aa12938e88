"""Prometheus metrics of the operator itself (names carry their unit)."""

from __future__ import annotations

from tutorplane.common.metrics import counter, gauge, histogram

RECONCILE_SECONDS = histogram(
    "tutorplane_operator_reconcile_seconds",
    "Time of one reconcile of a TutorDeployment, per handler (create, update, resume, timer, child).",
    ["handler"],
)
RECONCILE_ERRORS = counter(
    "tutorplane_operator_reconcile_errors_total",
    "Reconciles that raised, per handler.",
    ["handler"],
)
CHILD_WRITES = counter(
    "tutorplane_operator_child_writes_total",
    "Writes to child objects, per action (create, patch, delete) and kind.",
    ["action", "kind"],
)
API_REQUESTS = counter(
    "tutorplane_operator_api_requests_total",
    "Kubernetes API requests made by the operator's client, per method, kind and HTTP code.",
    ["method", "kind", "code"],
)
ROLLOUT_VERDICTS = counter(
    "tutorplane_operator_rollout_verdicts_total",
    "Rollout analysis verdicts (pass, fail, inconclusive).",
    ["verdict"],
)
ROLLBACKS = counter("tutorplane_operator_rollbacks_total", "Rollouts rolled back to the last good weights.")
MANAGED_OBJECTS = gauge(
    "tutorplane_operator_managed_objects",
    "Child objects the operator currently manages, per kind.",
    ["kind"],
)
MANAGED_DEPLOYMENTS = gauge("tutorplane_operator_tutordeployments", "TutorDeployments being managed.")
VARIANT_WEIGHT = gauge(
    "tutorplane_operator_variant_weight_percent",
    "Share of new sessions a variant receives now, per TutorDeployment.",
    ["namespace", "deployment", "variant"],
)
