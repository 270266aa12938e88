"""One Redis pub/sub connection per process, shared by every local listener.

Listeners subscribe to a channel with a callback; the bus subscribes in Redis on the first local
listener and unsubscribes after the last one. A reader task dispatches messages; when the
connection drops it reconnects with backoff, re-subscribes, and calls the ``on_reconnect`` hooks
so listeners can catch up on anything published while they were deaf (e.g. cancel keys).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

# Every key and channel the gateway keeps in Redis starts with this (one Redis may serve others).
KEY_PREFIX = "tutor:"

log = logging.getLogger(__name__)

Callback = Callable[[str, bytes], None]
ReconnectHook = Callable[[], Awaitable[None]]


class RedisBus:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._listeners: dict[str, set[Callback]] = {}
        self._pubsub: aioredis.client.PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._reconnect_hooks: list[ReconnectHook] = []
        self._lock = asyncio.Lock()
        self.connected = asyncio.Event()

    def on_reconnect(self, hook: ReconnectHook) -> None:
        self._reconnect_hooks.append(hook)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="redis-bus")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()

    async def publish(self, channel: str, payload: bytes | str) -> int:
        return int(await self._redis.publish(channel, payload))

    async def subscribe(self, channel: str, callback: Callback) -> None:
        async with self._lock:
            listeners = self._listeners.setdefault(channel, set())
            first = not listeners
            listeners.add(callback)
            if first and self._pubsub is not None:
                try:
                    await self._pubsub.subscribe(channel)
                except (RedisError, OSError) as exc:
                    log.warning("redis subscribe failed; will retry on reconnect", extra={"error": str(exc)})

    async def unsubscribe(self, channel: str, callback: Callback) -> None:
        async with self._lock:
            listeners = self._listeners.get(channel)
            if not listeners:
                return
            listeners.discard(callback)
            if listeners:
                return
            del self._listeners[channel]
            if self._pubsub is not None:
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(channel)

    def _dispatch(self, channel: str, data: bytes) -> None:
        for callback in list(self._listeners.get(channel, ())):
            try:
                callback(channel, data)
            except Exception:
                log.exception("redis bus listener failed", extra={"channel": channel})

    async def _run(self) -> None:
        backoff = 0.1
        first = True
        while True:
            try:
                await self._connect_and_read(first)
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self.connected.clear()
                log.warning("redis pub/sub connection lost; reconnecting", extra={"error": str(exc)})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            first = False

    async def _connect_and_read(self, first: bool) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        async with self._lock:
            self._pubsub = pubsub
            channels = list(self._listeners)
            # A pub/sub connection needs one channel before it can be read; this one is ours.
            await pubsub.subscribe(f"{KEY_PREFIX}bus:keepalive", *channels)
        self.connected.set()
        if not first:
            for hook in self._reconnect_hooks:
                try:
                    await hook()
                except Exception:
                    log.exception("redis bus reconnect hook failed")
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            if message is None:
                continue
            if message.get("type") != "message":
                continue
            channel = message["channel"]
            if isinstance(channel, bytes):
                channel = channel.decode()
            data = message["data"]
            self._dispatch(channel, data if isinstance(data, bytes) else str(data).encode())
