"""Status of a TutorDeployment from what its children report (pure functions).

A condition's ``lastTransitionTime`` moves only when its status flips, and messages are built
from observed state alone, so a resync over an unchanged cluster yields an identical status and
therefore no write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

CONDITION_TYPES = (
    "Ready",
    "Progressing",
    "Degraded",
    "VariantAReady",
    "VariantBReady",
    "GuardrailReady",
    "DependenciesReady",
    "AutoscalingActive",
)

# A flip into one of these states is a Warning event; every other flip is Normal.
BAD_STATES = {
    ("Degraded", "True"),
    ("Ready", "False"),
    ("VariantAReady", "False"),
    ("VariantBReady", "False"),
    ("GuardrailReady", "False"),
    ("DependenciesReady", "False"),
}
QUIET_REASONS = {"Disabled", "External", "NotConfigured", "Pending", "Progressing"}


@dataclass(frozen=True)
class Condition:
    type: str
    status: bool | None  # None = Unknown
    reason: str
    message: str

    @property
    def status_text(self) -> str:
        return "Unknown" if self.status is None else ("True" if self.status else "False")


@dataclass(frozen=True)
class Readiness:
    ready: bool
    ready_replicas: int
    replicas: int
    message: str
    progressing: bool = False


def _status(obj: Obj | None) -> Obj:
    return (obj or {}).get("status") or {}


def _generation_seen(obj: Obj) -> bool:
    generation = obj.get("metadata", {}).get("generation")
    observed = _status(obj).get("observedGeneration")
    return generation is None or observed is None or observed >= generation


def deployment_readiness(obj: Obj | None, name: str = "") -> Readiness:
    if obj is None:
        return Readiness(False, 0, 0, f"{name}: not created yet" if name else "not created yet", True)
    status = _status(obj)
    replicas = obj.get("spec", {}).get("replicas", 1)
    ready = int(status.get("readyReplicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    name = obj["metadata"]["name"]
    for cond in status.get("conditions", []) or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return Readiness(False, ready, replicas, f"{name}: rollout exceeded its progress deadline")
    rolled = updated >= replicas and _generation_seen(obj)
    ok = rolled and available >= replicas and (replicas == 0 or ready >= 1)
    message = f"{name}: {ready}/{replicas} ready" + ("" if rolled else f", {updated}/{replicas} updated")
    return Readiness(ok, ready, replicas, message, progressing=not ok)


def pool_readiness(parts: list[Readiness]) -> Readiness:
    """Readiness of the agent pool, one revision in several Deployments (pipeline first).

    The pool is ready only when every Deployment is; the replica counts are the pipeline's (the
    workers sessions are dispatched to, and what ``variants.A.replicas`` sizes), and the message
    names every Deployment that is not ready yet.
    """
    ready = all(part.ready for part in parts)
    shown = parts if ready else [part for part in parts if not part.ready]
    return Readiness(
        ready,
        parts[0].ready_replicas,
        parts[0].replicas,
        "; ".join(part.message for part in shown),
        progressing=any(part.progressing for part in parts),
    )


def statefulset_readiness(obj: Obj | None) -> Readiness:
    if obj is None:
        return Readiness(False, 0, 0, "not created yet", progressing=True)
    replicas = obj.get("spec", {}).get("replicas", 1)
    ready = int(_status(obj).get("readyReplicas") or 0)
    name = obj["metadata"]["name"]
    return Readiness(
        ready >= replicas, ready, replicas, f"{name}: {ready}/{replicas} ready", ready < replicas
    )


def job_state(obj: Obj | None) -> str:
    """Complete, Failed, or Running."""
    if obj is None:
        return "Running"
    status = _status(obj)
    for cond in status.get("conditions", []) or []:
        if cond.get("status") == "True" and cond.get("type") in ("Complete", "Failed"):
            return str(cond["type"])
    if int(status.get("succeeded") or 0) >= 1:
        return "Complete"
    return "Running"


def autoscaler_active(obj: Obj | None) -> tuple[bool, str]:
    if obj is None:
        return False, "not created yet"
    name = f"{obj['kind']} {obj['metadata']['name']}"
    wanted = "ScalingActive" if obj["kind"] == "HorizontalPodAutoscaler" else "Ready"
    for cond in _status(obj).get("conditions", []) or []:
        if cond.get("type") == wanted:
            if cond.get("status") == "True":
                return True, f"{name} active"
            return False, f"{name}: {cond.get('reason', '')} {cond.get('message', '')}".strip()
    return False, f"{name}: no metrics yet"


def merge_conditions(
    previous: list[Obj], current: list[Condition], now: str, generation: int | None
) -> list[Obj]:
    before = {cond.get("type"): cond for cond in previous or []}
    out: list[Obj] = []
    for cond in current:
        old = before.get(cond.type)
        changed = old is None or old.get("status") != cond.status_text
        entry: Obj = {
            "type": cond.type,
            "status": cond.status_text,
            "reason": cond.reason,
            "message": cond.message,
            "lastTransitionTime": now if changed or old is None else old.get("lastTransitionTime", now),
        }
        if generation is not None:
            entry["observedGeneration"] = generation
        out.append(entry)
    return out


@dataclass(frozen=True)
class Transition:
    type: str
    status: str
    reason: str
    message: str

    @property
    def warning(self) -> bool:
        return (self.type, self.status) in BAD_STATES and self.reason not in QUIET_REASONS


def transitions(previous: list[Obj], current: list[Obj]) -> list[Transition]:
    """Conditions whose status or reason changed (a new reason is news even at the same status)."""
    before = {cond.get("type"): (cond.get("status"), cond.get("reason")) for cond in previous or []}
    return [
        Transition(cond["type"], cond["status"], cond["reason"], cond["message"])
        for cond in current
        if before.get(cond["type"]) != (cond["status"], cond["reason"])
    ]


def phase_of(conditions: list[Condition]) -> str:
    by_type = {cond.type: cond.status for cond in conditions}
    if by_type.get("Degraded"):
        return "Degraded"
    if by_type.get("Progressing"):
        return "Progressing"
    if by_type.get("Ready"):
        return "Ready"
    return "Pending"


@dataclass
class Observations:
    """Inputs of the status computation, gathered by the reconciler."""

    variant_a: Readiness | None  # None: disabled
    gateway: Readiness
    guardrail: Readiness
    variant_b_enabled: bool
    dependencies_ready: bool
    dependencies_reason: str
    dependencies_message: str
    autoscalers: list[tuple[bool, str]] = field(default_factory=list)
    autoscaling_enabled: bool = True
    rollout_progressing: bool = False
    rollout_message: str = ""
    rolled_back: bool = False
    rollback_message: str = ""
    problems: list[str] = field(default_factory=list)


def compute_conditions(obs: Observations) -> list[Condition]:
    conds: list[Condition] = []
    a = obs.variant_a
    if a is None:
        cond_a = Condition("VariantAReady", False, "Disabled", "variant A is disabled")
    else:
        cond_a = Condition("VariantAReady", a.ready, "PoolReady" if a.ready else "PoolNotReady", a.message)
    gw = obs.gateway
    if obs.variant_b_enabled:
        cond_b = Condition(
            "VariantBReady", gw.ready, "GatewayReady" if gw.ready else "GatewayNotReady", gw.message
        )
    else:
        cond_b = Condition(
            "VariantBReady", False, "Disabled", "variant B is disabled (the gateway still serves A)"
        )
    g = obs.guardrail
    cond_g = Condition("GuardrailReady", g.ready, "Ready" if g.ready else "NotReady", g.message)
    cond_d = Condition(
        "DependenciesReady", obs.dependencies_ready, obs.dependencies_reason, obs.dependencies_message
    )
    if not obs.autoscaling_enabled:
        cond_s = Condition(
            "AutoscalingActive", False, "Disabled", "autoscaling is disabled for every variant"
        )
    elif obs.autoscalers and all(ok for ok, _ in obs.autoscalers):
        cond_s = Condition("AutoscalingActive", True, "Active", "; ".join(msg for _, msg in obs.autoscalers))
    else:
        waiting = "; ".join(msg for ok, msg in obs.autoscalers if not ok) or "no autoscaler yet"
        cond_s = Condition("AutoscalingActive", False, "NotActive", waiting)

    parts_ready = [cond_g.status, cond_d.status, gw.ready] + ([a.ready] if a is not None else [])
    ready = all(bool(p) for p in parts_ready) and not obs.problems
    waiting_on = [
        c.message for c in (cond_a, cond_b, cond_g, cond_d) if c.status is False and c.reason != "Disabled"
    ]
    if not obs.variant_b_enabled and not gw.ready:
        waiting_on.append(gw.message)
    cond_ready = Condition(
        "Ready",
        ready,
        "AllComponentsReady" if ready else "ComponentsNotReady",
        "all components ready" if ready else "; ".join(waiting_on + obs.problems) or "waiting",
    )
    rolling_children = [r.message for r in (a, gw, g) if r is not None and r.progressing]
    progressing = obs.rollout_progressing or bool(rolling_children)
    if obs.rollout_progressing:
        prog_msg = obs.rollout_message
        prog_reason = "RolloutInProgress"
    elif rolling_children:
        prog_msg = "; ".join(rolling_children)
        prog_reason = "ComponentsUpdating"
    else:
        prog_msg, prog_reason = "stable", "Stable"
    cond_p = Condition("Progressing", progressing, prog_reason, prog_msg)
    degraded_reasons = list(obs.problems)
    if obs.rolled_back:
        degraded_reasons.insert(0, obs.rollback_message)
    if obs.dependencies_reason in ("MigrationFailed", "DependencyFailed"):
        degraded_reasons.append(obs.dependencies_message)
    if degraded_reasons:
        reason = (
            "RolledBack"
            if obs.rolled_back
            else ("ReconcileProblem" if obs.problems else obs.dependencies_reason)
        )
        cond_x = Condition("Degraded", True, reason, "; ".join(degraded_reasons))
    else:
        cond_x = Condition("Degraded", False, "Healthy", "no problems")
    conds.extend([cond_ready, cond_p, cond_x, cond_a, cond_b, cond_g, cond_d, cond_s])
    return conds
