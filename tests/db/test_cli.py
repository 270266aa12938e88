"""`tutorplane-db migrate up|status` against a real server, and its errors for bad DSNs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tutorplane.db.cli import main

pytestmark = pytest.mark.integration


def test_migrate_up_then_status(fresh_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "status", "--dsn", fresh_dsn]) == 0
    assert "0 applied, 6 pending, 0 changed" in capsys.readouterr().out

    assert main(["migrate", "up", "--dsn", fresh_dsn]) == 0
    assert "applied 6 migration(s): 0001, 0002, 0003, 0004, 0005, 0006" in capsys.readouterr().out

    assert main(["migrate", "up", "--dsn", fresh_dsn]) == 0
    assert "nothing applied" in capsys.readouterr().out

    assert main(["migrate", "status", "--dsn", fresh_dsn]) == 0
    out = capsys.readouterr().out
    assert "0001_schema_v1" in out and "applied" in out
    assert "6 applied, 0 pending, 0 changed" in out


def test_dsn_comes_from_tutor_database_url(
    fresh_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TUTOR_DATABASE_URL", fresh_dsn)
    assert main(["migrate", "up"]) == 0
    assert "applied 6" in capsys.readouterr().out


def test_changed_checksum_exits_1_with_the_file_named(
    fresh_dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "0001_t.sql").write_text("CREATE TABLE t (id int);")
    assert main(["migrate", "up", "--dsn", fresh_dsn, "--dir", str(tmp_path)]) == 0
    (tmp_path / "0001_t.sql").write_text("CREATE TABLE t (id bigint);")
    capsys.readouterr()
    assert main(["migrate", "up", "--dsn", fresh_dsn, "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "0001_t.sql" in err and "Nothing was applied" in err
    assert main(["migrate", "status", "--dsn", fresh_dsn, "--dir", str(tmp_path)]) == 1
    assert "changed" in capsys.readouterr().out


def test_missing_dsn_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TUTOR_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["migrate", "up"]) == 2
    err = capsys.readouterr().err
    assert "--dsn" in err and "TUTOR_DATABASE_URL" in err


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        (
            "postgresql://app:s3cret@127.0.0.1:1/tutor",
            "cannot connect to PostgreSQL at postgresql://app:***@127.0.0.1:1/tutor",
        ),
        ("not a dsn", "invalid DSN"),
    ],
)
def test_unreachable_or_malformed_dsn_exits_1_without_leaking_the_password(
    dsn: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "status", "--dsn", dsn]) == 1
    err = capsys.readouterr().err
    assert expected in err
    assert "s3cret" not in err


def test_unknown_database_is_named(pg_admin_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    dsn = pg_admin_dsn.replace("/postgres?", "/no_such_db?")
    assert main(["migrate", "up", "--dsn", dsn]) == 1
    assert 'database "no_such_db" does not exist' in capsys.readouterr().err


def test_python_dash_m_entry_point(fresh_dsn: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tutorplane.db", "migrate", "status", "--dsn", fresh_dsn],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "6 pending" in result.stdout
