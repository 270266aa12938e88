"""End to end on a real cluster (cluster tier): kind up -> Tilt in CI mode -> the sample
TutorDeployment Ready -> a student session created through the ingress.

Needs Docker (with a running daemon), kind, kubectl, helm and tilt; without them every test here
skips and says which are missing. Set TUTORPLANE_E2E_KEEP=1 to keep the cluster afterwards.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path

import jwt
import pytest

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = "kind-tutorplane"
NAMESPACE = "tutorplane"
TD = "tutor-a"
INGRESS = "http://127.0.0.1:8080"
HOST = "tutor-a.localtest.me"


def missing_prerequisites() -> str | None:
    missing = [tool for tool in ("docker", "kind", "kubectl", "helm", "tilt") if shutil.which(tool) is None]
    if missing:
        return f"needs {', '.join(missing)} (the cluster tier runs on machines with Docker; see scripts/cluster.sh)"
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        return "the Docker daemon does not answer (docker info failed)"
    return None


def kubectl(*args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        ["kubectl", "--context", CONTEXT, *args], capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    reason = missing_prerequisites()
    if reason:
        pytest.skip(reason)
    up = subprocess.run(
        [str(ROOT / "scripts" / "cluster.sh"), "up", "--sample", "a-only", "--ci"], cwd=ROOT, timeout=45 * 60
    )
    assert up.returncode == 0, "scripts/cluster.sh up --ci failed (its output is above)"
    try:
        yield
    finally:
        if os.environ.get("TUTORPLANE_E2E_KEEP") != "1":
            subprocess.run([str(ROOT / "scripts" / "cluster.sh"), "down"], cwd=ROOT, timeout=600)


def test_sample_becomes_ready(cluster: None) -> None:
    kubectl(
        "-n",
        NAMESPACE,
        "wait",
        f"tutordeployment/{TD}",
        "--for=condition=Ready",
        "--timeout=15m",
        timeout=960,
    )
    status = json.loads(kubectl("-n", NAMESPACE, "get", f"tutordeployment/{TD}", "-o", "json"))["status"]
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions.get("DependenciesReady") == "True" and conditions.get("VariantAReady") == "True"


def test_operator_runs_two_replicas(cluster: None) -> None:
    deployment = json.loads(
        kubectl(
            "-n",
            "tutorplane-system",
            "get",
            "deployment",
            "-l",
            "app.kubernetes.io/name=tutor-operator",
            "-o",
            "json",
        )
    )["items"][0]
    assert deployment["status"].get("readyReplicas") == 2


def _secret_value(name: str, key: str) -> str:
    encoded = kubectl("-n", NAMESPACE, "get", "secret", name, "-o", f"jsonpath={{.data.{key}}}")
    return base64.b64decode(encoded).decode()


def _seed_student() -> uuid.UUID:
    """A class and a student, written as the database superuser (no admin API in this sample)."""
    student, klass = uuid.uuid4(), uuid.uuid4()
    sql = (
        f"INSERT INTO public.classes (id, name) VALUES ('{klass}', 'e2e class');"
        f"INSERT INTO public.students (id, display_name, class_id) VALUES ('{student}', 'E2E Student', '{klass}');"
    )
    kubectl(
        "-n",
        NAMESPACE,
        "exec",
        f"{TD}-supabase-postgresql-0",
        "--",
        "psql",
        "-U",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        sql,
    )
    return student


def _request(
    opener: urllib.request.OpenerDirector,
    method: str,
    path: str,
    token: str,
    headers: dict[str, str] | None = None,
    body: dict | None = None,
) -> tuple[int, dict]:
    request = urllib.request.Request(
        INGRESS + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Host": HOST,
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            **(headers or {}),
        },
    )
    with opener.open(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_student_session_through_the_ingress(cluster: None) -> None:
    kubectl(
        "-n",
        NAMESPACE,
        "wait",
        f"tutordeployment/{TD}",
        "--for=condition=Ready",
        "--timeout=15m",
        timeout=960,
    )
    student = _seed_student()
    now = int(time.time())
    # The Supabase-shaped access token GoTrue would issue, signed with the deployment's JWT secret.
    token = jwt.encode(
        {
            "sub": str(student),
            "aud": "authenticated",
            "role": "authenticated",
            "iat": now,
            "exp": now + 600,
            "app_metadata": {"provider": "email", "role": "student"},
        },
        _secret_value(f"{TD}-gateway", "jwt-secret"),
        algorithm="HS256",
    )
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    status, csrf = _request(opener, "GET", "/api/auth/csrf", token)
    assert status == 200
    status, session = _request(opener, "POST", "/api/sessions", token, {"X-CSRF-Token": csrf["token"]}, {})
    assert status == 201
    assert session["variant"] == "A"
    assert session["livekit"]["token"] and session["livekit"]["url"]
    assert session["livekit"]["agent_name"].startswith(f"{TD}-a-")  # explicit dispatch to this pool
