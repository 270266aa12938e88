"""Cluster tier: the operator (kopf's KopfRunner) against a real API server in kind.

Runs where Docker and kind exist: creates a throwaway kind cluster, installs the CRD, runs the
operator, applies a TutorDeployment and checks children, owner references, status and garbage
collection. Here (no Docker) it skips with the reason; it never fakes a pass.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tutorplane.operator.testing import td_manifest

pytestmark = pytest.mark.cluster

CLUSTER = "tutorplane-operator-e2e"
ROOT = Path(__file__).parents[2]


def _missing() -> str | None:
    for tool in ("docker", "kind", "kubectl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed; the cluster tier needs Docker, kind and kubectl"
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True)
    if probe.returncode != 0:
        return "the Docker daemon is not reachable (`docker info` failed)"
    return None


def kubectl(*args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        ["kubectl", "--context", f"kind-{CLUSTER}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.fixture(scope="module")
def kind_cluster() -> Iterator[None]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    subprocess.run(["kind", "create", "cluster", "--name", CLUSTER, "--wait", "120s"], check=True)
    try:
        kubectl("apply", "-f", str(ROOT / "manifests" / "crds" / "tutordeployments.yaml"))
        kubectl("wait", "--for=condition=Established", "crd/tutordeployments.tutorplane.dev", "--timeout=60s")
        kubectl("create", "namespace", "tutor")
        yield
    finally:
        if not os.environ.get("TUTOR_KEEP_KIND"):
            subprocess.run(["kind", "delete", "cluster", "--name", CLUSTER], check=False)


def _wait(check: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except subprocess.CalledProcessError:
            pass
        time.sleep(1)
    raise TimeoutError("condition not met")


def test_operator_reconciles_on_a_real_api_server(
    kind_cluster: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kopf.testing import KopfRunner

    monkeypatch.setenv("TUTOR_OPERATOR_NAMESPACES", '["tutor"]')
    monkeypatch.setenv("TUTOR_OPERATOR_STANDALONE", "true")
    monkeypatch.setenv("TUTOR_OPERATOR_WEBHOOK_PORT", "0")
    td = td_manifest("e2e", namespace="tutor")
    del td["metadata"]["uid"], td["metadata"]["generation"]
    args = ["run", "--standalone", "--namespace", "tutor", "-m", "tutorplane.operator.kopf_entry"]
    with KopfRunner(args, timeout=120) as runner:
        kubectl("apply", "-f", "-", stdin=yaml.safe_dump(td))
        _wait(lambda: kubectl("get", "deployment", "e2e-gateway", "-n", "tutor", "-o", "name"))
        uid = kubectl("get", "td", "e2e", "-n", "tutor", "-o", "jsonpath={.metadata.uid}")
        owners = json.loads(
            kubectl(
                "get",
                "deployment",
                "e2e-gateway",
                "-n",
                "tutor",
                "-o",
                "jsonpath={.metadata.ownerReferences}",
            )
        )
        assert owners[0]["uid"] == uid
        _wait(
            lambda: kubectl(
                "get",
                "td",
                "e2e",
                "-n",
                "tutor",
                "-o",
                "jsonpath={.status.conditions[?(@.type=='Progressing')].status}",
            )
        )
        assert kubectl("get", "td", "e2e", "-n", "tutor", "-o", "jsonpath={.metadata.finalizers}") == ""
        bad = td_manifest("e2e-bad", namespace="tutor", variants={"A": {"weight": 20}})
        del bad["metadata"]["uid"], bad["metadata"]["generation"]
        with pytest.raises(subprocess.CalledProcessError) as refused:
            kubectl("apply", "-f", "-", stdin=yaml.safe_dump(bad))
        assert "weights of enabled variants must sum to 100" in refused.value.stderr
        kubectl("delete", "td", "e2e", "-n", "tutor", "--wait=true", "--timeout=60s")
        _wait(
            lambda: (
                not kubectl(
                    "get", "deployment", "-n", "tutor", "-l", "tutorplane.dev/deployment=e2e", "-o", "name"
                )
            )
        )
    assert runner.exit_code == 0, runner.output
