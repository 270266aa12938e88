"""Drive a rollout: when an analysis is due, ask Prometheus, apply the verdict, publish weights.

Called by a frequent timer; when no analysis is due it returns without any request. A ``fail``
verdict changes the published weights in the same call, so weights return to the last good ones
at most one analysis interval (plus one tick) after the breach is first visible.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from . import constants as c
from . import metrics
from .analysis import PrometheusClient, PrometheusUnavailable, analyze
from .events import post_event
from .reconcile import reconcile_deployment
from .rollout import Phase, RolloutState, analysis_due, analysis_window, apply_verdict
from .runtime import Runtime
from .spec import Prometheus, parse_spec

logger = logging.getLogger(__name__)
PrometheusFactory = Callable[[Prometheus], PrometheusClient]


def default_prometheus(config: Prometheus) -> PrometheusClient:
    return PrometheusClient(config.address, config.timeout_seconds)


async def rollout_tick(
    rt: Runtime, body: dict[str, Any], prometheus: PrometheusFactory = default_prometheus
) -> RolloutState | None:
    meta = body["metadata"]
    body = rt.latest(meta["namespace"], meta["name"]) or body
    state = RolloutState.from_status(rt.previous_status(body).get("rollout"))
    if not state.progressing:
        return None
    try:
        spec = parse_spec(body.get("spec") or {})
    except ValidationError:
        return None
    rollout = spec.rollout
    now = rt.clock()
    if rollout is None or spec.prometheus is None or not analysis_due(state, rollout, now):
        return None
    window = analysis_window(state, rollout, now)
    result = await analyze(
        prometheus(spec.prometheus), rollout, meta["namespace"], meta["name"], rollout.candidate, window
    )
    metrics.ROLLOUT_VERDICTS.labels(result.verdict.value).inc()
    new_state = apply_verdict(state, result.verdict, rollout, now)
    logger.info(
        "rollout %s/%s: %s (%s) -> %s",
        meta["namespace"],
        meta["name"],
        result.verdict.value,
        "; ".join(result.reasons) or "within thresholds",
        new_state.message,
    )
    await reconcile_deployment(rt, body, "rollout", rollout_state=new_state, analysis=result)
    if rt.settings.post_events and (new_state.step != state.step or new_state.phase != state.phase):
        if new_state.phase == Phase.rolled_back:
            metrics.ROLLBACKS.inc()
            await post_event(
                rt.client, body, "RolledBack", f"{new_state.message}: {'; '.join(result.reasons)}", True
            )
        elif new_state.phase == Phase.completed:
            await post_event(rt.client, body, "Promoted", new_state.message, False)
        else:
            await post_event(rt.client, body, "StepAdvanced", new_state.message, False)
    return new_state


async def refresh_active_sessions(
    rt: Runtime, body: dict[str, Any], prometheus: PrometheusFactory = default_prometheus
) -> int | None:
    """Sessions open right now on both variants (``status.activeSessions``, a printer column).

    Written only when the number changed; unknown (no Prometheus, no data) leaves it untouched.
    """
    meta = body["metadata"]
    body = rt.latest(meta["namespace"], meta["name"]) or body
    try:
        spec = parse_spec(body.get("spec") or {})
    except ValidationError:
        return None
    if spec.prometheus is None:
        return None
    client = prometheus(spec.prometheus)
    total = 0.0
    seen = False
    for component, variant in (("agent", spec.variants.a), ("gateway", spec.variants.b)):
        query = f'sum({variant.sessions_metric}{{namespace="{meta["namespace"]}",pod=~"{meta["name"]}-{component}-.*"}})'
        try:
            value = await client.query(query)
        except PrometheusUnavailable:
            return None
        if value is not None:
            total, seen = total + value, True
    if not seen:
        return None
    sessions = round(total)
    previous = rt.previous_status(body)
    if previous.get("activeSessions") != sessions:
        await rt.client.merge_patch(
            c.API_VERSION,
            c.KIND,
            meta["namespace"],
            meta["name"],
            {"status": {"activeSessions": sessions}},
            subresource="status",
        )
        rt.remember_status(body, {**previous, "activeSessions": sessions})
    return sessions
