"""The gateway with the shared guardrail service (as deployed): checks go over HTTP, and when the
service is down the replica is not ready and nothing unchecked is spoken (fail closed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gateway_support import People
from tutorplane.gateway.testing import ApiClient, GatewayProcess
from tutorplane.guardrail_service.app import create_app
from tutorplane.guardrail_service.settings import GuardrailServiceSettings
from tutorplane.guardrail_service.testing import ServiceThread

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def guardrail_service(emulator: Any) -> Iterator[ServiceThread]:
    settings = GuardrailServiceSettings(
        environment="test",
        openai_api_key="sk-offline-emulator",
        openai_base_url=emulator.openai_base_url,
        log_json=False,
    )
    service = ServiceThread(create_app(settings)).start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def gateway(
    gateway_env: dict[str, str], guardrail_service: ServiceThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    env = {**gateway_env, "TUTOR_GUARDRAIL_URL": guardrail_service.url, "TUTOR_READINESS_CACHE_S": "0"}
    log = tmp_path_factory.mktemp("gateway-guardrail") / "gateway.log"
    with GatewayProcess(env, log_path=log) as process:
        yield process


def test_checks_go_through_the_service_and_an_outage_fails_closed(
    gateway: GatewayProcess, guardrail_service: ServiceThread, people: People, emulator: Any
) -> None:
    _, token = people.student()
    client = ApiClient(gateway.url)
    client.use_token(token)
    session = client.create_session()["session_id"]
    assert client.get("/readyz").json()["checks"]["guardrail"] == "ok"

    emulator.script.moderation("gory", {"violence/graphic": 0.95})
    emulator.script.messages("Seven times eight is fifty-six. A gory aside here. That is all.")
    events = client.turn(session, "What is 7 times 8?", speak=False)
    actions = [e.data["action"] for e in events if e.event == "guardrail"]
    assert actions == ["block"]
    texts = [e.data["text"] for e in events if e.event == "sentence"]
    assert texts[0] == "Seven times eight is fifty-six." and all("gory" not in t for t in texts)

    guardrail_service.stop()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["degraded"] == ["guardrail"]
    assert ready.json()["checks"]["guardrail"] != "ok"
    emulator.script.messages("Seven times eight is fifty-six. Count eight groups of seven.")
    events = client.turn(session, "What is 7 times 8?", speak=False)
    assert events[-1].data["outcome"] == "completed"
    spoken = [e.data["text"] for e in events if e.event == "sentence"]
    assert spoken and all("fifty-six" not in t and "groups" not in t for t in spoken)  # nothing unchecked
    output = [e for e in events if e.event == "guardrail" and e.data["direction"] == "output"]
    assert len(output) == 2 and {e.data["fail_closed"] for e in output} == {True}
    # Both sentences fail closed to the same safe line: the student gets it once, not twice.
    assert len(spoken) == 1
    assert events[-1].data["sentences"] == 1 and events[-1].data["checked"] == 2
    client.close()
