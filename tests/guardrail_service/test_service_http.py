"""The guardrail service over real HTTP (uvicorn on loopback, started once per run) with the emulator behind it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tutorplane.guardrail.policy import GuardrailPolicy
from tutorplane.guardrail.testing import RunningService

pytestmark = pytest.mark.integration

SAFE = GuardrailPolicy().safe_lines


@pytest.fixture
async def http(guardrail_service: RunningService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=guardrail_service.url, timeout=5.0) as client:
        yield client


async def test_probes(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["moderation_model"] == "omni-moderation-latest"


async def test_output_batch_decisions(http: httpx.AsyncClient, guardrail_service: RunningService) -> None:
    guardrail_service.emulator.script.moderation("something explicit", {"sexual": 0.9})
    session_id = str(uuid.uuid4())
    response = await http.post(
        "/v1/check",
        json={
            "texts": ["Seven times eight is fifty-six.", "Here is something explicit."],
            "direction": "output",
            "context": {"session_id": session_id, "source": "agent:math", "age_band": "11-13"},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["direction"] == "output" and body["model"] == "omni-moderation-latest"
    clean, blocked = body["results"]
    assert clean["action"] == "allow" and clean["text"] == "Seven times eight is fifty-six."
    assert not clean["flagged"] and not clean["fail_closed"]
    assert blocked["action"] == "block" and blocked["category"] == "sexual" and blocked["flagged"]
    assert blocked["text"] == SAFE.block and blocked["score"] == pytest.approx(0.9)


async def test_input_is_masked_before_moderation_and_escalates(
    http: httpx.AsyncClient, guardrail_service: RunningService
) -> None:
    response = await http.post(
        "/v1/check",
        json={
            "texts": ["My name is Sam Lee, sam@example.com, and I want to hurt myself"],
            "direction": "input",
        },
    )
    (result,) = response.json()["results"]
    assert result["action"] == "escalate" and result["escalate"]
    assert result["text"] == "My name is [NAME], [EMAIL], and I want to hurt myself"
    assert result["pii"] == ["email", "name"] and result["safe_line"] == SAFE.self_harm
    (sent,) = guardrail_service.emulator.script.requests("moderations")
    assert sent["input"] == [result["text"]]  # the raw name and address never left the service


async def test_rewrite_via_emulator_chat(http: httpx.AsyncClient, guardrail_service: RunningService) -> None:
    guardrail_service.emulator.script.moderation("were slaughtered", {"violence": 0.85})
    guardrail_service.emulator.script.chat("Many people lost their lives in that battle.")
    response = await http.post(
        "/v1/check", json={"texts": ["Thousands were slaughtered in the battle."], "direction": "output"}
    )
    (result,) = response.json()["results"]
    assert (result["action"], result["reason"]) == ("rewrite", "rewritten")
    assert result["text"] == "Many people lost their lives in that battle."


@pytest.mark.parametrize("failure", [{"status": 500}, {"status": 0, "delay_s": 2.0}], ids=["500", "timeout"])
async def test_moderation_failure_fails_closed_with_200(
    http: httpx.AsyncClient, guardrail_service: RunningService, failure: dict[str, Any]
) -> None:
    guardrail_service.emulator.script.fail("moderations", **failure)
    response = await http.post(
        "/v1/check", json={"texts": ["Hello there.", "Another one."], "direction": "output"}
    )
    assert response.status_code == 200
    for result in response.json()["results"]:
        assert result["fail_closed"] and result["action"] == "block" and result["text"] == SAFE.fallback
        assert result["reason"].startswith("unavailable:")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"texts": [], "direction": "output"}, "texts: List should have at least 1 item"),
        ({"texts": ["hi"], "direction": "sideways"}, "direction: Input should be 'input' or 'output'"),
        ({"texts": [""], "direction": "output"}, "texts.0: String should have at least 1 character"),
        (
            {"texts": ["x" * 4001], "direction": "output"},
            "texts.0: String should have at most 4000 characters",
        ),
        ({"texts": ["hi"] * 65, "direction": "output"}, "texts: List should have at most 64 items"),
        ({"texts": ["hi"], "direction": "output", "context": {"session_id": "abc"}}, "context.session_id"),
        ({"texts": ["hi"], "direction": "output", "context": {"age_band": "5-7"}}, "context.age_band"),
        ({"texts": ["hi"], "direction": "output", "context": {"source": "Bad Source"}}, "context.source"),
        ({"texts": ["hi"], "direction": "output", "extra": 1}, "extra: Extra inputs are not permitted"),
        ({"direction": "output"}, "texts: Field required"),
    ],
)
async def test_invalid_requests_get_clear_422s(
    http: httpx.AsyncClient, payload: dict[str, Any], message: str
) -> None:
    response = await http.post("/v1/check", json=payload)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request" and message in body["message"]
    assert "Expected {" in body["message"]
    assert "input" not in str(body["detail"][0].keys())  # the child's text is never echoed


async def test_malformed_json_is_a_422(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/v1/check", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and "JSON decode error" in response.json()["message"]


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
async def test_oversized_body_is_refused(
    http: httpx.AsyncClient, guardrail_service: RunningService, streamed: bool
) -> None:
    limit = guardrail_service.settings.max_body_bytes
    parts = [b'{"texts": ["', b"a" * limit, b'"], "direction": "output"}']

    async def chunks() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    response = await http.post(
        "/v1/check",
        content=chunks() if streamed else b"".join(parts),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": "request_too_large",
        "message": f"request body over {limit} bytes; send fewer or shorter texts per request",
    }


async def test_metrics_count_checks_actions_and_latency(
    http: httpx.AsyncClient, guardrail_service: RunningService
) -> None:
    guardrail_service.emulator.script.moderation("metricword", {"hate/threatening": 0.9})
    await http.post("/v1/check", json={"texts": ["metricword here", "fine"], "direction": "output"})
    text = (await http.get("/metrics")).text
    assert 'tutorplane_guardrail_checks_total{direction="output"}' in text
    assert (
        'tutorplane_guardrail_actions_total{action="block",category="hate/threatening",direction="output"}'
        in text
    )
    assert 'tutorplane_guardrail_check_seconds_bucket{direction="output",le="0.05"}' in text


async def test_unknown_route_and_method(http: httpx.AsyncClient) -> None:
    assert (await http.get("/v1/check")).status_code == 405
    missing = await http.get("/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


async def test_not_ready_before_start_up() -> None:
    """Without the lifespan having run (no checker yet) the service says so instead of guessing."""
    from tutorplane.common.settings import Environment
    from tutorplane.guardrail_service.app import create_app
    from tutorplane.guardrail_service.settings import GuardrailServiceSettings

    app = create_app(
        GuardrailServiceSettings(environment=Environment.test, openai_base_url="http://127.0.0.1:9/v1")
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://guardrail") as client:
        assert (await client.get("/readyz")).status_code == 503
        response = await client.post("/v1/check", json={"texts": ["hi"], "direction": "output"})
        assert response.status_code == 503 and response.json()["error"] == "unavailable"
        assert (await client.get("/healthz")).status_code == 200
