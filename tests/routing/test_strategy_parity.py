"""Both routing strategies write comparable routing_decisions rows through the real AuditWriter
into real PostgreSQL (two-stage via the local classifier and the anthropic SDK, function tools via
the openai SDK; both SDKs talk to the emulator)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from tutorplane.db.audit import AuditWriter
from tutorplane.db.pool import create_pool
from tutorplane.routing.clients import ProviderClients
from tutorplane.routing.function_tools import FunctionToolRouter
from tutorplane.routing.local import LocalClassifier
from tutorplane.routing.router import TwoStageRouter
from tutorplane.routing.types import Stage, Strategy, Subject, Turn

pytestmark = pytest.mark.integration

ROW_COLUMNS = (
    "turn_index",
    "subject",
    "confidence",
    "strategy",
    "stage",
    "latency_ms",
    "rationale",
    "excerpt",
)


@pytest_asyncio.fixture
async def pool(migrated_dsn: str) -> AsyncIterator[Any]:
    pool = await create_pool(migrated_dsn, min_size=1, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


async def new_session(pool: Any, variant: str) -> uuid.UUID:
    async with pool.acquire() as conn:
        class_id = await conn.fetchval("INSERT INTO classes (name) VALUES ('routing parity') RETURNING id")
        student_id = await conn.fetchval(
            "INSERT INTO students (display_name, class_id) VALUES ('Ada', $1) RETURNING id", class_id
        )
        return await conn.fetchval(
            "INSERT INTO learning_sessions (student_id, deployment, variant) "
            "VALUES ($1, 'parity', $2) RETURNING id",
            student_id,
            variant,
        )


async def rows_of(pool: Any, session_id: uuid.UUID) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        records = await conn.fetch(
            f"SELECT {', '.join(ROW_COLUMNS)} FROM routing_decisions "
            "WHERE session_id = $1 ORDER BY turn_index",
            session_id,
        )
    return [dict(r) for r in records]


async def test_two_stage_and_function_tools_write_comparable_rows(
    pool: Any, routing_local: LocalClassifier, emulator_clients: ProviderClients, emulator: Any
) -> None:
    writer = AuditWriter(pool)
    writer.start()
    try:
        session_b = await new_session(pool, "B")
        session_a = await new_session(pool, "A")
        two_stage = TwoStageRouter(routing_local, None, 0.7, audit=writer)
        tools = FunctionToolRouter(emulator_clients.openai, model="orchestrator-test", audit=writer)
        emulator.script.chat(
            tool_calls=[
                {
                    "name": "route_to_history",
                    "arguments": {"question_summary": "Fire of London", "confidence": 0.9},
                }
            ]
        )
        emulator.script.chat(
            tool_calls=[
                {
                    "name": "route_to_history",
                    "arguments": {"question_summary": "year after", "confidence": 0.8},
                }
            ]
        )
        first = "when did the great fire of london happen"
        follow_up = "and what about the year after?"
        history = [Turn("user", first, Subject.history), Turn("assistant", "In 1666.", Subject.history)]
        decisions = [
            await two_stage.route(first, [], session_id=session_b, turn_index=0),
            await two_stage.route(follow_up, history, session_id=session_b, turn_index=2),
            await tools.route(first, [], session_id=session_a, turn_index=0),
            await tools.route(follow_up, history, session_id=session_a, turn_index=2),
        ]
        assert [d.subject for d in decisions] == [Subject.history] * 4
        assert await writer.flush(timeout=10)
        assert writer.stats.failed.total() == 0
    finally:
        await writer.aclose()

    rows_b, rows_a = await rows_of(pool, session_b), await rows_of(pool, session_a)
    assert [r["strategy"] for r in rows_b] == ["two_stage"] * 2
    assert [r["stage"] for r in rows_b] == ["local"] * 2
    assert [r["strategy"] for r in rows_a] == ["function_tools"] * 2
    assert [r["stage"] for r in rows_a] == ["tool"] * 2
    for row_b, row_a in zip(rows_b, rows_a, strict=True):
        assert row_b["turn_index"] == row_a["turn_index"]
        assert row_b["subject"] == row_a["subject"] == "history"
        assert row_b["excerpt"] == row_a["excerpt"]
        for row in (row_a, row_b):
            assert 0 <= row["confidence"] <= 1 and row["latency_ms"] >= 0 and row["rationale"]
    assert rows_a[0]["confidence"] == pytest.approx(0.9)
    (chat_request, _) = emulator.script.requests("chat")
    assert chat_request["tools"][0]["function"]["name"] == "route_to_math"
    assert decisions[2].strategy is Strategy.function_tools and decisions[2].stage is Stage.tool


async def test_function_tool_router_falls_back_to_local_on_errors(
    routing_local: LocalClassifier, emulator_clients: ProviderClients, emulator: Any
) -> None:
    emulator.script.fail("chat", status=500)
    tools = FunctionToolRouter(emulator_clients.openai, model="orchestrator-test", local=routing_local)
    decision = await tools.route("what is 7 times 8")
    assert decision.subject is Subject.math and decision.stage is Stage.local
    assert (
        decision.strategy is Strategy.function_tools
        and "orchestrator failed (server_error)" in decision.rationale
    )
    emulator.script.fail("chat", status=429)
    bare = FunctionToolRouter(emulator_clients.openai, model="orchestrator-test")
    decision = await bare.route("what is 7 times 8")
    assert decision.subject is Subject.off_topic and decision.confidence == 0.0


async def test_function_tool_router_small_talk_is_off_topic(
    emulator_clients: ProviderClients, emulator: Any
) -> None:
    emulator.script.chat("Hi there! What would you like to learn today?")
    decision = await FunctionToolRouter(emulator_clients.openai, model="orchestrator-test").route("hello")
    assert decision.subject is Subject.off_topic and decision.stage is Stage.tool
