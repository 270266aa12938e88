"""Nothing is lost across a gateway restart; SIGTERM drains open streams before exiting."""

from __future__ import annotations

import contextlib
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_support import People, run
from tutorplane.db import repository
from tutorplane.db.pool import create_pool
from tutorplane.gateway.testing import ApiClient, GatewayProcess, SseEvent, SseReader

pytestmark = pytest.mark.integration


async def _agent_escalation(dsn: str, session_id: str, reason: str) -> int:
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        row = await repository.create_escalation(
            pool, session_id=uuid.UUID(session_id), reason=reason, source="agent"
        )
        return row.id
    finally:
        await pool.close()


def test_escalation_replay_across_a_gateway_restart(
    gateway_env: dict[str, str], people: People, seeded_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    logs = tmp_path_factory.mktemp("gateway-restart")
    _, token = people.student("Noah")
    _, teacher_token = people.demo_teacher()
    auth = {"Authorization": f"Bearer {teacher_token}"}

    first = GatewayProcess(gateway_env, log_path=logs / "first.log").start()
    try:
        student = ApiClient(first.url)
        student.use_token(token)
        session = student.create_session()["session_id"]
        baseline = student.post(f"/api/sessions/{session}/escalate", json={"reason": "baseline"}).json()
        feed = SseReader(
            first.url,
            f"/api/teacher/escalations/stream?since={baseline['escalation']['id'] - 1}",
            headers=auth,
        ).start()
        try:
            seen = feed.next_event("escalation")
            assert seen.data["reason"] == "baseline"
            last_id = int(seen.id or 0)
        finally:
            feed.close()
        student.close()
    finally:
        # uvicorn re-raises the handled SIGTERM after a clean shutdown, so -15 is a clean exit.
        assert first.stop() in (0, -signal.SIGTERM)

    # While no gateway runs, version-A agents keep escalating straight into the table.
    missed = [run(_agent_escalation(seeded_dsn, session, f"while down {i}")) for i in range(2)]

    second = GatewayProcess(gateway_env, log_path=logs / "second.log").start()
    try:
        feed = SseReader(
            second.url, "/api/teacher/escalations/stream", headers={**auth, "Last-Event-ID": str(last_id)}
        ).start()
        try:
            replayed = [e for e in feed.events_until_heartbeats(1) if e.data["session_id"] == session]
            assert [int(e.id or 0) for e in replayed] == missed
            assert [e.data["source"] for e in replayed] == ["agent", "agent"]
            student = ApiClient(second.url)
            student.use_token(token)
            live = student.post(f"/api/sessions/{session}/escalate", json={"reason": "after restart"}).json()
            event = feed.next_event("escalation")
            assert int(event.id or 0) == live["escalation"]["id"] > missed[-1]
            student.close()
        finally:
            feed.close()
    finally:
        second.stop()


@contextlib.contextmanager
def stopping_gateway(
    env: dict[str, str], people: People, log_path: Path
) -> Iterator[tuple[GatewayProcess, ApiClient, str, SseReader]]:
    """A gateway to send SIGTERM to, a student's client, session and open page feed on it; the
    test checks it exits cleanly."""
    gateway = GatewayProcess(env, log_path=log_path).start()
    try:
        _, token = people.student()
        client = ApiClient(gateway.url)
        client.use_token(token)
        session = client.create_session()["session_id"]
        feed = SseReader(
            gateway.url, f"/api/sessions/{session}/events", headers={"Authorization": f"Bearer {token}"}
        ).start()
        feed.next_event("ready")
        yield gateway, client, session, feed
        feed.close()
        client.close()
        assert gateway.proc is not None and gateway.proc.wait(30) in (0, -signal.SIGTERM)
    finally:
        gateway.stop()


def test_sigterm_turns_not_ready_and_drains_the_open_turn(
    gateway_env: dict[str, str], people: People, emulator: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = {**gateway_env, "TUTOR_DRAIN_GRACE_S": "20"}
    log = tmp_path_factory.mktemp("gateway-drain") / "drain.log"
    with stopping_gateway(env, people, log) as (gateway, client, session, feed):
        emulator.script.messages(
            " ".join(f"Sentence number {i} is here." for i in range(6)), chunk_delay_s=0.1
        )
        received: list[SseEvent] = []
        readiness: list[httpx.Response] = []
        with client.stream(
            "POST", f"/api/sessions/{session}/turns", json={"text": "What is 3 times 3?", "speak": False}
        ) as events:
            for event in events:
                received.append(event)
                if event.event == "sentence" and event.data["index"] == 0:
                    gateway.signal(signal.SIGTERM)
                    for _ in range(200):  # the replica keeps serving while it drains
                        readiness.append(httpx.get(f"{gateway.url}/readyz", timeout=5))
                        if readiness[-1].status_code == 503:
                            break
        assert received[-1].event == "done" and received[-1].data["outcome"] == "completed"
        assert len([e for e in received if e.event == "sentence"]) == 6
        assert readiness and readiness[-1].status_code == 503 and readiness[-1].json()["draining"] is True
        assert feed.next_event("reconnect").data["reason"]


def test_after_sigterm_new_requests_are_served_until_the_settle_ends(
    gateway_env: dict[str, str], people: People, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The Service and the ingress keep sending to a terminating pod for some seconds: an idle
    replica must not close its port at once, or those requests fail."""
    env = {**gateway_env, "TUTOR_DRAIN_GRACE_S": "20", "TUTOR_DRAIN_SETTLE_S": "2"}
    log = tmp_path_factory.mktemp("gateway-settle") / "settle.log"
    with stopping_gateway(env, people, log) as (gateway, client, _session, feed):
        signalled = time.monotonic()
        gateway.signal(signal.SIGTERM)
        assert httpx.get(f"{gateway.url}/readyz", timeout=5).status_code == 503
        assert client.create_session()["session_id"]  # a request that arrives meanwhile still works
        # Open feeds are sent elsewhere only once the settle is over: told at once, they would have
        # reconnected through a Service that still routes to this replica.
        assert feed.next_event("reconnect", timeout=10).data["reason"]
        assert time.monotonic() - signalled >= 1.5
