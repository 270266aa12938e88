"""Managed releases: the operator creates the credentials Secrets the charts read (once, owned,
never rotated, never logged), and holds its migration Job until the Supabase release is ready.

kopf in-process against kmock; the fixture charts follow the real charts' credentials contract,
and one test installs the real charts from ``charts/``.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import jwt
import kmock
import pytest
import yaml
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

SECRETS_PATH = f"/api/v1/namespaces/{NAMESPACE}/secrets"
FIXTURE_CHARTS = Path(__file__).parent / "fixtures" / "charts"
REAL_CHARTS = Path(__file__).resolve().parents[2] / "charts"


def managed(**deps: str) -> dict[str, Any]:
    manifest = td_manifest(dependencies={name: {"mode": mode} for name, mode in deps.items()})
    if deps.get("supabase") == "managed":
        del manifest["spec"]["secrets"]["database"]
    return manifest


def td(cluster: kmock.KubernetesEmulator) -> dict[str, Any]:
    return stored(cluster, TD_RESOURCE, "demo") or {}


def secret(cluster: kmock.KubernetesEmulator, name: str) -> dict[str, str]:
    obj = stored(cluster, "v1/secrets", name)
    assert obj is not None, f"Secret {name} missing"
    return dict(obj["stringData"])


def secret_requests(cluster: kmock.KubernetesEmulator, method: kmock.method) -> list[Any]:
    return [r for r in cluster[method] if r.resource is not None and r.resource.plural == "secrets"]


def condition_of(body: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(x for x in body["status"]["conditions"] if x["type"] == kind)


def everything_said(cluster: kmock.KubernetesEmulator, logs: str) -> str:
    """Status, Events and operator logs: where a Secret value must never appear."""
    events = [
        obj.raw
        for (resource, _ns, _n), obj in cluster.objects.items()
        if resource.plural == "events" and not obj.deleted
    ]
    return json.dumps(td(cluster).get("status", {})) + json.dumps(events) + logs


async def test_credentials_are_generated_once_owned_and_consistent_with_their_consumers(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = operator_settings(charts_dir=FIXTURE_CHARTS, resync_seconds=0.2)
    async with running_operator(cluster, settings):
        await cluster.post(TD_PATH, json=managed(supabase="managed", langfuse="managed"))
        await wait_for(lambda: condition(td(cluster), "Ready") == "True")
        supabase = secret(cluster, "demo-supabase-credentials")
        langfuse = secret(cluster, "demo-langfuse-credentials")
        # The keys the charts read (values.secretKeys), in the declared formats.
        assert set(supabase) == {"postgres-password", "app-password", "jwt-secret", "anon-key"}
        assert re.fullmatch(r"[0-9a-f]{48}", supabase["app-password"])
        claims = jwt.decode(supabase["anon-key"], supabase["jwt-secret"], algorithms=["HS256"])
        assert claims["role"] == "anon"
        assert langfuse["init-project-public-key"].startswith("pk-lf-")
        # The consumers the services are wired to carry the same values.
        connection = secret(cluster, "demo-supabase-connection")
        assert connection["database-url"] == (
            f"postgresql://tutorplane_app:{supabase['app-password']}@demo-supabase-db.tutor.svc:5432/postgres"
        )
        assert connection["jwt-secret"] == supabase["jwt-secret"]
        keys = secret(cluster, "demo-langfuse-api-keys")
        assert keys == {
            "public-key": langfuse["init-project-public-key"],
            "secret-key": langfuse["init-project-secret-key"],
        }
        for name in ("demo-supabase-credentials", "demo-supabase-connection", "demo-langfuse-api-keys"):
            obj = stored(cluster, "v1/secrets", name) or {}
            (ref,) = obj["metadata"]["ownerReferences"]
            assert ref["uid"] == "uid-demo" and ref["controller"] is True
        # Resyncs (every 0.2 s) create nothing more and patch nothing: the values never rotate.
        posts = len(secret_requests(cluster, kmock.method.POST))
        assert posts == 4
        await _sleep(1.0)
        assert len(secret_requests(cluster, kmock.method.POST)) == posts
        assert not secret_requests(cluster, kmock.method.PATCH)
        assert not secret_requests(cluster, kmock.method.GET)  # the operator never reads a Secret
        assert secret(cluster, "demo-supabase-credentials") == supabase
    said = everything_said(cluster, caplog.text)
    assert "demo-supabase-credentials" in caplog.text  # names are logged ...
    for value in [*supabase.values(), *langfuse.values()]:
        assert value not in said  # ... values never


async def test_an_existing_credentials_secret_is_never_overwritten(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    # Created beforehand, e.g. by scripts/dev-secrets.py with its consumers.
    mine = {"postgres-password": "p1", "app-password": "a1", "jwt-secret": "j1", "anon-key": "k1"}
    await cluster.post(
        SECRETS_PATH,
        json={
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "demo-supabase-credentials", "namespace": NAMESPACE},
            "stringData": mine,
        },
    )
    settings = operator_settings(charts_dir=FIXTURE_CHARTS)
    async with running_operator(cluster, settings):
        await cluster.post(TD_PATH, json=managed(supabase="managed"))
        await wait_for(lambda: stored(cluster, "apps/v1/statefulsets", "demo-supabase-db") is not None)
        await _sleep(0.5)
        assert secret(cluster, "demo-supabase-credentials") == mine
        assert not secret_requests(cluster, kmock.method.PATCH)
        # Consumers derive from values this operator does not know: it does not invent them.
        assert stored(cluster, "v1/secrets", "demo-supabase-connection") is None


async def test_a_restarted_operator_keeps_the_values_and_a_lost_reply_keeps_them_consistent(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    # The first create is stored but answered 503: the client retries and meets 409.
    cluster["post", kmock.resource("v1/secrets")][:1] << 503
    settings = operator_settings(charts_dir=FIXTURE_CHARTS)
    async with running_operator(cluster, settings):
        await cluster.post(TD_PATH, json=managed(supabase="managed"))
        await wait_for(lambda: condition(td(cluster), "Ready") == "True")
    credentials = secret(cluster, "demo-supabase-credentials")
    connection = secret(cluster, "demo-supabase-connection")
    assert f":{credentials['app-password']}@" in connection["database-url"]
    posts = len(secret_requests(cluster, kmock.method.POST))
    async with running_operator(cluster, settings):
        await wait_for(lambda: len(secret_requests(cluster, kmock.method.POST)) > posts)
        await _sleep(0.8)
        # One create per release after a restart, refused with 409: nothing changes.
        assert len(secret_requests(cluster, kmock.method.POST)) == posts + 1
        assert secret(cluster, "demo-supabase-credentials") == credentials
        assert secret(cluster, "demo-supabase-connection") == connection
        assert condition(td(cluster), "Degraded") == "False"


async def test_migrations_wait_for_the_managed_supabase_release(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    simulator.not_ready = {"demo-supabase-db"}
    settings = operator_settings(charts_dir=FIXTURE_CHARTS)

    def migration_job() -> dict[str, Any] | None:
        for (resource, _ns, name), obj in cluster.objects.items():
            if resource.plural == "jobs" and name.startswith("demo-migrate-") and not obj.deleted:
                return dict(obj.raw)
        return None

    async with running_operator(cluster, settings):
        await cluster.post(TD_PATH, json=managed(supabase="managed"))
        await wait_for(lambda: stored(cluster, "apps/v1/statefulsets", "demo-supabase-db") is not None)
        await wait_for(lambda: "waits for the demo-supabase release" in _deps_message(cluster), 5)
        await _sleep(0.8)  # resyncs and child events come and go: the Job stays back
        assert migration_job() is None
        deps = condition_of(td(cluster), "DependenciesReady")
        assert deps["status"] == "False" and deps["reason"] == "Pending"
        assert "demo-supabase-db: 0/1 ready" in deps["message"]
        assert condition(td(cluster), "Degraded") == "False"  # waiting is not a failure
        # Everything else is already in place.
        assert stored(cluster, "apps/v1/deployments", "demo-gateway") is not None

        simulator.not_ready = set()
        job = await wait_for(migration_job, 5)
        database = stored(cluster, "apps/v1/statefulsets", "demo-supabase-db") or {}
        assert database["status"]["readyReplicas"] == 1  # created only after the database was up
        env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["TUTOR_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "demo-supabase-connection"
        await wait_for(lambda: condition(td(cluster), "Ready") == "True", 5)

        # The database going away later never deletes a Job that already exists.
        simulator.not_ready = {"demo-supabase-db"}
        await wait_for(lambda: condition(td(cluster), "DependenciesReady") == "False", 5)
        await _sleep(0.5)
        assert migration_job() is not None


async def test_external_database_migrations_are_not_held(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    simulator.not_ready = {"demo-langfuse-web"}  # a managed Langfuse does not gate migrations
    settings = operator_settings(charts_dir=FIXTURE_CHARTS)
    async with running_operator(cluster, settings):
        await cluster.post(TD_PATH, json=managed(langfuse="managed"))
        await wait_for(
            lambda: any(
                resource.plural == "jobs" and name.startswith("demo-migrate-")
                for (resource, _ns, name), _obj in cluster.objects.items()
            ),
            5,
        )


async def test_the_real_charts_find_every_credential_they_read(
    cluster: kmock.KubernetesEmulator, simulator: ClusterSimulator
) -> None:
    settings = operator_settings(charts_dir=REAL_CHARTS)
    async with running_operator(cluster, settings):
        await cluster.post(TD_PATH, json=managed(supabase="managed", langfuse="managed"))
        await wait_for(lambda: stored(cluster, "apps/v1/statefulsets", "demo-supabase-postgresql"), 30)
        await wait_for(lambda: stored(cluster, "apps/v1/deployments", "demo-langfuse-worker"), 30)
        await wait_for(lambda: condition(td(cluster), "Ready") == "True", 30)
        refs: set[tuple[str, str]] = set()
        for (resource, _ns, _name), obj in cluster.objects.items():
            if resource.plural in ("deployments", "statefulsets", "jobs") and not obj.deleted:
                refs |= set(_secret_refs(obj.raw))
        assert ("demo-supabase-credentials", "app-password") in refs
        assert ("demo-langfuse-credentials", "salt") in refs
        for name, key in sorted(refs):
            if name.startswith(("demo-supabase-", "demo-langfuse-")):
                assert key in secret(cluster, name), f"{name} lacks {key}"
        for chart in ("supabase", "langfuse"):
            declared = yaml.safe_load((REAL_CHARTS / chart / "values.yaml").read_text())["secretKeys"]
            assert set(secret(cluster, f"demo-{chart}-credentials")) == set(declared.values())


def _secret_refs(obj: Any) -> list[tuple[str, str]]:
    if isinstance(obj, dict):
        ref = obj.get("secretKeyRef")
        found = [(ref["name"], ref["key"])] if isinstance(ref, dict) and "key" in ref else []
        return found + [pair for value in obj.values() for pair in _secret_refs(value)]
    if isinstance(obj, list):
        return [pair for value in obj for pair in _secret_refs(value)]
    return []


def _deps_message(cluster: kmock.KubernetesEmulator) -> str:
    body = td(cluster)
    if not body.get("status", {}).get("conditions"):
        return ""
    return str(condition_of(body, "DependenciesReady")["message"])


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
