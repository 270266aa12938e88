"""Test helpers and pytest fixtures for code that uses the data layer.

Fixtures (they build on ``migrated_dsn`` from the repository's tests/conftest.py):

* ``db_pool``  an asyncpg pool on the shared migrated database (function scope, closed after)
* ``people``   a fresh class with a teacher and two students (unique ids per test), plus an
               unrelated class/teacher/student for "must not see" checks

Helpers: :class:`PgSocketProxy` puts a unix-socket proxy in front of PostgreSQL so a test can cut
every connection and refuse new ones (a real outage as the client sees it), then restore it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import pytest
from tutorplane.db import repository
from tutorplane.db.pool import create_pool


@dataclass(frozen=True)
class People:
    class_id: uuid.UUID
    teacher_id: uuid.UUID
    student_ids: tuple[uuid.UUID, uuid.UUID]
    other_class_id: uuid.UUID
    other_teacher_id: uuid.UUID
    other_student_id: uuid.UUID


async def create_people(db: repository.Executor) -> People:
    """A class with one teacher and two students, and a second, unrelated class."""
    tag = uuid.uuid4().hex[:8]
    p = People(
        class_id=uuid.uuid4(),
        teacher_id=uuid.uuid4(),
        student_ids=(uuid.uuid4(), uuid.uuid4()),
        other_class_id=uuid.uuid4(),
        other_teacher_id=uuid.uuid4(),
        other_student_id=uuid.uuid4(),
    )
    await repository.upsert_class(db, class_id=p.class_id, name=f"class {tag}")
    await repository.upsert_class(db, class_id=p.other_class_id, name=f"other class {tag}")
    await repository.upsert_teacher(
        db, teacher_id=p.teacher_id, display_name="Teacher", email=f"t-{tag}@school.test"
    )
    await repository.upsert_teacher(
        db, teacher_id=p.other_teacher_id, display_name="Other teacher", email=f"o-{tag}@school.test"
    )
    await repository.assign_teacher(db, class_id=p.class_id, teacher_id=p.teacher_id)
    await repository.assign_teacher(db, class_id=p.other_class_id, teacher_id=p.other_teacher_id)
    for i, sid in enumerate(p.student_ids):
        await repository.upsert_student(db, student_id=sid, display_name=f"Student {i}", class_id=p.class_id)
    await repository.upsert_student(
        db, student_id=p.other_student_id, display_name="Other student", class_id=p.other_class_id
    )
    return p


@pytest.fixture
async def db_pool(migrated_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(migrated_dsn, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def people(db_pool: asyncpg.Pool) -> People:
    return await create_people(db_pool)


def _socket_target(dsn: str) -> Path:
    parts = urlsplit(dsn)
    query = dict(parse_qsl(parts.query))
    host = query.get("host") or parts.hostname
    if not host or not host.startswith("/"):
        raise ValueError(f"PgSocketProxy needs a unix-socket DSN (?host=/dir), got {dsn}")
    port = query.get("port") or (str(parts.port) if parts.port else "5432")
    return Path(host) / f".s.PGSQL.{port}"


class PgSocketProxy:
    """A byte pipe between clients and a PostgreSQL unix socket that a test can cut and restore.

    ``cut()`` aborts every proxied connection and removes the listening socket (new connections
    fail with "no such file"), which is what a client sees when the server restarts or the
    network drops. ``restore()`` listens again.
    """

    def __init__(self, dsn: str, listen_dir: Path) -> None:
        self._target = _socket_target(dsn)
        self._listen_dir = listen_dir
        self._socket = listen_dir / self._target.name
        self._server: asyncio.AbstractServer | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        parts = urlsplit(dsn)
        query = dict(parse_qsl(parts.query))
        query["host"] = str(listen_dir)
        self.dsn = urlunsplit(parts._replace(query=urlencode(query, safe="/")))

    async def start(self) -> None:
        self._listen_dir.mkdir(parents=True, exist_ok=True)
        self._server = await asyncio.start_unix_server(self._handle, path=str(self._socket))

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_unix_connection(str(self._target))
        except OSError:
            client_writer.transport.abort()
            return
        self._transports.update({client_writer.transport, server_writer.transport})

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.transport.abort()

        tasks = [
            asyncio.create_task(pipe(client_reader, server_writer)),
            asyncio.create_task(pipe(server_reader, client_writer)),
        ]
        self._tasks.update(tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.difference_update(tasks)
        self._transports.difference_update({client_writer.transport, server_writer.transport})

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._socket.unlink(missing_ok=True)
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()
        # Let the pipes observe the aborts.
        await asyncio.sleep(0)

    async def restore(self) -> None:
        if self._server is None:
            await self.start()

    async def aclose(self) -> None:
        await self.cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
