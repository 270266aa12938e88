"""The app in-process (ASGI transport): trace spans, CORS allowlist, a variant without its backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from gateway_support import CSRF_SECRET, GENEROUS_LIMITS, JWT_SECRET, People
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tutorplane.gateway.app import create_app
from tutorplane.gateway.core.config import GatewaySettings
from tutorplane.gateway.testing import parse_sse

pytestmark = pytest.mark.integration

ALLOWED_ORIGIN = "https://app.school.test"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
        provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


@pytest.fixture
def settings(seeded_dsn: str, redis_url: str, emulator: Any) -> GatewaySettings:
    return GatewaySettings(
        environment="test",
        deployment="gw-inproc",
        database_url=seeded_dsn,
        redis_url=redis_url,
        openai_api_key="sk-offline-emulator",
        anthropic_api_key="sk-ant-offline-emulator",
        openai_base_url=emulator.openai_base_url,
        anthropic_base_url=emulator.anthropic_base_url,
        jwt_secret=JWT_SECRET,
        csrf_secret=CSRF_SECRET,
        cookie_secure=False,
        cors_origins=[ALLOWED_ORIGIN],
        rate_limits=GENEROUS_LIMITS,
        default_weights={"A": 0, "B": 100},  # no LiveKit here: weighted sessions go to B
    )


@asynccontextmanager
async def running(settings: GatewaySettings, token: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway.test", timeout=30
        ) as client:
            client.headers["Authorization"] = f"Bearer {token}"
            csrf = (await client.get("/api/auth/csrf")).json()["token"]
            client.headers["X-CSRF-Token"] = csrf
            client.cookies.set("tutor_csrf", csrf)
            yield client


async def test_turn_and_browser_event_spans_carry_session_user_and_latency(
    settings: GatewaySettings, people: People, spans: InMemorySpanExporter
) -> None:
    student_id, token = people.student()
    async with running(settings, token) as client:
        created = await client.post("/api/sessions", json={}, headers={"X-Forwarded-For": "203.0.113.5"})
        assert created.status_code == 201, created.text
        session = created.json()["session_id"]
        response = await client.post(f"/api/sessions/{session}/turns", json={"text": "What is 2 plus 2?"})
        events = list(parse_sse(iter(response.text.split("\n"))))
        assert events[-1].event == "done"
        accepted = await client.post(
            "/api/events",
            json={"name": "audio.first_play", "session_id": session, "attributes": {"latency_ms": 310}},
        )
        assert accepted.json()["accepted"] is True
        assert (await client.get("/healthz")).status_code == 200
    finished = spans.get_finished_spans()
    by_name = {s.name: s for s in finished}
    turn = by_name["tutor.turn"]
    # FastAPI's own request spans are off: a turn is the root of its trace (Langfuse groups it by the
    # session and user ids it carries) and probes or API calls leave no traces of their own.
    assert turn.parent is None
    assert not [s.name for s in finished if s.name.startswith(("fastapi.", "GET ", "POST "))]
    assert turn.attributes is not None
    assert turn.attributes["langfuse.session.id"] == session
    assert turn.attributes["langfuse.user.id"] == student_id
    assert turn.attributes["e2e_response_ms"] > 0
    assert turn.attributes["tutorplane.subject"] == "math"
    browser = by_name["frontend.audio.first_play"]
    assert browser.attributes is not None
    assert browser.attributes["frontend.latency_ms"] == 310
    assert browser.attributes["langfuse.session.id"] == session


async def test_version_a_without_livekit_answers_variant_unavailable(
    settings: GatewaySettings, people: People
) -> None:
    student_id, _ = people.student()
    _, teacher_token = people.demo_teacher()
    async with running(settings, teacher_token) as client:
        response = await client.post("/api/sessions?variant=A", json={"student_id": student_id})
        assert response.status_code == 503
        assert (
            "version A is unavailable" in response.json()["detail"] and "LiveKit" in response.json()["detail"]
        )
        config = (await client.get("/api/config")).json()
        assert config["variants_enabled"] == {"A": False, "B": True} and config["offline"] is True


async def test_cors_allows_only_the_configured_origin(settings: GatewaySettings, people: People) -> None:
    _, token = people.student()
    async with running(settings, token) as client:
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-csrf-token",
        }
        allowed = await client.options("/api/sessions", headers={"Origin": ALLOWED_ORIGIN, **preflight})
        assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert allowed.headers["access-control-allow-credentials"] == "true"
        denied = await client.options("/api/sessions", headers={"Origin": "https://evil.test", **preflight})
        assert "access-control-allow-origin" not in denied.headers
        simple = await client.get("/api/config", headers={"Origin": "https://evil.test"})
        assert "access-control-allow-origin" not in simple.headers
