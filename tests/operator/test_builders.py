"""Builders: golden files of every scenario, offline schema validation, and the pod invariants.

Regenerate the goldens after an intended change: ``TUTOR_UPDATE_GOLDEN=1 pytest tests/operator``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from operator_samples import CHARTS, SCENARIOS, scenario
from tutorplane.operator import constants as c
from tutorplane.operator.builders import BuildContext, Owner, build_children
from tutorplane.operator.cli import render_documents
from tutorplane.operator.schema_check import check_object
from tutorplane.operator.spec import parse_spec

pytestmark = pytest.mark.unit

GOLDEN = Path(__file__).parent / "golden"
KUBE_VERSION = "1.30.0"


def render(name: str, keda: bool = False, weights: dict[str, int] | None = None) -> list[dict[str, Any]]:
    objects, _ = render_documents([scenario(name)], keda=keda, charts_dir=Path(CHARTS), weights=weights)
    return objects


def context(name: str, **kwargs: Any) -> BuildContext:
    td = check_object(scenario(name))
    meta = td["metadata"]
    return BuildContext(
        owner=Owner(meta["name"], meta["namespace"], meta["uid"]), spec=parse_spec(td["spec"]), **kwargs
    )


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("keda", [False, True], ids=["hpa", "keda"])
def test_rendering_matches_golden_file(name: str, keda: bool) -> None:
    objects = render(name, keda=keda)
    for obj in objects:
        if obj["kind"] == "Secret":  # chart-generated passwords differ on every render
            for field in ("data", "stringData"):
                obj[field] = {key: "<generated>" for key in obj.get(field, {})}
            obj["metadata"]["annotations"][c.ANNOTATION_DESIRED_HASH] = "<generated>"
    text = yaml.safe_dump_all(objects, sort_keys=True)
    path = GOLDEN / f"{name}{'-keda' if keda else ''}.yaml"
    if os.environ.get("TUTOR_UPDATE_GOLDEN") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{path.name} differs; rerun with TUTOR_UPDATE_GOLDEN=1 if intended"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_built_object_validates_against_kubernetes_schemas(name: str) -> None:
    for obj in render(name):
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)


def test_keda_scaled_objects_replace_hpas_only_when_prometheus_is_known() -> None:
    kinds = {o["kind"] for o in render("b-only", keda=True)}
    assert "ScaledObject" in kinds and "HorizontalPodAutoscaler" not in kinds
    kinds = {o["kind"] for o in render("a-only", keda=True)}  # no spec.prometheus: HPA stays
    assert "HorizontalPodAutoscaler" in kinds and "ScaledObject" not in kinds


def _pods(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o["spec"]["template"]["spec"] for o in objects if o["kind"] in ("Deployment", "Job")]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_pods_are_hardened(name: str) -> None:
    for pod in _pods(render(name)):
        if pod["containers"][0]["name"] in ("postgres", "web"):
            continue  # the dependency charts' own pods
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_secrets_only_arrive_through_secret_key_refs(name: str) -> None:
    for pod in _pods(render(name)):
        for container in pod["containers"]:
            for env in container.get("env", []):
                if any(
                    word in env["name"] for word in ("KEY", "SECRET", "PASSWORD", "DATABASE_URL", "TOKEN")
                ):
                    assert "value" not in env, f"{env['name']} carries a literal value"
                    assert "secretKeyRef" in env["valueFrom"]


def test_probes_and_termination_grace_cover_the_session_cap() -> None:
    ctx = context("a-and-b")
    objects = {o["metadata"]["name"]: o for o in build_children(ctx).objects if o["kind"] == "Deployment"}
    for name, variant in (("tutor-ab-agent", ctx.spec.variants.a), ("tutor-ab-gateway", ctx.spec.variants.b)):
        pod = objects[name]["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] >= variant.session_cap_seconds
        # SIGTERM -> the settle (still taking work) -> the drain -> a margin before SIGKILL.
        assert pod["terminationGracePeriodSeconds"] > (
            variant.drain_settle_seconds + variant.drain_grace_seconds
        )
        env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
        assert env["TUTOR_DRAIN_SETTLE_S"] == str(variant.drain_settle_seconds)
        container = pod["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    agent = objects["tutor-ab-agent"]["spec"]["template"]["spec"]["containers"][0]
    assert agent["readinessProbe"]["httpGet"]["port"] == c.AGENT_HEALTH_PORT
    guardrail = objects["tutor-ab-guardrail"]["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in guardrail["containers"][0]["env"]}
    assert env["TUTOR_DRAIN_SETTLE_S"] == str(ctx.spec.guardrail.drain_settle_seconds) == "5"
    assert guardrail["terminationGracePeriodSeconds"] > ctx.spec.guardrail.drain_settle_seconds


def test_agent_name_follows_the_pool_revision() -> None:
    base = build_children(context("a-only"))
    pool = next(
        o for o in base.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "tutor-a-agent"
    )
    env = {e["name"]: e.get("value") for e in pool["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TUTOR_PIPELINE_AGENT_NAME"] == f"tutor-a-a-{base.revisions['A']}" == base.agent_name
    assert env["TUTOR_AGENT_ROLE"] == "pipeline"
    assert env["TUTOR_ENGLISH_AGENT_NAME"] == f"{base.agent_name}-english"
    assert env["TUTOR_REVISION"] == base.revisions["A"]
    assert pool["spec"]["template"]["metadata"]["labels"][c.LABEL_REVISION] == base.revisions["A"]
    # Selectors never carry the revision (Kubernetes refuses selector edits).
    assert c.LABEL_REVISION not in pool["spec"]["selector"]["matchLabels"]

    td = scenario("a-only")
    td["spec"]["images"]["agent"] = "registry.local/tutorplane/agent:1.0.1"
    spec = parse_spec(check_object(td)["spec"])
    bumped = build_children(BuildContext(owner=Owner("tutor-a", "tutor", "uid-tutor-a"), spec=spec))
    assert bumped.revisions["A"] != base.revisions["A"]
    # Weights are not part of a pod: moving them never restarts or renames a pool.
    moved = build_children(context("a-only", weights={"A": 100, "B": 0}))
    assert moved.revisions == base.revisions


def test_variant_config_publishes_the_weights_in_force() -> None:
    import json

    ctx = context("a-and-b", weights={"A": 90, "B": 10})
    rendered = build_children(ctx)
    cm = next(o for o in rendered.objects if o["metadata"]["name"] == "tutor-ab-variants")
    config = json.loads(cm["data"][c.VARIANT_CONFIG_FILE])
    assert config["weights"] == {"A": 90, "B": 10}
    assert config["agentNames"] == {"A": rendered.agent_name}
    assert config["englishAgentNames"] == {"A": f"{rendered.agent_name}-english"}
    assert config["revisions"] == rendered.revisions
    assert config["enabled"] == {"A": True, "B": True}
    # The gateway assigns sessions by it; both pool workers send their handoffs to the names in it.
    for name in ("tutor-ab-gateway", "tutor-ab-agent", "tutor-ab-agent-english"):
        deployment = next(
            o for o in rendered.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name
        )
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["TUTOR_VARIANT_CONFIG_PATH"] == f"{c.VARIANT_CONFIG_DIR}/{c.VARIANT_CONFIG_FILE}"
        mount = next(m for m in container["volumeMounts"] if m["name"] == "variants")
        assert "subPath" not in mount  # a subPath mount never sees ConfigMap updates
        volume = next(v for v in pod["volumes"] if v["name"] == "variants")
        assert volume["configMap"]["name"] == "tutor-ab-variants"


def test_autoscaled_deployments_leave_replicas_to_the_autoscaler() -> None:
    objects = {(o["kind"], o["metadata"]["name"]): o for o in render("a-only")}
    assert "replicas" not in objects[("Deployment", "tutor-a-agent")]["spec"]
    hpa = objects[("HorizontalPodAutoscaler", "tutor-a-agent")]["spec"]
    assert hpa["metrics"][0]["pods"]["metric"]["name"] == c.AGENT_SESSIONS_METRIC
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 600
    fixed = {(o["kind"], o["metadata"]["name"]): o for o in render("fixed-replicas")}
    assert fixed[("Deployment", "tutor-fixed-agent")]["spec"]["replicas"] == 3
    assert not [k for k in fixed if k[0] == "HorizontalPodAutoscaler"]


def test_every_child_is_owned_labelled_and_hashed() -> None:
    ctx = context("a-and-b")
    for obj in build_children(ctx).objects:
        meta = obj["metadata"]
        assert meta["ownerReferences"] == [ctx.owner.reference()]
        assert meta["labels"][c.LABEL_MANAGED_BY] == c.OPERATOR_NAME
        assert meta["labels"][c.LABEL_DEPLOYMENT] == "tutor-ab"
        assert len(meta["annotations"][c.ANNOTATION_DESIRED_HASH]) == 10
        assert len(meta["name"]) <= 63


def test_settings_change_rolls_pods_through_the_config_hash() -> None:
    base = build_children(context("a-only"))
    td = scenario("a-only")
    td["spec"]["models"] = {"math": "claude-opus-4-1"}
    spec = parse_spec(check_object(td)["spec"])
    changed = build_children(BuildContext(owner=Owner("tutor-a", "tutor", "uid-tutor-a"), spec=spec))

    def config_hash(rendered: Any, name: str) -> str:
        obj = next(o for o in rendered.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name)
        return str(obj["spec"]["template"]["metadata"]["annotations"][c.ANNOTATION_CONFIG_HASH])

    assert config_hash(base, "tutor-a-gateway") != config_hash(changed, "tutor-a-gateway")
    settings = next(o for o in changed.objects if o["metadata"]["name"] == "tutor-a-settings")
    assert settings["data"]["TUTOR_MATH_MODEL"] == "claude-opus-4-1"
    assert settings["data"]["TUTOR_ENVIRONMENT"] == "production"
