"""Fixed-window rate limits in Redis, shared by every gateway replica.

One Lua call per request: INCR the window's counter, set its expiry on first use, return the count
and the time left. Keys are ``<prefix>rl:<group>:<subject>:<window index>``, where the subject is
the signed-in user id or, before sign-in, the proxy-aware client IP.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from tutorplane.gateway.core.metrics import RATE_LIMIT_ERRORS, RATE_LIMIT_REJECTIONS
from tutorplane.gateway.services.redis_bus import KEY_PREFIX

log = logging.getLogger(__name__)

_LUA = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
"""


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, *, window_s: int, prefix: str = KEY_PREFIX) -> None:
        self._redis = redis
        self._window_s = window_s
        self._prefix = prefix
        self._script = redis.register_script(_LUA)

    async def hit(self, group: str, subject: str, limit: int, *, now: float | None = None) -> RateDecision:
        """Count one request; fail open (allowed, logged, counted) when Redis is unreachable."""
        if limit <= 0:
            return RateDecision(True, 0, 0, 0)
        now = time.time() if now is None else now
        window = int(now // self._window_s)
        key = f"{self._prefix}rl:{group}:{subject}:{window}"
        retry_after = max(1, math.ceil((window + 1) * self._window_s - now))
        try:
            count = int(await self._script(keys=[key], args=[self._window_s * 1000 + 1000]))
        except (RedisError, OSError) as exc:
            RATE_LIMIT_ERRORS.inc()
            log.warning(
                "rate limiter unavailable; allowing request", extra={"group": group, "error": str(exc)}
            )
            return RateDecision(True, limit, limit, 0)
        if count > limit:
            RATE_LIMIT_REJECTIONS.labels(group=group).inc()
            return RateDecision(False, limit, 0, retry_after)
        return RateDecision(True, limit, limit - count, retry_after)
