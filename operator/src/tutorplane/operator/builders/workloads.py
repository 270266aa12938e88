"""Deployments of the agent pool (version A), the gateway (version B) and the guardrail service.

Each pod runs as non-root with a read-only root filesystem, no capabilities and the runtime's
seccomp profile; its termination grace covers the variant's settle and drain grace (>= its session
cap), so a rollout or a scale-down lets open sessions finish. A pool's revision is the hash of its pod
template; the agent registers with LiveKit as ``<td>-a-<revision>``, so a session the gateway
starts runs on the revision it recorded. Handoffs between the pool's workers go to the names the
variant ConfigMap publishes, which may belong to the next revision during a rollout.
"""

from __future__ import annotations

from .. import constants as c
from ..hashing import stable_hash
from ..spec import Variant
from . import settings as env
from .common import (
    Obj,
    container_security_context,
    finalize,
    http_probes,
    image_pull_secrets,
    labels,
    metadata,
    pod_security_context,
    resources,
    scrape_annotations,
    selector_labels,
    tmp_volume,
)
from .context import BuildContext


def _deployment(
    ctx: BuildContext,
    name: str,
    component: str,
    variant_name: str | None,
    variant: Variant | None,
    pod_spec: Obj,
    port: int,
    replicas: int | None,
    strategy: Obj,
) -> tuple[Obj, str]:
    """Wrap a pod spec into a Deployment; return it with the pod template's revision hash."""
    template_annotations = {c.ANNOTATION_CONFIG_HASH: env.settings_hash(ctx), **scrape_annotations(port)}
    unrevisioned = {"metadata": {"annotations": template_annotations}, "spec": pod_spec}
    revision = stable_hash(unrevisioned)
    containers = [
        {**ctr, "env": [*ctr.get("env", []), {"name": "TUTOR_REVISION", "value": revision}]}
        for ctr in pod_spec["containers"]
    ]
    template = {
        "metadata": {
            "annotations": template_annotations,
            "labels": labels(ctx, component, variant_name, revision),
        },
        "spec": {**pod_spec, "containers": containers},
    }
    spec: Obj = {
        "selector": {"matchLabels": selector_labels(ctx, component)},
        "strategy": strategy,
        "revisionHistoryLimit": 5,
        "progressDeadlineSeconds": 900,
        "template": template,
    }
    if replicas is not None:
        spec["replicas"] = replicas
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(ctx, name, component, variant_name, revision),
        "spec": spec,
    }
    return finalize(deployment), revision


def _replicas(variant: Variant, enabled: bool = True) -> int | None:
    """Fixed replicas, or None so the autoscaler alone owns the field (no fight over it)."""
    if variant.autoscaling.enabled and enabled:
        return None
    return variant.replicas


def _pod(
    ctx: BuildContext,
    service_account: str,
    container: Obj,
    grace: int,
    extra_volumes: list[Obj] | None = None,
) -> Obj:
    tmp, tmp_mount = tmp_volume()
    container.setdefault("volumeMounts", []).insert(0, tmp_mount)
    pod: Obj = {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(),
        "terminationGracePeriodSeconds": grace,
        "enableServiceLinks": False,
        "containers": [container],
        "volumes": [tmp, *(extra_volumes or [])],
    }
    pulls = image_pull_secrets(ctx)
    if pulls:
        pod["imagePullSecrets"] = pulls
    return pod


def agent_name(ctx: BuildContext, revision: str) -> str:
    """The pipeline worker's name: the gateway dispatches version-A rooms to it."""
    return f"{ctx.owner.name}-a-{revision}"


def english_agent_name(ctx: BuildContext, revision: str) -> str:
    return f"{agent_name(ctx, revision)}-english"


def _published_variants(ctx: BuildContext) -> tuple[Obj, Obj, Obj]:
    """The variant ConfigMap the operator publishes, as (volume, mount, env var naming the file).

    Mounted as a directory, not subPath, so the kubelet refreshes the file in place: the gateway
    re-reads its weights, the agent pool the agent names its handoffs go to.
    """
    return (
        {"name": "variants", "configMap": {"name": ctx.child_name("variants")}},
        {"name": "variants", "mountPath": c.VARIANT_CONFIG_DIR, "readOnly": True},
        {"name": "TUTOR_VARIANT_CONFIG_PATH", "value": f"{c.VARIANT_CONFIG_DIR}/{c.VARIANT_CONFIG_FILE}"},
    )


def _grace(variant: Variant) -> int:
    """Pod termination grace: the settle, the drain, and a margin before the kubelet's SIGKILL."""
    return variant.drain_settle_seconds + variant.drain_grace_seconds + c.SHUTDOWN_MARGIN_SECONDS


def _agent_container(ctx: BuildContext) -> Obj:
    variant = ctx.spec.variants.a
    _, variants_mount, variants_env = _published_variants(ctx)
    return {
        "name": "agent",
        "image": ctx.spec.images.agent,
        "imagePullPolicy": ctx.spec.images.pull_policy.value,
        "ports": [{"name": "health", "containerPort": c.AGENT_HEALTH_PORT}],
        "envFrom": env.env_from_settings(ctx),
        "env": [
            *env.agent_env(ctx),
            variants_env,
            *env.agent_session_env(variant),
            *env.provider_env(ctx),
            *env.database_env(ctx),
            *env.livekit_env(ctx),
            *env.langfuse_env(ctx),
            *env.extra_env(variant),
        ],
        "volumeMounts": [{"name": "metrics", "mountPath": c.AGENT_METRICS_DIR}, variants_mount],
        "resources": resources(variant.resources),
        "securityContext": container_security_context(),
        **http_probes(c.AGENT_HEALTH_PORT, startup_failures=60),
    }


def agent_pool(ctx: BuildContext) -> tuple[list[Obj], str]:
    """Version A: the LiveKit worker pool, a pipeline and an English Realtime Deployment of one
    revision. Returns both Deployments (pipeline first) and the revision."""
    variant = ctx.spec.variants.a
    metrics_volume = {"name": "metrics", "emptyDir": {"sizeLimit": "256Mi"}}
    variants_volume, _, _ = _published_variants(ctx)
    grace = _grace(variant)
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "100%", "maxUnavailable": 0}}
    out: list[Obj] = []
    revision = ""
    for role, component in (("pipeline", c.COMPONENT_AGENT), ("english", c.COMPONENT_AGENT_ENGLISH)):
        pod = _pod(
            ctx, ctx.child_name("agent"), _agent_container(ctx), grace, [metrics_volume, variants_volume]
        )
        # The revision is the hash of the role-independent pod (the pipeline's, built first), so
        # both workers of one revision know each other's names; the names are appended last.
        deployment, rendered = _deployment(
            ctx,
            ctx.child_name(component),
            component,
            "A",
            variant,
            pod,
            c.AGENT_HEALTH_PORT,
            _replicas(variant),
            # New workers register before old ones get SIGTERM; old ones then drain their sessions.
            strategy,
        )
        revision = revision or rendered
        if rendered != revision:
            raise AssertionError("the two agent workers must render one revision")
        for ctr in deployment["spec"]["template"]["spec"]["containers"]:
            ctr["env"].extend(
                [
                    {"name": "TUTOR_AGENT_ROLE", "value": role},
                    {"name": "TUTOR_PIPELINE_AGENT_NAME", "value": agent_name(ctx, revision)},
                    {"name": "TUTOR_ENGLISH_AGENT_NAME", "value": english_agent_name(ctx, revision)},
                ]
            )
        out.append(finalize(deployment))
    return out, revision


def gateway(ctx: BuildContext) -> tuple[Obj, str]:
    """Version B and the front door of both versions (session assignment, web app)."""
    variant = ctx.spec.variants.b
    variants_volume, variants_mount, variants_env = _published_variants(ctx)
    container: Obj = {
        "name": "gateway",
        "image": ctx.spec.images.gateway,
        "imagePullPolicy": ctx.spec.images.pull_policy.value,
        "ports": [{"name": "http", "containerPort": c.GATEWAY_PORT}],
        "envFrom": env.env_from_settings(ctx),
        "env": [
            *env.gateway_env(ctx),
            variants_env,
            *env.gateway_session_env(variant),
            *env.provider_env(ctx),
            *env.database_env(ctx),
            *env.redis_env(ctx),
            *env.livekit_env(ctx),
            *env.gateway_secret_env(ctx),
            *env.langfuse_env(ctx),
            *env.extra_env(variant),
        ],
        "volumeMounts": [variants_mount],
        "resources": resources(variant.resources),
        "securityContext": container_security_context(),
        **http_probes(c.GATEWAY_PORT),
    }
    pod = _pod(ctx, ctx.child_name("gateway"), container, _grace(variant), [variants_volume])
    return _deployment(
        ctx,
        ctx.child_name("gateway"),
        c.COMPONENT_GATEWAY,
        "B",
        variant,
        pod,
        c.GATEWAY_PORT,
        # The gateway is the front door of A as well: it runs even when B takes no sessions.
        _replicas(variant),
        {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
    )


def guardrail(ctx: BuildContext) -> tuple[Obj, str]:
    spec = ctx.spec.guardrail
    container: Obj = {
        "name": "guardrail",
        "image": ctx.spec.images.guardrail,
        "imagePullPolicy": ctx.spec.images.pull_policy.value,
        "ports": [{"name": "http", "containerPort": c.GUARDRAIL_PORT}],
        "envFrom": env.env_from_settings(ctx),
        "env": [
            *env.guardrail_env(ctx),
            *env.provider_env(ctx, anthropic=False),
            *env.langfuse_env(ctx),
        ],
        "resources": resources(spec.resources),
        "securityContext": container_security_context(),
        **http_probes(c.GUARDRAIL_PORT),
    }
    # Checks take seconds at most: the settle, then a short margin for the ones in flight.
    pod = _pod(ctx, ctx.child_name("guardrail"), container, spec.drain_settle_seconds + 30)
    return _deployment(
        ctx,
        ctx.child_name("guardrail"),
        c.COMPONENT_GUARDRAIL,
        None,
        None,
        pod,
        c.GUARDRAIL_PORT,
        spec.replicas,
        {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
    )


def migration_job(ctx: BuildContext) -> Obj:
    """Applies the database migrations once per image and database; Jobs are immutable, so the
    name carries the hash of what it runs and a change makes a new Job (the old one is pruned)."""
    image = ctx.spec.images.migrations or ctx.spec.images.gateway
    container: Obj = {
        "name": "migrate",
        "image": image,
        "imagePullPolicy": ctx.spec.images.pull_policy.value,
        "command": ["tutorplane-db", "migrate", "up"],
        # tutorplane-db reads DatabaseSettings only (no TUTOR_ENVIRONMENT).
        "env": env.database_env(ctx),
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": container_security_context(),
    }
    pod = _pod(ctx, ctx.child_name("migrations"), container, 30)
    pod["restartPolicy"] = "Never"
    digest = stable_hash({"image": image, "env": container["env"]}, length=8)
    name = ctx.child_name(f"migrate-{digest}")
    meta = metadata(ctx, name, c.COMPONENT_MIGRATIONS)
    return finalize(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": meta,
            "spec": {
                "backoffLimit": 4,
                "activeDeadlineSeconds": 900,
                "template": {"metadata": {"labels": dict(meta["labels"])}, "spec": pod},
            },
        }
    )
