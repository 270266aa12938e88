"""Readiness: whether this replica should get traffic, and how its dependencies are.

PostgreSQL, Redis and the guardrail service are checked on every probe (results cached for
``cache_s``, so a burst of probes costs one round). A replica is not ready until it has reached
each of them once: a new revision with a wrong address or password never gets traffic, and its
rollout stops there. After that, every replica shares them, so by default a failing one does not
make the replica unready: the gateway is built to serve through each outage (turns go on with
audit writes retried while PostgreSQL is down, rate limits fail open without Redis, checks fail
closed without the guardrail), and taking every replica out of the Service at once would turn that
degraded service into no service. The failing dependency is reported as ``degraded`` in the
probe's body, as ``tutorplane_gateway_dependency_up`` 0, and by the chart's
``TutorplaneGatewayDependencyDown`` alert. Dependencies named in ``required`` make the replica
unready whenever they fail (``TUTOR_READINESS_REQUIRES``). Draining always does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from tutorplane.gateway.core.metrics import DEPENDENCY_UP

CheckFn = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class ReadinessReport:
    ready: bool
    checks: dict[str, str]
    degraded: list[str]


class Readiness:
    def __init__(
        self,
        checks: dict[str, CheckFn],
        *,
        required: Iterable[str] = (),
        cache_s: float = 2.0,
        timeout_s: float = 1.5,
    ) -> None:
        unknown = set(required) - set(checks)
        if unknown:
            raise ValueError(f"readiness cannot require {sorted(unknown)}: the checks are {sorted(checks)}")
        self._checks = checks
        self.required = frozenset(required)
        self._cache_s = cache_s
        self._timeout_s = timeout_s
        self._cached: tuple[float, dict[str, str]] | None = None
        self._lock = asyncio.Lock()
        self._reached: set[str] = set()  # dependencies answered at least once since start-up

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
            for name, outcome in results.items():
                DEPENDENCY_UP.labels(name).set(1.0 if outcome == "ok" else 0.0)
                if outcome == "ok":
                    self._reached.add(name)
            self._cached = (time.monotonic(), results)
            return results

    async def report(self, *, draining: bool) -> ReadinessReport:
        checks = await self.results()
        failing = [name for name, outcome in checks.items() if outcome != "ok"]
        blocking = [n for n in failing if n in self.required or n not in self._reached]
        degraded = [n for n in failing if n not in blocking]
        return ReadinessReport(not draining and not blocking, checks, degraded)
