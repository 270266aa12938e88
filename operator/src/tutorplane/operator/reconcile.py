"""Reconcile one TutorDeployment: render, diff against what was observed, write only differences.

For every desired child: missing from the observed cache → create (409 → read, then diff);
present → JSON merge patch only when the live object lacks something we render. Children named
in the previous inventory but no longer rendered are deleted. The status is recomputed from the
observed children and written to ``/status`` only when it differs; every condition flip becomes a
Kubernetes Event. A reconcile over an unchanged cluster therefore sends no request at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from . import conditions as cond
from . import constants as c
from . import dependencies, metrics
from .analysis import Analysis
from .apiclient import ApiError, Conflict, NotFound, Unprocessable
from .builders import BuildContext, Owner, Rendered, build_children
from .credentials import CredentialsError
from .diffing import controller_of, merge_patch
from .events import post_event
from .observing import Key, inventory_entry, key_of, parse_inventory_entry
from .rollout import Phase, RolloutState, sync_target
from .runtime import Runtime
from .spec import TutorDeploymentSpec, parse_spec

logger = logging.getLogger(__name__)
Obj = dict[str, Any]


@dataclass
class ApplyResult:
    created: list[str] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    inventory: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return len(self.created) + len(self.patched) + len(self.deleted)


def _label(key: Key) -> str:
    return f"{key[1]}/{key[3]}"


async def _apply_one(rt: Runtime, owner: Owner, desired: Obj, result: ApplyResult) -> None:
    key = key_of(desired)
    actual = rt.cache.get(key)
    if actual is None:
        try:
            created = await rt.client.create(desired)
            rt.cache.put(created or desired)
            result.created.append(_label(key))
            metrics.CHILD_WRITES.labels("create", key[1]).inc()
            return
        except Conflict:
            if desired["kind"] == "Secret":
                return  # create-only: an existing Secret is never read or changed
            actual = await rt.client.get(key[0], key[1], key[2], key[3])
            rt.cache.put(actual)
    if desired["kind"] == "Secret":
        return  # create-only: a re-rendered Secret (new random values) must never rotate one
    digest = desired["metadata"].get("annotations", {}).get(c.ANNOTATION_DESIRED_HASH, "")
    seen = (digest, rt.cache.version(key))
    if digest and rt.verified.get(key) == seen:
        return  # this rendering was already compared with this very observation
    controller = controller_of(actual)
    if controller is not None and controller.get("uid") != owner.uid:
        result.problems.append(
            f"{_label(key)} is controlled by {controller.get('kind')} {controller.get('name')}; "
            f"delete or rename it so this TutorDeployment can manage it"
        )
        return
    patch = merge_patch(desired, actual)
    if not patch:
        rt.verified[key] = seen
        return
    try:
        patched = await rt.client.merge_patch(key[0], key[1], key[2], key[3], patch)
        rt.cache.put(patched)
        result.patched.append(_label(key))
        metrics.CHILD_WRITES.labels("patch", key[1]).inc()
    except NotFound:
        rt.cache.forget(key)
        created = await rt.client.create(desired)
        rt.cache.put(created or desired)
        result.created.append(_label(key))
        metrics.CHILD_WRITES.labels("create", key[1]).inc()
    except Unprocessable as exc:
        result.problems.append(f"{_label(key)} cannot be updated in place: {exc.message}")


async def apply_children(
    rt: Runtime, owner: Owner, desired: list[Obj], previous_inventory: list[str], prune: bool = True
) -> ApplyResult:
    result = ApplyResult()
    gate = asyncio.Semaphore(rt.settings.max_parallel_writes)

    async def guarded(obj: Obj) -> None:
        async with gate:
            try:
                await _apply_one(rt, owner, obj, result)
            except ApiError as exc:
                result.problems.append(f"{_label(key_of(obj))}: {exc}")

    await asyncio.gather(*(guarded(obj) for obj in desired))
    wanted = {inventory_entry(key_of(obj)) for obj in desired}
    result.inventory = sorted(wanted)
    stale = sorted(set(previous_inventory) - wanted)
    if not prune:
        result.inventory = sorted(wanted | set(stale))
        return result
    for entry in stale:
        key = parse_inventory_entry(entry, owner.namespace)
        try:
            await rt.client.delete(key[0], key[1], key[2], key[3])
            result.deleted.append(_label(key))
            metrics.CHILD_WRITES.labels("delete", key[1]).inc()
        except NotFound:
            pass
        except ApiError as exc:
            result.problems.append(f"could not delete {_label(key)}: {exc}")
            result.inventory.append(entry)
            continue
        rt.cache.forget(key)
        rt.verified.pop(key, None)
    result.inventory.sort()
    return result


# --------------------------------------------------------------------------------- status


def _observed(rt: Runtime, owner: Owner, api_version: str, kind: str, name: str) -> Obj | None:
    return rt.cache.get((api_version, kind, owner.namespace, name))


def _pool_deployments(rt: Runtime, owner: Owner) -> list[tuple[str, Obj | None]]:
    """The agent pool's Deployments (pipeline first), each with what was observed of it."""
    names = [f"{owner.name}-{component}" for component in c.AGENT_POOL_COMPONENTS]
    return [(name, _observed(rt, owner, "apps/v1", "Deployment", name)) for name in names]


def _pool_readiness(rt: Runtime, owner: Owner) -> cond.Readiness:
    return cond.pool_readiness(
        [cond.deployment_readiness(obj, name) for name, obj in _pool_deployments(rt, owner)]
    )


def _pool_unavailable(rt: Runtime, owner: Owner) -> str | None:
    """Why version A cannot take new sessions now: no pipeline worker is ready (not created yet,
    crashing, or its LiveKit server is gone). None while at least one is."""
    name, obj = _pool_deployments(rt, owner)[0]
    pipeline = cond.deployment_readiness(obj, name)
    if pipeline.ready_replicas > 0:
        return None
    return f"no agent worker is ready ({pipeline.message})"


def _now_iso(rt: Runtime) -> str:
    return datetime.fromtimestamp(rt.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def compute_status(
    rt: Runtime,
    owner: Owner,
    spec: TutorDeploymentSpec,
    desired: list[Obj],
    applied: ApplyResult,
    state: RolloutState,
    rendered: Rendered,
    previous: Obj,
    generation: int | None,
    dep_error: str | None,
    analysis: Analysis | None,
    held: str | None = None,
) -> Obj:
    name = owner.name
    gateway = _observed(rt, owner, "apps/v1", "Deployment", f"{name}-{c.COMPONENT_GATEWAY}")
    guardrail = _observed(rt, owner, "apps/v1", "Deployment", f"{name}-{c.COMPONENT_GUARDRAIL}")
    pool_r = _pool_readiness(rt, owner) if spec.variants.a.enabled else None
    gateway_r = cond.deployment_readiness(gateway)
    guardrail_r = cond.deployment_readiness(guardrail)

    scalers = [
        rt.cache.get(key_of(obj))
        for obj in desired
        if obj["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
    ]
    dep_observed = [
        rt.cache.get(key_of(obj)) or obj
        for obj in desired
        if obj["kind"] in ("Job", "Deployment", "StatefulSet")
        and obj["metadata"]["labels"].get(c.LABEL_COMPONENT)
        in (c.COMPONENT_DEPENDENCY, c.COMPONENT_MIGRATIONS)
    ]
    # A desired object not yet observed has no status: it counts as not ready.
    dep_ready, dep_reason, dep_message = dependencies.readiness(spec, dep_observed, dep_error, held)

    rolled_back = state.phase == Phase.rolled_back
    obs = cond.Observations(
        variant_a=pool_r,
        gateway=gateway_r,
        guardrail=guardrail_r,
        variant_b_enabled=spec.variants.b.enabled,
        dependencies_ready=dep_ready,
        dependencies_reason=dep_reason,
        dependencies_message=dep_message,
        autoscalers=[cond.autoscaler_active(obj) for obj in scalers],
        autoscaling_enabled=bool(scalers),
        rollout_progressing=state.progressing,
        rollout_message=state.message,
        rolled_back=rolled_back,
        rollback_message=state.message,
        problems=applied.problems,
    )
    computed = cond.compute_conditions(obs)
    status: Obj = dict(previous)
    status["conditions"] = cond.merge_conditions(
        previous.get("conditions", []), computed, _now_iso(rt), generation
    )
    status["phase"] = cond.phase_of(computed)
    if generation is not None:
        status["observedGeneration"] = generation
    status["weights"] = {v: state.current.get(v, 0) for v in ("A", "B")}
    status["variants"] = {
        "A": {
            "enabled": spec.variants.a.enabled,
            "readyReplicas": pool_r.ready_replicas if pool_r else 0,
            "replicas": pool_r.replicas if pool_r else 0,
            **({"revision": rendered.revisions["A"]} if "A" in rendered.revisions else {}),
            **({"publishedRevision": rendered.published_revision} if rendered.published_revision else {}),
            **(
                {"publishedEnglishRevision": rendered.published_english_revision}
                if rendered.published_english_revision
                else {}
            ),
            **({"agentName": rendered.published_agent_name} if rendered.published_agent_name else {}),
        },
        "B": {
            "enabled": spec.variants.b.enabled,
            "readyReplicas": gateway_r.ready_replicas,
            "replicas": gateway_r.replicas,
            "revision": rendered.revisions.get("B", ""),
        },
    }
    status["guardrail"] = {"readyReplicas": guardrail_r.ready_replicas, "replicas": guardrail_r.replicas}
    status["rollout"] = state.to_status()
    status["inventory"] = applied.inventory
    status["specHash"] = BuildContext(owner=owner, spec=spec).spec_hash
    if analysis is not None:
        status["lastAnalysis"] = {**analysis.to_status(), "at": _now_iso(rt)}
    return status


async def write_status(rt: Runtime, body: Obj, previous: Obj, status: Obj) -> bool:
    """Patch ``/status`` with the keys that changed; returns whether anything was written."""
    patch = {key: value for key, value in status.items() if previous.get(key) != value}
    patch.update({key: None for key in previous if key not in status})
    if not patch:
        return False
    meta = body["metadata"]
    updated = await rt.client.merge_patch(
        c.API_VERSION, c.KIND, meta["namespace"], meta["name"], {"status": patch}, subresource="status"
    )
    rt.remember_status(updated or body, status)
    return True


def announce(rt: Runtime, body: Obj, previous: Obj, status: Obj) -> None:
    """One Event per condition transition. The very first status is summarized in one Event, plus
    a Warning for each condition that starts out in a bad state. Events are best effort and are
    posted in the background, so they never hold up a reconcile."""
    if not rt.settings.post_events:
        return
    pending: list[tuple[str, str, bool]] = []
    if not previous.get("conditions"):
        waiting = [
            f"{c['type']}: {c['message']}"
            for c in status.get("conditions", [])
            if c["status"] != "True"
            and c["type"] not in ("Progressing", "Degraded")
            and c["reason"] != "Disabled"
        ]
        message = "children created" + (f"; waiting for {'; '.join(waiting)}" if waiting else "; all ready")
        pending.append(("Reconciled", message, False))
    for move in cond.transitions(previous.get("conditions", []), status.get("conditions", [])):
        if not previous.get("conditions") and not move.warning:
            continue
        reason = f"{move.type}{move.status}" if move.reason in ("Healthy", "Stable") else move.reason
        pending.append((reason, f"{move.type}={move.status}: {move.message}", move.warning))
    for reason, message, warning in pending:
        rt.background(post_event(rt.client, body, reason, message, warning))


# --------------------------------------------------------------------------------- the reconcile


def _render(rt: Runtime, ctx: BuildContext) -> Rendered:
    """Build the children, reusing the last renderings of this TutorDeployment when nothing changed."""
    key = (
        ctx.owner,
        ctx.spec_hash,
        tuple(sorted(ctx.weights.items())),
        ctx.keda,
        ctx.wiring,
        ctx.published_revision,
        ctx.published_english_revision,
        ctx.pool_unavailable,
    )
    memo = rt.renders.setdefault((ctx.owner.namespace, ctx.owner.name), {})
    rendered = memo.get(key)
    if rendered is None:
        rendered = build_children(ctx)
        if len(memo) >= 2:  # the current rendering and the one held back during a pool rollout
            memo.pop(next(iter(memo)))
        memo[key] = rendered
    return rendered


def _publishable(
    rt: Runtime, owner: Owner, previous: Obj, revision: str | None
) -> tuple[str | None, str | None]:
    """The pool revisions the gateway and the workers may dispatch to: (pipeline, English).

    Each worker's new revision is published once its own Deployment runs it and is ready; until
    then its previous revision stays published, and those workers keep serving (a Deployment's old
    workers drain only after its new ones are ready). The two are published independently: every
    worker hands students over to the published names, so a new pipeline worker may hand English
    to an English worker of the previous revision while the new English workers come up.
    """
    if revision is None:
        return None, None
    published = previous.get("variants", {}).get("A", {})
    pipeline_current = published.get("publishedRevision")
    english_current = published.get("publishedEnglishRevision", pipeline_current)
    out: list[str] = []
    for current, (_name, obj) in zip(
        (pipeline_current, english_current), _pool_deployments(rt, owner), strict=True
    ):
        template = ((obj or {}).get("spec", {}).get("template", {}).get("metadata", {})) or {}
        runs_it = (template.get("labels") or {}).get(c.LABEL_REVISION) == revision
        if current is None or current == revision or (runs_it and cond.deployment_readiness(obj).ready):
            out.append(revision)
        else:
            out.append(str(current))
    return out[0], out[1]


def _hold_migrations(
    rt: Runtime, owner: Owner, spec: TutorDeploymentSpec, desired: list[Obj], previous: Obj
) -> tuple[list[Obj], str | None]:
    """Keep the migration Job back while a managed Supabase release is not ready.

    The Job connects as the application role, which exists only once the release's database runs
    and its own roles Job is complete. The release's workloads changing state schedule a reconcile
    (child events, and the resync timer), which creates the Job once the release is ready. A Job
    already created stays: it is never deleted because the database went away for a while.
    """
    if "supabase" not in dependencies.managed_charts(spec):
        return desired, None
    release = dependencies.release_name(owner.name, "supabase")
    ready, missing = dependencies.release_readiness(
        release, [rt.cache.get(key_of(obj)) or obj for obj in desired]
    )
    if ready:
        return desired, None
    inventory = set(previous.get("inventory", []))
    kept: list[Obj] = []
    held: str | None = None
    for obj in desired:
        key = key_of(obj)
        migration = obj["kind"] == "Job" and (
            obj["metadata"].get("labels", {}).get(c.LABEL_COMPONENT) == c.COMPONENT_MIGRATIONS
        )
        if migration and rt.cache.get(key) is None and inventory_entry(key) not in inventory:
            held = f"Job {key[3]} waits for the {release} release ({missing})"
            continue
        kept.append(obj)
    return kept, held


async def _ensure_credentials(rt: Runtime, ctx: BuildContext) -> list[str]:
    """Create the credentials Secrets of the managed releases before their workloads."""
    assert rt.renderer is not None
    problems: list[str] = []
    for chart in dependencies.managed_charts(ctx.spec):
        release = dependencies.release_name(ctx.owner.name, chart)
        try:
            created, failed = await rt.credentials.ensure(
                rt.client,
                ctx,
                rt.renderer.chart_path(chart),
                release,
                dependencies.values_for(ctx.spec, chart, ctx.owner.name),
            )
        except CredentialsError as exc:
            raise CredentialsError(f"chart {chart!r}: {exc}") from None
        if created:  # names only: values are never logged
            logger.info("created Secrets %s for release %s", created, release)
        problems.extend(failed)
    return problems


async def reconcile_deployment(
    rt: Runtime,
    body: Obj,
    handler: str,
    rollout_state: RolloutState | None = None,
    analysis: Analysis | None = None,
) -> ApplyResult | None:
    """Bring one TutorDeployment's children and status in line with its spec."""
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    async with rt.lock_for(namespace, name):
        body = rt.latest(namespace, name) or body
        started = time.perf_counter()
        try:
            return await _reconcile(rt, body, rollout_state, analysis)
        except Exception:
            metrics.RECONCILE_ERRORS.labels(handler).inc()
            raise
        finally:
            metrics.RECONCILE_SECONDS.labels(handler).observe(time.perf_counter() - started)


async def _reconcile(
    rt: Runtime, body: Obj, rollout_state: RolloutState | None, analysis: Analysis | None
) -> ApplyResult | None:
    meta = body["metadata"]
    previous: Obj = rt.previous_status(body)
    generation = meta.get("generation")
    owner = Owner(meta["name"], meta["namespace"], meta.get("uid", ""))
    try:
        spec = parse_spec(body.get("spec") or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"spec.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        status = dict(previous)
        invalid = [
            cond.Condition("Ready", False, "InvalidSpec", problems),
            cond.Condition("Degraded", True, "InvalidSpec", problems),
        ]
        status["conditions"] = cond.merge_conditions(
            previous.get("conditions", []), invalid, _now_iso(rt), generation
        )
        status["phase"] = "Degraded"
        if await write_status(rt, body, previous, status):
            announce(rt, body, previous, status)
        return None

    state = rollout_state or RolloutState.from_status(previous.get("rollout"))
    state = sync_target(state, spec.target_weights(), spec.rollout, rt.clock())
    wiring = dependencies.wiring(spec, owner.name, owner.namespace)
    ctx = BuildContext(
        owner=owner,
        spec=spec,
        weights=state.current,
        keda=bool(rt.keda),
        wiring=wiring,
        pool_unavailable=_pool_unavailable(rt, owner) if spec.variants.a.enabled else None,
    )
    rendered = _render(rt, ctx)
    pipeline, english = _publishable(rt, owner, previous, rendered.revisions.get("A"))
    if (pipeline, english) != (rendered.published_revision, rendered.published_english_revision):
        ctx = dataclasses.replace(ctx, published_revision=pipeline, published_english_revision=english)
        rendered = _render(rt, ctx)
    dep_error: str | None = None
    secret_problems: list[str] = []
    try:
        assert rt.renderer is not None  # set by Runtime.__post_init__
        dep_objects = await dependencies.render_managed(rt.renderer, ctx)
        secret_problems = await _ensure_credentials(rt, ctx)
    except (dependencies.DependencyError, CredentialsError) as exc:
        dep_error, dep_objects = str(exc), []
    desired, held = _hold_migrations(rt, owner, spec, rendered.objects + dep_objects, previous)
    applied = await apply_children(rt, owner, desired, previous.get("inventory", []), prune=dep_error is None)
    applied.problems.extend(secret_problems)
    if applied.writes:
        logger.info(
            "reconciled %s/%s: created %s, patched %s, deleted %s",
            owner.namespace,
            owner.name,
            applied.created,
            applied.patched,
            applied.deleted,
        )
    status = compute_status(
        rt,
        owner,
        spec,
        desired,
        applied,
        state,
        rendered,
        previous,
        generation,
        dep_error,
        analysis,
        held,
    )
    for variant, weight in status["weights"].items():
        metrics.VARIANT_WEIGHT.labels(owner.namespace, owner.name, variant).set(weight)
    if await write_status(rt, body, previous, status):
        announce(rt, body, previous, status)
    return applied
