"""The local-cluster loop without a cluster: the Tiltfile (run in a Starlark interpreter), the kind
config, the dev manifests and scripts/cluster.sh's answers when tools are missing."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

pytest.importorskip(
    "starlark",
    reason="the Starlark interpreter is not installed (pip install starlark)",
)
from tiltfile_runner import TiltfileFailed, run_tiltfile

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = {"a-only": "tutor-a", "b-only": "tutor-b", "ab-rollout": "tutor-ab"}


@pytest.fixture(
    scope="module",
    params=[(s, m) for s in SAMPLES for m in ("cluster", "host")],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def tilt(request: pytest.FixtureRequest) -> tuple[str, str, object]:
    sample, mode = request.param
    return sample, mode, run_tiltfile(ROOT / "Tiltfile", {"sample": sample, "operator": mode})


def test_only_the_kind_context_is_allowed(tilt: tuple) -> None:
    _, _, run = tilt
    (call,) = run.named("allow_k8s_contexts")
    assert call.args == ["kind-tutorplane"]


def test_crds_first_then_operator_then_sample(tilt: tuple) -> None:
    sample, _, run = tilt
    deps = run.resource_deps()
    assert deps["crds"] == []
    assert "crds" in deps["operator"]
    td = SAMPLES[sample]
    assert {"operator", "secrets", "redis"} <= set(deps[td])
    assert ("tutorplane-livekit" in deps[td]) == (sample != "b-only")
    (crds,) = [c for c in run.named("local_resource") if c.args[0] == "crds"]
    assert "kubectl --context kind-tutorplane wait --for=condition=Established" in crds.kwargs["cmd"]
    for path in crds.kwargs["deps"]:
        assert (ROOT / path).exists()


def test_images_build_from_existing_dockerfiles_with_live_update(tilt: tuple) -> None:
    _, mode, run = tilt
    builds = {c.args[0]: c for c in run.named("docker_build") + run.named("docker_build_with_restart")}
    expected = {"tutorplane/gateway", "tutorplane/agent", "tutorplane/guardrail", "tutorplane/db-migrate"}
    if mode == "cluster":
        expected.add("tutorplane/operator")
    assert set(builds) == expected
    for ref, call in builds.items():
        assert (ROOT / call.kwargs["dockerfile"]).is_file(), ref
        for path in call.kwargs["only"]:
            assert (ROOT / path).exists(), f"{ref}: {path}"
    for call in run.named("docker_build_with_restart"):
        steps = call.kwargs["live_update"]
        assert "fall_back_on" in steps[0]
        syncs = [s["sync"] for s in steps if "sync" in s]
        assert syncs
        for source, target in syncs:
            assert (ROOT / source).is_dir(), source
            assert target.startswith("/tmp/live/tutorplane/")
        assert call.kwargs["entrypoint"][:2] == ["env", "PYTHONPATH=/tmp/live"]


def test_tilt_injects_built_images_into_the_tutordeployment(tilt: tuple) -> None:
    _, _, run = tilt
    (kind,) = run.named("k8s_kind")
    assert kind.args == ["TutorDeployment"]
    sample = yaml.safe_load((ROOT / "manifests/samples/a-only.yaml").read_text())
    for path in kind.kwargs["image_json_path"]:
        keys = path.strip("{}").lstrip(".").split(".")
        node = sample
        for key in keys:
            node = node[key]
        assert node.startswith("tutorplane/"), path


def test_every_applied_file_exists(tilt: tuple) -> None:
    sample, _, run = tilt
    files = [c.args[0] for c in run.named("k8s_yaml") if isinstance(c.args[0], str)]
    assert f"manifests/samples/{sample}.yaml" in files
    for path in files:
        assert (ROOT / path).is_file()
    for call in run.named("helm"):
        assert (ROOT / call.args[0] / "Chart.yaml").is_file()
        for values in call.kwargs.get("values", []):
            assert (ROOT / values).is_file()


def test_host_mode_runs_kopf_locally(tilt: tuple) -> None:
    _, mode, run = tilt
    operator = [c for c in run.named("local_resource") if c.args[0] == "operator"]
    assert bool(operator) == (mode == "host")
    if operator:
        env = operator[0].kwargs["serve_env"]
        assert env["TUTOR_OPERATOR_STANDALONE"] == "true" and env["TUTOR_OPERATOR_CHARTS_DIR"] == "charts"


def test_unknown_arguments_fail_with_the_choices() -> None:
    with pytest.raises(TiltfileFailed, match="a-only, ab-rollout, b-only"):
        run_tiltfile(ROOT / "Tiltfile", {"sample": "c-only"})
    with pytest.raises(TiltfileFailed, match="cluster or host"):
        run_tiltfile(ROOT / "Tiltfile", {"operator": "docker"})


def test_defaults_are_a_only_in_cluster() -> None:
    run = run_tiltfile(ROOT / "Tiltfile")
    assert "tutor-a" in run.resource_deps()


# ------------------------------------------------------------------------------------------------


def test_kind_cluster_config() -> None:
    config = yaml.safe_load((ROOT / "manifests/kind/cluster.yaml").read_text())
    assert (config["kind"], config["apiVersion"], config["name"]) == (
        "Cluster",
        "kind.x-k8s.io/v1alpha4",
        "tutorplane",
    )
    (node,) = config["nodes"]
    assert re.fullmatch(r"kindest/node:v\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?", node["image"])
    assert 'node-labels: "ingress-ready=true"' in node["kubeadmConfigPatches"][0]
    ports = {(p["containerPort"], p["protocol"]): p["hostPort"] for p in node["extraPortMappings"]}
    assert ports[(80, "TCP")] == 8080 and ports[(443, "TCP")] == 8443
    assert ports[(7882, "UDP")] == 7882  # LiveKit media (livekit chart rtc.udpPort, hostPorts)
    assert 'config_path = "/etc/containerd/certs.d"' in config["containerdConfigPatches"][0]


def test_local_registry_hosting_configmap() -> None:
    config = yaml.safe_load((ROOT / "manifests/kind/local-registry-hosting.yaml").read_text())
    assert config["metadata"] == {"name": "local-registry-hosting", "namespace": "kube-public"}
    assert yaml.safe_load(config["data"]["localRegistryHosting.v1"])["host"] == "localhost:5001"
    assert "REGISTRY_PORT=5001" in (ROOT / "scripts/cluster.sh").read_text()


def test_dev_manifests_validate() -> None:
    for doc in yaml.safe_load_all((ROOT / "manifests/kind/redis.yaml").read_text()):
        kubernetes_validate.validate(doc, "1.30.0", strict=True)
    livekit = yaml.safe_load((ROOT / "manifests/kind/livekit-values.yaml").read_text())
    assert livekit["rtc"]["hostPorts"] is True


def test_makefile_targets_call_the_cluster_script() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("up", "down", "logs"):
        assert re.search(rf"^{target}:\n\t@scripts/cluster.sh {target}$", makefile, re.M), target


# ---- scripts/cluster.sh without the tools ------------------------------------------------------


def _fake_bin(tmp_path: Path, tools: dict[str, str]) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in tools.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    # Only what the script needs from the system, without any of the cluster tools.
    for name in ("bash", "dirname", "grep", "cat", "printf"):
        for directory in ("/usr/bin", "/bin"):
            if Path(directory, name).exists() and not (bin_dir / name).exists():
                (bin_dir / name).symlink_to(Path(directory, name))
    return str(bin_dir)


def cluster_sh(path: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts/cluster.sh"), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": path, "HOME": os.environ.get("HOME", "/tmp")},
    )


def test_missing_tools_are_named_with_where_to_get_them(tmp_path: Path) -> None:
    result = cluster_sh(_fake_bin(tmp_path, {}), "up")
    assert result.returncode == 1
    assert "missing tools: docker kind kubectl helm tilt" in result.stderr
    for hint in (
        "Docker Desktop",
        "kind.sigs.k8s.io",
        "kubernetes.io/docs/tasks/tools",
        "helm.sh",
        "docs.tilt.dev",
    ):
        assert hint in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_docker_without_a_daemon_is_explained(tmp_path: Path) -> None:
    tools = {name: "exit 0" for name in ("kind", "kubectl", "helm", "tilt")}
    tools["docker"] = 'echo "Cannot connect to the Docker daemon" >&2; exit 1'
    result = cluster_sh(_fake_bin(tmp_path, tools), "up")
    assert result.returncode == 1
    assert "daemon does not answer" in result.stderr


def test_bad_usage(tmp_path: Path) -> None:
    path = _fake_bin(tmp_path, {})
    assert "usage: scripts/cluster.sh up|down|logs|secrets" in cluster_sh(path, "sideways").stderr
    result = cluster_sh(path, "up", "--sample", "c-only")
    assert result.returncode == 1 and "no sample named c-only" in result.stderr
    assert cluster_sh(path, "secrets").returncode == 1


def test_script_syntax() -> None:
    for script in ("cluster.sh", "sync-crd.sh"):
        assert subprocess.run(["bash", "-n", str(ROOT / "scripts" / script)]).returncode == 0
