"""Turn indexes across a Redis outage, against real Redis (through a proxy that can be cut) and
PostgreSQL: handed out from the database meanwhile, never twice, and Redis's counter is raised
past them by either the reconnect hook or the session's next turn."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
from tutorplane.db import repository
from tutorplane.db.pool import create_pool
from tutorplane.gateway.services.session_directory import (
    SessionDirectory,
    SessionInfo,
    SessionUnavailableError,
)
from tutorplane.gateway.testing import TcpProxy

pytestmark = pytest.mark.integration


@pytest.fixture
def proxy(redis_url: str) -> Iterator[TcpProxy]:
    url = urlsplit(redis_url)
    proxy = TcpProxy(upstream_host=url.hostname, upstream_port=url.port).start()
    yield proxy
    proxy.stop()


@pytest.fixture
async def directory(proxy: TcpProxy, redis_url: str, seeded_dsn: str) -> AsyncIterator[SessionDirectory]:
    redis = aioredis.Redis.from_url(
        f"redis://127.0.0.1:{proxy.port}{urlsplit(redis_url).path}", socket_connect_timeout=1.0
    )
    pool = await create_pool(seeded_dsn, min_size=1, max_size=2)
    try:
        yield SessionDirectory(redis, pool, prefix=f"t{uuid.uuid4().hex[:8]}:")
    finally:
        await pool.close()
        await redis.aclose()


async def new_session(directory: SessionDirectory, dsn: str) -> SessionInfo:
    pool = await create_pool(dsn, min_size=1, max_size=1)
    student_id = uuid.uuid4()
    try:
        await repository.upsert_student(
            pool, student_id=student_id, display_name="Kit", class_id=repository.DEMO_CLASS_ID
        )
        row = await repository.create_session(
            pool, student_id=student_id, variant="B", revision="r1", deployment="t"
        )
    finally:
        await pool.close()
    info = SessionInfo(str(row.id), str(student_id), "B", "r1", "t", None, False)
    await directory.put(info)
    return info


async def test_indexes_from_the_database_are_never_handed_out_again(
    directory: SessionDirectory, proxy: TcpProxy, seeded_dsn: str
) -> None:
    first = await new_session(directory, seeded_dsn)
    second = await new_session(directory, seeded_dsn)
    assert (await directory.begin_turn(first.id, 4))[0] == 0
    assert (await directory.begin_turn(second.id, 4))[0] == 0

    proxy.cut()
    # Nothing of turn 0 is written yet: the database alone would say 0 again.
    assert [(await directory.begin_turn(first.id, 4))[0] for _ in range(2)] == [1, 2]
    assert (await directory.begin_turn(second.id, 0))[0] == 1
    proxy.restore()

    # The second session's counter is raised by its next turn, the first's by the reconnect hook.
    assert (await directory.begin_turn(second.id, 0))[0] == 2
    await directory.restore_counters()
    assert (await directory.begin_turn(first.id, 4))[0] == 3


async def test_history_comes_from_the_transcript_while_redis_is_away(
    directory: SessionDirectory, proxy: TcpProxy, seeded_dsn: str
) -> None:
    info = await new_session(directory, seeded_dsn)
    pool = await create_pool(seeded_dsn, min_size=1, max_size=1)
    try:
        for index, (speaker, role, text) in enumerate(
            [
                ("student", "user", "What is 3 times 3?"),
                ("math", "assistant", "Nine."),
                ("system", "system", "x"),
            ]
        ):
            await pool.execute(
                "INSERT INTO transcript_turns (session_id, turn_index, speaker, role, content, subject) "
                "VALUES ($1, $2, $3, $4, $5, 'math')",
                uuid.UUID(info.id),
                index // 2,
                speaker,
                role,
                text,
            )
    finally:
        await pool.close()
    proxy.cut()
    try:
        index, history = await directory.begin_turn(info.id, 6)
    finally:
        proxy.restore()
    assert index == 2
    assert [(t.role, t.text, t.subject and t.subject.value) for t in history] == [
        ("user", "What is 3 times 3?", "math"),
        ("assistant", "Nine.", "math"),
    ]


async def test_neither_redis_nor_the_database_is_a_clear_error(proxy: TcpProxy, redis_url: str) -> None:
    redis = aioredis.Redis.from_url(f"redis://127.0.0.1:{proxy.port}", socket_connect_timeout=1.0)
    pool = await create_pool("postgresql://nobody@127.0.0.1:1/none", min_size=0, max_size=1)
    proxy.cut()
    try:
        with pytest.raises(SessionUnavailableError, match=r"redis: .*postgresql: "):
            await SessionDirectory(redis, pool).begin_turn(str(uuid.uuid4()), 2)
    finally:
        proxy.restore()
        await pool.close()
        await redis.aclose()
