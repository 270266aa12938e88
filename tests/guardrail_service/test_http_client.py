"""HttpGuardrailClient against the real service, and failing closed when the service is down, hung or broken."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tutorplane.common.settings import Environment
from tutorplane.guardrail.decision import CheckContext
from tutorplane.guardrail.http_client import HttpGuardrailClient
from tutorplane.guardrail.pipeline import GuardedStream, check_input
from tutorplane.guardrail.policy import Action, Direction, GuardrailPolicy
from tutorplane.guardrail.testing import RecordingHook, RunningService, scripted_deltas
from tutorplane.guardrail_service.app import create_app
from tutorplane.guardrail_service.settings import GuardrailServiceSettings
from tutorplane.guardrail_service.testing import ServiceThread

pytestmark = pytest.mark.integration

SAFE = GuardrailPolicy().safe_lines
CTX = CheckContext(source="gateway", age_band="14-16")


@pytest.fixture
async def client(guardrail_service: RunningService) -> AsyncIterator[HttpGuardrailClient]:
    c = HttpGuardrailClient(guardrail_service.url, timeout_s=3.0)
    yield c
    await c.aclose()


async def test_stream_through_the_service(
    client: HttpGuardrailClient, guardrail_service: RunningService
) -> None:
    guardrail_service.emulator.script.moderation("graphic gore", {"violence/graphic": 0.8})
    hook = RecordingHook()
    text = "Let's count to three together. Then some graphic gore appears. And we finish the sum."
    stream = GuardedStream(scripted_deltas([text]), client, context=CTX, on_event=hook)
    async with stream:
        released = [s async for s in stream]
    assert [s.action for s in released] == [Action.allow, Action.block, Action.allow]
    assert released[1].text == SAFE.block and released[1].category == "violence/graphic"
    assert released[1].original == "Then some graphic gore appears."
    assert [e.kind for e in hook.events] == ["sentence"]


async def test_input_through_the_service(
    client: HttpGuardrailClient, guardrail_service: RunningService
) -> None:
    decision = await check_input("I'm Ana Ruiz and I want to hurt myself", client, context=CTX)
    assert decision.escalate and decision.text == "I'm [NAME] and I want to hurt myself"
    assert decision.original == "I'm Ana Ruiz and I want to hurt myself"
    (sent,) = guardrail_service.emulator.script.requests("moderations")
    assert sent["input"] == ["I'm [NAME] and I want to hurt myself"]


async def test_service_down_fails_closed_for_output_and_masks_input() -> None:
    import socket

    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = HttpGuardrailClient(f"http://127.0.0.1:{port}")
    try:
        (out,) = await client.check(["Any sentence."], direction=Direction.output, context=CTX)
        assert out.fail_closed and out.action == Action.block and out.text == SAFE.fallback
        assert out.reason == "unavailable:service_unreachable"
        (inp,) = await client.check(["my email is kid@example.com"], direction=Direction.input, context=CTX)
        assert inp.action == Action.allow and inp.text == "my email is [EMAIL]" and inp.unchecked
    finally:
        await client.aclose()


@pytest.fixture
async def silent_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """Accepts connections and reads requests but never answers (a hung service)."""
    seen: list[bytes] = []
    release = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.read(65536))
        await release.wait()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", seen
    release.set()
    server.close()
    await server.wait_closed()


async def test_hung_service_fails_closed_after_the_client_timeout(
    silent_server: tuple[str, list[bytes]],
) -> None:
    url, seen = silent_server
    client = HttpGuardrailClient(url, timeout_s=0.2)
    try:
        (out,) = await client.check(["Any sentence."], direction=Direction.output, context=CTX)
    finally:
        await client.aclose()
    assert seen and seen[0].startswith(b"POST /v1/check")
    assert out.fail_closed and out.reason == "unavailable:service_timeout"


async def test_a_hung_service_opens_the_breaker_and_a_trial_closes_it(
    silent_server: tuple[str, list[bytes]], guardrail_service: RunningService
) -> None:
    url, seen = silent_server
    client = HttpGuardrailClient(url, timeout_s=0.2, breaker_failures=2, breaker_open_s=0.5)
    loop = asyncio.get_running_loop()
    try:
        for _ in range(2):  # each waits out the timeout
            (out,) = await client.check(["Any sentence."], direction=Direction.output, context=CTX)
            assert out.reason == "unavailable:service_timeout"
        started = loop.time()
        outs = await asyncio.gather(
            *(client.check([f"Sentence {i}."], direction=Direction.output, context=CTX) for i in range(5))
        )
        # Open: fail closed at once, without a request (a turn no longer waits 0.2 s per check).
        assert loop.time() - started < 0.1 and len(seen) == 2
        assert {o.reason for (o,) in outs} == {"unavailable:service_circuit_open"}
        assert all(o.fail_closed and o.text == SAFE.fallback for (o,) in outs)
        # Input still gets its PII masked on the fast path.
        (inp,) = await client.check(["my email is kid@example.com"], direction=Direction.input, context=CTX)
        assert inp.text == "my email is [EMAIL]" and inp.reason == "unavailable:service_circuit_open"

        # The service is back (same client, now pointed at a working one): after the open period one
        # trial goes through, and with its success every check does again.
        client.base_url = guardrail_service.url
        await client.aclose()  # the next call opens a session to the new address
        await asyncio.sleep(0.5)
        (back,) = await client.check(["We add the tens first."], direction=Direction.output, context=CTX)
        assert back.action == Action.allow and not back.fail_closed
        both = await asyncio.gather(
            *(
                client.check([f"Then the ones {i}."], direction=Direction.output, context=CTX)
                for i in range(2)
            )
        )
        assert all(o.action == Action.allow for (o,) in both)
    finally:
        await client.aclose()


def test_breaker_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="breaker_failures"):
        HttpGuardrailClient("http://127.0.0.1:1", breaker_failures=0)


@pytest.fixture
async def broken_server() -> AsyncIterator[str]:
    """Answers with a 500, then a result list of the wrong length, then something that is not JSON."""
    answers = [
        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 2\r\n\r\n{}",
        b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{"results": []}',
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
    ]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(answers.pop(0))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    server.close()


async def test_broken_service_answers_fail_closed(broken_server: str) -> None:
    client = HttpGuardrailClient(broken_server)
    try:
        reasons = []
        for _ in range(3):
            (out,) = await client.check(["Any sentence."], direction=Direction.output, context=CTX)
            assert out.fail_closed and out.text == SAFE.fallback
            reasons.append(out.reason)
    finally:
        await client.aclose()
    assert reasons == [
        "unavailable:service_http_500",
        "unavailable:service_bad_response",  # wrong number of results
        "unavailable:service_bad_response",  # not JSON
    ]


def test_client_refuses_bad_urls() -> None:
    with pytest.raises(ValueError, match="must start with http"):
        HttpGuardrailClient("guardrail:8090")


# -- a dedicated service instance: OTEL spans and connection reuse --------------------------------


@pytest.fixture(scope="module")
def traced_service(emulator: Any) -> Iterator[tuple[ServiceThread, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = GuardrailServiceSettings(
        environment=Environment.test, openai_base_url=emulator.openai_base_url
    )
    with ServiceThread(create_app(settings, tracer_provider=provider)) as service:
        yield service, exporter


async def test_spans_and_connection_reuse(traced_service: tuple[ServiceThread, InMemorySpanExporter]) -> None:
    service, exporter = traced_service
    exporter.clear()
    client = HttpGuardrailClient(service.url)
    try:
        for i in range(5):
            await client.check(
                [f"Sentence number {i} is here."],
                direction=Direction.output,
                context=CheckContext(session_id="00000000-0000-4000-8000-0000000000aa", source="agent:math"),
            )
        # One pooled keep-alive connection served all five requests.
        assert len(service.server.server_state.connections) == 1
        assert service.server.server_state.total_requests >= 5
        assert await client.healthy()
    finally:
        await client.aclose()
    # Only the service's own spans: FastAPI's per-request spans (probes included) are off.
    assert {s.name for s in exporter.get_finished_spans()} == {"guardrail.check"}
    spans = [s for s in exporter.get_finished_spans() if s.name == "guardrail.check"]
    assert len(spans) == 5
    attributes = dict(spans[0].attributes or {})
    assert attributes["guardrail.direction"] == "output" and attributes["guardrail.texts"] == 1
    assert attributes["guardrail.source"] == "agent:math"
    assert attributes["langfuse.session.id"] == "00000000-0000-4000-8000-0000000000aa"
    assert list(attributes["guardrail.actions"]) == ["allow"]  # type: ignore[arg-type]
    assert not any("Sentence number" in str(v) for v in attributes.values())  # no raw text in spans
