"""Escalation inserts NOTIFY listeners with a JSON payload, and their ids commit in order."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest
from tutorplane.db import repository
from tutorplane.db.testing import People

pytestmark = pytest.mark.integration


async def test_insert_notifies_a_listening_connection(
    migrated_dsn: str, db_pool: asyncpg.Pool, people: People
) -> None:
    session = await repository.create_session(
        db_pool, student_id=people.student_ids[0], deployment="n", variant="B"
    )
    received: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(migrated_dsn)
    try:
        await listener.add_listener(
            "escalation_events", lambda _c, _pid, _ch, payload: received.put_nowait(payload)
        )
        escalation = await repository.create_escalation(
            db_pool, session_id=session.id, reason="I need my teacher", source="student"
        )
        payload = json.loads(await asyncio.wait_for(received.get(), timeout=10))
    finally:
        await listener.close()
    assert set(payload) == {"id", "session_id", "student_id", "class_id", "reason", "source", "created_at"}
    assert payload["id"] == escalation.id
    assert payload["session_id"] == str(session.id)
    assert payload["student_id"] == str(people.student_ids[0])
    assert payload["class_id"] == str(people.class_id)
    assert payload["reason"] == "I need my teacher"
    assert payload["source"] == "student"
    assert payload["created_at"].startswith(str(escalation.created_at.date()))


async def test_long_reason_is_cut_in_the_payload_but_kept_in_the_row(
    migrated_dsn: str, db_pool: asyncpg.Pool, people: People
) -> None:
    session = await repository.create_session(
        db_pool, student_id=people.student_ids[0], deployment="n", variant="A"
    )
    received: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(migrated_dsn)
    try:
        await listener.add_listener(
            "escalation_events", lambda _c, _pid, _ch, payload: received.put_nowait(payload)
        )
        reason = "é" * 9000  # far beyond NOTIFY's 8000-byte payload limit
        escalation = await repository.create_escalation(
            db_pool, session_id=session.id, reason=reason, source="agent"
        )
        payload = json.loads(await asyncio.wait_for(received.get(), timeout=10))
    finally:
        await listener.close()
    assert payload["reason"] == "é" * 1000
    assert escalation.reason == reason


async def test_no_notification_for_a_rolled_back_insert(
    migrated_dsn: str, db_pool: asyncpg.Pool, people: People
) -> None:
    session = await repository.create_session(
        db_pool, student_id=people.student_ids[0], deployment="n", variant="A"
    )
    received: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(migrated_dsn)
    try:
        await listener.add_listener(
            "escalation_events", lambda _c, _pid, _ch, payload: received.put_nowait(payload)
        )
        async with db_pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            await repository.create_escalation(
                conn, session_id=session.id, reason="rolled back", source="student"
            )
            await tx.rollback()
        marker = await repository.create_escalation(
            db_pool, session_id=session.id, reason="kept", source="student"
        )
        payload = json.loads(await asyncio.wait_for(received.get(), timeout=10))
    finally:
        await listener.close()
    assert payload["id"] == marker.id  # the first notification is the committed one


async def test_escalation_ids_become_visible_in_increasing_order(
    migrated_dsn: str, db_pool: asyncpg.Pool, people: People
) -> None:
    """A second insert waits for the first transaction to end before drawing its id, so an SSE
    reader that has seen id N can never later find a newly committed id below N."""
    session = await repository.create_session(
        db_pool, student_id=people.student_ids[0], deployment="n", variant="A"
    )
    first = await asyncpg.connect(migrated_dsn)
    second = await asyncpg.connect(migrated_dsn)
    try:
        tx = first.transaction()
        await tx.start()
        first_id = (
            await repository.create_escalation(first, session_id=session.id, reason="one", source="student")
        ).id
        second_pid = second.get_server_pid()
        task = asyncio.create_task(
            repository.create_escalation(second, session_id=session.id, reason="two", source="student")
        )
        # Observe (in the server, not by the clock) that the second insert is waiting on the lock.
        for _ in range(500):
            waiting = await db_pool.fetchval(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", second_pid
            )
            if waiting:
                break
            await asyncio.sleep(0.01)
        assert waiting, "second escalation insert did not wait for the first transaction"
        assert not task.done()
        await tx.commit()
        second_id = (await asyncio.wait_for(task, timeout=10)).id
    finally:
        await first.close()
        await second.close()
    assert second_id > first_id


async def test_create_escalation_for_unknown_session(db_pool: asyncpg.Pool) -> None:
    with pytest.raises(repository.SessionNotFoundError):
        await repository.create_escalation(db_pool, session_id=uuid.uuid4(), reason="x", source="student")
