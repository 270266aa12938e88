"""TutorDeployment events: create, spec update, operator resume, resync timer, rollout tick."""

from __future__ import annotations

from typing import Any

from .. import metrics
from ..promotion import PrometheusFactory, refresh_active_sessions, rollout_tick
from ..reconcile import reconcile_deployment
from ..runtime import Runtime


def plain(body: Any) -> dict[str, Any]:
    """A plain dict of a kopf body. kopf swaps in a new raw dict per event rather than editing the
    old one in place, and the reconciler never mutates bodies, so a shallow copy suffices."""
    return {key: body[key] for key in body}


async def on_event(rt: Runtime, event: dict[str, Any]) -> None:
    obj = event.get("object") or {}
    meta = obj.get("metadata", {})
    if event.get("type") == "DELETED":
        rt.forget_deployment(meta.get("namespace", ""), meta.get("name", ""))
    else:
        rt.remember_deployment(obj)
    metrics.MANAGED_DEPLOYMENTS.set(len(rt.deployments()))


async def on_change(rt: Runtime, body: Any, handler: str) -> None:
    snapshot = plain(body)
    known = rt.latest(snapshot["metadata"]["namespace"], snapshot["metadata"]["name"])
    if known is None or known.get("spec") != snapshot.get("spec"):
        rt.remember_deployment(snapshot)
    await reconcile_deployment(rt, snapshot, handler)


def gone(rt: Runtime, body: Any) -> bool:
    """The object this timer was started for no longer exists (deleted, or replaced by a new one)."""
    meta = body.get("metadata", {})
    latest = rt.latest(meta.get("namespace", ""), meta.get("name", ""))
    if latest is None:
        return True
    uid, latest_uid = meta.get("uid"), latest.get("metadata", {}).get("uid")
    return bool(uid and latest_uid and uid != latest_uid)


async def on_resync(rt: Runtime, body: Any, prometheus: PrometheusFactory) -> None:
    snapshot = plain(body)
    await reconcile_deployment(rt, snapshot, "timer")
    await refresh_active_sessions(rt, snapshot, prometheus)


async def on_rollout_tick(rt: Runtime, body: Any, prometheus: PrometheusFactory) -> None:
    await rollout_tick(rt, plain(body), prometheus)
