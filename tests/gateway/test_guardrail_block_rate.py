"""Guardrail block rate = output blocks / every output sentence checked, with real rows.

The audit keeps only decisions worth reading (non-allow), so the denominator comes from the assistant
turns' ``checked_sentences``; sessions written before that column count their audited decisions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from gateway_support import People, run
from tutorplane.db import repository
from tutorplane.db.pool import create_pool
from tutorplane.gateway.testing import ApiClient

pytestmark = pytest.mark.integration

Client = Callable[..., ApiClient]


async def _seed(dsn: str, deployment: str, student_id: uuid.UUID) -> dict[str, uuid.UUID]:
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        conn = pool
        ids: dict[str, uuid.UUID] = {}
        for name, variant in (("a_counted", "A"), ("a_legacy", "A"), ("b_clean", "B")):
            session = await repository.create_session(
                conn, student_id=student_id, deployment=deployment, variant=variant
            )
            ids[name] = session.id

        async def turn(session: str, index: int, checked: int | None) -> None:
            await conn.execute(
                """INSERT INTO transcript_turns
                       (session_id, turn_index, speaker, role, content, subject, checked_sentences)
                   VALUES ($1, $2, 'math', 'assistant', 'An answer.', 'math', $3)""",
                ids[session],
                index,
                checked,
            )

        async def decision(session: str, direction: str, action: str) -> None:
            await conn.execute(
                """INSERT INTO guardrail_events (session_id, direction, action, source)
                   VALUES ($1, $2, $3, 'gateway')""",
                ids[session],
                direction,
                action,
            )

        # A, counted: 10 + 8 sentences checked; 2 blocked, 1 rewritten; an input block is not output.
        await turn("a_counted", 0, 10)
        await turn("a_counted", 1, 8)
        for direction, action in [("output", "block"), ("output", "block"), ("output", "rewrite")]:
            await decision("a_counted", direction, action)
        await decision("a_counted", "input", "block")
        # A, legacy (no count recorded): its 2 audited output decisions are all that is known.
        await turn("a_legacy", 0, None)
        await decision("a_legacy", "output", "block")
        await decision("a_legacy", "output", "allow")
        # B: 40 sentences checked, none blocked (the old formula had no denominator at all).
        await turn("b_clean", 0, 40)
        return ids
    finally:
        await pool.close()


async def _view(dsn: str, deployment: str) -> dict[str, dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT * FROM analytics_guardrail_rate WHERE deployment = $1", deployment)
        return {r["variant"]: dict(r) for r in rows}
    finally:
        await conn.close()


def test_block_rate_divides_blocks_by_every_checked_sentence(
    client_for: Client, people: People, seeded_dsn: str
) -> None:
    deployment = f"block-rate-{uuid.uuid4().hex[:8]}"
    student_id, _ = people.student()
    ids = run(_seed(seeded_dsn, deployment, uuid.UUID(student_id)))

    _, teacher_token = people.demo_teacher()
    teacher = client_for(teacher_token)
    response = teacher.get(f"/api/reports/ab?deployment={deployment}")
    assert response.status_code == 200, response.text
    report = {v["variant"]: v for v in response.json()["variants"]}
    a, b = report["A"]["guardrail_block_rate"], report["B"]["guardrail_block_rate"]
    assert (a["n"], a["value"]) == (20, pytest.approx(3 / 20))  # was 3 / 5: allowed sentences uncounted
    assert a["ci_low"] < 3 / 20 < a["ci_high"]
    assert (b["n"], b["value"]) == (40, 0.0)

    view = run(_view(seeded_dsn, deployment))
    assert (view["A"]["output_checks"], view["A"]["output_blocked"], view["A"]["input_checks"]) == (20, 3, 1)
    assert view["A"]["rate"] == pytest.approx(4 / 20)  # blocked or rewritten
    assert (view["B"]["output_checks"], view["B"]["rate"]) == (40, 0.0)

    async def session_report() -> dict[str, Any]:
        pool = await create_pool(seeded_dsn, min_size=1, max_size=1)
        try:
            return await repository.build_session_report(pool, ids["a_counted"])
        finally:
            await pool.close()

    guardrail = run(session_report())["guardrail"]
    assert (guardrail["output_checks"], guardrail["input_checks"], guardrail["blocked"]) == (18, 1, 3)
