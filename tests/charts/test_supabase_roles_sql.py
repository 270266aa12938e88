"""charts/supabase/files/roles.sql on a real PostgreSQL, run the way the migration Job runs it
(psql, passwords from the environment): idempotent, and the roles are what the services need."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from typing import Any

import asyncpg
import pytest
from chartkit import CHARTS_DIR

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("psql") is None, reason="psql is not installed (Debian: postgresql-client)"
    ),
]

ROLES_SQL = CHARTS_DIR / "supabase" / "files" / "roles.sql"
PASSWORDS = {
    "AUTHENTICATOR_PASSWORD": "authenticator-7d1e",
    "AUTH_ADMIN_PASSWORD": "auth-admin-99c2",
    "SUPABASE_ADMIN_PASSWORD": "admin-'quoted'-pw",
    "APP_PASSWORD": "app-0a4f",
}


def apply_roles(dsn: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["psql", "-w", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(ROLES_SQL), dsn],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **PASSWORDS},
    )


def query(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture
def roles_applied(fresh_dsn: str) -> str:
    first = apply_roles(fresh_dsn)
    assert first.returncode == 0, first.stderr
    return fresh_dsn


def test_applies_twice_without_error(roles_applied: str) -> None:
    again = apply_roles(roles_applied)
    assert again.returncode == 0, again.stderr


def test_roles_have_the_intended_attributes(roles_applied: str) -> None:
    rows = query(
        roles_applied,
        "SELECT rolname, rolcanlogin, rolsuper, rolinherit, rolbypassrls FROM pg_roles WHERE rolname = ANY($1)",
        [
            "anon",
            "authenticated",
            "service_role",
            "authenticator",
            "supabase_auth_admin",
            "supabase_admin",
            "tutorplane_app",
        ],
    )
    roles = {
        r["rolname"]: (r["rolcanlogin"], r["rolsuper"], r["rolinherit"], r["rolbypassrls"]) for r in rows
    }
    assert roles == {
        "anon": (False, False, False, False),
        "authenticated": (False, False, False, False),
        "service_role": (False, False, False, True),
        "authenticator": (True, False, False, False),
        "supabase_auth_admin": (True, False, False, False),
        "supabase_admin": (True, True, True, False),
        "tutorplane_app": (True, False, True, False),
    }


def test_memberships_schemas_and_publication(roles_applied: str) -> None:
    members = query(
        roles_applied,
        "SELECT r.rolname AS role, m.rolname AS member FROM pg_auth_members a "
        "JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member "
        "WHERE m.rolname IN ('authenticator', 'tutorplane_app')",
    )
    assert {(r["member"], r["role"]) for r in members} == {
        ("authenticator", "anon"),
        ("authenticator", "authenticated"),
        ("authenticator", "service_role"),
        ("tutorplane_app", "service_role"),
    }
    owners = query(
        roles_applied,
        "SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname IN ('auth', '_realtime')",
    )
    assert {r["nspname"]: r["owner"] for r in owners} == {
        "auth": "supabase_auth_admin",
        "_realtime": "supabase_admin",
    }
    assert query(roles_applied, "SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime'")
    settings = query(roles_applied, "SELECT rolconfig FROM pg_roles WHERE rolname = 'supabase_auth_admin'")
    assert settings[0]["rolconfig"] == ["search_path=auth"]


def test_passwords_come_from_the_environment(roles_applied: str) -> None:
    rows = query(
        roles_applied,
        "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1)",
        ["authenticator", "supabase_admin", "tutorplane_app"],
    )
    assert all(r["rolpassword"] and r["rolpassword"].startswith("SCRAM-SHA-256$") for r in rows)


def test_existing_auth_helpers_are_handed_to_gotrue(fresh_dsn: str) -> None:
    """If the Tutorplane migrations created auth.uid() first, GoTrue must still be able to replace it."""
    query(fresh_dsn, "CREATE SCHEMA auth")
    query(fresh_dsn, "CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS 'SELECT NULL::uuid'")
    result = apply_roles(fresh_dsn)
    assert result.returncode == 0, result.stderr
    owner = query(fresh_dsn, "SELECT pg_get_userbyid(proowner) AS owner FROM pg_proc WHERE proname = 'uid'")
    assert owner[0]["owner"] == "supabase_auth_admin"


def test_missing_password_fails_the_job(fresh_dsn: str) -> None:
    result = subprocess.run(
        ["psql", "-w", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(ROLES_SQL), fresh_dsn],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in {**os.environ, **PASSWORDS}.items() if k != "APP_PASSWORD"},
    )
    assert result.returncode != 0
