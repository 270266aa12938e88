"""Row-level security as the Supabase roles see it: anon gets nothing, a student sees only their
own sessions, a teacher only their classes' students, service_role everything."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from tutorplane.db import repository
from tutorplane.db.testing import People

pytestmark = pytest.mark.integration


@pytest.fixture
async def world(db_pool: asyncpg.Pool, people: People) -> dict[str, uuid.UUID]:
    """One session (with a turn, a routing decision, a guardrail event, usage and an escalation)
    for each of: student 0, student 1 (same class), and the other class's student."""
    ids: dict[str, uuid.UUID] = {}
    for key, student in (
        ("s0", people.student_ids[0]),
        ("s1", people.student_ids[1]),
        ("other", people.other_student_id),
    ):
        s = await repository.create_session(db_pool, student_id=student, deployment="rls", variant="A")
        ids[key] = s.id
        await repository.add_transcript_turn(
            db_pool, session_id=s.id, turn_index=0, speaker="student", role="user", content=f"hi from {key}"
        )
        await db_pool.execute(
            "INSERT INTO routing_decisions (session_id, turn_index, subject, confidence, strategy, stage,"
            " latency_ms)"
            " VALUES ($1, 0, 'math', 0.9, 'two_stage', 'local', 1)",
            s.id,
        )
        await db_pool.execute(
            "INSERT INTO guardrail_events (session_id, direction, action, source) VALUES ($1, 'output',"
            " 'allow', 'x')",
            s.id,
        )
        await db_pool.execute(
            "INSERT INTO provider_usage (session_id, provider, model, kind) VALUES ($1, 'openai', 'm',"
            " 'chat')",
            s.id,
        )
        await repository.create_escalation(db_pool, session_id=s.id, reason=f"help {key}", source="student")
    return ids


@pytest.fixture
async def conn(db_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside a transaction that is rolled back (SET LOCAL ROLE ends with it)."""
    async with db_pool.acquire() as c:
        tx = c.transaction()
        await tx.start()
        try:
            yield c
        finally:
            await tx.rollback()


async def act_as(conn: asyncpg.Connection, role: str, sub: uuid.UUID | None = None) -> None:
    claims = json.dumps({"sub": str(sub), "role": role}) if sub else ""
    await conn.execute("SELECT set_config('request.jwt.claims', $1, true)", claims)
    await conn.execute(f"SET LOCAL ROLE {role}")


async def visible_sessions(conn: asyncpg.Connection, world: dict[str, uuid.UUID]) -> set[str]:
    rows = await conn.fetch(
        "SELECT id FROM learning_sessions WHERE id = ANY($1::uuid[])", list(world.values())
    )
    names = {v: k for k, v in world.items()}
    return {names[r["id"]] for r in rows}


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
    "schema_migrations",
    "analytics_subject_mix",
    "analytics_escalation_rate",
    "analytics_guardrail_rate",
]


@pytest.mark.parametrize("table", TABLES)
async def test_anon_is_denied_every_table_and_view(
    conn: asyncpg.Connection, world: dict[str, uuid.UUID], table: str
) -> None:
    await act_as(conn, "anon")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.fetch(f"SELECT * FROM {table} LIMIT 1")


async def test_anon_sees_zero_rows_even_with_supabase_style_blanket_grants(
    conn: asyncpg.Connection, world: dict[str, uuid.UUID]
) -> None:
    """Supabase grants anon SELECT on public tables by default; RLS alone must still hide every row."""
    await conn.execute(
        "GRANT SELECT ON learning_sessions, transcript_turns, escalation_events, students TO anon"
    )
    await act_as(conn, "anon")
    assert await conn.fetchval("SELECT auth.uid()") is None
    for table in ("learning_sessions", "transcript_turns", "escalation_events", "students"):
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0


async def test_student_reads_only_their_own_sessions_and_turns(
    conn: asyncpg.Connection, world: dict[str, uuid.UUID], people: People
) -> None:
    await act_as(conn, "authenticated", people.student_ids[0])
    assert await visible_sessions(conn, world) == {"s0"}
    turns = await conn.fetch("SELECT content FROM transcript_turns")
    assert [t["content"] for t in turns] == ["hi from s0"]
    students = await conn.fetch("SELECT id FROM students")
    assert [s["id"] for s in students] == [people.student_ids[0]]
    # Internals of routing/guardrails/escalations are for teachers; usage for the service only.
    for table in ("routing_decisions", "guardrail_events", "escalation_events"):
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.fetch("SELECT * FROM provider_usage")


async def test_student_cannot_write(
    conn: asyncpg.Connection, world: dict[str, uuid.UUID], people: People
) -> None:
    await act_as(conn, "authenticated", people.student_ids[0])
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with conn.transaction():  # savepoint: the outer transaction stays usable
            await conn.execute(
                "INSERT INTO transcript_turns (session_id, turn_index, speaker, role, content)"
                " VALUES ($1, 9, 'student', 'user', 'x')",
                world["s0"],
            )
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("UPDATE learning_sessions SET variant = 'B' WHERE id = $1", world["s0"])


async def test_teacher_reads_only_their_classes_students(
    conn: asyncpg.Connection, world: dict[str, uuid.UUID], people: People
) -> None:
    await act_as(conn, "authenticated", people.teacher_id)
    assert await visible_sessions(conn, world) == {"s0", "s1"}
    students = {r["id"] for r in await conn.fetch("SELECT id FROM students")}
    assert students == set(people.student_ids)
    assert {r["id"] for r in await conn.fetch("SELECT id FROM classes")} == {people.class_id}
    assert {r["id"] for r in await conn.fetch("SELECT id FROM teachers")} == {people.teacher_id}
    session_ids = [world["s0"], world["s1"], world["other"]]
    for table in ("transcript_turns", "routing_decisions", "guardrail_events", "escalation_events"):
        rows = await conn.fetch(
            f"SELECT DISTINCT session_id FROM {table} WHERE session_id = ANY($1::uuid[])", session_ids
        )
        assert {r["session_id"] for r in rows} == {world["s0"], world["s1"]}, table


async def test_teacher_may_acknowledge_only_their_students_escalations(
    conn: asyncpg.Connection, world: dict[str, uuid.UUID], people: People
) -> None:
    await act_as(conn, "authenticated", people.teacher_id)
    ack = (
        "UPDATE escalation_events SET status = 'acknowledged', acknowledged_by = $2, acknowledged_at = now()"
        " WHERE session_id = $1"
    )
    assert await conn.execute(ack, world["s0"], people.teacher_id) == "UPDATE 1"
    assert await conn.execute(ack, world["other"], people.teacher_id) == "UPDATE 0"
    # Not in someone else's name, and no other column.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute(
            "UPDATE escalation_events SET status = 'acknowledged', acknowledged_by = $2, acknowledged_at ="
            " now()"
            " WHERE session_id = $1",
            world["s1"],
            people.other_teacher_id,
        )


async def test_teacher_cannot_change_escalation_reason(
    conn: asyncpg.Connection, world: dict[str, uuid.UUID], people: People
) -> None:
    await act_as(conn, "authenticated", people.teacher_id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute(
            "UPDATE escalation_events SET reason = 'nothing' WHERE session_id = $1", world["s0"]
        )


async def test_malformed_subject_fails_closed(conn: asyncpg.Connection, world: dict[str, uuid.UUID]) -> None:
    await conn.execute("SELECT set_config('request.jwt.claims', '{\"sub\": \"not-a-uuid\"}', true)")
    await conn.execute("SET LOCAL ROLE authenticated")
    with pytest.raises(asyncpg.InvalidTextRepresentationError):
        await conn.fetch("SELECT * FROM learning_sessions")


async def test_service_role_sees_and_writes_everything(
    conn: asyncpg.Connection, world: dict[str, uuid.UUID]
) -> None:
    await act_as(conn, "service_role")
    assert await visible_sessions(conn, world) == {"s0", "s1", "other"}
    assert (
        await conn.fetchval("SELECT count(*) FROM provider_usage WHERE session_id = $1", world["other"]) == 1
    )
    await conn.execute(
        "INSERT INTO routing_decisions (session_id, turn_index, subject, confidence, strategy, stage,"
        " latency_ms)"
        " VALUES ($1, 1, 'history', 0.7, 'function_tools', 'tool', 3)",
        world["s0"],
    )
    assert await conn.fetchval("SELECT count(*) FROM analytics_subject_mix WHERE deployment = 'rls'") >= 1


async def test_login_role_granted_service_role_passes_rls_without_bypassrls(
    conn: asyncpg.Connection, world: dict[str, uuid.UUID]
) -> None:
    """Services log in as their own role and are granted service_role; its policies cover them."""
    role = f"svc_{uuid.uuid4().hex[:8]}"
    await conn.execute(f"CREATE ROLE {role} NOLOGIN INHERIT IN ROLE service_role")
    await conn.execute(f"SET LOCAL ROLE {role}")
    assert await visible_sessions(conn, world) == {"s0", "s1", "other"}
