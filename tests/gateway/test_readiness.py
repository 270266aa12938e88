"""Readiness decisions: shared dependencies degrade a replica without taking it out of service,
unless configured as required; draining always does. Checks here are real socket connections."""

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


async def test_a_down_dependency_is_reported_as_degraded_and_the_replica_stays_ready() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    up = server.sockets[0].getsockname()[1]
    down = closed_port()
    checks = {"database": lambda: reach(up), "redis": lambda: reach(down)}
    try:
        report = await Readiness(checks, cache_s=0).report(draining=False)
        assert report.ready and report.degraded == ["redis"]
        assert report.checks["database"] == "ok" and "ConnectionRefusedError" in report.checks["redis"]
        assert REGISTRY.get_sample_value("tutorplane_gateway_dependency_up", {"dependency": "redis"}) == 0
        assert REGISTRY.get_sample_value("tutorplane_gateway_dependency_up", {"dependency": "database"}) == 1

        strict = await Readiness(checks, required=["redis"], cache_s=0).report(draining=False)
        assert not strict.ready and strict.degraded == []
        ok_but_draining = await Readiness({"database": lambda: reach(up)}, cache_s=0).report(draining=True)
        assert not ok_but_draining.ready and ok_but_draining.degraded == []
    finally:
        server.close()
        await server.wait_closed()


def test_requiring_an_unknown_dependency_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"cannot require \['postgres'\]: the checks are \['database'"):
        Readiness({"database": lambda: reach(1)}, required=["postgres"])
