"""Operator replicas peer through kopf: each process draws its own priority, so exactly one
works and the others stand by (replicas sharing one fixed priority would all pause)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import kmock
import kopf
import pytest
from tutorplane.operator.handlers.registry import configure_kopf, peering_priority
from tutorplane.operator.runtime import Runtime
from tutorplane.operator.settings import OperatorSettings
from tutorplane.operator.testing import (
    NAMESPACE,
    TD_PATH,
    TD_RESOURCE,
    ClusterSimulator,
    condition,
    operator_settings,
    running_operator,
    stored,
    td_manifest,
    wait_for,
)

PEERINGS = "kopf.dev/v1/kopfpeerings"


@pytest.mark.unit
def test_each_process_draws_its_own_priority_unless_one_is_configured() -> None:
    unset = OperatorSettings(standalone=False)
    drawn = {peering_priority(unset) for _ in range(50)}
    assert len(drawn) == 50
    assert all(0 < p < 2**31 for p in drawn)
    assert peering_priority(OperatorSettings(peering_priority=7)) == 7
    first, second = kopf.OperatorSettings(), kopf.OperatorSettings()
    configure_kopf(first, unset)
    configure_kopf(second, unset)
    assert first.peering.priority != second.peering.priority
    assert first.peering.name == "tutorplane"


def _serve_peerings(cluster: kmock.KubernetesEmulator) -> None:
    cluster.resources[PEERINGS] = kmock.ResourceInfo(
        kind="KopfPeering",
        namespaced=True,
        singular="kopfpeering",
        verbs={"get", "list", "watch", "patch"},
        subresources=set(),
    )


async def _peering_object(cluster: kmock.KubernetesEmulator) -> None:
    _serve_peerings(cluster)
    await cluster.post(
        f"/apis/kopf.dev/v1/namespaces/{NAMESPACE}/kopfpeerings",
        json={
            "apiVersion": "kopf.dev/v1",
            "kind": "KopfPeering",
            "metadata": {"name": "tutorplane", "namespace": NAMESPACE},
        },
    )


def _peers(cluster: kmock.KubernetesEmulator) -> dict[str, Any]:
    obj = stored(cluster, PEERINGS, "tutorplane") or {}
    return {k: v for k, v in (obj.get("status") or {}).items() if v}


@contextlib.asynccontextmanager
async def _replicas(
    cluster: kmock.KubernetesEmulator, settings: OperatorSettings
) -> AsyncIterator[tuple[Runtime, Runtime]]:
    async with running_operator(cluster, settings, identity="replica-1") as one:
        await wait_for(lambda: "replica-1" in _peers(cluster))
        async with running_operator(cluster, settings, identity="replica-2") as two:
            await wait_for(lambda: len(_peers(cluster)) == 2)
            # A real API server streams the newcomer's own keep-alive (written between its list
            # and its watch) to its watch; kmock's watch starts later. The next write to the
            # peering object (here, instead of the next keep-alive) shows each replica the other.
            await cluster.patch(
                f"/apis/kopf.dev/v1/namespaces/{NAMESPACE}/kopfpeerings/tutorplane",
                json={"metadata": {"labels": {"seen": "both"}}},
            )
            await asyncio.sleep(0.3)
            yield one, two


def _writes(rt: Runtime) -> int:
    return sum(n for verb, n in rt.client.calls.items() if verb.startswith(("POST", "PATCH")))


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_two_replicas_with_drawn_priorities_one_works_one_stands_by(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    await _peering_object(cluster)
    settings = operator_settings(standalone=False)
    async with _replicas(cluster, settings) as (one, two):
        peers = _peers(cluster)
        assert peers["replica-1"]["priority"] != peers["replica-2"]["priority"]
        leader, standby = (
            (one, two) if peers["replica-1"]["priority"] > peers["replica-2"]["priority"] else (two, one)
        )
        await cluster.post(TD_PATH, json=td_manifest())
        await wait_for(lambda: condition(stored(cluster, TD_RESOURCE, "demo"), "Ready") == "True")
        assert _writes(leader) > 0
        assert _writes(standby) == 0  # paused: no child, no status written twice


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_one_fixed_priority_for_every_replica_would_pause_them_all(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    """Why the priority is drawn per process: the failure mode of a shared fixed one."""
    await _peering_object(cluster)
    settings = operator_settings(standalone=False, peering_priority=0)
    async with _replicas(cluster, settings) as (one, two):
        assert {p["priority"] for p in _peers(cluster).values()} == {0}
        await cluster.post(TD_PATH, json=td_manifest())
        await asyncio.sleep(1.0)
        assert _writes(one) == _writes(two) == 0
        assert not (stored(cluster, TD_RESOURCE, "demo") or {}).get("status")
