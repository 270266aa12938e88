"""Events of owned children: keep the observed cache current and refresh the owner's status.

A status-bearing child (Deployment, Job, autoscaler, StatefulSet) changing, or any child being
deleted, schedules one debounced reconcile of its TutorDeployment, so readiness shows up within
a fraction of a second and a deleted child is recreated without waiting for the resync timer.
"""

from __future__ import annotations

from typing import Any

from .. import constants as c
from .. import metrics
from ..observing import key_of
from ..reconcile import reconcile_deployment
from ..runtime import Runtime

STATUS_KINDS = frozenset({"Deployment", "Job", "HorizontalPodAutoscaler", "ScaledObject", "StatefulSet"})


async def on_child_event(rt: Runtime, event: dict[str, Any]) -> None:
    obj = event.get("object") or {}
    kind = obj.get("kind", "")
    rt.cache.observe(event.get("type"), obj)
    if event.get("type") == "DELETED":
        rt.verified.pop(key_of(obj), None)
    metrics.MANAGED_OBJECTS.labels(kind or "-").set(rt.cache.kinds().get(kind, 0))
    meta = obj.get("metadata", {})
    owner = meta.get("labels", {}).get(c.LABEL_DEPLOYMENT)
    namespace = meta.get("namespace", "")
    if not owner or event.get("type") is None:
        return  # initial listing: the resume handlers reconcile everything anyway
    if kind not in STATUS_KINDS and event.get("type") != "DELETED":
        return
    if rt.latest(namespace, owner) is None:
        return

    async def refresh() -> None:
        body = rt.latest(namespace, owner)
        if body is not None:
            await reconcile_deployment(rt, body, "child")

    rt.schedule(namespace, owner, refresh)
