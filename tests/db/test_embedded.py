"""The embedded PostgreSQL 18 used by `make demo`: start, reuse, stop, under a project-local folder."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from tutorplane.db.embedded import DEFAULT_DATA_DIR, start_embedded, stop_embedded
from tutorplane.db.migrations import migrate_up

pytestmark = pytest.mark.integration


async def test_start_migrate_reuse_stop(tmp_path: Path) -> None:
    folder = tmp_path / "pg"
    server = start_embedded(folder)
    try:
        assert not server.reused
        assert server.dsn.endswith(f"/tutorplane?host={folder}")
        assert await migrate_up(server.dsn)
        conn = await asyncpg.connect(server.dsn)
        try:
            assert conn.get_server_version().major == 18
        finally:
            await conn.close()

        again = start_embedded(folder)
        assert again.reused and again.dsn == server.dsn
        again.stop()  # a reused server keeps running
        assert await migrate_up(server.dsn) == []
    finally:
        server.stop()
    assert not stop_embedded(folder)  # nothing left running
    assert (folder / "PG_VERSION").exists()  # data stays for the next start


def test_default_folder_is_project_local() -> None:
    assert Path(".local/pg") == DEFAULT_DATA_DIR
    assert not DEFAULT_DATA_DIR.is_absolute()


def test_bad_database_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lowercase"):
        start_embedded(tmp_path / "pg2", database="Robert'); DROP")
    assert not (tmp_path / "pg2").exists()  # refused before anything was started
