"""Migrations on a real PostgreSQL: fresh apply, idempotent re-run, status, checksum refusal,
failed files, concurrent migrators, and coexistence with Supabase-provided objects."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from tutorplane.db.migrations import (
    ChecksumMismatchError,
    MigrationError,
    load_migrations,
    migrate_up,
    migration_status,
)

pytestmark = pytest.mark.integration

ALL_VERSIONS = [m.version for m in load_migrations()]
TABLES = [
    "classes",
    "teachers",
    "students",
    "class_teachers",
    "learning_sessions",
    "transcript_turns",
    "routing_decisions",
    "guardrail_events",
    "escalation_events",
    "provider_usage",
]


async def _fetch(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def test_shipped_migrations_are_numbered_from_0001() -> None:
    assert ALL_VERSIONS[:4] == ["0001", "0002", "0003", "0004"]
    assert load_migrations()[0].filename == "0001_schema_v1.sql"


async def test_fresh_database_gets_every_migration_and_rerun_applies_nothing(fresh_dsn: str) -> None:
    assert await migrate_up(fresh_dsn) == ALL_VERSIONS
    assert await migrate_up(fresh_dsn) == []

    statuses = await migration_status(fresh_dsn)
    assert [(s.version, s.state) for s in statuses] == [(v, "applied") for v in ALL_VERSIONS]
    assert all(s.applied_at is not None and s.applied_checksum == s.file_checksum for s in statuses)

    rows = await _fetch(
        fresh_dsn,
        """SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname = ANY($1::text[])""",
        TABLES,
    )
    assert {r["relname"] for r in rows} == set(TABLES)
    assert all(r["relrowsecurity"] and r["relforcerowsecurity"] for r in rows), rows

    roles = await _fetch(
        fresh_dsn,
        "SELECT rolname, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname IN"
        " ('anon','authenticated','service_role')",
    )
    by_name = {r["rolname"]: r for r in roles}
    assert set(by_name) == {"anon", "authenticated", "service_role"}
    assert by_name["service_role"]["rolbypassrls"] and not by_name["anon"]["rolbypassrls"]
    assert not any(r["rolcanlogin"] for r in roles)

    views = await _fetch(fresh_dsn, "SELECT viewname FROM pg_views WHERE schemaname = 'public' ORDER BY 1")
    assert [v["viewname"] for v in views] == [
        "analytics_escalation_rate",
        "analytics_guardrail_rate",
        "analytics_subject_mix",
    ]
    # No FOR ALL TABLES publication is created (and without Supabase none at all).
    assert await _fetch(fresh_dsn, "SELECT pubname FROM pg_publication") == []


async def test_status_on_an_empty_database_lists_everything_pending_and_changes_nothing(
    fresh_dsn: str,
) -> None:
    statuses = await migration_status(fresh_dsn)
    assert [(s.version, s.state) for s in statuses] == [(v, "pending") for v in ALL_VERSIONS]
    assert await _fetch(fresh_dsn, "SELECT to_regclass('public.schema_migrations') AS t") == [(None,)]


async def test_every_shipped_file_is_itself_idempotent(fresh_dsn: str) -> None:
    """Supabase images pre-create roles/schemas; re-running any file over the schema must not fail."""
    await migrate_up(fresh_dsn)
    conn = await asyncpg.connect(fresh_dsn)
    try:
        for m in load_migrations():
            async with conn.transaction():
                await conn.execute(m.sql)
    finally:
        await conn.close()


async def test_two_concurrent_migrators_apply_each_migration_once(fresh_dsn: str) -> None:
    first, second = await asyncio.gather(migrate_up(fresh_dsn), migrate_up(fresh_dsn))
    assert sorted([first, second], key=len) == [[], ALL_VERSIONS]
    rows = await _fetch(fresh_dsn, "SELECT version FROM schema_migrations ORDER BY version")
    assert [r["version"] for r in rows] == ALL_VERSIONS


def _write(directory: Path, files: dict[str, str]) -> None:
    directory.mkdir(exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)


async def test_changed_checksum_is_refused_and_nothing_is_applied(fresh_dsn: str, tmp_path: Path) -> None:
    mdir = tmp_path / "migrations"
    _write(mdir, {"0001_widgets.sql": "CREATE TABLE widgets (id int PRIMARY KEY);\n"})
    assert await migrate_up(fresh_dsn, directory=mdir) == ["0001"]

    # Someone edits the applied file and adds a new one.
    _write(
        mdir,
        {
            "0001_widgets.sql": "CREATE TABLE widgets (id int PRIMARY KEY, name text);\n",
            "0002_gadgets.sql": "CREATE TABLE gadgets (id int PRIMARY KEY);\n",
        },
    )
    with pytest.raises(ChecksumMismatchError) as info:
        await migrate_up(fresh_dsn, directory=mdir)
    message = str(info.value)
    assert "0001_widgets.sql" in message
    assert "new migration" in message and "Nothing was applied" in message

    assert await _fetch(fresh_dsn, "SELECT to_regclass('public.gadgets') AS t") == [(None,)]
    statuses = {s.version: s.state for s in await migration_status(fresh_dsn, directory=mdir)}
    assert statuses == {"0001": "changed", "0002": "pending"}

    # Restoring the original text unblocks it; only the new file is applied.
    _write(mdir, {"0001_widgets.sql": "CREATE TABLE widgets (id int PRIMARY KEY);\n"})
    assert await migrate_up(fresh_dsn, directory=mdir) == ["0002"]


async def test_crlf_checkout_of_the_same_file_is_not_a_change(fresh_dsn: str, tmp_path: Path) -> None:
    mdir = tmp_path / "m"
    _write(mdir, {"0001_a.sql": "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n"})
    await migrate_up(fresh_dsn, directory=mdir)
    (mdir / "0001_a.sql").write_bytes(b"CREATE TABLE a (id int);\r\nCREATE TABLE b (id int);\r\n")
    assert await migrate_up(fresh_dsn, directory=mdir) == []


async def test_failing_migration_names_file_and_line_and_is_rolled_back(
    fresh_dsn: str, tmp_path: Path
) -> None:
    mdir = tmp_path / "m"
    _write(
        mdir,
        {
            "0001_ok.sql": "CREATE TABLE ok_table (id int);\n",
            "0002_broken.sql": "CREATE TABLE half_done (id int);\n\nCREATE TABEL oops (id int);\n",
        },
    )
    with pytest.raises(MigrationError) as info:
        await migrate_up(fresh_dsn, directory=mdir)
    assert "0002_broken.sql" in str(info.value)
    assert "line 3" in str(info.value)
    rows = await _fetch(fresh_dsn, "SELECT version FROM schema_migrations")
    assert [r["version"] for r in rows] == ["0001"]
    assert await _fetch(fresh_dsn, "SELECT to_regclass('public.half_done') AS t") == [(None,)]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"1_short.sql": "SELECT 1;"}, "does not match NNNN_lowercase_words.sql"),
        ({"0001_a.sql": "SELECT 1;", "0001_b.sql": "SELECT 1;"}, "share version 0001"),
    ],
)
def test_bad_migration_directories_are_rejected(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    _write(tmp_path / "m", files)
    with pytest.raises(MigrationError, match=expected):
        load_migrations(tmp_path / "m")


def test_missing_directory_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="does not exist"):
        load_migrations(tmp_path / "nope")


async def test_applied_version_unknown_to_this_code_is_reported(fresh_dsn: str, tmp_path: Path) -> None:
    mdir = tmp_path / "m"
    _write(mdir, {"0001_a.sql": "SELECT 1;", "0002_b.sql": "SELECT 2;"})
    await migrate_up(fresh_dsn, directory=mdir)
    (mdir / "0002_b.sql").unlink()
    statuses = {s.version: s.state for s in await migration_status(fresh_dsn, directory=mdir)}
    assert statuses == {"0001": "applied", "0002": "unknown"}
    assert await migrate_up(fresh_dsn, directory=mdir) == []


async def test_supabase_provided_objects_are_kept_and_realtime_publication_gets_escalations(
    fresh_dsn: str,
) -> None:
    conn = await asyncpg.connect(fresh_dsn)
    try:
        # What a Supabase image already has: its own auth.uid(), and the realtime publication.
        await conn.execute(
            """CREATE SCHEMA auth;
               CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE
                 AS $$ SELECT '00000000-0000-0000-0000-00000000beef'::uuid $$;
               CREATE PUBLICATION supabase_realtime;"""
        )
        await migrate_up(fresh_dsn)
        assert str(await conn.fetchval("SELECT auth.uid()")) == "00000000-0000-0000-0000-00000000beef"
        published = await conn.fetch(
            "SELECT tablename FROM pg_publication_tables WHERE pubname = 'supabase_realtime'"
        )
        assert [r["tablename"] for r in published] == ["escalation_events"]
        assert not await conn.fetchval("SELECT bool_or(puballtables) FROM pg_publication")
    finally:
        await conn.close()


async def test_waiting_migrator_gives_up_with_a_clear_message(fresh_dsn: str, tmp_path: Path) -> None:
    from tutorplane.db.migrations.runner import MIGRATION_LOCK_KEY

    mdir = tmp_path / "m"
    _write(mdir, {"0001_a.sql": "CREATE TABLE a (id int);"})
    holder = await asyncpg.connect(fresh_dsn)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        with pytest.raises(MigrationError, match="another migrator has held the migration lock"):
            await migrate_up(fresh_dsn, directory=mdir, lock_timeout_s=0.2)
    finally:
        await holder.close()
    assert await migrate_up(fresh_dsn, directory=mdir) == ["0001"]


async def test_ddl_stuck_behind_a_long_transaction_is_rolled_back(fresh_dsn: str, tmp_path: Path) -> None:
    mdir = tmp_path / "m"
    _write(mdir, {"0001_a.sql": "CREATE TABLE a (id int);"})
    await migrate_up(fresh_dsn, directory=mdir)
    _write(mdir, {"0002_b.sql": "CREATE TABLE b (id int);\nALTER TABLE a ADD COLUMN name text;"})
    reader = await asyncpg.connect(fresh_dsn)
    try:
        tx = reader.transaction()
        await tx.start()
        await reader.fetch("SELECT * FROM a")  # holds a lock that ALTER TABLE must wait for
        with pytest.raises(MigrationError, match=r"0002_b\.sql failed.*LockNotAvailable"):
            await migrate_up(fresh_dsn, directory=mdir, ddl_lock_timeout_s=0.2)
        await tx.rollback()
    finally:
        await reader.close()
    assert await _fetch(fresh_dsn, "SELECT to_regclass('public.b') AS t") == [(None,)]
    assert await migrate_up(fresh_dsn, directory=mdir) == ["0002"]
