"""Live events for a student's session (teacher hints, teacher presence, escalation updates).

Publishing goes to Redis channel ``<prefix>session:<id>:events`` so the replica holding the
student's ``GET /api/sessions/{id}/events`` stream delivers it, whichever replica received the hint.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tutorplane.gateway.services.redis_bus import KEY_PREFIX, RedisBus


class SessionEvents:
    def __init__(self, bus: RedisBus, *, prefix: str = KEY_PREFIX, queue_size: int = 100) -> None:
        self._bus = bus
        self._prefix = prefix
        self._queue_size = queue_size

    def channel(self, session_id: str) -> str:
        return f"{self._prefix}session:{session_id}:events"

    async def publish(self, session_id: str, event: str, data: dict[str, Any]) -> int:
        """Deliver to every open stream of the session; returns how many replicas listened."""
        payload = json.dumps({"event": event, "data": data}, default=str)
        return await self._bus.publish(self.channel(session_id), payload)

    @asynccontextmanager
    async def listen(self, session_id: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._queue_size)

        def on_message(_channel: str, data: bytes) -> None:
            try:
                message = json.loads(data)
            except ValueError:
                return
            if queue.full():
                queue.get_nowait()  # a slow reader loses the oldest event, never blocks the bus
            queue.put_nowait(message)

        channel = self.channel(session_id)
        await self._bus.subscribe(channel, on_message)
        try:
            yield queue
        finally:
            await self._bus.unsubscribe(channel, on_message)
