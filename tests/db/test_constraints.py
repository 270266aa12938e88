"""CHECK and foreign-key constraints of schema v1 reject bad rows (and accept good ones)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from tutorplane.db import repository
from tutorplane.db.testing import People

pytestmark = pytest.mark.integration


@pytest.fixture
async def session_id(db_pool: asyncpg.Pool, people: People) -> uuid.UUID:
    s = await repository.create_session(
        db_pool, student_id=people.student_ids[0], deployment="constraints", variant="A"
    )
    return s.id


def _insert(table: str, row: dict[str, Any]) -> tuple[str, list[Any]]:
    cols = ", ".join(row)
    params = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    return f"INSERT INTO {table} ({cols}) VALUES ({params})", list(row.values())


GOOD: dict[str, dict[str, Any]] = {
    "transcript_turns": {"turn_index": 0, "speaker": "student", "role": "user", "content": "What is 2+2?"},
    "routing_decisions": {
        "turn_index": 0,
        "subject": "math",
        "confidence": 0.9,
        "strategy": "two_stage",
        "stage": "local",
        "latency_ms": 1.5,
    },
    "guardrail_events": {
        "direction": "output",
        "category": "none",
        "score": 0.01,
        "action": "allow",
        "source": "gateway",
    },
    "provider_usage": {
        "provider": "openai",
        "model": "gpt-x",
        "input_tokens": 10,
        "output_tokens": 5,
        "kind": "chat",
    },
}

BAD = [
    ("transcript_turns", {"speaker": "robot"}, asyncpg.CheckViolationError),
    ("transcript_turns", {"role": "narrator"}, asyncpg.CheckViolationError),
    ("transcript_turns", {"content": "   "}, asyncpg.CheckViolationError),
    ("transcript_turns", {"turn_index": -1}, asyncpg.CheckViolationError),
    ("transcript_turns", {"subject": "chemistry"}, asyncpg.CheckViolationError),
    ("transcript_turns", {"latency_ms": -3.0}, asyncpg.CheckViolationError),
    ("routing_decisions", {"confidence": 1.5}, asyncpg.CheckViolationError),
    ("routing_decisions", {"confidence": -0.1}, asyncpg.CheckViolationError),
    ("routing_decisions", {"subject": "art"}, asyncpg.CheckViolationError),
    ("routing_decisions", {"strategy": "vibes"}, asyncpg.CheckViolationError),
    ("routing_decisions", {"stage": "oracle"}, asyncpg.CheckViolationError),
    ("routing_decisions", {"latency_ms": -1.0}, asyncpg.CheckViolationError),
    ("guardrail_events", {"direction": "sideways"}, asyncpg.CheckViolationError),
    ("guardrail_events", {"score": 2.0}, asyncpg.CheckViolationError),
    ("guardrail_events", {"action": "shrug"}, asyncpg.CheckViolationError),
    ("guardrail_events", {"excerpt": "x" * 201}, asyncpg.CheckViolationError),
    ("guardrail_events", {"source": None}, asyncpg.NotNullViolationError),
    ("provider_usage", {"input_tokens": -1}, asyncpg.CheckViolationError),
    ("provider_usage", {"audio_seconds": -0.5}, asyncpg.CheckViolationError),
    ("provider_usage", {"model": ""}, asyncpg.CheckViolationError),
]


@pytest.mark.parametrize("table", sorted(GOOD))
async def test_good_rows_are_accepted(db_pool: asyncpg.Pool, session_id: uuid.UUID, table: str) -> None:
    sql, args = _insert(table, {"session_id": session_id, **GOOD[table]})
    await db_pool.execute(sql, *args)


@pytest.mark.parametrize(("table", "override", "error"), BAD, ids=[f"{t}-{next(iter(o))}" for t, o, _ in BAD])
async def test_bad_rows_are_rejected(
    db_pool: asyncpg.Pool, session_id: uuid.UUID, table: str, override: dict[str, Any], error: type[Exception]
) -> None:
    sql, args = _insert(table, {"session_id": session_id, **GOOD[table], **override})
    with pytest.raises(error):
        await db_pool.execute(sql, *args)


async def test_audit_rows_need_an_existing_session(db_pool: asyncpg.Pool) -> None:
    for table, row in GOOD.items():
        sql, args = _insert(table, {"session_id": uuid.uuid4(), **row})
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await db_pool.execute(sql, *args)


async def test_guardrail_event_without_session_is_allowed(db_pool: asyncpg.Pool) -> None:
    sql, args = _insert("guardrail_events", {**GOOD["guardrail_events"], "source": "service"})
    await db_pool.execute(sql, *args)


async def test_turn_is_unique_per_session_index_and_speaker(
    db_pool: asyncpg.Pool, session_id: uuid.UUID
) -> None:
    sql, args = _insert("transcript_turns", {"session_id": session_id, **GOOD["transcript_turns"]})
    await db_pool.execute(sql, *args)
    with pytest.raises(asyncpg.UniqueViolationError):
        await db_pool.execute(sql, *args)
    # Same index, other speaker (the assistant's answer to that turn) is fine.
    other = {**GOOD["transcript_turns"], "speaker": "math", "role": "assistant", "content": "4"}
    sql2, args2 = _insert("transcript_turns", {"session_id": session_id, **other})
    await db_pool.execute(sql2, *args2)


async def test_session_constraints(db_pool: asyncpg.Pool, people: People) -> None:
    base = {"student_id": people.student_ids[0], "deployment": "c", "variant": "A"}
    for override, error in [
        ({"variant": "C"}, asyncpg.CheckViolationError),
        ({"assignment_reason": "coin"}, asyncpg.CheckViolationError),
        ({"deployment": ""}, asyncpg.CheckViolationError),
        ({"student_id": uuid.uuid4()}, asyncpg.ForeignKeyViolationError),
        ({"metadata": ["not", "an", "object"]}, asyncpg.CheckViolationError),
    ]:
        sql, args = _insert("learning_sessions", {**base, **override})
        with pytest.raises(error):
            await db_pool.execute(sql, *args)
    with pytest.raises(asyncpg.CheckViolationError):
        await db_pool.execute(
            "INSERT INTO learning_sessions (student_id, deployment, variant, started_at, ended_at) "
            "VALUES ($1, 'c', 'A', now(), now() - interval '1 minute')",
            people.student_ids[0],
        )
    await db_pool.execute(
        "INSERT INTO learning_sessions (student_id, deployment, variant, room_name) VALUES ($1, 'c', 'B',"
        " $2)",
        people.student_ids[0],
        f"room-{people.class_id}",
    )
    with pytest.raises(asyncpg.UniqueViolationError):
        await db_pool.execute(
            "INSERT INTO learning_sessions (student_id, deployment, variant, room_name) VALUES ($1, 'c',"
            " 'B', $2)",
            people.student_ids[1],
            f"room-{people.class_id}",
        )


async def test_escalation_must_name_the_sessions_own_student(
    db_pool: asyncpg.Pool, people: People, session_id: uuid.UUID
) -> None:
    insert = "INSERT INTO escalation_events (session_id, student_id, reason, source) VALUES ($1, $2, $3, $4)"
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await db_pool.execute(insert, session_id, people.student_ids[1], "help", "student")
    with pytest.raises(asyncpg.CheckViolationError):
        await db_pool.execute(insert, session_id, people.student_ids[0], "help", "martians")
    with pytest.raises(asyncpg.CheckViolationError):
        await db_pool.execute(insert, session_id, people.student_ids[0], " ", "student")
    await db_pool.execute(insert, session_id, people.student_ids[0], "help", "student")
    # Open escalations carry no acknowledgement time, acknowledged ones must.
    with pytest.raises(asyncpg.CheckViolationError):
        await db_pool.execute(
            "UPDATE escalation_events SET status = 'acknowledged' WHERE session_id = $1", session_id
        )


async def test_people_constraints(db_pool: asyncpg.Pool, people: People) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await db_pool.execute("INSERT INTO teachers (display_name, email) VALUES ('X', 'not-an-email')")
    with pytest.raises(asyncpg.CheckViolationError):
        await db_pool.execute("INSERT INTO teachers (display_name, email) VALUES ('X', 'Upper@School.test')")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await db_pool.execute("INSERT INTO students (display_name, class_id) VALUES ('X', $1)", uuid.uuid4())
    # A class with students cannot be deleted (move or delete the students first).
    with pytest.raises(asyncpg.RestrictViolationError):
        await db_pool.execute("DELETE FROM classes WHERE id = $1", people.class_id)


async def test_deleting_a_student_erases_their_sessions_and_records(
    db_pool: asyncpg.Pool, people: People, session_id: uuid.UUID
) -> None:
    sql, args = _insert("transcript_turns", {"session_id": session_id, **GOOD["transcript_turns"]})
    await db_pool.execute(sql, *args)
    await repository.create_escalation(db_pool, session_id=session_id, reason="help", source="student")
    await db_pool.execute("DELETE FROM students WHERE id = $1", people.student_ids[0])
    for table in ("learning_sessions", "transcript_turns", "escalation_events"):
        column = "id" if table == "learning_sessions" else "session_id"
        assert await db_pool.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", session_id) == 0
