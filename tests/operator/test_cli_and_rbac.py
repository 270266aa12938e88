"""The CLI (render, rbac, crd) and the generated RBAC covering exactly what the builders emit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from operator_samples import CHARTS, SCENARIOS, scenario
from tutorplane.operator.cli import main, render_documents
from tutorplane.operator.rbac import manifests, rules

pytestmark = pytest.mark.unit


def _write(tmp_path: Path, docs: list[dict]) -> Path:
    path = tmp_path / "td.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return path


def test_render_prints_every_child(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    td = scenario("a-and-b")
    del td["metadata"]["uid"]
    assert main(["render", "-f", str(_write(tmp_path, [td]))]) == 0
    out = capsys.readouterr().out
    objects = list(yaml.safe_load_all(out))
    assert {o["kind"] for o in objects} >= {
        "Deployment",
        "Service",
        "ConfigMap",
        "HorizontalPodAutoscaler",
        "Ingress",
    }
    # No uid, no owner reference: a dangling reference would get children garbage-collected.
    assert all("ownerReferences" not in o["metadata"] for o in objects)


def test_render_rejects_with_actionable_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    td = scenario("a-only")
    td["spec"]["images"]["agent"] = "agent:latest"
    assert main(["render", "-f", str(_write(tmp_path, [td]))]) == 2
    assert "pin a release tag or a digest" in capsys.readouterr().err
    td = scenario("a-only")
    td["spec"]["variants"] = {"A": {"weight": 40}}
    assert main(["render", "-f", str(_write(tmp_path, [td]))]) == 2
    assert "weights of enabled variants must sum to 100" in capsys.readouterr().err
    assert main(["render", "-f", str(_write(tmp_path, [{"kind": "ConfigMap"}]))]) == 2
    assert "no TutorDeployment found" in capsys.readouterr().err


def test_render_runs_as_a_console_script(tmp_path: Path) -> None:
    path = _write(tmp_path, [scenario("b-only")])
    exe = Path(sys.executable).with_name("tutorplane-operator")
    result = subprocess.run(
        [str(exe), "render", "-f", str(path), "--keda"], capture_output=True, text=True, check=True
    )
    assert "kind: ScaledObject" in result.stdout


@pytest.mark.parametrize("clusterwide", [False, True])
def test_rbac_manifests_are_valid(clusterwide: bool) -> None:
    for obj in manifests(namespaces=["tutor-a", "tutor-b"], clusterwide=clusterwide, webhooks_managed=True):
        kubernetes_validate.validate(obj, "1.30.0", strict=True)


def test_rbac_covers_every_emitted_kind_and_never_reads_secrets() -> None:
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in rules():
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    from tutorplane.operator.resources import lookup_builtin

    for name in SCENARIOS:
        for keda in (False, True):
            objects, _ = render_documents([scenario(name)], keda=keda, charts_dir=Path(CHARTS))
            for obj in objects:
                rt = lookup_builtin(obj["apiVersion"], obj["kind"])
                verbs = granted.get((rt.group, rt.plural), set())
                assert {"create", "delete"} <= verbs, f"{obj['kind']} not writable"
                if obj["kind"] != "Secret":
                    assert {"get", "list", "watch", "patch"} <= verbs, obj["kind"]
    assert granted[("", "secrets")] == {"create", "delete"}
    everything = set().union(*granted.values())
    assert "*" not in everything and "escalate" not in everything and "bind" not in everything
    assert ("rbac.authorization.k8s.io", "roles") not in granted


def test_namespaced_mode_needs_no_cluster_roles() -> None:
    kinds = {o["kind"] for o in manifests(namespaces=["tutor"])}
    assert kinds == {"Role", "RoleBinding"}
    rule_groups = {g for r in rules(clusterwide=False) for g in r["apiGroups"]}
    assert "apiextensions.k8s.io" not in rule_groups


def test_crd_and_rbac_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crd"]) == 0
    assert "kind: CustomResourceDefinition" in capsys.readouterr().out
    assert main(["rbac", "--clusterwide"]) == 0
    assert "kind: ClusterRole" in capsys.readouterr().out
