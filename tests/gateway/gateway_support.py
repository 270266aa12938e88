"""Shared constants and helpers of the gateway tests (imported by conftest and test modules)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
from tutorplane.db import repository
from tutorplane.gateway.core.identity import Role
from tutorplane.gateway.testing import ApiClient, SseEvent, token_for

JWT_SECRET = "gateway-tests-jwt-4f1d8c2a9b7e6d5c3a1f0e9d8c7b6a5f"
CSRF_SECRET = "gateway-tests-csrf-9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"
LIVEKIT_KEY = "APItests"
LIVEKIT_SECRET = "livekit-tests-secret-0a1b2c3d4e5f6a7b8c9d0e1f2a3b"
LIVEKIT_URL = "wss://livekit.tests.invalid"
AGENT_NAME_A = "tutor-pool-a-r7"
TEN_SENTENCES = " ".join(f"Step {i} is to count the {i} apples on the table." for i in range(1, 11))

GENEROUS_LIMITS = {
    group: 100000
    for group in (
        "login", "session_create", "session_close", "turn", "cancel", "realtime_transcript",
        "escalate", "hint", "ack", "events", "read",
    )
}  # fmt: skip


def run(coro: Any) -> Any:
    """Run a coroutine to completion, also from inside a running event loop (async tests)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _fetch(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def fetch(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    return run(_fetch(dsn, sql, *args))


class People:
    """Creates students and teachers for a test (unique ids) and mints their tokens."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def _student(self, class_id: uuid.UUID, name: str) -> uuid.UUID:
        student_id = uuid.uuid4()
        conn = await asyncpg.connect(self.dsn)
        try:
            await repository.upsert_student(conn, student_id=student_id, display_name=name, class_id=class_id)
        finally:
            await conn.close()
        return student_id

    def student(self, name: str = "Test Student", class_id: uuid.UUID | None = None) -> tuple[str, str]:
        student_id = run(self._student(class_id or repository.DEMO_CLASS_ID, name))
        return str(student_id), token_for(JWT_SECRET, str(student_id), Role.student, name=name)

    async def _teacher_with_class(self) -> tuple[uuid.UUID, uuid.UUID]:
        teacher_id, class_id = uuid.uuid4(), uuid.uuid4()
        conn = await asyncpg.connect(self.dsn)
        try:
            await repository.upsert_class(conn, class_id=class_id, name=f"Class {class_id.hex[:6]}")
            await repository.upsert_teacher(
                conn,
                teacher_id=teacher_id,
                display_name="Mr. Other",
                email=f"t{teacher_id.hex[:10]}@school.test",
            )
            await repository.assign_teacher(conn, class_id=class_id, teacher_id=teacher_id)
        finally:
            await conn.close()
        return teacher_id, class_id

    def other_teacher(self) -> tuple[str, str, uuid.UUID]:
        """A teacher of a new class (not the demo class): (id, token, class id)."""
        teacher_id, class_id = run(self._teacher_with_class())
        return (
            str(teacher_id),
            token_for(JWT_SECRET, str(teacher_id), Role.teacher, name="Mr. Other"),
            class_id,
        )

    def demo_teacher(self) -> tuple[str, str]:
        teacher_id = str(repository.DEMO_TEACHER_ID)
        return teacher_id, token_for(JWT_SECRET, teacher_id, Role.teacher, name="Ms. Rivera")


def write_variant_config(path: Path, weights: dict[str, int], **extra: Any) -> None:
    config = {
        "weights": weights,
        "revisions": {"A": "a-r7", "B": "b-r3"},
        "agentNames": {"A": AGENT_NAME_A},
        "enabled": {"A": True, "B": True},
        **extra,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(config))
    tmp.replace(path)


def wait_rows(dsn: str, sql: str, *args: Any, at_least: int = 1, timeout: float = 10.0) -> list[Any]:
    """Poll until the query returns ``at_least`` rows (audit writes are asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = fetch(dsn, sql, *args)
        if len(rows) >= at_least or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def metric(text: str, name: str) -> float:
    """The sum of the exposition's samples whose line starts with ``name`` (labels may follow)."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def stream_and_cancel(
    streaming: ApiClient, session: str, canceller: ApiClient | None = None
) -> tuple[list[SseEvent], dict[str, Any]]:
    """Stream a turn and cancel it at its first sentence (through ``canceller``, by default the
    streaming client); the turn's events and the cancel endpoint's answer."""
    received: list[SseEvent] = []
    answer: dict[str, Any] = {}
    with streaming.stream(
        "POST", f"/api/sessions/{session}/turns", json={"text": "What is 7 times 8?"}
    ) as events:
        for event in events:
            received.append(event)
            if event.event == "sentence" and not answer:
                turn_id = received[0].data["turn_id"]
                response = (canceller or streaming).post(f"/api/sessions/{session}/turns/{turn_id}/cancel")
                assert response.status_code == 200, response.text
                answer = response.json()
    return received, answer
