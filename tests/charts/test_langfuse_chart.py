"""The Langfuse v3 chart: web + worker + ClickHouse (one node, Keeper) + Valkey + MinIO + PostgreSQL,
credentials only from the pre-existing Secret, headless init, migration-tolerant probes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from chartkit import containers, env_of, find, one, render, render_objects, secret_ref

pytestmark = pytest.mark.unit

CHART = "langfuse"
SECRET = "tp-langfuse-credentials"


@pytest.fixture(scope="module")
def objs() -> list[dict]:
    return render_objects(CHART)


def test_web_and_worker_share_one_pinned_version(objs: list[dict]) -> None:
    web = containers(one(objs, "Deployment", "tp-langfuse-web"))[0]
    worker = containers(one(objs, "Deployment", "tp-langfuse-worker"))[0]
    assert web["image"] == "langfuse/langfuse:3.225.7"
    assert worker["image"] == "langfuse/langfuse-worker:3.225.7"


def test_worker_runs_and_reaches_every_store(objs: list[dict]) -> None:
    """Without the worker (or with it missing a store) traces sit in Redis and never show up."""
    worker = one(objs, "Deployment", "tp-langfuse-worker")
    assert worker["spec"]["replicas"] >= 1
    env = env_of(containers(worker)[0])
    for name in (
        "CLICKHOUSE_URL",
        "CLICKHOUSE_MIGRATION_URL",
        "REDIS_HOST",
        "DATABASE_HOST",
        "LANGFUSE_S3_EVENT_UPLOAD_BUCKET",
        "LANGFUSE_S3_EVENT_UPLOAD_ENDPOINT",
    ):
        assert name in env, name
    # The worker starts once the web pod (which owns the migrations) answers.
    (init,) = containers(worker, init=True)
    assert init["args"] == ["http://tp-langfuse-web.tutorplane.svc:3000/api/public/health"]


@pytest.mark.parametrize("deployment", ["tp-langfuse-web", "tp-langfuse-worker"])
def test_salt_and_keys_come_only_from_the_existing_secret(objs: list[dict], deployment: str) -> None:
    env = env_of(containers(one(objs, "Deployment", deployment))[0])
    expected = {
        "SALT": "salt",
        "ENCRYPTION_KEY": "encryption-key",
        "DATABASE_PASSWORD": "postgres-password",
        "CLICKHOUSE_PASSWORD": "clickhouse-password",
        "REDIS_AUTH": "redis-password",
        "LANGFUSE_S3_EVENT_UPLOAD_SECRET_ACCESS_KEY": "s3-secret-key",
    }
    for name, key in expected.items():
        assert secret_ref(env[name]) == (SECRET, key), name
        assert "value" not in env[name]


def test_headless_init_reads_project_keys_from_the_secret(objs: list[dict]) -> None:
    env = env_of(containers(one(objs, "Deployment", "tp-langfuse-web"))[0])
    assert env["LANGFUSE_INIT_ORG_ID"]["value"] == "tutorplane"
    assert env["LANGFUSE_INIT_PROJECT_ID"]["value"] == "tutorplane"
    assert secret_ref(env["LANGFUSE_INIT_PROJECT_PUBLIC_KEY"]) == (SECRET, "init-project-public-key")
    assert secret_ref(env["LANGFUSE_INIT_PROJECT_SECRET_KEY"]) == (SECRET, "init-project-secret-key")
    assert secret_ref(env["NEXTAUTH_SECRET"]) == (SECRET, "nextauth-secret")
    assert "LANGFUSE_INIT_USER_EMAIL" not in env


def test_init_user_is_optional() -> None:
    objs = render_objects(CHART, {"init": {"userEmail": "admin@school.test"}})
    env = env_of(containers(one(objs, "Deployment", "tp-langfuse-web"))[0])
    assert env["LANGFUSE_INIT_USER_EMAIL"]["value"] == "admin@school.test"
    assert secret_ref(env["LANGFUSE_INIT_USER_PASSWORD"]) == (SECRET, "init-user-password")


def test_existing_secret_name_is_used_everywhere() -> None:
    objs = render_objects(CHART, {"existingSecret": "lf-creds"})
    names = {
        ref[0]
        for workload in objs
        if workload["kind"] in ("Deployment", "StatefulSet", "Job")
        for c in containers(workload) + containers(workload, init=True)
        for e in c.get("env", [])
        if (ref := secret_ref(e))
    }
    assert names == {"lf-creds"}


def test_web_probes_tolerate_the_first_clickhouse_migration(objs: list[dict]) -> None:
    web = one(objs, "Deployment", "tp-langfuse-web")
    container = containers(web)[0]
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600, "migrations get at least 10 minutes"
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/public/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/public/ready"
    # It waits for every store before starting, so a migration never starts against a half-up cluster.
    (init,) = containers(web, init=True)
    assert init["args"] == [
        "tp-langfuse-postgresql:5432",
        "http://tp-langfuse-clickhouse:8123/ping",
        "tp-langfuse-clickhouse:9000",
        "tp-langfuse-redis:6379",
        "http://tp-langfuse-minio:9000/minio/health/ready",
    ]


def test_clickhouse_is_one_node_with_embedded_keeper(objs: list[dict]) -> None:
    statefulset = one(objs, "StatefulSet", "tp-langfuse-clickhouse")
    assert statefulset["spec"]["replicas"] == 1
    config = one(objs, "ConfigMap", "tp-langfuse-clickhouse")["data"]
    server = ET.fromstring(config["server.xml"])
    assert server.findtext("keeper_server/server_id") == "1"
    assert server.findtext("zookeeper/node/port") == server.findtext("keeper_server/tcp_port")
    users = ET.fromstring(config["users.xml"])
    assert [ip.text for ip in users.findall("users/default/networks/ip")] == ["::1", "127.0.0.1"]
    password = users.find("users/langfuse/password")
    assert password is not None and password.get("from_env") == "TUTORPLANE_CLICKHOUSE_PASSWORD"
    env = env_of(containers(one(objs, "Deployment", "tp-langfuse-web"))[0])
    assert env["CLICKHOUSE_CLUSTER_ENABLED"]["value"] == "false"


def test_valkey_never_evicts_queued_events(objs: list[dict]) -> None:
    valkey = containers(one(objs, "StatefulSet", "tp-langfuse-redis"))[0]
    script = valkey["args"][0]
    assert "--maxmemory-policy noeviction" in script
    assert "$REDISCLI_AUTH" in script and "requirepass" in script
    assert secret_ref(env_of(valkey)["REDISCLI_AUTH"]) == (SECRET, "redis-password")


def test_bucket_job_keeps_the_bucket_private_and_scopes_the_user(objs: list[dict]) -> None:
    (job,) = find(objs, "Job")
    script = containers(job)[0]["args"][0]
    assert 'mc anonymous set none "tp/$BUCKET"' in script
    assert '"arn:aws:s3:::$BUCKET/*"' in script
    assert "mc admin policy attach" in script
    env = env_of(containers(job)[0])
    assert env["BUCKET"]["value"] == "langfuse"


def test_bucket_job_name_follows_what_it_does() -> None:
    name = lambda values: find(render_objects(CHART, values), "Job")[0]["metadata"]["name"]  # noqa: E731
    assert name({}) == name({}) == name({"web": {"replicas": 3}})
    assert name({}) != name({"s3": {"bucket": "traces"}})


def test_external_stores_render_no_store_workloads() -> None:
    from test_chart_render_common import EXTERNAL_LANGFUSE

    objs = render_objects(CHART, EXTERNAL_LANGFUSE)
    assert find(objs, "StatefulSet") == [] and find(objs, "Job") == [] and find(objs, "NetworkPolicy") == []
    env = env_of(containers(one(objs, "Deployment", "tp-langfuse-web"))[0])
    assert env["DATABASE_HOST"]["value"] == "pg.data.svc"
    assert env["CLICKHOUSE_URL"]["value"] == "http://ch.data.svc:8123"
    assert env["REDIS_HOST"]["value"] == "redis.data.svc"
    assert env["LANGFUSE_S3_MEDIA_UPLOAD_ENDPOINT"]["value"] == "https://s3.eu-west-1.amazonaws.com"


def test_stores_accept_only_this_release(objs: list[dict]) -> None:
    policies = {p["metadata"]["name"]: p for p in find(objs, "NetworkPolicy")}
    assert set(policies) == {f"tp-langfuse-{c}" for c in ("postgresql", "clickhouse", "redis", "minio")}
    for policy in policies.values():
        (rule,) = policy["spec"]["ingress"]
        assert rule["from"] == [
            {
                "podSelector": {
                    "matchLabels": {"app.kubernetes.io/name": "langfuse", "app.kubernetes.io/instance": "tp"}
                }
            }
        ]


def test_connection_configmap_names_what_consumers_need(objs: list[dict]) -> None:
    data = one(objs, "ConfigMap", "tp-langfuse-connection")["data"]
    assert data["otlpEndpoint"] == "http://tp-langfuse-web.tutorplane.svc:3000/api/public/otel"
    assert data["credentialsSecret"] == SECRET
    assert (data["publicKeyKey"], data["secretKeyKey"]) == (
        "init-project-public-key",
        "init-project-secret-key",
    )


def test_notes_list_every_secret_key() -> None:
    text = next(v for k, v in render(CHART).items() if k.endswith("NOTES.txt"))
    for key in ("salt", "encryption-key", "clickhouse-password", "init-project-secret-key"):
        assert f"--from-literal={key}=" in text
    assert "openssl rand -hex 32" in text
