"""Repository functions on a real PostgreSQL, including the server-built session report."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest
from tutorplane.db import repository
from tutorplane.db.testing import People

pytestmark = pytest.mark.integration


async def test_seed_demo_data_is_idempotent_and_uses_the_fixed_ids(db_pool: asyncpg.Pool) -> None:
    await repository.seed_demo_data(db_pool)
    await repository.seed_demo_data(db_pool)
    teacher = await repository.get_user(db_pool, repository.DEMO_TEACHER_ID)
    assert teacher is not None
    assert (teacher.kind, teacher.display_name) == ("teacher", "Ms. Rivera")
    assert teacher.class_ids == (repository.DEMO_CLASS_ID,)
    for student_id in repository.DEMO_STUDENT_IDS:
        student = await repository.get_user(db_pool, student_id)
        assert student is not None and student.kind == "student"
        assert student.class_ids == (repository.DEMO_CLASS_ID,)
        assert await repository.teacher_can_see_student(
            db_pool, teacher_id=repository.DEMO_TEACHER_ID, student_id=student_id
        )
    assert len(set(repository.DEMO_STUDENT_IDS)) == 2
    assert await repository.get_user(db_pool, uuid.uuid4()) is None


async def test_teacher_can_see_only_their_classes(db_pool: asyncpg.Pool, people: People) -> None:
    see = repository.teacher_can_see_student
    assert await see(db_pool, teacher_id=people.teacher_id, student_id=people.student_ids[1])
    assert not await see(db_pool, teacher_id=people.teacher_id, student_id=people.other_student_id)
    assert not await see(db_pool, teacher_id=people.other_teacher_id, student_id=people.student_ids[0])


async def test_create_and_get_session(db_pool: asyncpg.Pool, people: People) -> None:
    sid = uuid.uuid4()
    s = await repository.create_session(
        db_pool,
        session_id=sid,
        student_id=people.student_ids[0],
        deployment="tutor-prod",
        variant="A",
        revision="pool-a-r7",
        assignment_reason="override",
        room_name=f"room-{sid}",
        metadata={"client": "web", "n": 1},
    )
    assert s.id == sid and s.ended_at is None and s.session_report is None
    got = await repository.get_session(db_pool, sid)
    assert got == s
    assert got.metadata == {"client": "web", "n": 1}
    assert await repository.get_session(db_pool, uuid.uuid4()) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"variant": "C"}, "variant must be one of A, B"),
        ({"assignment_reason": "random"}, "assignment_reason must be one of weighted, override"),
        ({"deployment": " "}, "deployment must be a non-empty string"),
    ],
)
async def test_create_session_bad_input(
    db_pool: asyncpg.Pool, people: People, kwargs: dict[str, str], message: str
) -> None:
    args = {"student_id": people.student_ids[0], "deployment": "d", "variant": "A", **kwargs}
    with pytest.raises(ValueError, match=message):
        await repository.create_session(db_pool, **args)  # type: ignore[arg-type]


async def _record_a_session(db: asyncpg.Pool, session_id: uuid.UUID) -> None:
    turns = [
        (0, "student", "user", "what is 3 times 4?", None, None),
        (0, "math", "assistant", "3 times 4 is 12.", "math", 420.0),
        (1, "student", "user", "who was Napoleon?", None, None),
        (1, "history", "assistant", "A French emperor.", "history", 610.0),
        (2, "teacher", "system", "Try drawing it.", None, None),
    ]
    for index, speaker, role, content, subject, latency in turns:
        await repository.add_transcript_turn(
            db,
            session_id=session_id,
            turn_index=index,
            speaker=speaker,
            role=role,
            content=content,
            subject=subject,
            latency_ms=latency,
        )
    await db.executemany(
        "INSERT INTO routing_decisions (session_id, turn_index, subject, confidence, strategy, stage,"
        " latency_ms)"
        " VALUES ($1, $2, $3, $4, 'two_stage', $5, $6)",
        [(session_id, 0, "math", 0.95, "local", 0.3), (session_id, 1, "history", 0.55, "llm", 180.0)],
    )
    await db.executemany(
        "INSERT INTO guardrail_events (session_id, direction, action, source, category, score)"
        " VALUES ($1, $2, $3, 'agent', $4, $5)",
        [
            (session_id, "input", "allow", "none", 0.01),
            (session_id, "output", "allow", "none", 0.02),
            (session_id, "output", "rewrite", "violence", 0.6),
            (session_id, "output", "block", "violence", 0.9),
        ],
    )
    await db.executemany(
        "INSERT INTO provider_usage (session_id, turn_index, provider, model, kind, input_tokens,"
        " output_tokens,"
        " audio_seconds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            (session_id, 0, "anthropic", "claude-x", "chat", 100, 20, 0.0),
            (session_id, 1, "openai", "gpt-x", "chat", 150, 30, 0.0),
            (session_id, 1, "openai", "tts-x", "tts", 0, 0, 2.5),
        ],
    )


async def test_close_session_builds_the_report_on_the_server(db_pool: asyncpg.Pool, people: People) -> None:
    started = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
    s = await repository.create_session(
        db_pool, student_id=people.student_ids[0], deployment="rep", variant="A", started_at=started
    )
    await _record_a_session(db_pool, s.id)
    await repository.create_escalation(db_pool, session_id=s.id, reason="stuck", source="router")

    closed = await repository.close_session(db_pool, s.id, ended_at=started + dt.timedelta(minutes=5))
    report = closed.session_report
    assert report is not None
    assert closed.ended_at == started + dt.timedelta(minutes=5)
    assert report["report_source"] == "server"
    assert report["duration_s"] == 300
    assert report["turns"] == {
        "total": 5,
        "student": 2,
        "assistant": 2,
        "teacher": 1,
        "latency_p50_ms": 515.0,
        "latency_p95_ms": 600.5,
    }
    assert report["subjects"] == {"history": 1, "math": 1}
    assert report["routing"]["decisions"] == 2
    assert report["routing"]["local"] == 1 and report["routing"]["llm"] == 1
    assert report["routing"]["mean_confidence"] == 0.75
    assert report["escalated"] is True and report["escalations"] == 1
    # Both student messages were checked, though only one left an event (allowed ones leave none).
    assert report["guardrail"] == {
        "checks": 5,
        "input_checks": 2,
        "output_checks": 3,
        "allowed": 3,
        "rewritten": 1,
        "blocked": 1,
        "escalated": 0,
        "fail_closed": 0,
    }
    assert report["usage"]["input_tokens"] == 250 and report["usage"]["output_tokens"] == 50
    assert report["usage"]["audio_seconds"] == 2.5 and report["usage"]["calls"] == 3
    assert [m["model"] for m in report["usage"]["by_model"]] == ["claude-x", "gpt-x", "tts-x"]

    # Closing again changes nothing.
    again = await repository.close_session(db_pool, s.id, report={"client": "late"})
    assert again == closed


async def test_empty_session_report_has_zeros_not_nulls_where_counts(
    db_pool: asyncpg.Pool, people: People
) -> None:
    s = await repository.create_session(
        db_pool, student_id=people.student_ids[1], deployment="rep", variant="B"
    )
    report = await repository.build_session_report(db_pool, s.id)
    assert report["turns"]["total"] == 0 and report["turns"]["latency_p50_ms"] is None
    assert report["subjects"] == {}
    assert report["escalated"] is False
    assert report["usage"] == {
        "calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "audio_seconds": 0,
        "by_model": [],
    }
    assert report["duration_s"] >= 0


async def test_client_report_is_stored_as_sent(db_pool: asyncpg.Pool, people: People) -> None:
    s = await repository.create_session(
        db_pool, student_id=people.student_ids[0], deployment="rep", variant="B"
    )
    closed = await repository.close_session(db_pool, s.id, report={"summary": "did fractions", "turns": 3})
    assert closed.session_report == {"summary": "did fractions", "turns": 3}
    with pytest.raises(ValueError, match="JSON object"):
        await repository.close_session(db_pool, s.id, report=["x"])  # type: ignore[arg-type]


async def test_close_unknown_session(db_pool: asyncpg.Pool) -> None:
    with pytest.raises(repository.SessionNotFoundError, match="does not exist"):
        await repository.close_session(db_pool, uuid.uuid4())
    with pytest.raises(repository.SessionNotFoundError):
        await repository.build_session_report(db_pool, uuid.uuid4())


async def test_transcript_in_conversation_order_and_next_index(db_pool: asyncpg.Pool, people: People) -> None:
    s = await repository.create_session(
        db_pool, student_id=people.student_ids[0], deployment="tr", variant="A"
    )
    assert await repository.next_turn_index(db_pool, s.id) == 0
    await repository.add_transcript_turn(
        db_pool, session_id=s.id, turn_index=1, speaker="student", role="user", content="second"
    )
    await repository.add_transcript_turn(
        db_pool, session_id=s.id, turn_index=0, speaker="student", role="user", content="first"
    )
    await repository.add_transcript_turn(
        db_pool, session_id=s.id, turn_index=0, speaker="orchestrator", role="assistant", content="answer"
    )
    transcript = await repository.session_transcript(db_pool, s.id)
    assert [t.content for t in transcript] == ["first", "answer", "second"]
    assert await repository.next_turn_index(db_pool, s.id) == 2


async def test_escalation_replay_acknowledge_and_resolve(db_pool: asyncpg.Pool, people: People) -> None:
    mine = await repository.create_session(
        db_pool, student_id=people.student_ids[1], deployment="e", variant="A"
    )
    theirs = await repository.create_session(
        db_pool, student_id=people.other_student_id, deployment="e", variant="A"
    )
    e1 = await repository.create_escalation(db_pool, session_id=mine.id, reason="help 1", source="student")
    await repository.create_escalation(db_pool, session_id=theirs.id, reason="other class", source="student")
    e3 = await repository.create_escalation(db_pool, session_id=mine.id, reason="help 2", source="guardrail")
    assert e1.class_id == people.class_id and e1.student_name == "Student 1" and e1.status == "open"

    replay = await repository.escalations_since(db_pool, teacher_id=people.teacher_id, last_id=e1.id - 1)
    assert [e.id for e in replay] == [e1.id, e3.id]
    replay = await repository.escalations_since(db_pool, teacher_id=people.teacher_id, last_id=e1.id)
    assert [e.id for e in replay] == [e3.id]
    assert await repository.escalations_since(db_pool, teacher_id=people.teacher_id, last_id=e3.id) == []

    assert (
        await repository.acknowledge_escalation(
            db_pool, escalation_id=e1.id, teacher_id=people.other_teacher_id
        )
        is None
    )
    acked = await repository.acknowledge_escalation(
        db_pool, escalation_id=e1.id, teacher_id=people.teacher_id
    )
    assert acked is not None and acked.status == "acknowledged"
    assert acked.acknowledged_by == people.teacher_id and acked.acknowledged_at is not None
    # Acknowledging twice keeps the first acknowledgement.
    again = await repository.acknowledge_escalation(
        db_pool, escalation_id=e1.id, teacher_id=people.teacher_id
    )
    assert again == acked

    resolved = await repository.resolve_escalation(db_pool, escalation_id=e3.id, teacher_id=people.teacher_id)
    assert resolved is not None and resolved.status == "resolved" and resolved.acknowledged_at is not None
    assert (
        await repository.acknowledge_escalation(db_pool, escalation_id=e3.id, teacher_id=people.teacher_id)
        == resolved
    )
    assert (
        await repository.acknowledge_escalation(db_pool, escalation_id=10**12, teacher_id=people.teacher_id)
        is None
    )


async def test_variant_report(db_pool: asyncpg.Pool, people: People) -> None:
    deployment = f"ab-{uuid.uuid4().hex[:8]}"
    a1 = await repository.create_session(
        db_pool, student_id=people.student_ids[0], deployment=deployment, variant="A"
    )
    await _record_a_session(db_pool, a1.id)
    await repository.create_escalation(db_pool, session_id=a1.id, reason="x", source="agent")
    await repository.close_session(db_pool, a1.id)
    await repository.create_session(
        db_pool, student_id=people.student_ids[1], deployment=deployment, variant="A"
    )
    await repository.create_session(
        db_pool, student_id=people.student_ids[1], deployment=deployment, variant="B"
    )

    rows = {r.variant: r for r in await repository.variant_report(db_pool, deployment=deployment)}
    assert set(rows) == {"A", "B"}
    a, b = rows["A"], rows["B"]
    assert (a.sessions, a.completed_sessions, b.sessions, b.completed_sessions) == (2, 1, 1, 0)
    assert a.assistant_turns == 2 and a.latency_samples == 2
    assert a.latency_p50_ms == pytest.approx(515.0) and a.latency_p95_ms == pytest.approx(600.5)
    assert (a.input_tokens, a.output_tokens, a.audio_seconds) == (250, 50, 2.5)
    assert (a.escalated_sessions, a.escalations, a.escalation_rate) == (1, 1, 0.5)
    assert (a.guardrail_output_checks, a.guardrail_blocks, a.guardrail_rewrites) == (3, 1, 1)
    assert a.guardrail_block_rate == pytest.approx(1 / 3)
    assert b.assistant_turns == 0 and b.latency_p50_ms is None and b.escalation_rate == 0
    assert b.guardrail_block_rate is None and b.mean_duration_s is None

    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert await repository.variant_report(db_pool, deployment=deployment, since=future) == []
