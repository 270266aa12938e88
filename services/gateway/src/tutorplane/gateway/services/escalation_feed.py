"""Live escalations from PostgreSQL ``LISTEN escalation_events``, fanned out to local SSE streams.

One dedicated connection per process listens (the insert trigger NOTIFYs with ``{id, session_id,
student_id, class_id, reason, source, created_at}``). Subscribers get notifications in queues. When
the listening connection is lost, notifications sent meanwhile are gone, so after reconnecting the
feed pushes a ``RESYNC`` marker to every subscriber, which then replays from the table by its last
event id. The table is the source of truth; the notification only says "look now".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from tutorplane.db.pool import connect

log = logging.getLogger(__name__)

CHANNEL = "escalation_events"
RESYNC: dict[str, Any] = {"__resync__": True}


class EscalationFeed:
    def __init__(self, dsn: str, *, queue_size: int = 1000) -> None:
        self._dsn = dsn
        self._queue_size = queue_size
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="escalation-listen")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    def _broadcast(self, item: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            if queue.full():
                # A reader this far behind replays from the table instead of losing events.
                with contextlib.suppress(asyncio.QueueEmpty):
                    while True:
                        queue.get_nowait()
                queue.put_nowait(RESYNC)
                continue
            queue.put_nowait(item)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            item = json.loads(payload)
        except ValueError:
            log.warning("unparseable escalation notification", extra={"payload": payload[:200]})
            return
        if isinstance(item, dict) and "id" in item:
            self._broadcast(item)

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await connect(self._dsn, application_name="tutorplane-gateway-listen")
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())  # type: ignore[misc]
                await conn.add_listener(CHANNEL, self._on_notify)
                self.listening.set()
                # Anything notified while nobody listened is replayed from the table.
                self._broadcast(RESYNC)
                backoff = 0.2
                while not lost.is_set():
                    # A liveness query notices half-open connections the termination listener misses.
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(lost.wait(), timeout=10.0)
                    if not lost.is_set():
                        await conn.fetchval("SELECT 1", timeout=5.0)
                raise ConnectionError("escalation listener connection closed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.listening.clear()
                log.warning("escalation listener lost; reconnecting", extra={"error": str(exc)})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2.0)
