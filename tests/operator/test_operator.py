"""The operator in-process (kopf) against the kmock Kubernetes emulator.

kmock keeps objects but runs no controllers; the ClusterSimulator fixture marks workloads ready
and completes Jobs. kmock has no resourceVersion or generation: tests bump ``generation`` by hand
where a real API server would.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import kmock
import pytest
from tutorplane.operator import constants as c
from tutorplane.operator.cli import fetch_status, summarize
from tutorplane.operator.runtime import Runtime
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

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

CHARTS = Path(__file__).parent / "fixtures" / "charts"


async def create(cluster: kmock.KubernetesEmulator, td: dict[str, Any]) -> None:
    await cluster.post(TD_PATH, json=td)


async def change_spec(cluster: kmock.KubernetesEmulator, name: str, spec: dict[str, Any]) -> None:
    generation = (stored(cluster, TD_RESOURCE, name) or {}).get("metadata", {}).get("generation", 1)
    await cluster.patch(f"{TD_PATH}/{name}", json={"metadata": {"generation": generation + 1}, "spec": spec})


def td(cluster: kmock.KubernetesEmulator, name: str = "demo") -> dict[str, Any]:
    return stored(cluster, TD_RESOURCE, name) or {}


async def ready(cluster: kmock.KubernetesEmulator, name: str = "demo", within: float = 10) -> None:
    await wait_for(lambda: condition(td(cluster, name), "Ready") == "True", within)


def owned_objects(cluster: kmock.KubernetesEmulator, uid: str) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for (resource, _ns, name), obj in cluster.objects.items():
        if obj.deleted or resource.plural == "events":
            continue
        refs = obj.raw.get("metadata", {}).get("ownerReferences") or []
        if any(ref.get("uid") == uid for ref in refs):
            out[(obj.raw["kind"], name)] = obj.raw
    return out


def events_of(cluster: kmock.KubernetesEmulator, name: str = "demo") -> list[dict[str, Any]]:
    return [
        obj.raw
        for (resource, _ns, _n), obj in cluster.objects.items()
        if resource.plural == "events" and obj.raw.get("involvedObject", {}).get("name") == name
    ]


async def quiet(rt: Runtime, settle: float = 0.3, within: float = 10) -> None:
    """Wait until the operator's own client has been silent for ``settle`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last = sum(rt.client.calls.values())
    while loop.time() < deadline:
        await asyncio.sleep(settle)
        now = sum(rt.client.calls.values())
        if now == last:
            return
        last = now
    raise TimeoutError("the operator never went quiet")


async def test_create_builds_every_child_with_owner_references_and_conditions(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    async with running_operator(cluster):
        await create(cluster, td_manifest())
        await ready(cluster)
        body = td(cluster)
        status = body["status"]
        assert status["phase"] == "Ready"
        assert status["observedGeneration"] == 1
        types = [cond["type"] for cond in status["conditions"]]
        assert types == [
            "Ready",
            "Progressing",
            "Degraded",
            "VariantAReady",
            "VariantBReady",
            "GuardrailReady",
            "DependenciesReady",
            "AutoscalingActive",
        ]
        assert all(cond["observedGeneration"] == 1 for cond in status["conditions"])
        assert status["weights"] == {"A": 100, "B": 0}
        assert status["variants"]["A"]["agentName"].startswith("demo-a-")
        owned = owned_objects(cluster, "uid-demo")
        assert {f"{k}/{n}" for k, n in owned} == {"/".join(e.split("/")[-2:]) for e in status["inventory"]}
        assert len(owned) == len(status["inventory"]) == 24
        for obj in owned.values():
            (ref,) = obj["metadata"]["ownerReferences"]
            assert ref["controller"] is True and ref["kind"] == c.KIND and ref["name"] == "demo"
        # No finalizer: deletion never waits for the operator.
        assert not body["metadata"].get("finalizers")
        # The first status is summarized in one Event; each later flip gets its own.
        await wait_for(
            lambda: {"Reconciled", "AllComponentsReady"} <= {e["reason"] for e in events_of(cluster)}
        )


async def test_spec_change_patches_only_what_changed(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    async with running_operator(cluster) as rt:
        await create(cluster, td_manifest())
        await ready(cluster)
        await quiet(rt)
        patches_before = len(list(cluster[kmock.method.PATCH]))
        posts_before = len(list(cluster[kmock.method.POST]))
        await change_spec(cluster, "demo", {"guardrail": {"replicas": 3}})
        await wait_for(lambda: td(cluster)["status"].get("observedGeneration") == 2)
        await quiet(rt)
        patched = [
            req.resource.plural + "/" + (req.name or "")
            for req in list(cluster[kmock.method.PATCH])[patches_before:]
            if req.resource is not None and req.resource.plural not in (c.PLURAL,)
        ]
        assert patched == ["deployments/demo-guardrail"]
        created = [r.resource.plural for r in list(cluster[kmock.method.POST])[posts_before:] if r.resource]
        assert set(created) <= {"events"}
        guardrail = stored(cluster, "apps/v1/deployments", "demo-guardrail")
        assert guardrail["spec"]["replicas"] == 3


async def test_no_op_resync_makes_no_requests_at_all(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    async with running_operator(cluster, operator_settings(resync_seconds=0.2)) as rt:
        await create(cluster, td_manifest())
        await ready(cluster)
        await quiet(rt)
        before = copy.deepcopy(rt.client.calls)
        await asyncio.sleep(1.5)  # about seven resync timers
        assert rt.client.calls == before


async def test_deleted_child_is_recreated(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    async with running_operator(cluster):
        await create(cluster, td_manifest())
        await ready(cluster)
        await cluster.delete(f"/api/v1/namespaces/{NAMESPACE}/services/demo-gateway")
        assert stored(cluster, "v1/services", "demo-gateway") is None
        await wait_for(lambda: stored(cluster, "v1/services", "demo-gateway") is not None, 5)


async def test_timer_alone_corrects_drift(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    # Child events never trigger a refresh here (the debounce outlasts the test): only the timer acts.
    settings = operator_settings(resync_seconds=0.3, child_debounce_seconds=3600)
    async with running_operator(cluster, settings):
        await create(cluster, td_manifest())
        await wait_for(lambda: stored(cluster, "apps/v1/deployments", "demo-gateway") is not None)
        await cluster.delete(f"/apis/policy/v1/namespaces/{NAMESPACE}/poddisruptionbudgets/demo-gateway")
        await cluster.patch(
            f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/demo-guardrail", json={"spec": {"replicas": 7}}
        )
        await wait_for(
            lambda: stored(cluster, "policy/v1/poddisruptionbudgets", "demo-gateway") is not None, 5
        )
        await wait_for(
            lambda: stored(cluster, "apps/v1/deployments", "demo-guardrail")["spec"]["replicas"] == 2, 5
        )


async def test_injected_conflicts_errors_and_timeouts_converge_without_duplicates(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    # kmock stores the object even when a reaction answers with an error: the client sees a failure
    # although the write happened, exactly the case that breeds duplicates in naive operators.
    cluster["post", kmock.resource("apps/v1/deployments")][:2] << 500
    cluster["post", kmock.resource("v1/services")][:1] << 409
    cluster["patch", kmock.resource(TD_RESOURCE)][:1] << 503

    async def slow() -> dict[str, Any]:
        await asyncio.sleep(1.0)
        return {}

    cluster["post", kmock.resource("v1/configmaps")][:1] << slow
    settings = operator_settings(request_timeout_seconds=0.3)
    async with running_operator(cluster, settings) as rt:
        await create(cluster, td_manifest())
        await ready(cluster, within=15)
        await quiet(rt)
        status = td(cluster)["status"]
        owned = owned_objects(cluster, "uid-demo")
        assert len(owned) == len(status["inventory"]) == 24
        assert condition(td(cluster), "Degraded") == "False"
        assert rt.client.calls["POST-retry"] >= 3
        names = [name for (_k, name) in owned]
        assert not [n for n in names if n in (None, "None")]


async def test_disabling_a_variant_prunes_its_children(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    async with running_operator(cluster):
        await create(cluster, td_manifest())
        await ready(cluster)
        await change_spec(
            cluster,
            "demo",
            {"variants": {"A": {"enabled": False, "weight": 0}, "B": {"enabled": True, "weight": 100}}},
        )
        await wait_for(lambda: stored(cluster, "apps/v1/deployments", "demo-agent") is None, 5)
        await wait_for(lambda: td(cluster)["status"]["weights"] == {"A": 0, "B": 100})
        await ready(cluster)
        body = td(cluster)
        assert condition(body, "VariantAReady") == "False"
        assert condition(body, "VariantBReady") == "True"
        assert body["status"]["weights"] == {"A": 0, "B": 100}
        for resource in (
            "autoscaling/v2/horizontalpodautoscalers",
            "policy/v1/poddisruptionbudgets",
            "v1/serviceaccounts",
            "networking.k8s.io/v1/networkpolicies",
        ):
            assert stored(cluster, resource, "demo-agent") is None, resource


async def test_invalid_spec_is_reported_not_crashed(cluster: kmock.KubernetesEmulator) -> None:
    async with running_operator(cluster):
        bad = td_manifest(variants={"A": {"weight": 60}, "B": {"enabled": True, "weight": 30}})
        await create(cluster, bad)
        await wait_for(lambda: condition(td(cluster), "Degraded") == "True")
        degraded = next(x for x in td(cluster)["status"]["conditions"] if x["type"] == "Degraded")
        assert degraded["reason"] == "InvalidSpec"
        assert "must sum to 100" in degraded["message"]
        assert stored(cluster, "apps/v1/deployments", "demo-gateway") is None


async def test_adopts_unowned_children_and_refuses_foreign_ones(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    await cluster.post(
        f"/api/v1/namespaces/{NAMESPACE}/services",
        json={
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "demo-gateway", "namespace": NAMESPACE},
            "spec": {"ports": [{"port": 80}]},
        },
    )
    foreign = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "other",
        "uid": "uid-other",
        "controller": True,
    }
    await cluster.post(
        f"/api/v1/namespaces/{NAMESPACE}/configmaps",
        json={
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "demo-variants", "namespace": NAMESPACE, "ownerReferences": [foreign]},
            "data": {},
        },
    )
    async with running_operator(cluster):
        await create(cluster, td_manifest())
        await wait_for(lambda: condition(td(cluster), "Degraded") == "True", 5)
        service = stored(cluster, "v1/services", "demo-gateway")
        assert service["metadata"]["ownerReferences"][0]["uid"] == "uid-demo"
        assert service["spec"]["ports"][0]["port"] == c.GATEWAY_PORT
        degraded = next(x for x in td(cluster)["status"]["conditions"] if x["type"] == "Degraded")
        assert "ConfigMap/demo-variants is controlled by ReplicaSet other" in degraded["message"]


async def test_failed_migration_degrades_the_deployment(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    simulator.fail_jobs = True
    async with running_operator(cluster):
        await create(cluster, td_manifest())
        await wait_for(
            lambda: (
                condition(td(cluster), "DependenciesReady") == "False"
                and condition(td(cluster), "Degraded") == "True"
            ),
            5,
        )
        deps = next(x for x in td(cluster)["status"]["conditions"] if x["type"] == "DependenciesReady")
        assert deps["reason"] == "MigrationFailed"
        assert "kubectl logs job/demo-migrate-" in deps["message"]
        assert condition(td(cluster), "Ready") == "False"
        await wait_for(
            lambda: any(
                e["reason"] == "MigrationFailed" and e["type"] == "Warning" for e in events_of(cluster)
            )
        )


async def test_managed_dependencies_are_rendered_owned_and_gate_readiness(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    manifest = td_manifest(dependencies={"supabase": {"mode": "managed"}, "langfuse": {"mode": "managed"}})
    del manifest["spec"]["secrets"]["database"]
    async with running_operator(cluster, operator_settings(charts_dir=CHARTS, resync_seconds=0.2)) as rt:
        await create(cluster, manifest)
        await ready(cluster)
        secret = stored(cluster, "v1/secrets", "demo-supabase-connection")
        assert secret is not None and secret["metadata"]["ownerReferences"][0]["uid"] == "uid-demo"
        assert stored(cluster, "apps/v1/statefulsets", "demo-supabase-db") is not None
        assert stored(cluster, "apps/v1/deployments", "demo-langfuse-web") is not None
        gateway = stored(cluster, "apps/v1/deployments", "demo-gateway")
        env = {e["name"]: e for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["TUTOR_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": "demo-supabase-connection",
            "key": "database-url",
        }
        assert (
            env["TUTOR_LANGFUSE_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "demo-langfuse-api-keys"
        )
        settings_cm = stored(cluster, "v1/configmaps", "demo-settings")
        assert settings_cm["data"]["TUTOR_OTLP_ENDPOINT"].startswith(
            "http://demo-langfuse-web.tutor.svc:3000"
        )
        # The releases' Secrets come from the charts' credentials.yaml (test_managed_credentials).
        assert stored(cluster, "v1/secrets", "demo-supabase-credentials") is not None
        await quiet(rt)
        await asyncio.sleep(0.6)  # resyncs re-render the charts ...
        assert not [r for r in cluster[kmock.method.PATCH] if r.resource and r.resource.plural == "secrets"]
        assert rt.renderer is not None and rt.renderer.renders == 2  # ... from the cache, not helm


async def test_a_chart_rendering_forbidden_kinds_is_refused(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator, tmp_path: Path
) -> None:
    import shutil

    shutil.copytree(CHARTS / "forbidden", tmp_path / "langfuse")
    async with running_operator(cluster, operator_settings(charts_dir=tmp_path)):
        await create(cluster, td_manifest(dependencies={"langfuse": {"mode": "managed"}}))
        await wait_for(lambda: condition(td(cluster), "DependenciesReady") == "False", 5)
        deps = next(x for x in td(cluster)["status"]["conditions"] if x["type"] == "DependenciesReady")
        assert deps["reason"] == "DependencyFailed"
        assert "renders ClusterRole" in deps["message"]
        assert not [k for k in cluster.objects if k[0].plural == "clusterroles"]


async def test_status_cli_summarizes_a_live_deployment(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    async with running_operator(cluster):
        await create(cluster, td_manifest())
        await ready(cluster)
        text = summarize(await fetch_status("demo", NAMESPACE, str(cluster.url)))
    assert "TutorDeployment tutor/demo" in text
    assert "phase:      Ready" in text
    assert "weights:    A 100%  B 0%" in text
    assert "Ready              True" in text


async def test_operator_metrics_are_exported(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    from prometheus_client import REGISTRY

    async with running_operator(cluster):
        await create(cluster, td_manifest())
        await ready(cluster)
    assert (
        REGISTRY.get_sample_value("tutorplane_operator_reconcile_seconds_count", {"handler": "create"}) or 0
    ) >= 1
    assert (
        REGISTRY.get_sample_value(
            "tutorplane_operator_child_writes_total", {"action": "create", "kind": "Deployment"}
        )
        or 0
    ) >= 3
    assert (
        REGISTRY.get_sample_value(
            "tutorplane_operator_variant_weight_percent",
            {"namespace": NAMESPACE, "deployment": "demo", "variant": "A"},
        )
        == 100
    )
    assert (
        REGISTRY.get_sample_value("tutorplane_operator_managed_objects", {"kind": "Deployment"}) or 0
    ) >= 3


async def test_new_pool_revision_is_published_only_once_its_workers_are_ready(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    import json

    def published() -> dict[str, Any]:
        cm = stored(cluster, "v1/configmaps", "demo-variants")
        return dict(json.loads(cm["data"][c.VARIANT_CONFIG_FILE])) if cm else {}

    def pool_revision() -> str:
        pool = stored(cluster, "apps/v1/deployments", "demo-agent") or {}
        return str(
            pool.get("spec", {})
            .get("template", {})
            .get("metadata", {})
            .get("labels", {})
            .get(c.LABEL_REVISION)
        )

    async with running_operator(cluster):
        await create(cluster, td_manifest())
        await ready(cluster)
        old = pool_revision()
        assert published()["agentNames"] == {"A": f"demo-a-{old}"}
        simulator.ready = False  # the new workers will not come up for now
        await change_spec(cluster, "demo", {"images": {"agent": "registry.local/tutorplane/agent:1.1.0"}})
        await wait_for(lambda: pool_revision() != old)
        new = pool_revision()
        await wait_for(lambda: td(cluster)["status"]["variants"]["A"].get("revision") == new)
        assert published()["agentNames"] == {"A": f"demo-a-{old}"}  # sessions still go to running workers
        assert td(cluster)["status"]["variants"]["A"]["publishedRevision"] == old
        simulator.ready = True
        await wait_for(lambda: published()["agentNames"] == {"A": f"demo-a-{new}"}, 5)
        await wait_for(lambda: td(cluster)["status"]["variants"]["A"]["agentName"] == f"demo-a-{new}")


async def test_deletion_needs_no_operator_and_stops_its_timers(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    async with running_operator(cluster, operator_settings(resync_seconds=0.2)) as rt:
        await create(cluster, td_manifest())
        await ready(cluster)
        await cluster.delete(f"{TD_PATH}/demo")
        # No finalizer: the object is gone at once, and the garbage collector takes the children.
        assert td(cluster) == {}
        await wait_for(lambda: not owned_objects(cluster, "uid-demo"), 5)
        await wait_for(lambda: rt.latest(NAMESPACE, "demo") is None)
        await quiet(rt)
        calls = sum(rt.client.calls.values())
        await asyncio.sleep(0.8)  # four resync periods: the timers of the deleted object are gone
        assert sum(rt.client.calls.values()) == calls
