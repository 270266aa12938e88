"""Readiness: PostgreSQL, Redis and the guardrail answer; not ready while draining.

Probe results are cached for ``cache_s`` so a burst of probes costs one round of checks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

CheckFn = Callable[[], Awaitable[None]]


class Readiness:
    def __init__(self, checks: dict[str, CheckFn], *, cache_s: float = 2.0, timeout_s: float = 1.5) -> None:
        self._checks = checks
        self._cache_s = cache_s
        self._timeout_s = timeout_s
        self._cached: tuple[float, dict[str, str]] | None = None
        self._lock = asyncio.Lock()

    async def _run_one(self, name: str, check: CheckFn) -> tuple[str, str]:
        try:
            await asyncio.wait_for(check(), self._timeout_s)
        except TimeoutError:
            return name, f"timeout after {self._timeout_s}s"
        except Exception as exc:
            return name, f"error: {type(exc).__name__}: {str(exc)[:200]}"
        return name, "ok"

    async def results(self) -> dict[str, str]:
        async with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < self._cache_s:
                return self._cached[1]
            pairs = await asyncio.gather(*(self._run_one(n, c) for n, c in self._checks.items()))
            results = dict(pairs)
            self._cached = (time.monotonic(), results)
            return results
