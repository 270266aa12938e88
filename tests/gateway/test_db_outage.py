"""PostgreSQL goes away mid-session: turns are still served, audit rows wait and arrive afterwards."""

from __future__ import annotations

import glob
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from gateway_support import People, fetch, metric, wait_rows
from tutorplane.gateway.testing import ApiClient, GatewayProcess, SseReader, TcpProxy

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def proxy(seeded_dsn: str) -> Iterator[TcpProxy]:
    socket_dir = parse_qs(urlsplit(seeded_dsn).query)["host"][0]
    (socket_path,) = [p for p in glob.glob(f"{socket_dir}/.s.PGSQL.*") if not p.endswith(".lock")]
    proxy = TcpProxy(upstream_unix=socket_path).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def gateway(
    gateway_env: dict[str, str], proxy: TcpProxy, seeded_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    database = urlsplit(seeded_dsn).path
    env = {
        **gateway_env,
        "TUTOR_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{proxy.port}{database}",
        "TUTOR_READINESS_CACHE_S": "0",
    }
    log = tmp_path_factory.mktemp("gateway-outage") / "gateway.log"
    with GatewayProcess(env, log_path=log) as process:
        yield process


def test_turns_survive_a_database_outage_and_no_audit_row_is_lost(
    gateway: GatewayProcess, proxy: TcpProxy, people: People, seeded_dsn: str, emulator: Any
) -> None:
    _, token = people.student("Ivy")
    _, teacher_token = people.demo_teacher()
    client = ApiClient(gateway.url)
    client.use_token(token)
    session = client.create_session()["session_id"]
    sid = uuid.UUID(session)
    last = fetch(seeded_dsn, "SELECT coalesce(max(id), 0) AS m FROM escalation_events")[0]["m"]

    proxy.cut()
    try:
        # Still ready (every replica shares the database; taking them all out would stop the turns
        # below), with the outage reported.
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["degraded"] == ["database"]
        assert ready.json()["checks"]["database"] != "ok"
        assert (
            metric(client.get("/metrics").text, 'tutorplane_gateway_dependency_up{dependency="database"}')
            == 0
        )
        emulator.script.moderation("groups of three", {"violence/graphic": 0.9})  # one audited block
        emulator.script.messages("Three times three is nine. You can count three groups of three.")
        events = client.turn(session, "What is 3 times 3?")
        names = [e.event for e in events]
        assert names[0] == "turn" and names[-1] == "done" and "error" not in names
        assert events[-1].data["outcome"] == "completed" and "audio" in names
        escalated = client.post(f"/api/sessions/{session}/escalate", json={"reason": "help while db is down"})
        assert escalated.status_code == 201 and escalated.json()["queued"] is True
        feed = SseReader(
            gateway.url,
            f"/api/teacher/escalations/stream?since={last}",
            headers={"Authorization": f"Bearer {teacher_token}"},
        ).start()
        time.sleep(0.5)  # the outage lasts a moment: writes queue and retry meanwhile
    finally:
        proxy.restore()

    try:
        event = feed.next_event("escalation", timeout=30)
        assert event.data["session_id"] == session and event.data["reason"] == "help while db is down"
    finally:
        feed.close()
    turns = wait_rows(
        seeded_dsn,
        "SELECT speaker FROM transcript_turns WHERE session_id = $1 ORDER BY id",
        sid,
        at_least=2,
        timeout=30,
    )
    assert [t["speaker"] for t in turns] == ["student", "math"]
    assert wait_rows(seeded_dsn, "SELECT 1 FROM routing_decisions WHERE session_id = $1", sid, timeout=30)
    usage = wait_rows(
        seeded_dsn, "SELECT kind FROM provider_usage WHERE session_id = $1", sid, at_least=3, timeout=30
    )
    assert {u["kind"] for u in usage} == {"chat", "tts"}
    blocked = wait_rows(
        seeded_dsn, "SELECT action FROM guardrail_events WHERE session_id = $1", sid, timeout=30
    )
    assert [b["action"] for b in blocked] == ["block"]
    metrics = client.get("/metrics").text
    assert metric(metrics, "tutorplane_audit_write_failures_total") == 0
    assert metric(metrics, "tutorplane_audit_dropped_total") == 0
    assert metric(metrics, "tutorplane_audit_retries_total") > 0
    deadline = time.monotonic() + 15
    while client.get("/readyz").json()["degraded"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.get("/readyz").json()["degraded"] == []
    client.close()
