"""Ending sessions nobody uses any more.

A student who closes the tab without "End session" leaves the session open: teachers saw it as
"live" for good, it had no report, and the A/B comparison counted it as never completed. Every
replica looks for open sessions without a start or a turn for ``session_idle_close_s`` and ends
those whose student page is not open anywhere (the page's event stream keeps a presence key in
Redis fresh, so a student reading quietly is not cut off). The session is recorded as ended at its
last activity and gets the server-built report. Closing is idempotent, so replicas doing the same
sweep at once is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from fastapi import HTTPException
from redis.exceptions import RedisError
from tutorplane.common.metrics import counter
from tutorplane.db import repository
from tutorplane.gateway.core.state import GatewayState
from tutorplane.gateway.services import session_service
from tutorplane.gateway.services.access import DB_ERRORS
from tutorplane.gateway.services.redis_bus import KEY_PREFIX
from tutorplane.gateway.services.session_directory import SessionUnavailableError

log = logging.getLogger(__name__)

IDLE_CLOSED = counter(
    "tutorplane_gateway_sessions_idle_closed_total",
    "Sessions ended because nobody used them (no page open, no turn) for session_idle_close_s.",
)


def presence_key(session_id: str) -> str:
    return f"{KEY_PREFIX}present:{session_id}"


async def mark_present(state: GatewayState, session_id: str) -> None:
    """The student's page is open (called when its event stream opens and at every heartbeat)."""
    ttl = max(1, round(3 * state.settings.sse_heartbeat_s))
    with contextlib.suppress(RedisError, OSError):
        await state.redis.set(presence_key(session_id), b"1", ex=ttl)


async def close_idle_sessions(state: GatewayState) -> int:
    """One sweep; returns how many sessions it ended."""
    idle_s = state.settings.session_idle_close_s
    closed = 0
    for session_id, last_activity in await repository.idle_sessions(state.pool, idle_s=idle_s):
        sid = str(session_id)
        try:
            if await state.redis.exists(presence_key(sid)):
                continue
        except (RedisError, OSError):
            return closed  # presence unknown: end nothing rather than a session in use
        try:
            info = await state.sessions.get(sid)
            if info is None or info.ended:
                continue
            await session_service.close_session(state, info, None, ended_at=last_activity)
        except (HTTPException, SessionUnavailableError):  # storage went away: the next sweep retries
            return closed
        closed += 1
        IDLE_CLOSED.inc()
        log.info(
            "ended an idle session", extra={"session_id": sid, "last_activity": last_activity.isoformat()}
        )
    return closed


class IdleSessionCloser:
    """Runs :func:`close_idle_sessions` every ``session_idle_check_s`` (jittered across replicas)."""

    def __init__(self, state: GatewayState) -> None:
        self._state = state
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="idle-session-closer")

    async def _run(self) -> None:
        interval = self._state.settings.session_idle_check_s
        while True:
            await asyncio.sleep(interval * random.uniform(0.8, 1.2))
            try:
                await close_idle_sessions(self._state)
            except (*DB_ERRORS, RedisError, OSError) as exc:
                log.warning("idle-session sweep failed; retrying next time", extra={"error": repr(exc)})
            except Exception:  # never let one bad sweep end the loop for the process's lifetime
                log.exception("idle-session sweep failed unexpectedly; retrying next time")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
