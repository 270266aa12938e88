"""Readiness decisions: a replica is ready once it has reached every dependency; after that a
shared dependency going away degrades it without taking it out of service, unless configured as
required; draining always does. Checks here are real socket connections."""

from __future__ import annotations

import asyncio
import socket

import pytest
from prometheus_client import REGISTRY
from tutorplane.gateway.services.readiness import Readiness

pytestmark = pytest.mark.unit


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def reach(port: int) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()
    await writer.wait_closed()


async def test_a_dependency_lost_after_start_up_degrades_the_replica_without_taking_it_out() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    up = server.sockets[0].getsockname()[1]
    redis_port = [up]
    checks = {"database": lambda: reach(up), "redis": lambda: reach(redis_port[0])}
    try:
        readiness = Readiness(checks, cache_s=0)
        strict = Readiness(checks, required=["redis"], cache_s=0)
        assert (await readiness.report(draining=False)).ready
        assert (await strict.report(draining=False)).ready

        redis_port[0] = closed_port()  # Redis goes away
        report = await readiness.report(draining=False)
        assert report.ready and report.degraded == ["redis"]
        assert report.checks["database"] == "ok" and "ConnectionRefusedError" in report.checks["redis"]
        assert REGISTRY.get_sample_value("tutorplane_gateway_dependency_up", {"dependency": "redis"}) == 0
        assert REGISTRY.get_sample_value("tutorplane_gateway_dependency_up", {"dependency": "database"}) == 1

        required = await strict.report(draining=False)
        assert not required.ready and required.degraded == []
        assert not (await readiness.report(draining=True)).ready
    finally:
        server.close()
        await server.wait_closed()


async def test_a_replica_that_never_reached_a_dependency_is_not_ready() -> None:
    # A new revision with a wrong Redis address: never ready, so its rollout stops there.
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    up = server.sockets[0].getsockname()[1]
    redis_port = [closed_port()]
    readiness = Readiness({"database": lambda: reach(up), "redis": lambda: reach(redis_port[0])}, cache_s=0)
    try:
        report = await readiness.report(draining=False)
        assert not report.ready and report.degraded == [] and report.checks["redis"] != "ok"
        redis_port[0] = up  # fixed: ready from the first answer on
        assert (await readiness.report(draining=False)).ready
    finally:
        server.close()
        await server.wait_closed()


def test_requiring_an_unknown_dependency_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"cannot require \['postgres'\]: the checks are \['database'"):
        Readiness({"database": lambda: reach(1)}, required=["postgres"])
