"""Analytics views return the expected per-variant numbers for seeded sessions."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from tutorplane.db import repository
from tutorplane.db.testing import People

pytestmark = pytest.mark.integration


@pytest.fixture
async def deployment(db_pool: asyncpg.Pool, people: People) -> str:
    """Variant A: 4 sessions, 1 escalated (twice); variant B: 2 sessions, both escalated.
    Routing: A 3x math + 1x history, B 1x english. Guardrail output checks: A 10 (2 blocked,
    1 rewritten) + 1 input block; B none."""
    name = f"views-{uuid.uuid4().hex[:8]}"
    a = [
        await repository.create_session(
            db_pool, student_id=people.student_ids[i % 2], deployment=name, variant="A"
        )
        for i in range(4)
    ]
    b = [
        await repository.create_session(
            db_pool, student_id=people.student_ids[i % 2], deployment=name, variant="B"
        )
        for i in range(2)
    ]
    for s, subject in zip(
        [a[0], a[0], a[1], a[2], b[0]], ["math", "math", "math", "history", "english"], strict=True
    ):
        await db_pool.execute(
            "INSERT INTO routing_decisions (session_id, turn_index, subject, confidence, strategy, stage,"
            " latency_ms)"
            " VALUES ($1, 0, $2, 0.9, 'two_stage', 'local', 1)",
            s.id,
            subject,
        )
    for s in (a[0], a[0], b[0], b[1]):
        await repository.create_escalation(db_pool, session_id=s.id, reason="help", source="student")
    actions = ["allow"] * 7 + ["block", "block", "rewrite"]
    for i, action in enumerate(actions):
        await db_pool.execute(
            "INSERT INTO guardrail_events (session_id, direction, action, source) VALUES ($1, 'output', $2,"
            " 'agent')",
            a[i % 4].id,
            action,
        )
    await db_pool.execute(
        "INSERT INTO guardrail_events (session_id, direction, action, source, fail_closed)"
        " VALUES ($1, 'input', 'block', 'gateway', true)",
        a[3].id,
    )
    return name


async def test_subject_mix(db_pool: asyncpg.Pool, deployment: str) -> None:
    rows = await db_pool.fetch(
        "SELECT variant, subject, decisions, share FROM analytics_subject_mix WHERE deployment = $1"
        " ORDER BY variant, subject",
        deployment,
    )
    assert [tuple(r) for r in rows] == [
        ("A", "history", 1, 0.25),
        ("A", "math", 3, 0.75),
        ("B", "english", 1, 1.0),
    ]


async def test_escalation_rate(db_pool: asyncpg.Pool, deployment: str) -> None:
    rows = await db_pool.fetch(
        "SELECT variant, sessions, escalated_sessions, escalations, rate FROM analytics_escalation_rate"
        " WHERE deployment = $1 ORDER BY variant",
        deployment,
    )
    assert [tuple(r) for r in rows] == [("A", 4, 1, 2, 0.25), ("B", 2, 2, 2, 1.0)]


async def test_guardrail_rate(db_pool: asyncpg.Pool, deployment: str) -> None:
    rows = {
        r["variant"]: r
        for r in await db_pool.fetch(
            "SELECT * FROM analytics_guardrail_rate WHERE deployment = $1", deployment
        )
    }
    a, b = rows["A"], rows["B"]
    assert (a["sessions"], a["output_checks"], a["output_blocked"], a["output_rewritten"]) == (4, 10, 2, 1)
    assert (a["input_checks"], a["input_blocked"], a["fail_closed"]) == (1, 1, 1)
    assert a["rate"] == pytest.approx(0.3)
    assert a["blocked_per_session"] == pytest.approx(0.5)
    assert (b["sessions"], b["output_checks"], b["rate"], b["blocked_per_session"]) == (2, 0, None, 0.0)


async def test_views_document_their_rates(db_pool: asyncpg.Pool) -> None:
    for view in ("analytics_subject_mix", "analytics_escalation_rate", "analytics_guardrail_rate"):
        comment = await db_pool.fetchval("SELECT obj_description($1::regclass, 'pg_class')", view)
        assert comment and "=" in comment, view
