"""Two gateway processes sharing one Redis and one database: limits, barge-in and hints hold across them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from gateway_support import TEN_SENTENCES, People, stream_and_cancel
from tutorplane.gateway.testing import ApiClient, GatewayProcess, SseReader

pytestmark = pytest.mark.integration

TURN_LIMIT = 6


@pytest.fixture(scope="module")
def replicas(
    gateway_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[GatewayProcess]]:
    root = tmp_path_factory.mktemp("gateway-replicas")
    limits = json.loads(gateway_env["TUTOR_RATE_LIMITS"]) | {"turn": TURN_LIMIT, "login": 3}
    # A window long enough that the test never straddles two windows.
    env = {**gateway_env, "TUTOR_RATE_LIMITS": json.dumps(limits), "TUTOR_RATE_LIMIT_WINDOW_S": "3600"}
    first = GatewayProcess(env, log_path=root / "gateway-1.log").start()
    second = GatewayProcess(env, log_path=root / "gateway-2.log").start()
    try:
        yield [first, second]
    finally:
        first.stop()
        second.stop()


@pytest.fixture
def clients(replicas: list[GatewayProcess]) -> Iterator[Any]:
    made: list[ApiClient] = []

    def make(token: str, replica: int) -> ApiClient:
        client = ApiClient(replicas[replica].url)
        client.use_token(token)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_rate_limit_holds_across_two_processes(clients: Any, people: People) -> None:
    _, token = people.student()
    a, b = clients(token, 0), clients(token, 1)
    session = a.create_session()["session_id"]
    statuses = []
    for i in range(TURN_LIMIT + 2):
        client = a if i % 2 == 0 else b
        response = client.post(
            f"/api/sessions/{session}/turns", json={"text": "   "}
        )  # refused after the limit
        statuses.append(response.status_code)
    assert statuses[:TURN_LIMIT] == [422] * TURN_LIMIT
    assert statuses[TURN_LIMIT:] == [429, 429]
    refused = b.post(f"/api/sessions/{session}/turns", json={"text": "hi"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "at most 6" in refused.json()["detail"]
    _, other_token = people.student()
    other = clients(other_token, 1)
    other_session = other.create_session()["session_id"]
    assert (
        other.post(f"/api/sessions/{other_session}/turns", json={"text": " "}).status_code == 422
    )  # own budget
    assert "tutorplane_gateway_rate_limit_rejections_total" in b.get("/metrics").text


def test_anonymous_limits_key_on_the_forwarded_client_ip(replicas: list[GatewayProcess]) -> None:
    def attempt(replica: int, ip: str) -> int:
        client = ApiClient(replicas[replica].url)
        try:
            client.refresh_csrf()
            return client.post(
                "/api/auth/login", json={"login": "nobody"}, headers={"X-Forwarded-For": ip}
            ).status_code
        finally:
            client.close()

    assert [attempt(i % 2, "198.51.100.20") for i in range(4)] == [404, 404, 404, 429]
    assert attempt(1, "198.51.100.21") == 404  # another client behind the same ingress keeps its budget


def test_cancel_sent_to_the_other_replica_stops_the_turn(clients: Any, people: People, emulator: Any) -> None:
    _, token = people.student()
    streaming, other = clients(token, 0), clients(token, 1)
    session = streaming.create_session()["session_id"]
    emulator.script.messages(TEN_SENTENCES, chunk_delay_s=0.15)
    received, cancel = stream_and_cancel(streaming, session, canceller=other)
    assert cancel["cancelled"] is True
    assert received[-1].event == "done" and received[-1].data["cancelled"] is True
    assert len([e for e in received if e.event == "sentence"]) < 10


def test_hint_sent_through_one_replica_reaches_the_student_on_the_other(
    clients: Any, people: People, replicas: list[GatewayProcess]
) -> None:
    _, token = people.student()
    student = clients(token, 0)
    session = student.create_session()["session_id"]
    _, teacher_token = people.demo_teacher()
    teacher = clients(teacher_token, 1)
    events = SseReader(
        replicas[0].url, f"/api/sessions/{session}/events", headers={"Authorization": f"Bearer {token}"}
    ).start()
    try:
        events.next_event("ready")
        response = teacher.post(f"/api/teacher/sessions/{session}/hint", json={"text": "Count by fives."})
        assert response.json()["delivered_to"] == 1
        assert events.next_event("hint").data["text"] == "Count by fives."
    finally:
        events.close()
