"""Submit-time validation of audit rows and the transient/permanent error split (no server)."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from tutorplane.db.audit import AuditWriter, is_transient
from tutorplane.db.tables import AUDIT_TABLES, insert_sql, validate_row

pytestmark = pytest.mark.unit

SID = uuid.uuid4()


def test_the_contract_tables_are_accepted() -> None:
    assert set(AUDIT_TABLES) == {
        "transcript_turns",
        "routing_decisions",
        "guardrail_events",
        "escalation_events",
        "provider_usage",
    }


@pytest.mark.parametrize(
    ("table", "row", "message"),
    [
        ("learning_sessions", {"id": SID}, "unknown audit table 'learning_sessions'"),
        (
            "transcript_turns",
            {
                "session_id": SID,
                "turn_index": 0,
                "speaker": "student",
                "role": "user",
                "content": "x",
                "mood": "happy",
            },
            "unknown column(s) ['mood']",
        ),
        (
            "transcript_turns",
            {
                "session_id": SID,
                "turn_index": 0,
                "speaker": "student",
                "role": "user",
                "content": "x",
                "id": 5,
            },
            "unknown column(s) ['id']",
        ),
        (
            "routing_decisions",
            {"session_id": SID, "subject": "math"},
            "missing required column(s) ['confidence'",
        ),
        (
            "provider_usage",
            {"session_id": None, "provider": "p", "model": "m", "kind": "chat"},
            "missing required column(s) ['session_id']",
        ),
        ("guardrail_events", ["not", "a", "dict"], "must be a mapping"),
    ],
)
def test_bad_rows_raise_value_error_at_submit(table: str, row: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        validate_row(table, row)  # type: ignore[arg-type]


async def test_submit_raises_for_programming_errors_without_queueing() -> None:
    writer = AuditWriter(pool=None, queue_size=5)  # type: ignore[arg-type]  # never touches the pool
    with pytest.raises(ValueError, match="unknown audit table"):
        writer.submit("users", {"x": 1})
    assert writer.pending == 0
    await writer.aclose()


def test_guardrail_event_needs_no_session() -> None:
    validate_row("guardrail_events", {"direction": "input", "action": "allow", "source": "service"})


def test_insert_sql_quotes_whitelisted_names_only() -> None:
    assert insert_sql("provider_usage", ("kind", "model")) == (
        'INSERT INTO public."provider_usage" ("kind", "model") VALUES ($1, $2)'
    )
    with pytest.raises(ValueError):
        insert_sql("provider_usage", ("kind; DROP TABLE x",))


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (asyncpg.ConnectionDoesNotExistError("closed"), True),
        (asyncpg.CannotConnectNowError("starting up"), True),
        (asyncpg.TooManyConnectionsError("full"), True),
        (asyncpg.DeadlockDetectedError("deadlock"), True),
        (asyncpg.SerializationError("serialize"), True),
        (asyncpg.AdminShutdownError("bye"), True),
        (asyncpg.ReadOnlySQLTransactionError("replica"), True),
        (ConnectionRefusedError(), True),
        (FileNotFoundError(), True),
        (TimeoutError(), True),
        (asyncpg.InterfaceError("connection is closed"), True),
        (asyncpg.CheckViolationError("check"), False),
        (asyncpg.ForeignKeyViolationError("fk"), False),
        (asyncpg.NotNullViolationError("null"), False),
        (asyncpg.UndefinedColumnError("col"), False),
        (asyncpg.DataError("invalid input for query argument"), False),
        (ValueError("bad"), False),
    ],
)
def test_transient_errors_are_retried_and_permanent_ones_are_not(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient
