"""What a session leaves in real PostgreSQL: transcript turns, routing decisions, guardrail events
and the escalation row (whose insert trigger feeds the teachers' live feed)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from tutorplane.agent.metadata import JobMetadata
from tutorplane.agent.testing import AgentHarness, emulator_agent_settings
from tutorplane.db import repository
from tutorplane.db.audit import AuditWriter
from tutorplane.db.pool import create_pool
from tutorplane.db.testing import create_people

pytestmark = pytest.mark.integration


async def test_session_rows_and_escalation_reach_postgres(emulator, migrated_dsn) -> None:
    pool = await create_pool(migrated_dsn, min_size=1, max_size=4)
    writer = AuditWriter(pool)
    writer.start()
    listener = await pool.acquire()
    notified: asyncio.Queue[dict] = asyncio.Queue()

    def on_notify(*args: object) -> None:
        notified.put_nowait(json.loads(str(args[3])))

    await listener.add_listener("escalation_events", on_notify)
    try:
        people = await create_people(pool)
        student_id = people.student_ids[0]
        learning = await repository.create_session(
            pool, student_id=student_id, deployment="test", variant="A", room_name=f"room-{uuid.uuid4()}"
        )
        metadata = JobMetadata(session_id=learning.id, student_id=student_id)
        settings = emulator_agent_settings(emulator)
        async with AgentHarness(settings, metadata=metadata, audit=writer) as h:
            await h.ask("What is 7 times 8?")
            await h.ask("I want to hurt myself")
            h.recorder.flush()
        assert await writer.flush(10)
        assert writer.stats.failed.total() == 0, writer.stats

        escalations = await pool.fetch(
            "SELECT student_id, reason, source, status FROM escalation_events WHERE session_id = $1",
            learning.id,
        )
        assert [(r["student_id"], r["source"], r["status"]) for r in escalations] == [
            (student_id, "student", "open")
        ]
        event = await asyncio.wait_for(notified.get(), 5)
        assert event["session_id"] == str(learning.id) and event["source"] == "student"

        guardrail = await pool.fetch(
            "SELECT direction, action, category, source FROM guardrail_events WHERE session_id = $1",
            learning.id,
        )
        assert ("input", "escalate") in {(r["direction"], r["action"]) for r in guardrail}
        assert all("hurt myself" not in str(r) for r in guardrail)  # hashes and masked excerpts only

        routing = await pool.fetch(
            "SELECT turn_index, subject, strategy, stage, confidence FROM routing_decisions "
            "WHERE session_id = $1 ORDER BY id",
            learning.id,
        )
        assert routing[0]["subject"] == "math" and routing[0]["strategy"] == "two_stage"
        assert routing[0]["turn_index"] == 1

        turns = await pool.fetch(
            "SELECT turn_index, speaker, role, content, latency_ms, checked_sentences FROM transcript_turns "
            "WHERE session_id = $1 ORDER BY turn_index, id",
            learning.id,
        )
        by_turn = [(r["turn_index"], r["speaker"]) for r in turns]
        assert by_turn[:4] == [(0, "orchestrator"), (1, "student"), (1, "orchestrator"), (1, "math")]
        assert by_turn[4:] == [(2, "student"), (2, "math")]  # the current tutor says the safe line
        answers = [r for r in turns if r["role"] == "assistant" and r["turn_index"] == 1]
        assert all(r["latency_ms"] is not None and r["latency_ms"] >= 0 for r in answers)
        # The math answer's row counts the sentences its output guardrail decided on (block-rate denominator).
        (math_answer,) = [r for r in answers if r["speaker"] == "math"]
        assert math_answer["checked_sentences"] >= 1

        usage = await pool.fetch(
            "SELECT turn_index, provider, model, kind, input_tokens, output_tokens FROM provider_usage "
            "WHERE session_id = $1",
            learning.id,
        )
        math_usage = [r for r in usage if r["model"] == settings.math_model]
        assert math_usage and math_usage[0]["kind"] == "chat" and math_usage[0]["turn_index"] == 1
        assert math_usage[0]["output_tokens"] > 0
    finally:
        await listener.remove_listener("escalation_events", on_notify)
        await pool.release(listener)
        await writer.aclose()
        await pool.close()
