"""Versioned SQL migrations with checksums.

Files are ``NNNN_what_it_does.sql`` in a migrations directory (by default the one shipped inside
this package). Each pending file runs in its own transaction together with its row in
``schema_migrations``; the whole run holds a PostgreSQL advisory lock, so two migrators started
at once (two pods, two test tasks) are safe: the second waits, then finds nothing to do.

Applied migrations are immutable. If a file's SHA-256 no longer matches the checksum recorded
when it was applied, :func:`migrate_up` refuses to run and applies nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Literal

import asyncpg
from tutorplane.db.pool import connect

log = logging.getLogger(__name__)

FILENAME_PATTERN = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9][a-z0-9_]*)\.sql$")

# Fixed key of the migration advisory lock (advisory locks are per database).
MIGRATION_LOCK_KEY = 7305812250434158656

# How long a migrator waits for another one holding the lock before giving up (seconds).
DEFAULT_LOCK_TIMEOUT_S = 300.0
# How long one migration statement may wait for a table lock (seconds). A DDL statement queued
# behind a long transaction blocks every later query on that table, so it gives up instead and
# the whole file is rolled back; run `migrate up` again when traffic allows.
DEFAULT_DDL_LOCK_TIMEOUT_S = 30.0

SCHEMA_MIGRATIONS_DDL = """
CREATE TABLE IF NOT EXISTS public.schema_migrations (
    version     text PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""

MigrationsDir = str | os.PathLike[str] | Traversable


class MigrationError(RuntimeError):
    """A migration cannot be loaded or applied; the message says what to do."""


class ChecksumMismatchError(MigrationError):
    """An applied migration file was edited afterwards."""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    filename: str
    sql: str

    @property
    def checksum(self) -> str:
        return sha256_of(self.sql)


MigrationState = Literal["applied", "pending", "changed", "unknown"]


@dataclass(frozen=True)
class MigrationStatus:
    """One line of ``migrate status``.

    ``changed``: applied, but the file differs from what was applied. ``unknown``: recorded as
    applied in the database but no such file exists here (the database is newer than this code).
    """

    version: str
    name: str
    state: MigrationState
    applied_at: datetime | None = None
    applied_checksum: str | None = None
    file_checksum: str | None = None


def sha256_of(sql: str) -> str:
    """Checksum of a migration's text; line endings are normalised so a CRLF checkout matches."""
    return hashlib.sha256(sql.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def default_directory() -> Traversable:
    return resources.files("tutorplane.db.migrations")


def _as_traversable(directory: MigrationsDir | None) -> Traversable:
    if directory is None:
        return default_directory()
    if isinstance(directory, str | os.PathLike):
        return Path(directory)
    return directory


def load_migrations(directory: MigrationsDir | None = None) -> list[Migration]:
    """The migrations in ``directory`` sorted by version; bad file names are an error, not skipped."""
    root = _as_traversable(directory)
    if not root.is_dir():
        raise MigrationError(f"migrations directory {root} does not exist or is not a directory")
    migrations: list[Migration] = []
    seen: dict[str, str] = {}
    for entry in root.iterdir():
        if not entry.is_file() or not entry.name.endswith(".sql"):
            continue
        match = FILENAME_PATTERN.match(entry.name)
        if match is None:
            raise MigrationError(
                f"migration file name {entry.name!r} in {root} does not match NNNN_lowercase_words.sql "
                "(e.g. 0005_add_hint_table.sql); rename it"
            )
        version = match["version"]
        if version in seen:
            raise MigrationError(
                f"migrations {seen[version]} and {entry.name} share version {version}; "
                "give the newer one the next free number"
            )
        seen[version] = entry.name
        migrations.append(Migration(version, match["name"], entry.name, entry.read_text(encoding="utf-8")))
    migrations.sort(key=lambda m: m.version)
    return migrations


@dataclass(frozen=True)
class _Applied:
    version: str
    name: str
    checksum: str
    applied_at: datetime


async def _read_applied(conn: asyncpg.Connection) -> dict[str, _Applied]:
    exists = await conn.fetchval("SELECT to_regclass('public.schema_migrations') IS NOT NULL")
    if not exists:
        return {}
    rows = await conn.fetch("SELECT version, name, checksum, applied_at FROM public.schema_migrations")
    return {r["version"]: _Applied(r["version"], r["name"], r["checksum"], r["applied_at"]) for r in rows}


def _statuses(migrations: list[Migration], applied: dict[str, _Applied]) -> list[MigrationStatus]:
    out: list[MigrationStatus] = []
    known = {m.version for m in migrations}
    for m in migrations:
        a = applied.get(m.version)
        if a is None:
            out.append(MigrationStatus(m.version, m.name, "pending", file_checksum=m.checksum))
        else:
            state: MigrationState = "applied" if a.checksum == m.checksum else "changed"
            out.append(MigrationStatus(m.version, m.name, state, a.applied_at, a.checksum, m.checksum))
    for version in sorted(set(applied) - known):
        a = applied[version]
        out.append(MigrationStatus(version, a.name, "unknown", a.applied_at, a.checksum, None))
    out.sort(key=lambda s: s.version)
    return out


def _refuse_changed(statuses: list[MigrationStatus], migrations: list[Migration]) -> None:
    changed = [s for s in statuses if s.state == "changed"]
    if not changed:
        return
    files = {m.version: m.filename for m in migrations}
    details = "; ".join(
        f"{files[s.version]} (applied sha256 {s.applied_checksum}, file now {s.file_checksum})"
        for s in changed
    )
    raise ChecksumMismatchError(
        f"refusing to migrate: applied migration(s) changed since they were applied: {details}. "
        "Applied migrations are immutable: restore the original file contents and put the change in a "
        "new migration with the next version number. Nothing was applied."
    )


def _error_line(sql: str, exc: asyncpg.PostgresError) -> str:
    position = getattr(exc, "position", None)
    if position:
        try:
            return f" at line {sql[: int(position)].count(chr(10)) + 1}"
        except ValueError:
            return ""
    return ""


async def migration_status(dsn: str, *, directory: MigrationsDir | None = None) -> list[MigrationStatus]:
    """Applied, pending, changed and unknown migrations; changes nothing in the database."""
    migrations = load_migrations(directory)
    conn = await connect(dsn, application_name="tutorplane-migrate")
    try:
        applied = await _read_applied(conn)
    finally:
        await conn.close()
    return _statuses(migrations, applied)


async def migrate_up(
    dsn: str,
    *,
    directory: MigrationsDir | None = None,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    ddl_lock_timeout_s: float = DEFAULT_DDL_LOCK_TIMEOUT_S,
) -> list[str]:
    """Apply pending migrations in version order; returns the versions applied (empty when current).

    Raises :class:`ChecksumMismatchError` (nothing applied) when an applied file changed, and
    :class:`MigrationError` naming the file and line when one fails (that file is rolled back; the
    ones before it stay applied).
    """
    migrations = load_migrations(directory)
    conn = await connect(dsn, application_name="tutorplane-migrate")
    try:
        await conn.execute(f"SET lock_timeout = {int(lock_timeout_s * 1000)}")
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        except asyncpg.LockNotAvailableError as exc:
            raise MigrationError(
                f"another migrator has held the migration lock for over {lock_timeout_s:.0f}s; "
                "wait for it to finish (or find the stuck session in pg_stat_activity) and retry"
            ) from exc
        await conn.execute(f"SET lock_timeout = {int(ddl_lock_timeout_s * 1000)}")
        try:
            return await _apply_pending(conn, migrations)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
    finally:
        await conn.close()


async def _apply_pending(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    await conn.execute(SCHEMA_MIGRATIONS_DDL)
    applied = await _read_applied(conn)
    statuses = _statuses(migrations, applied)
    _refuse_changed(statuses, migrations)
    for s in statuses:
        if s.state == "unknown":
            log.warning(
                "migration %s_%s is applied in the database but missing here (this code is older)",
                s.version,
                s.name,
            )
    done: list[str] = []
    for m in migrations:
        if m.version in applied:
            continue
        try:
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO public.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    m.version,
                    m.name,
                    m.checksum,
                )
        except asyncpg.PostgresError as exc:
            raise MigrationError(
                f"migration {m.filename} failed{_error_line(m.sql, exc)}: {type(exc).__name__}: {exc}. "
                f"It was rolled back; {len(done)} earlier migration(s) of this run stay applied. "
                "Fix the file (it has not been applied, so it may still change) and run migrate up again."
            ) from exc
        log.info("applied migration %s", m.filename, extra={"version": m.version, "checksum": m.checksum})
        done.append(m.version)
    return done
