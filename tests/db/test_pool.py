"""create_pool: json/jsonb codecs, settings, clear errors."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest
from tutorplane.db.pool import DatabaseUnavailableError, create_pool, dumps, redact_dsn

pytestmark = pytest.mark.integration


async def test_jsonb_and_json_round_trip_python_objects(migrated_dsn: str) -> None:
    pool = await create_pool(migrated_dsn, min_size=1, max_size=2)
    try:
        value = {"a": [1, 2, {"b": None}], "é": "ü"}
        assert await pool.fetchval("SELECT $1::jsonb", value) == value
        assert await pool.fetchval("SELECT $1::json", value) == value
        assert await pool.fetchval("SELECT '{\"x\": 1}'::jsonb") == {"x": 1}
        assert await pool.fetchval("SELECT current_setting('application_name')") == "tutorplane"
        assert await pool.fetchval("SELECT current_setting('idle_in_transaction_session_timeout')") == "1min"
    finally:
        await pool.close()


def test_dumps_handles_uuids_datetimes_and_decimals() -> None:
    u = uuid.UUID(int=1)
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert dumps({"u": u, "t": when, "d": decimal.Decimal("1.5")}) == (
        '{"u":"00000000-0000-0000-0000-000000000001","t":"2026-01-02T03:04:05+00:00","d":"1.5"}'
    )
    with pytest.raises(ValueError):
        dumps({"x": float("nan")})
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"x": object()})


async def test_unreachable_server_names_the_dsn_without_password() -> None:
    with pytest.raises(DatabaseUnavailableError) as info:
        await create_pool("postgresql://app:hunter2@127.0.0.1:1/db", connect_timeout=2)
    assert "postgresql://app:***@127.0.0.1:1/db" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_redact_dsn() -> None:
    assert redact_dsn("postgresql://u:p@h:5/d?sslmode=require") == "postgresql://u:***@h:5/d?sslmode=require"
    assert redact_dsn("postgresql://u@h/d") == "postgresql://u@h/d"
    assert redact_dsn("postgresql://postgres:@/x?host=/tmp/s") == "postgresql://postgres:***@/x?host=/tmp/s"


async def test_empty_dsn_is_explained() -> None:
    with pytest.raises(ValueError, match="TUTOR_DATABASE_URL"):
        await create_pool("")
