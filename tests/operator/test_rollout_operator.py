"""Progressive rollout end to end: kopf + kmock + the Prometheus HTTP emulator.

Intervals are one second so a whole rollout takes a few seconds; the timing guarantee itself
(rollback within two analysis intervals) is asserted in virtual time in test_rollout.py.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import kmock
import pytest
from tutorplane.operator import constants as c
from tutorplane.operator.testing import (
    TD_PATH,
    TD_RESOURCE,
    ClusterSimulator,
    PrometheusEmulator,
    condition,
    operator_settings,
    running_operator,
    stored,
    td_manifest,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def manifest(prometheus: PrometheusEmulator) -> dict[str, Any]:
    return td_manifest(
        variants={"A": {"weight": 100}, "B": {"enabled": True, "weight": 0}},
        prometheus={"address": prometheus.url, "timeoutSeconds": 1},
        rollout={
            "steps": [{"weight": 10, "pauseSeconds": 0}, {"weight": 30, "pauseSeconds": 0}],
            "analysisIntervalSeconds": 1,
            "minSessionsPerStep": 20,
        },
    )


def published(cluster: kmock.KubernetesEmulator) -> dict[str, int]:
    cm = stored(cluster, "v1/configmaps", "demo-variants") or {"data": {c.VARIANT_CONFIG_FILE: "{}"}}
    weights: dict[str, int] = json.loads(cm["data"][c.VARIANT_CONFIG_FILE]).get("weights", {})
    return weights


def status(cluster: kmock.KubernetesEmulator) -> dict[str, Any]:
    return (stored(cluster, TD_RESOURCE, "demo") or {}).get("status", {})


async def start(cluster: kmock.KubernetesEmulator, prometheus: PrometheusEmulator) -> None:
    await cluster.post(TD_PATH, json=manifest(prometheus))
    await wait_for(lambda: condition(stored(cluster, TD_RESOURCE, "demo"), "Ready") == "True")
    assert published(cluster) == {"A": 100, "B": 0}
    await cluster.patch(
        f"{TD_PATH}/demo",
        json={
            "metadata": {"generation": 2},
            "spec": {"variants": {"A": {"weight": 50}, "B": {"weight": 50}}},
        },
    )


async def test_passing_analysis_promotes_step_by_step(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator, prometheus: PrometheusEmulator
) -> None:
    seen: list[dict[str, int]] = []

    def record() -> bool:
        weights = published(cluster)
        if not seen or seen[-1] != weights:
            seen.append(weights)
        return weights == {"A": 50, "B": 50}

    async with running_operator(cluster, operator_settings(rollout_tick_seconds=0.1)):
        await start(cluster, prometheus)
        await wait_for(record, 15, interval=0.01)
        await wait_for(lambda: status(cluster).get("rollout", {}).get("phase") == "Completed")
    assert seen == [{"A": 100, "B": 0}, {"A": 90, "B": 10}, {"A": 70, "B": 30}, {"A": 50, "B": 50}]
    assert status(cluster)["lastAnalysis"]["verdict"] == "pass"
    assert status(cluster)["lastAnalysis"]["sessions"] == 100
    assert any('variant="B"' in q for q in prometheus.queries)


async def test_breach_rolls_back_to_the_last_good_weights(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator, prometheus: PrometheusEmulator
) -> None:
    async with running_operator(cluster, operator_settings(rollout_tick_seconds=0.1)):
        prometheus.error_rate = 0.4
        await start(cluster, prometheus)
        await wait_for(lambda: status(cluster).get("rollout", {}).get("phase") == "RolledBack", 10)
        assert published(cluster) == {"A": 100, "B": 0}
        assert status(cluster)["weights"] == {"A": 100, "B": 0}
        analysis = status(cluster)["lastAnalysis"]
        assert analysis["verdict"] == "fail" and analysis["errorRate"] == 0.4
        assert analysis["reasons"] == ["error rate 0.4 > 0.05"]
        await wait_for(lambda: condition(stored(cluster, TD_RESOURCE, "demo"), "Degraded") == "True")
        await wait_for(
            lambda: [
                o
                for (r, _n, _m), o in cluster.objects.items()
                if r.plural == "events" and o.raw["reason"] == "RolledBack" and o.raw["type"] == "Warning"
            ]
        )


async def test_low_traffic_holds_the_step(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator, prometheus: PrometheusEmulator
) -> None:
    async with running_operator(cluster, operator_settings(rollout_tick_seconds=0.1)):
        prometheus.sessions = 4
        await start(cluster, prometheus)
        await wait_for(lambda: status(cluster).get("lastAnalysis", {}).get("verdict") == "inconclusive", 10)
        analyses = len(prometheus.queries)
        await wait_for(lambda: len(prometheus.queries) >= analyses + 8, 10)  # two more analyses
        assert published(cluster) == {"A": 90, "B": 10}
        assert status(cluster)["rollout"]["phase"] == "Progressing"
        assert condition(stored(cluster, TD_RESOURCE, "demo"), "Progressing") == "True"
        # Traffic arrives: the same step now passes and the rollout moves on.
        prometheus.sessions = 100
        await wait_for(lambda: published(cluster) == {"A": 50, "B": 50}, 15)


async def test_active_sessions_reach_the_status(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator, prometheus: PrometheusEmulator
) -> None:
    prometheus.active_sessions = 7  # answered for the agent pool and for the gateway
    settings = operator_settings(resync_seconds=0.2, rollout_tick_seconds=0.1)
    async with running_operator(cluster, settings) as rt:
        await cluster.post(TD_PATH, json=manifest(prometheus))
        await wait_for(lambda: status(cluster).get("activeSessions") == 14)
        prometheus.active_sessions = 3
        await wait_for(lambda: status(cluster).get("activeSessions") == 6)
        writes = rt.client.writes
        await asyncio.sleep(1.0)  # unchanged numbers: no further writes
        assert rt.client.writes == writes
    assert any(
        "tutorplane_agent_active_sessions" in q and 'pod=~"demo-agent-.*"' in q for q in prometheus.queries
    )
