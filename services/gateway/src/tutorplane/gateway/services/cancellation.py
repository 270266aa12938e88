"""Barge-in across replicas: a cancel on any replica stops the turn on the replica streaming it.

The cancel endpoint sets ``<prefix>cancel:<turn id>`` (short TTL) and publishes the turn id on
``<prefix>turn-cancel``. Every replica listens on that one channel and sets the local turn's
event. After a pub/sub reconnect the replica checks the keys of its live turns, so a cancel sent
while it was deaf still lands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from tutorplane.gateway.services.redis_bus import KEY_PREFIX, RedisBus

log = logging.getLogger(__name__)


class CancelRegistry:
    def __init__(
        self, redis: aioredis.Redis, bus: RedisBus, *, prefix: str = KEY_PREFIX, ttl_s: int = 300
    ) -> None:
        self._redis = redis
        self._bus = bus
        self._channel = f"{prefix}turn-cancel"
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._live: dict[str, Callable[[], None]] = {}

    async def start(self) -> None:
        await self._bus.subscribe(self._channel, self._on_message)
        self._bus.on_reconnect(self._catch_up)

    def register(self, turn_id: str, on_cancel: Callable[[], None]) -> None:
        """``on_cancel`` runs (at most once) when any replica cancels ``turn_id``."""
        self._live[turn_id] = on_cancel

    def _fire(self, turn_id: str) -> bool:
        callback = self._live.pop(turn_id, None)
        if callback is None:
            return False
        try:
            callback()
        except Exception:
            log.exception("turn cancel callback failed", extra={"turn_id": turn_id})
        return True

    def unregister(self, turn_id: str) -> None:
        self._live.pop(turn_id, None)

    @property
    def live_turns(self) -> int:
        return len(self._live)

    async def cancel(self, turn_id: str) -> bool:
        """Ask whichever replica streams ``turn_id`` to stop. True when the request was recorded."""
        local = self._fire(turn_id)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(f"{self._prefix}cancel:{turn_id}", b"1", ex=self._ttl_s)
                pipe.publish(self._channel, turn_id)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("cancel could not reach redis", extra={"turn_id": turn_id, "error": str(exc)})
            return local
        return True

    def _on_message(self, _channel: str, data: bytes) -> None:
        self._fire(data.decode(errors="replace"))

    async def _catch_up(self) -> None:
        turn_ids = list(self._live)
        if not turn_ids:
            return
        try:
            values = await self._redis.mget([f"{self._prefix}cancel:{t}" for t in turn_ids])
        except (RedisError, OSError):
            return
        for turn_id, value in zip(turn_ids, values, strict=True):
            if value is not None:
                self._fire(turn_id)
