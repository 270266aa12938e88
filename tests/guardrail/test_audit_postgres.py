"""Guardrail decisions land in real PostgreSQL through the data layer's AuditWriter (fire-and-forget)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from tutorplane.db import repository
from tutorplane.db.audit import AuditWriter
from tutorplane.db.pool import create_pool
from tutorplane.db.testing import create_people
from tutorplane.guardrail.audit import sentence_hash
from tutorplane.guardrail.checker import LocalChecker
from tutorplane.guardrail.decision import CheckContext
from tutorplane.guardrail.pipeline import GuardedStream, check_input
from tutorplane.guardrail.scripted_moderation import ScriptedModeration
from tutorplane.guardrail.testing import ScriptedRewriter, scripted_deltas

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(migrated_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(migrated_dsn, min_size=1, max_size=2)
    yield p
    await p.close()


@pytest.fixture
async def session_id(pool: asyncpg.Pool) -> str:
    people = await create_people(pool)
    session = await repository.create_session(
        pool, student_id=people.student_ids[0], deployment="test", variant="A"
    )
    return str(session.id)


async def test_output_and_input_decisions_are_audit_rows(pool: asyncpg.Pool, session_id: str) -> None:
    writer = AuditWriter(pool)
    writer.start()
    moderation = (
        ScriptedModeration()
        .flag("battle", {"violence": 0.9})
        .flag("explicit", {"sexual": 0.95})
        .flag("hurt myself", {"self-harm/intent": 0.9})
    )
    checker = LocalChecker(moderation, rewriter=ScriptedRewriter(text="People disagreed strongly."))
    context = CheckContext(session_id=session_id, source="agent:history", age_band="11-13")
    text = (
        "Rome was founded long ago. A bloody battle followed. Then something explicit. The end of the story."
    )
    async with GuardedStream(scripted_deltas([text]), checker, context=context, audit=writer) as stream:
        released = [s async for s in stream]
    assert len(released) == 4
    student_text = "My name is Sam Lee, sam@example.com, and I want to hurt myself"
    decision = await check_input(student_text, checker, context=context, audit=writer)
    assert decision.escalate
    moderation.fail(1)  # an outage: the next output sentence is blocked and audited as fail-closed
    async with GuardedStream(
        scripted_deltas(["Any sentence during an outage."]), checker, context=context, audit=writer
    ) as stream:
        (outage,) = [s async for s in stream]
    assert outage.fail_closed

    assert await writer.flush(timeout=10)
    await writer.aclose()
    rows = await pool.fetch(
        "SELECT * FROM public.guardrail_events WHERE session_id = $1 ORDER BY id", uuid.UUID(session_id)
    )
    summary = [(r["direction"], r["action"], r["category"], r["fail_closed"]) for r in rows]
    assert summary == [
        ("output", "rewrite", "violence", False),
        ("output", "block", "sexual", False),
        ("input", "escalate", "self-harm/intent", False),
        ("output", "block", "none", True),
    ]
    by_action = {r["action"]: r for r in rows}
    assert by_action["rewrite"]["excerpt"] == "A bloody battle followed."
    assert by_action["rewrite"]["sentence_hash"] == sentence_hash("A bloody battle followed.")
    assert by_action["rewrite"]["score"] == pytest.approx(0.9)
    escalated = by_action["escalate"]
    assert escalated["excerpt"] == "My name is [NAME], [EMAIL], and I want to hurt myself"
    assert "Sam Lee" not in escalated["excerpt"] and "sam@example.com" not in escalated["excerpt"]
    assert all(r["source"] == "agent:history" for r in rows)
    assert writer.stats.failed["guardrail_events"] == 0


async def test_rows_without_a_session_and_keyed_hashes(pool: asyncpg.Pool) -> None:
    writer = AuditWriter(pool)
    writer.start()
    marker = uuid.uuid4().hex
    checker = LocalChecker(ScriptedModeration().flag(marker, {"harassment/threatening": 0.9}))
    async with GuardedStream(
        scripted_deltas([f"Threat {marker} here."]),
        checker,
        context=CheckContext(source="gateway"),
        audit=writer,
        hash_key=b"k",
    ) as stream:
        (sentence,) = [s async for s in stream]
    assert sentence.action.value == "block"
    assert await writer.flush(timeout=10)
    await writer.aclose()
    row = await pool.fetchrow(
        "SELECT * FROM public.guardrail_events WHERE excerpt = $1", f"Threat {marker} here."
    )
    assert row is not None and row["session_id"] is None
    assert (
        row["sentence_hash"]
        == sentence_hash(f"Threat {marker} here.", b"k")
        != sentence_hash(f"Threat {marker} here.")
    )
