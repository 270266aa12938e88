"""The Redis rate limiter: shared counters per window, Retry-After, fail-open when Redis is away."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis
from tutorplane.gateway.core.metrics import RATE_LIMIT_ERRORS
from tutorplane.gateway.services.rate_limit import RateLimiter
from tutorplane.gateway.testing import free_port

pytestmark = pytest.mark.integration


async def test_limit_is_shared_by_limiters_and_resets_with_the_window(redis_url: str) -> None:
    first, second = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
    a, b = RateLimiter(first, window_s=60), RateLimiter(second, window_s=60)
    subject = f"u:{uuid.uuid4()}"
    now = 1_800_000_010.0  # 10 s into a window
    decisions = [await (a if i % 2 else b).hit("turn", subject, 3, now=now) for i in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[-1].retry_after_s == 50
    assert (await a.hit("turn", f"u:{uuid.uuid4()}", 3, now=now)).allowed  # another identity
    assert (await a.hit("login", subject, 3, now=now)).allowed  # another route group
    assert (await b.hit("turn", subject, 3, now=now + 60)).allowed  # next window
    assert (await b.hit("turn", subject, 0, now=now)).allowed  # 0 disables the group
    await first.aclose()
    await second.aclose()


async def test_unreachable_redis_allows_and_counts(redis_url: str) -> None:
    dead = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    before = RATE_LIMIT_ERRORS._value.get()
    decision = await RateLimiter(dead, window_s=60).hit("turn", "u:x", 1)
    assert decision.allowed
    assert RATE_LIMIT_ERRORS._value.get() == before + 1
    await dead.aclose()
