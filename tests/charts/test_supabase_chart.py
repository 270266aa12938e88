"""The Supabase chart: PostgreSQL with logical WAL, roles + Tutorplane migrations as one Job per
migration image, GoTrue/PostgREST/Realtime, every password from one Secret."""

from __future__ import annotations

import pytest
from chartkit import CHARTS_DIR, containers, env_of, find, one, render_objects, secret_ref

pytestmark = pytest.mark.unit

CHART = "supabase"
SECRET = "tp-supabase-credentials"


@pytest.fixture(scope="module")
def objs() -> list[dict]:
    return render_objects(CHART)


def test_postgresql_is_a_current_major_with_logical_wal(objs: list[dict]) -> None:
    postgres = containers(one(objs, "StatefulSet", "tp-supabase-postgresql"))[0]
    major = int(postgres["image"].split(":")[1].split(".")[0])
    assert major >= 17
    args = postgres["args"]
    assert args[args.index("wal_level=logical") - 1] == "-c"
    assert secret_ref(env_of(postgres)["POSTGRES_PASSWORD"]) == (SECRET, "postgres-password")


def test_migration_job_runs_roles_then_waits_for_auth_then_migrates(objs: list[dict]) -> None:
    (job,) = find(objs, "Job")
    init = containers(job, init=True)
    assert [c["name"] for c in init] == ["wait-for-postgresql", "roles", "wait-for-auth"]
    assert (
        init[1]["command"][:2] == ["psql", "-w"]
        and init[1]["command"][-1] == "/opt/tutorplane/roles/roles.sql"
    )
    assert init[2]["args"] == ["http://tp-supabase-auth.tutorplane.svc:9999/health"]
    (migrate,) = containers(job)
    assert migrate["image"] == "tutorplane/db-migrate:0.1.0"
    assert migrate["args"] == ["migrate", "up"]
    env = env_of(migrate)
    # Migrations need the superuser (forced RLS, SECURITY DEFINER helpers); the URL carries no password.
    assert env["TUTOR_DATABASE_URL"]["value"] == "postgresql://postgres@tp-supabase-postgresql:5432/postgres"
    assert secret_ref(env["PGPASSWORD"]) == (SECRET, "postgres-password")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"


def test_migration_job_is_named_after_what_it_runs() -> None:
    name = lambda values: find(render_objects(CHART, values), "Job")[0]["metadata"]["name"]  # noqa: E731
    base = name({})
    assert base.startswith("tp-supabase-migrate-")
    assert name({"auth": {"replicas": 2}}) == base
    assert name({"migrations": {"image": {"tag": "0.2.0"}}}) != base
    assert (
        name({"migrations": {"image": {"ref": "localhost:5001/tutorplane/db-migrate:tilt-0123abcd"}}}) != base
    )


def test_without_auth_the_job_does_not_wait_for_it() -> None:
    (job,) = find(render_objects(CHART, {"auth": {"enabled": False}}), "Job")
    assert [c["name"] for c in containers(job, init=True)] == ["wait-for-postgresql", "roles"]


def test_roles_configmap_carries_the_tested_sql(objs: list[dict]) -> None:
    data = one(objs, "ConfigMap", "tp-supabase-roles")["data"]["roles.sql"]
    assert data == (CHARTS_DIR / CHART / "files" / "roles.sql").read_text().rstrip("\n")


def test_every_role_password_comes_from_one_secret(objs: list[dict]) -> None:
    refs = {
        ref
        for workload in objs
        if workload["kind"] in ("Deployment", "StatefulSet", "Job")
        for c in containers(workload) + containers(workload, init=True)
        for e in c.get("env", [])
        if (ref := secret_ref(e))
    }
    assert {name for name, _ in refs} == {SECRET}
    assert {key for _, key in refs} >= {
        "postgres-password",
        "supabase-admin-password",
        "authenticator-password",
        "auth-admin-password",
        "app-password",
        "jwt-secret",
        "realtime-db-enc-key",
        "realtime-secret-key-base",
    }


def test_auth_rest_and_realtime_share_the_jwt_secret(objs: list[dict]) -> None:
    gotrue = env_of(containers(one(objs, "Deployment", "tp-supabase-auth"))[0])
    postgrest = env_of(containers(one(objs, "Deployment", "tp-supabase-rest"))[0])
    realtime = env_of(containers(one(objs, "Deployment", "tp-supabase-realtime"))[0])
    assert (
        secret_ref(gotrue["GOTRUE_JWT_SECRET"])
        == secret_ref(postgrest["PGRST_JWT_SECRET"])
        == (secret_ref(realtime["API_JWT_SECRET"]))
        == (SECRET, "jwt-secret")
    )
    # GoTrue keeps to its schema (plain PostgreSQL otherwise fails its migrations).
    assert gotrue["GOTRUE_DB_DATABASE_URL"]["value"].endswith("?search_path=auth")
    assert "$(DB_PASSWORD)" in gotrue["GOTRUE_DB_DATABASE_URL"]["value"]
    assert gotrue["GOTRUE_JWT_ADMIN_ROLES"]["value"] == "service_role"
    assert (
        postgrest["PGRST_DB_URI"]["value"]
        == "postgresql://authenticator@tp-supabase-postgresql:5432/postgres"
    )
    assert realtime["DB_AFTER_CONNECT_QUERY"]["value"] == "SET search_path TO _realtime"


@pytest.mark.parametrize(
    ("deployment", "role"),
    [
        ("tp-supabase-auth", "supabase_auth_admin"),
        ("tp-supabase-rest", "authenticator"),
        ("tp-supabase-realtime", "supabase_admin"),
    ],
)
def test_api_servers_start_once_their_role_can_log_in(objs: list[dict], deployment: str, role: str) -> None:
    (init,) = containers(one(objs, "Deployment", deployment), init=True)
    assert init["args"] == [f"postgresql://{role}@tp-supabase-postgresql:5432/postgres"]
    assert "PGPASSWORD" in env_of(init)


def test_external_postgresql() -> None:
    objs = render_objects(CHART, {"postgresql": {"deploy": False, "host": "pg.data.svc"}})
    assert find(objs, "StatefulSet") == [] and find(objs, "NetworkPolicy") == []
    (job,) = find(objs, "Job")
    assert (
        env_of(containers(job)[0])["TUTOR_DATABASE_URL"]["value"]
        == "postgresql://postgres@pg.data.svc:5432/postgres"
    )


def test_postgresql_network_policy_admits_labelled_clients(objs: list[dict]) -> None:
    (policy,) = find(objs, "NetworkPolicy")
    sources = policy["spec"]["ingress"][0]["from"]
    assert {
        "namespaceSelector": {},
        "podSelector": {"matchLabels": {"tutorplane.dev/database-client": "true"}},
    } in sources
    (job,) = find(objs, "Job")
    assert job["spec"]["template"]["metadata"]["labels"]["tutorplane.dev/database-client"] == "true"


def test_connection_configmap(objs: list[dict]) -> None:
    data = one(objs, "ConfigMap", "tp-supabase-connection")["data"]
    assert data["databaseUrl"] == "postgresql://tutorplane_app@tp-supabase-postgresql:5432/postgres"
    assert (data["credentialsSecret"], data["appPasswordKey"]) == (SECRET, "app-password")
    (job,) = find(objs, "Job")
    assert data["migrationsJob"] == job["metadata"]["name"]
