"""The agent pool is two Deployments per revision (pipeline and English worker): readiness, the
switch to a new revision and pruning consider both (kopf in-process against kmock)."""

from __future__ import annotations

import json
from typing import Any

import kmock
import pytest
from tutorplane.operator import constants as c
from tutorplane.operator.testing import (
    TD_PATH,
    TD_RESOURCE,
    ClusterSimulator,
    condition,
    running_operator,
    stored,
    td_manifest,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

POOL = ("demo-agent", "demo-agent-english")


def td(cluster: kmock.KubernetesEmulator) -> dict[str, Any]:
    return stored(cluster, TD_RESOURCE, "demo") or {}


def message(body: dict[str, Any], kind: str) -> str:
    return next(x["message"] for x in body["status"]["conditions"] if x["type"] == kind)


async def change_spec(cluster: kmock.KubernetesEmulator, spec: dict[str, Any]) -> None:
    generation = td(cluster)["metadata"].get("generation", 1)
    await cluster.patch(f"{TD_PATH}/demo", json={"metadata": {"generation": generation + 1}, "spec": spec})


def template_revision(cluster: kmock.KubernetesEmulator, name: str) -> str | None:
    obj = stored(cluster, "apps/v1/deployments", name) or {}
    labels = obj.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
    return labels.get(c.LABEL_REVISION)


def published_agent(cluster: kmock.KubernetesEmulator) -> str | None:
    cm = stored(cluster, "v1/configmaps", "demo-variants")
    return json.loads(cm["data"][c.VARIANT_CONFIG_FILE])["agentNames"].get("A") if cm else None


async def test_variant_a_is_ready_only_when_the_english_worker_is_too(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    simulator.not_ready = {"demo-agent-english"}
    async with running_operator(cluster):
        await cluster.post(TD_PATH, json=td_manifest())
        # Everything else comes up: the pipeline pool, gateway, guardrail, migrations.
        await wait_for(lambda: condition(td(cluster), "GuardrailReady") == "True")
        await wait_for(lambda: "demo-agent-english: 0/1 ready" in message(td(cluster), "VariantAReady"))
        body = td(cluster)
        assert condition(body, "VariantAReady") == "False"
        assert condition(body, "Ready") == "False"
        assert "demo-agent-english" in message(body, "Ready")
        assert "demo-agent:" not in message(body, "VariantAReady")  # the ready one is not blamed
        assert condition(body, "Progressing") == "True"
        simulator.not_ready = set()
        await wait_for(lambda: condition(td(cluster), "Ready") == "True", 5)
        assert condition(td(cluster), "VariantAReady") == "True"
        assert td(cluster)["status"]["variants"]["A"]["readyReplicas"] == 1


def variant_config(cluster: kmock.KubernetesEmulator) -> dict[str, Any]:
    cm = stored(cluster, "v1/configmaps", "demo-variants")
    return json.loads(cm["data"][c.VARIANT_CONFIG_FILE]) if cm else {}


async def test_variant_a_takes_no_sessions_while_no_pipeline_worker_is_ready(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    # No worker up (crashing, or the LiveKit server gone): the gateway is told, and sends new
    # sessions to B instead of into rooms no agent joins; they come back to A with the first worker.
    simulator.not_ready = {"demo-agent"}
    both = {"A": {"enabled": True, "weight": 50}, "B": {"enabled": True, "weight": 50}}
    async with running_operator(cluster):
        await cluster.post(TD_PATH, json=td_manifest(variants=both))
        await wait_for(lambda: condition(td(cluster), "GuardrailReady") == "True")
        await wait_for(lambda: "demo-agent: 0/1 ready" in message(td(cluster), "VariantAReady"))
        config = variant_config(cluster)
        assert config["enabled"] == {"A": False, "B": True}
        assert config["unavailableReason"] == {"A": "no agent worker is ready (demo-agent: 0/1 ready)"}
        assert config["weights"]["A"] > 0  # the rollout's weights are untouched

        simulator.not_ready = set()
        await wait_for(lambda: variant_config(cluster).get("enabled") == {"A": True, "B": True}, 5)
        assert "unavailableReason" not in variant_config(cluster)

        simulator.not_ready = {"demo-agent"}  # every worker lost later
        await wait_for(lambda: variant_config(cluster).get("enabled", {}).get("A") is False, 5)


def published_english(cluster: kmock.KubernetesEmulator) -> str | None:
    return variant_config(cluster).get("englishAgentNames", {}).get("A")


async def test_each_worker_of_a_new_revision_is_published_once_its_deployment_runs_it(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    async with running_operator(cluster):
        await cluster.post(TD_PATH, json=td_manifest())
        await wait_for(lambda: condition(td(cluster), "Ready") == "True")
        old = template_revision(cluster, "demo-agent")
        assert old and template_revision(cluster, "demo-agent-english") == old
        assert published_agent(cluster) == f"demo-a-{old}"
        assert published_english(cluster) == f"demo-a-{old}-english"

        # The pipeline workers of the new revision come up; the English ones lag behind.
        simulator.not_ready = {"demo-agent-english"}
        await change_spec(cluster, {"images": {"agent": "registry.local/tutorplane/agent:1.1.0"}})
        await wait_for(lambda: all(template_revision(cluster, n) not in (None, old) for n in POOL))
        new = template_revision(cluster, "demo-agent")
        assert template_revision(cluster, "demo-agent-english") == new
        await wait_for(lambda: td(cluster)["status"]["variants"]["A"].get("revision") == new)
        await wait_for(lambda: "demo-agent-english" in message(td(cluster), "VariantAReady"))
        # New sessions go to the new pipeline workers (the old ones drain); English questions still
        # go to the old English workers, which keep serving until the new ones are ready.
        await wait_for(lambda: published_agent(cluster) == f"demo-a-{new}", 5)
        assert published_english(cluster) == f"demo-a-{old}-english"
        await wait_for(lambda: td(cluster)["status"]["variants"]["A"]["publishedRevision"] == new)
        assert td(cluster)["status"]["variants"]["A"]["publishedEnglishRevision"] == old
        assert variant_config(cluster)["revisions"]["A"] == new  # what sessions record

        simulator.not_ready = set()
        await wait_for(lambda: published_english(cluster) == f"demo-a-{new}-english", 5)
        await wait_for(lambda: td(cluster)["status"]["variants"]["A"]["publishedEnglishRevision"] == new)
        await wait_for(lambda: condition(td(cluster), "Ready") == "True")

        # And the other way round: the English workers of the next revision come up first.
        simulator.not_ready = {"demo-agent"}
        await change_spec(cluster, {"images": {"agent": "registry.local/tutorplane/agent:1.2.0"}})
        await wait_for(lambda: template_revision(cluster, "demo-agent") not in (None, new))
        newer = template_revision(cluster, "demo-agent")
        await wait_for(lambda: published_english(cluster) == f"demo-a-{newer}-english", 5)
        assert published_agent(cluster) == f"demo-a-{new}"


async def test_disabling_variant_a_removes_both_pool_deployments_and_their_companions(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    async with running_operator(cluster):
        await cluster.post(TD_PATH, json=td_manifest())
        await wait_for(lambda: condition(td(cluster), "Ready") == "True")
        for name in POOL:
            assert stored(cluster, "apps/v1/deployments", name) is not None
            assert stored(cluster, "autoscaling/v2/horizontalpodautoscalers", name) is not None
            assert stored(cluster, "policy/v1/poddisruptionbudgets", name) is not None
        await change_spec(
            cluster,
            {"variants": {"A": {"enabled": False, "weight": 0}, "B": {"enabled": True, "weight": 100}}},
        )
        kinds = (
            "apps/v1/deployments",
            "autoscaling/v2/horizontalpodautoscalers",
            "policy/v1/poddisruptionbudgets",
        )
        await wait_for(lambda: all(stored(cluster, k, n) is None for k in kinds for n in POOL), 5)
        # The status forgets them too (a stale Ready from before the change does not count).
        await wait_for(
            lambda: (
                not [e for e in td(cluster)["status"]["inventory"] if "/demo-agent" in e]
                and td(cluster)["status"].get("observedGeneration") == 2
            )
        )
        await wait_for(lambda: condition(td(cluster), "Ready") == "True")
