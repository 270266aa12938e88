"""Redis goes away mid-session: the replica stays ready and reports it, sessions start, turns are
served and cancelled, rate limits fail open (and count it); everything is back once Redis is."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from gateway_support import TEN_SENTENCES, People, metric, stream_and_cancel, wait_rows
from tutorplane.gateway.testing import ApiClient, GatewayProcess, TcpProxy

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def proxy(redis_url: str) -> Iterator[TcpProxy]:
    url = urlsplit(redis_url)
    proxy = TcpProxy(upstream_host=url.hostname, upstream_port=url.port).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def gateway(
    gateway_env: dict[str, str], proxy: TcpProxy, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    env = {
        **gateway_env,
        "TUTOR_REDIS_URL": f"redis://127.0.0.1:{proxy.port}{urlsplit(redis_url).path}",
        "TUTOR_READINESS_CACHE_S": "0",
    }
    log = tmp_path_factory.mktemp("gateway-redis-outage") / "gateway.log"
    with GatewayProcess(env, log_path=log) as process:
        yield process


def test_sessions_turns_and_cancels_go_on_while_redis_is_down(
    gateway: GatewayProcess, proxy: TcpProxy, people: People, emulator: Any, seeded_dsn: str
) -> None:
    _, token = people.student("Rae")
    client = ApiClient(gateway.url)
    client.use_token(token)
    session = client.create_session()["session_id"]
    assert client.get("/readyz").json()["degraded"] == []
    emulator.script.messages("Two and two make four.")
    assert client.turn(session, "What is 2 plus 2?", speak=False)[0].data["turn_index"] == 0
    wait_rows(
        seeded_dsn, "SELECT 1 FROM transcript_turns WHERE session_id = $1", uuid.UUID(session), at_least=2
    )

    proxy.cut()
    try:
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["degraded"] == ["redis"]
        other = client.create_session()["session_id"]
        emulator.script.messages("Seven times eight is fifty-six. Count eight groups of seven.")
        events = client.turn(session, "What is 7 times 8?")
        assert events[-1].event == "done" and events[-1].data["outcome"] == "completed", events[-1]
        assert "audio" in [e.event for e in events] and events[0].data["turn_index"] == 1
        # A cancel still reaches the turn when it is streamed by this replica; the index is not
        # reused although the last turn's rows may not be written yet.
        emulator.script.messages(TEN_SENTENCES, chunk_delay_s=0.15)
        received, _ = stream_and_cancel(client, session)
        assert received[-1].event == "done" and received[-1].data["outcome"] == "cancelled"
        assert received[0].data["turn_index"] == 2
        emulator.script.messages("Hello again.")
        assert client.turn(other, "Hello", speak=False)[-1].data["outcome"] == "completed"
        text = client.get("/metrics").text
        assert metric(text, "tutorplane_gateway_rate_limit_errors_total") > 0
        assert metric(text, 'tutorplane_gateway_dependency_up{dependency="redis"}') == 0
    finally:
        proxy.restore()

    deadline = time.monotonic() + 15
    while client.get("/readyz").json()["degraded"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.get("/readyz").json()["degraded"] == []
    # Redis's counter for the session still said 1: it was raised past the indexes handed out.
    errors = metric(client.get("/metrics").text, "tutorplane_gateway_rate_limit_errors_total")
    emulator.script.messages("Nine times nine is eighty-one.")
    events = client.turn(session, "What is 9 times 9?", speak=False)
    assert events[-1].data["outcome"] == "completed" and events[0].data["turn_index"] == 3
    # Rate limits count in Redis again: the turn added no rate-limit error.
    assert metric(client.get("/metrics").text, "tutorplane_gateway_rate_limit_errors_total") == errors
    students = wait_rows(
        seeded_dsn,
        "SELECT turn_index FROM transcript_turns WHERE session_id = $1 AND speaker = 'student' ORDER BY id",
        uuid.UUID(session),
        at_least=4,
    )
    assert [r["turn_index"] for r in students] == [0, 1, 2, 3]
    text = client.get("/metrics").text
    assert metric(text, "tutorplane_audit_write_failures_total") == 0
    assert metric(text, "tutorplane_audit_dropped_total") == 0
    client.close()
