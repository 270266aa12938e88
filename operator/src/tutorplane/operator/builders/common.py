"""Pieces every child shares: metadata, owner references, pod hardening, probes."""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..hashing import stable_hash
from ..spec import Resources
from .context import BuildContext

Obj = dict[str, Any]


def selector_labels(ctx: BuildContext, component: str) -> dict[str, str]:
    """Immutable selector of a workload: instance and component only."""
    return {c.LABEL_INSTANCE: ctx.owner.name, c.LABEL_COMPONENT: component}


def labels(
    ctx: BuildContext, component: str, variant: str | None = None, revision: str | None = None
) -> dict[str, str]:
    out = {
        c.LABEL_NAME: f"tutorplane-{component}",
        **selector_labels(ctx, component),
        c.LABEL_MANAGED_BY: c.OPERATOR_NAME,
        c.LABEL_PART_OF: "tutorplane",
        c.LABEL_DEPLOYMENT: ctx.owner.name,
    }
    if variant is not None:
        out[c.LABEL_VARIANT] = variant
    if revision is not None:
        out[c.LABEL_REVISION] = revision
    return out


def metadata(
    ctx: BuildContext,
    name: str,
    component: str,
    variant: str | None = None,
    revision: str | None = None,
    annotations: dict[str, str] | None = None,
) -> Obj:
    return {
        "name": name,
        "namespace": ctx.owner.namespace,
        "labels": labels(ctx, component, variant, revision),
        "annotations": dict(annotations or {}),
        "ownerReferences": [ctx.owner.reference()],
    }


def finalize(obj: Obj) -> Obj:
    """Stamp the hash of the rendered object so readers and the reconciler see what it carries."""
    annotations = obj["metadata"].setdefault("annotations", {})
    annotations.pop(c.ANNOTATION_DESIRED_HASH, None)
    annotations[c.ANNOTATION_DESIRED_HASH] = stable_hash(obj)
    return obj


def pod_security_context() -> Obj:
    return {
        "runAsNonRoot": True,
        "runAsUser": c.RUN_AS_USER,
        "runAsGroup": c.RUN_AS_USER,
        "fsGroup": c.RUN_AS_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> Obj:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resources(spec: Resources) -> Obj:
    out: Obj = {}
    requests = spec.requests.model_dump(exclude_none=True)
    limits = spec.limits.model_dump(exclude_none=True)
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def http_probes(port: int, startup_failures: int = 30) -> Obj:
    """Liveness on /healthz, readiness on /readyz (flips on SIGTERM), generous startup."""
    return {
        "startupProbe": {
            "httpGet": {"path": "/healthz", "port": port},
            "periodSeconds": 2,
            "failureThreshold": startup_failures,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": port},
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": port},
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 2,
        },
    }


def tmp_volume() -> tuple[Obj, Obj]:
    """A writable /tmp for containers with a read-only root filesystem."""
    return (
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        {"name": "tmp", "mountPath": "/tmp"},
    )


def image_pull_secrets(ctx: BuildContext) -> list[Obj]:
    return [{"name": name} for name in ctx.spec.images.pull_secrets]


def scrape_annotations(port: int) -> dict[str, str]:
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}
