"""Who owns a session, and the next turn index — answered without PostgreSQL when it is down.

Session facts are written to Redis at creation (``<prefix>session:<id>``, 24 h) and cached in
process for a few seconds; the database is the fallback. Turn indexes come from a Redis counter
per session, so two replicas never hand out the same index; when the counter is missing (Redis
restarted) it is re-seeded from the highest index stored in PostgreSQL.

While Redis does not answer, a turn takes one past the highest index in PostgreSQL (or past the
last one this replica handed out, whose rows may not be written yet) and its history from there.
The replica remembers the indexes it handed out that way, and raises the Redis counter past them
as soon as Redis answers again (its reconnect hook, and the next turn of that session), so the
counter never hands out an index twice. Left: another replica's last index, handed out by Redis
just before the outage, can be repeated if its rows are not written yet (the audit writer writes
them within a second).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from tutorplane.db import repository
from tutorplane.gateway.services.redis_bus import KEY_PREFIX
from tutorplane.routing.types import Subject, Turn

log = logging.getLogger(__name__)

SESSION_TTL_S = 24 * 3600
HISTORY_KEEP = 20

# INCR the turn counter, but never to less than ARGV[1] (the floor after indexes were handed out
# from PostgreSQL while Redis was away; ARGV[2] is the key's TTL when it is raised).
_INCR_AT_LEAST = """
local c = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1])
if c < floor then
  redis.call('SET', KEYS[1], floor, 'EX', ARGV[2])
  c = floor
end
return c
"""
# Raise the counter to ARGV[1] when it is lower (no index is taken).
_RAISE_TO = """
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[1])
if c < floor then
  redis.call('SET', KEYS[1], floor, 'EX', ARGV[2])
end
return 1
"""
_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    student_id: str
    variant: str
    revision: str
    deployment: str
    room_name: str | None
    ended: bool
    # Who started the session (the student, or the teacher/admin behind a QA session). None when
    # the cached facts predate this field: ``creator`` then reads it from PostgreSQL.
    created_by: str | None = None


class SessionUnavailableError(Exception):
    """Neither Redis nor PostgreSQL could say who owns the session."""


class SessionDirectory:
    def __init__(
        self,
        redis: aioredis.Redis,
        pool: asyncpg.Pool,
        *,
        prefix: str = KEY_PREFIX,
        local_ttl_s: float = 5.0,
        local_max: int = 10000,
    ) -> None:
        self._redis = redis
        self._pool = pool
        self._prefix = prefix
        self._local_ttl = local_ttl_s
        self._local_max = local_max
        self._local: OrderedDict[str, tuple[float, SessionInfo]] = OrderedDict()
        # session id -> the counter value the Redis counter must reach (indexes handed out from
        # PostgreSQL while Redis was away); cleared once Redis has it.
        self._floors: dict[str, int] = {}
        # session id -> one past the last index this replica handed out (either way), so a fallback
        # never repeats an index whose rows are not written yet.
        self._next: OrderedDict[str, int] = OrderedDict()
        self._incr_at_least = redis.register_script(_INCR_AT_LEAST)
        self._raise_to = redis.register_script(_RAISE_TO)

    def _key(self, session_id: str) -> str:
        return f"{self._prefix}session:{session_id}"

    def _remember(self, info: SessionInfo) -> None:
        self._local[info.id] = (time.monotonic() + self._local_ttl, info)
        self._local.move_to_end(info.id)
        while len(self._local) > self._local_max:
            self._local.popitem(last=False)

    async def put(self, info: SessionInfo) -> None:
        """Record a new session (turn counter starts at 0)."""
        self._remember(info)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(self._key(info.id), json.dumps(asdict(info)), ex=SESSION_TTL_S)
                pipe.set(f"{self._key(info.id)}:turns", 0, ex=SESSION_TTL_S)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("session not cached in redis", extra={"session_id": info.id, "error": str(exc)})

    async def mark_ended(self, info: SessionInfo) -> None:
        ended = SessionInfo(**{**asdict(info), "ended": True})
        self._remember(ended)
        try:
            await self._redis.set(self._key(info.id), json.dumps(asdict(ended)), ex=SESSION_TTL_S)
        except (RedisError, OSError):
            pass

    async def get(self, session_id: str) -> SessionInfo | None:
        """The session, or None when it does not exist. Raises SessionUnavailableError."""
        try:
            session_id = str(uuid.UUID(session_id))
        except ValueError:
            return None
        cached = self._local.get(session_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        redis_ok = True
        try:
            raw = await self._redis.get(self._key(session_id))
        except (RedisError, OSError):
            raw, redis_ok = None, False
        if raw is not None:
            info = SessionInfo(**json.loads(raw))
            self._remember(info)
            return info
        try:
            row = await repository.get_session(self._pool, uuid.UUID(session_id))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise SessionUnavailableError(str(exc)) from exc
        if row is None:
            return None
        info = SessionInfo(
            id=str(row.id),
            student_id=str(row.student_id),
            variant=row.variant,
            revision=row.revision,
            deployment=row.deployment,
            room_name=row.room_name,
            ended=row.ended_at is not None,
            created_by=_creator_of(row.metadata),
        )
        self._remember(info)
        if redis_ok:
            await self._reseed(info)
        return info

    async def creator(self, info: SessionInfo) -> str | None:
        """Who started the session. Raises SessionUnavailableError when it must be read and cannot."""
        if info.created_by is not None:
            return info.created_by
        try:
            row = await repository.get_session(self._pool, uuid.UUID(info.id))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise SessionUnavailableError(str(exc)) from exc
        creator = _creator_of(row.metadata) if row is not None else None
        if creator is not None:
            self._remember(SessionInfo(**{**asdict(info), "created_by": creator}))
        return creator

    async def _reseed(self, info: SessionInfo) -> None:
        """Redis lost this session: store it again and continue the turn counter after the DB's."""
        try:
            highest = await self._pool.fetchval(
                "SELECT max(turn_index) FROM public.transcript_turns WHERE session_id = $1",
                uuid.UUID(info.id),
            )
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(self._key(info.id), json.dumps(asdict(info)), ex=SESSION_TTL_S)
                pipe.set(
                    f"{self._key(info.id)}:turns",
                    0 if highest is None else int(highest) + 1,
                    nx=True,
                    ex=SESSION_TTL_S,
                )
                await pipe.execute()
        except (RedisError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning(
                "could not re-seed session in redis", extra={"session_id": info.id, "error": str(exc)}
            )

    async def begin_turn(self, session_id: str, history_turns: int) -> tuple[int, list[Turn]]:
        """Reserve the next turn index (shared counter) and fetch recent history in one round trip.

        Falls back to PostgreSQL while Redis is away; raises SessionUnavailableError when neither
        answers."""
        key = self._key(session_id)
        floor = self._floors.get(session_id, 0)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                if floor:
                    await self._incr_at_least(
                        keys=[f"{key}:turns"], args=[floor + 1, SESSION_TTL_S], client=pipe
                    )
                else:
                    pipe.incr(f"{key}:turns")
                pipe.lrange(f"{key}:history", -history_turns, -1) if history_turns else pipe.echo(b"")
                counter, raw_history = await pipe.execute()
        except (RedisError, OSError) as exc:
            return await self._begin_turn_from_database(session_id, history_turns, exc)
        if floor:
            self._floors.pop(session_id, None)
        self._handed_out(session_id, int(counter) - 1)
        history: list[Turn] = []
        for item in raw_history or []:
            try:
                data: dict[str, Any] = json.loads(item)
                subject = data.get("subject")
                history.append(
                    Turn(role=data["role"], text=data["text"], subject=Subject(subject) if subject else None)
                )
            except (ValueError, KeyError, TypeError):
                continue
        # The counter starts at 0 on creation, so the first INCR yields 1 -> index 0.
        return int(counter) - 1, history

    async def _begin_turn_from_database(
        self, session_id: str, history_turns: int, cause: Exception
    ) -> tuple[int, list[Turn]]:
        log.warning(
            "turn index from PostgreSQL: redis unavailable",
            extra={"session_id": session_id, "error": str(cause)},
        )
        sid = uuid.UUID(session_id)
        try:
            index = await repository.next_turn_index(self._pool, sid)
            rows = await repository.recent_turns(self._pool, sid, history_turns) if history_turns else []
        except _DB_ERRORS as exc:
            raise SessionUnavailableError(f"redis: {cause}; postgresql: {exc}") from exc
        # Rows of a turn handed out a moment ago may not be written yet: never repeat one.
        index = max(index, self._floors.get(session_id, 0), self._next.get(session_id, 0))
        self._floors[session_id] = index + 1
        self._handed_out(session_id, index)
        history = [
            Turn(
                role="user" if row.role == "user" else "assistant",
                text=row.content,
                subject=Subject(row.subject) if row.subject else None,
            )
            for row in rows
        ]
        return index, history

    def _handed_out(self, session_id: str, index: int) -> None:
        self._next[session_id] = max(index + 1, self._next.get(session_id, 0))
        self._next.move_to_end(session_id)
        while len(self._next) > self._local_max:
            self._next.popitem(last=False)

    async def restore_counters(self) -> None:
        """Raise the Redis turn counters past the indexes handed out while Redis was away (the bus's
        reconnect hook calls this as soon as Redis answers again)."""
        for session_id, floor in list(self._floors.items()):
            try:
                await self._raise_to(keys=[f"{self._key(session_id)}:turns"], args=[floor, SESSION_TTL_S])
            except (RedisError, OSError):
                return
            if self._floors.get(session_id) == floor:
                del self._floors[session_id]

    async def remember_turns(self, session_id: str, turns: list[dict[str, Any]]) -> None:
        key = f"{self._key(session_id)}:history"
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.rpush(key, *[json.dumps(t) for t in turns])
                pipe.ltrim(key, -HISTORY_KEEP, -1)
                pipe.expire(key, SESSION_TTL_S)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("turn history not stored", extra={"session_id": session_id, "error": str(exc)})


def _creator_of(metadata: dict[str, Any] | None) -> str | None:
    value = (metadata or {}).get("created_by")
    return str(value) if value else None
