"""Sessions nobody uses any more are ended by the gateway: no student page open (presence in
Redis, kept fresh by the page's event stream) and no start or turn for session_idle_close_s."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from gateway_support import People, fetch, wait_rows
from tutorplane.gateway.testing import ApiClient, GatewayProcess, SseReader

pytestmark = pytest.mark.integration

IDLE_S = 60


@pytest.fixture(scope="module")
def gateway(
    gateway_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    env = {**gateway_env, "TUTOR_SESSION_IDLE_CLOSE_S": str(IDLE_S), "TUTOR_SESSION_IDLE_CHECK_S": "0.2"}
    log = tmp_path_factory.mktemp("gateway-idle") / "gateway.log"
    with GatewayProcess(env, log_path=log) as process:
        yield process


def backdate(dsn: str, session_id: str, seconds: int) -> None:
    fetch(
        dsn,
        "UPDATE learning_sessions SET started_at = started_at - make_interval(secs => $2) WHERE id = $1",
        uuid.UUID(session_id),
        float(seconds),
    )


def state_of(dsn: str, session_id: str) -> Any:
    (row,) = fetch(
        dsn,
        "SELECT started_at, ended_at, session_report FROM learning_sessions WHERE id = $1",
        uuid.UUID(session_id),
    )
    return row


def wait_ended(dsn: str, session_id: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        row = state_of(dsn, session_id)
        if row["ended_at"] is not None or time.monotonic() > deadline:
            return row
        time.sleep(0.1)


def test_idle_sessions_end_and_used_ones_stay_open(
    gateway: GatewayProcess, people: People, seeded_dsn: str
) -> None:
    _, token = people.student()
    client = ApiClient(gateway.url)
    client.use_token(token)
    abandoned, answered, open_page = (client.create_session()["session_id"] for _ in range(3))
    # In use: a turn now (its transcript rows are written asynchronously: wait for them) ...
    events = client.turn(answered, "What is 7 times 8?", speak=False)
    assert events[-1].data["outcome"] == "completed"
    wait_rows(
        seeded_dsn, "SELECT 1 FROM transcript_turns WHERE session_id = $1", uuid.UUID(answered), at_least=2
    )
    # ... and a page open on the session.
    page = SseReader(
        gateway.url, f"/api/sessions/{open_page}/events", headers={"Authorization": f"Bearer {token}"}
    ).start()
    try:
        page.next_event("ready")
        for session in (answered, open_page, abandoned):  # all three started two hours ago
            backdate(seeded_dsn, session, 2 * 3600)
        # The abandoned one is ended, at its last activity (its start), with the server's report.
        row = wait_ended(seeded_dsn, abandoned)
        assert row["ended_at"] == row["started_at"]
        assert json.loads(row["session_report"])["report_source"] == "server"
        refused = client.post(f"/api/sessions/{abandoned}/turns", json={"text": "hello", "speak": False})
        assert refused.status_code == 409 and "ended" in refused.json()["detail"]
        time.sleep(1.5)  # several sweeps
        assert state_of(seeded_dsn, answered)["ended_at"] is None
        assert state_of(seeded_dsn, open_page)["ended_at"] is None  # a student reading quietly
    finally:
        page.close()
    # The page is gone: its presence expires (three heartbeats) and the session is ended too.
    assert wait_ended(seeded_dsn, open_page)["ended_at"] is not None
    assert state_of(seeded_dsn, answered)["ended_at"] is None
    (closed,) = (
        float(line.split()[1])
        for line in client.get("/metrics").text.splitlines()
        if line.startswith("tutorplane_gateway_sessions_idle_closed_total ")
    )
    assert closed >= 2  # the shared test database also holds other modules' finished sessions
    client.close()
