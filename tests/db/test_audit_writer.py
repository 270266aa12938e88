"""AuditWriter against a real PostgreSQL: batching in order, retries through a real outage
(a socket proxy that drops every connection), failures counted after max retries, bad rows
isolated, queue overflow counted, shutdown accounting."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from prometheus_client import REGISTRY
from tutorplane.db import repository
from tutorplane.db.audit import AuditWriter
from tutorplane.db.pool import create_pool
from tutorplane.db.testing import People, PgSocketProxy

pytestmark = pytest.mark.integration


def metric(name: str, table: str) -> float:
    return REGISTRY.get_sample_value(name, {"table": table}) or 0.0


@pytest.fixture
async def session_id(db_pool: asyncpg.Pool, people: People) -> uuid.UUID:
    s = await repository.create_session(
        db_pool, student_id=people.student_ids[0], deployment="audit", variant="B"
    )
    return s.id


@pytest.fixture
async def proxy(migrated_dsn: str, tmp_path: Path) -> AsyncIterator[PgSocketProxy]:
    p = PgSocketProxy(migrated_dsn, tmp_path / "proxy")
    await p.start()
    try:
        yield p
    finally:
        await p.aclose()


@pytest.fixture
async def proxied_pool(proxy: PgSocketProxy) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(proxy.dsn, min_size=1, max_size=2, connect_timeout=5)
    try:
        yield pool
    finally:
        pool.terminate()


def turn(session_id: uuid.UUID, i: int) -> dict[str, object]:
    return {
        "session_id": session_id,
        "turn_index": i,
        "speaker": "student",
        "role": "user",
        "content": f"turn {i}",
    }


async def wait_until(predicate, what: str, limit: int = 1000) -> None:  # type: ignore[no-untyped-def]
    for _ in range(limit):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def test_rows_from_several_tables_are_written_in_submit_order(
    db_pool: asyncpg.Pool, session_id: uuid.UUID
) -> None:
    before = metric("tutorplane_audit_writes_total", "transcript_turns")
    writer = AuditWriter(db_pool, batch_size=64)
    writer.start()
    for i in range(300):
        # Rows of one table with different column sets (every fifth has a latency) still keep order.
        extra = {"latency_ms": 12.5} if i % 5 == 0 else {}
        writer.submit("transcript_turns", {**turn(session_id, i), **extra})
        if i % 3 == 0:
            writer.submit(
                "routing_decisions",
                {
                    "session_id": session_id,
                    "turn_index": i,
                    "subject": "math",
                    "confidence": 0.8,
                    "strategy": "two_stage",
                    "stage": "local",
                    "latency_ms": 0.4,
                },
            )
    writer.submit(
        "provider_usage",
        {"session_id": session_id, "provider": "openai", "model": "m", "kind": "tts", "audio_seconds": 1.25},
    )
    assert await writer.flush(timeout=20)
    await writer.aclose()

    rows = await db_pool.fetch(
        "SELECT turn_index FROM transcript_turns WHERE session_id = $1 ORDER BY id", session_id
    )
    assert [r["turn_index"] for r in rows] == list(range(300))
    routed = await db_pool.fetch(
        "SELECT turn_index FROM routing_decisions WHERE session_id = $1 ORDER BY id", session_id
    )
    assert [r["turn_index"] for r in routed] == list(range(0, 300, 3))
    assert writer.stats.written == {"transcript_turns": 300, "routing_decisions": 100, "provider_usage": 1}
    assert not writer.stats.failed and not writer.stats.dropped
    assert metric("tutorplane_audit_writes_total", "transcript_turns") - before == 300
    assert writer.pending == 0


async def test_created_at_is_the_submit_time_not_the_write_time(
    db_pool: asyncpg.Pool, session_id: uuid.UUID
) -> None:
    writer = AuditWriter(db_pool)
    writer.submit("transcript_turns", turn(session_id, 0))  # queued before the writer runs
    submitted_before = await db_pool.fetchval("SELECT clock_timestamp()")
    await asyncio.sleep(0.05)
    writer.start()
    assert await writer.flush()
    await writer.aclose()
    created = await db_pool.fetchval(
        "SELECT created_at FROM transcript_turns WHERE session_id = $1", session_id
    )
    assert created <= submitted_before


async def test_writes_are_retried_through_an_outage_and_nothing_is_lost(
    db_pool: asyncpg.Pool, proxy: PgSocketProxy, proxied_pool: asyncpg.Pool, session_id: uuid.UUID
) -> None:
    writer = AuditWriter(proxied_pool, max_retries=1000, backoff_base_s=0.005, backoff_max_s=0.02)
    writer.start()
    writer.submit("transcript_turns", turn(session_id, 0))
    assert await writer.flush(timeout=10)

    await proxy.cut()  # every pooled connection dies, new ones are refused
    for i in range(1, 51):
        writer.submit("transcript_turns", turn(session_id, i))
    await wait_until(
        lambda: writer.stats.retries["transcript_turns"] >= 3, "three failed attempts during the outage"
    )
    assert writer.stats.written["transcript_turns"] == 1

    await proxy.restore()
    assert await writer.flush(timeout=20)
    await writer.aclose()
    assert writer.stats.written["transcript_turns"] == 51
    assert not writer.stats.failed
    rows = await db_pool.fetch(
        "SELECT turn_index FROM transcript_turns WHERE session_id = $1 ORDER BY id", session_id
    )
    assert [r["turn_index"] for r in rows] == list(range(51))


async def test_rows_are_counted_and_logged_after_max_retries(
    db_pool: asyncpg.Pool,
    proxy: PgSocketProxy,
    proxied_pool: asyncpg.Pool,
    session_id: uuid.UUID,
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = metric("tutorplane_audit_write_failures_total", "guardrail_events")
    writer = AuditWriter(proxied_pool, max_retries=2, backoff_base_s=0.001, backoff_max_s=0.002)
    writer.start()
    await proxy.cut()
    with caplog.at_level(logging.ERROR, logger="tutorplane.db.audit"):
        for i in range(3):
            writer.submit(
                "guardrail_events",
                {
                    "session_id": session_id,
                    "direction": "output",
                    "action": "block",
                    "source": "agent:math",
                    "category": "violence",
                    "score": 0.97,
                    "excerpt": f"sentence {i}",
                },
            )
        assert await writer.flush(timeout=20)
    await writer.aclose()
    assert writer.stats.failed == {"guardrail_events": 3}
    assert writer.stats.retries["guardrail_events"] == 2
    assert metric("tutorplane_audit_write_failures_total", "guardrail_events") - before == 3
    logged = [r for r in caplog.records if r.getMessage().startswith("audit row not written")]
    assert len(logged) == 3
    row = logged[2].row  # type: ignore[attr-defined]
    # What was lost is visible (table, ids, category, score); the words themselves are not.
    assert '"category":"violence"' in row and str(session_id) in row
    assert "sentence 2" not in row and '"excerpt":"<redacted 10 chars sha256:' in row
    assert "gave up after 2 retries" in logged[0].reason  # type: ignore[attr-defined]
    await proxy.restore()
    assert (
        await db_pool.fetchval("SELECT count(*) FROM guardrail_events WHERE session_id = $1", session_id) == 0
    )


async def test_a_rejected_row_fails_alone_and_its_neighbours_are_written(
    db_pool: asyncpg.Pool, session_id: uuid.UUID
) -> None:
    writer = AuditWriter(db_pool, backoff_base_s=0.001)
    writer.start()

    def decision(i: int, confidence: float) -> dict[str, object]:
        return {
            "session_id": session_id,
            "turn_index": i,
            "subject": "history",
            "confidence": confidence,
            "strategy": "function_tools",
            "stage": "tool",
            "latency_ms": 10.0,
        }

    for i, confidence in enumerate([0.5, 0.6, 1.7, 0.8]):  # 1.7 violates the CHECK
        writer.submit("routing_decisions", decision(i, confidence))
    writer.submit(
        "provider_usage", {"session_id": uuid.uuid4(), "provider": "p", "model": "m", "kind": "chat"}
    )
    assert await writer.flush(timeout=10)
    await writer.aclose()
    assert writer.stats.written == {"routing_decisions": 3}
    assert writer.stats.failed == {"routing_decisions": 1, "provider_usage": 1}
    assert not writer.stats.retries  # a constraint violation is not retried
    rows = await db_pool.fetch(
        "SELECT turn_index FROM routing_decisions WHERE session_id = $1 ORDER BY id", session_id
    )
    assert [r["turn_index"] for r in rows] == [0, 1, 3]


async def test_a_row_written_again_is_not_a_failure_but_a_different_one_on_its_key_is(
    db_pool: asyncpg.Pool, session_id: uuid.UUID
) -> None:
    """Delivery is at least once: a batch whose COMMIT succeeded but whose reply was lost is written
    again, and the transcript's unique key refuses it. Those rows are stored, so nothing was lost and
    nothing may be counted as a failure; a different row on the same key still is one."""
    writer = AuditWriter(db_pool, backoff_base_s=0.001)
    writer.start()
    first = {**turn(session_id, 0), "created_at": datetime.now(UTC)}
    writer.submit("transcript_turns", first)
    assert await writer.flush(timeout=10)
    already = metric("tutorplane_audit_already_written_total", "transcript_turns")
    writer.submit("transcript_turns", first)  # the same row again
    writer.submit("transcript_turns", {**first, "content": "something else"})  # a real clash
    writer.submit("transcript_turns", turn(session_id, 1))
    assert await writer.flush(timeout=10)
    await writer.aclose()
    assert writer.stats.written == {"transcript_turns": 2}
    assert writer.stats.already_written == {"transcript_turns": 1}
    assert writer.stats.failed == {"transcript_turns": 1}
    assert metric("tutorplane_audit_already_written_total", "transcript_turns") == already + 1
    rows = await db_pool.fetch(
        "SELECT turn_index, content FROM transcript_turns WHERE session_id = $1 ORDER BY id", session_id
    )
    assert [(r["turn_index"], r["content"]) for r in rows] == [(0, "turn 0"), (1, "turn 1")]


async def test_overflow_is_counted_and_submit_never_blocks(
    db_pool: asyncpg.Pool, session_id: uuid.UUID
) -> None:
    before = metric("tutorplane_audit_dropped_total", "transcript_turns")
    writer = AuditWriter(db_pool, queue_size=3)
    for i in range(5):  # not started: nothing drains, so the queue fills
        writer.submit("transcript_turns", turn(session_id, i))
    assert writer.stats.dropped == {"transcript_turns": 2}
    assert metric("tutorplane_audit_dropped_total", "transcript_turns") - before == 2
    writer.start()
    assert await writer.flush()
    await writer.aclose()
    assert writer.stats.written == {"transcript_turns": 3}


async def test_close_flushes_then_counts_what_could_not_be_written(
    proxy: PgSocketProxy, proxied_pool: asyncpg.Pool, session_id: uuid.UUID
) -> None:
    writer = AuditWriter(proxied_pool, max_retries=10_000, backoff_base_s=0.005, backoff_max_s=0.01)
    writer.start()
    await proxy.cut()
    for i in range(4):
        writer.submit("transcript_turns", turn(session_id, i))
    await writer.aclose(timeout=0.2)
    assert writer.stats.failed == {"transcript_turns": 4}
    assert writer.pending == 0
    writer.submit("transcript_turns", turn(session_id, 9))  # after close: refused, counted, logged
    assert writer.stats.dropped == {"transcript_turns": 1}


async def test_close_waits_for_pending_rows(db_pool: asyncpg.Pool, session_id: uuid.UUID) -> None:
    writer = AuditWriter(db_pool)
    writer.start()
    for i in range(20):
        writer.submit("transcript_turns", turn(session_id, i))
    await writer.aclose(timeout=10)
    assert writer.stats.written == {"transcript_turns": 20}
    assert (
        await db_pool.fetchval("SELECT count(*) FROM transcript_turns WHERE session_id = $1", session_id)
        == 20
    )


async def test_escalations_through_the_writer_still_notify(
    migrated_dsn: str, db_pool: asyncpg.Pool, people: People, session_id: uuid.UUID
) -> None:
    received: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(migrated_dsn)
    writer = AuditWriter(db_pool)
    writer.start()
    try:
        await listener.add_listener("escalation_events", lambda *args: received.put_nowait(args[-1]))
        writer.submit(
            "escalation_events",
            {
                "session_id": session_id,
                "student_id": people.student_ids[0],
                "reason": "guardrail escalated",
                "source": "guardrail",
            },
        )
        assert await writer.flush()
        assert "guardrail escalated" in await asyncio.wait_for(received.get(), timeout=10)
    finally:
        await writer.aclose()
        await listener.close()


async def test_linger_gathers_a_burst_of_rows_into_one_transaction(
    db_pool: asyncpg.Pool, session_id: uuid.UUID
) -> None:
    async def trickle(writer: AuditWriter, start: int) -> int:
        before = writer.stats.transactions
        for i in range(start, start + 5):  # a turn's rows: a few milliseconds apart
            writer.submit("transcript_turns", turn(session_id, i))
            await asyncio.sleep(0.003)
        assert await writer.flush(timeout=10)
        return writer.stats.transactions - before

    eager = AuditWriter(db_pool)
    eager.start()
    separate = await trickle(eager, 0)
    await eager.aclose()
    lingering = AuditWriter(db_pool, linger_s=0.5)
    lingering.start()
    together = await trickle(lingering, 5)
    # Closing while the writer lingers over a first row still writes it.
    lingering.submit("transcript_turns", turn(session_id, 10))
    await lingering.aclose()

    assert separate > 1 and together == 1
    rows = await db_pool.fetch(
        "SELECT turn_index FROM transcript_turns WHERE session_id = $1 ORDER BY id", session_id
    )
    assert [r["turn_index"] for r in rows] == list(range(11))
    assert lingering.stats.written == {"transcript_turns": 6} and not lingering.stats.failed
