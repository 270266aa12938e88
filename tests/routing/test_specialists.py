"""Specialists stream through the real openai/anthropic SDKs against the emulator; model API
errors (429, 500, timeout, mid-stream stall) become a polite fallback and a counted error."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import REGISTRY
from tutorplane.common.settings import ModelSettings
from tutorplane.routing.clients import ProviderClients
from tutorplane.routing.prompts import FALLBACK_BEFORE_ANSWER, FALLBACK_MID_ANSWER
from tutorplane.routing.settings import RoutingSettings
from tutorplane.routing.specialists import (
    HistorySpecialist,
    MathSpecialist,
    Specialist,
    Specialists,
    build_specialists,
)
from tutorplane.routing.types import RoutingDecision, Stage, Strategy, Subject, Turn

pytestmark = pytest.mark.integration

HISTORY = [
    Turn("user", "what is a fraction", Subject.math),
    Turn("assistant", "A part of a whole.", Subject.math),
]


def errors(specialist: str, reason: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "tutorplane_specialist_errors_total", {"specialist": specialist, "reason": reason}
        )
        or 0.0
    )


async def collect(
    specialist: Specialist, question: str, history: list[Turn] | None = None
) -> tuple[list[str], Any]:
    reply = specialist.stream(question, history or [])
    deltas = [delta async for delta in reply]
    return deltas, reply


async def test_math_streams_through_anthropic(routing_specialists: Specialists, emulator: Any) -> None:
    # Paced like a model: text that arrives apart is passed on apart (one read's worth is joined).
    emulator.script.messages(
        "Let's do it step by step. Three quarters is the same as six eighths. Add one eighth!",
        chunk_delay_s=0.01,
    )
    deltas, reply = await collect(routing_specialists.math, "what is 3/4 plus 1/8", HISTORY)
    assert len(deltas) > 1, "the answer must arrive as several deltas, not one block"
    assert "".join(deltas).startswith("Let's do it step by step.")
    assert reply.error is None
    assert reply.usage is not None and reply.usage.provider == "anthropic"
    assert reply.usage.model == ModelSettings().math_model and reply.usage.output_tokens > 0
    (request,) = emulator.script.requests("messages")
    assert request["stream"] is True and request["model"] == ModelSettings().math_model
    assert "8-16" in request["system"] and "clarifying question" in request["system"]
    assert [m["role"] for m in request["messages"]] == ["user", "assistant", "user"]
    assert request["messages"][-1]["content"] == "<student>what is 3/4 plus 1/8</student>"
    assert request["temperature"] == ModelSettings().math_temperature


async def test_history_streams_through_openai(routing_specialists: Specialists, emulator: Any) -> None:
    emulator.script.chat(
        "The Great Fire of London started in a bakery in 1666. It burned for four days.", chunk_delay_s=0.01
    )
    deltas, reply = await collect(routing_specialists.history, "how did the great fire start")
    assert len(deltas) > 1 and "bakery" in "".join(deltas)
    assert reply.usage is not None and reply.usage.provider == "openai" and reply.usage.output_tokens > 0
    row = reply.usage.to_row("sid", 2)
    assert row["kind"] == "chat" and row["model"] == ModelSettings().history_model
    (request,) = emulator.script.requests("chat")
    assert request["stream"] is True and request["stream_options"] == {"include_usage": True}
    assert request["messages"][0]["role"] == "system" and "history tutor" in request["messages"][0]["content"]


async def test_unscripted_offline_answers_stream_too(routing_specialists: Specialists) -> None:
    math_text = await routing_specialists.math.stream("what is 6 times 7").text()
    history_text = await routing_specialists.history.stream("who was napoleon").text()
    english_text = await routing_specialists.english_text.stream("what is a simile").text()
    for text in (math_text, history_text, english_text):
        assert text and text not in (FALLBACK_BEFORE_ANSWER, FALLBACK_MID_ANSWER)
        # The offline tutor answers the student's words, not the <student> fence around them.
        assert "student>" not in text, text
    assert "42" in math_text
    # The math specialist answers as the math tutor even when the question names no math word.
    assert "15% of 80 is 12." in await routing_specialists.math.stream("what's 15% of 80").text()
    assert "question about napoleon!" in history_text
    assert "question about a simile." in english_text


@pytest.mark.parametrize(
    ("status", "reason"), [(429, "rate_limited"), (500, "server_error"), (503, "server_error")]
)
@pytest.mark.parametrize(("name", "route"), [("math", "messages"), ("history", "chat")])
async def test_api_errors_become_a_polite_fallback(
    routing_specialists: Specialists, emulator: Any, status: int, reason: str, name: str, route: str
) -> None:
    emulator.script.fail(route, status=status)
    before = errors(name, reason)
    deltas, reply = await collect(getattr(routing_specialists, name), "what is 7 times 8")
    assert deltas == [FALLBACK_BEFORE_ANSWER]
    assert reply.error == reason
    assert errors(name, reason) == before + 1


@pytest.mark.parametrize(("name", "route"), [("math", "messages"), ("history", "chat")])
async def test_timeout_becomes_a_polite_fallback(
    emulator_clients: ProviderClients, emulator: Any, name: str, route: str
) -> None:
    specialists = build_specialists(
        emulator_clients, ModelSettings(), RoutingSettings(specialist_timeout_s=0.3)
    )
    emulator.script.fail(route, status=0, delay_s=2.0)
    before = errors(name, "timeout")
    deltas, reply = await collect(getattr(specialists, name), "who was napoleon")
    assert deltas == [FALLBACK_BEFORE_ANSWER] and reply.error == "timeout"
    assert errors(name, "timeout") == before + 1


async def test_stall_mid_answer_ends_with_an_apology(
    emulator_clients: ProviderClients, emulator: Any
) -> None:
    math = MathSpecialist(emulator_clients.anthropic, model="m", timeout_s=0.3)
    emulator.script.messages("One. Two. Three. Four. Five. Six.", chunk_delay_s=1.0)
    deltas, reply = await collect(math, "count to six")
    assert len(deltas) >= 2 and deltas[-1] == FALLBACK_MID_ANSWER
    assert reply.error == "timeout"


async def test_consumer_can_stop_early(emulator_clients: ProviderClients, emulator: Any) -> None:
    history = HistorySpecialist(emulator_clients.openai, model="h")
    emulator.script.chat("One. Two. Three. Four. Five. Six. Seven. Eight.", chunk_delay_s=0.05)
    reply = history.stream("count")
    iterator = aiter(reply)
    first = await anext(iterator)
    assert first
    await iterator.aclose()  # type: ignore[attr-defined]
    assert reply.error is None


async def test_cancellation_propagates(emulator_clients: ProviderClients, emulator: Any) -> None:
    math = MathSpecialist(emulator_clients.anthropic, model="m")
    emulator.script.messages("slow", delay_s=5.0)

    async def consume() -> str:
        return await math.stream("q").text()

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_specialists_for_subject(routing_specialists: Specialists) -> None:
    for subject in Subject:
        assert routing_specialists.for_subject(subject).subject is subject
    assert routing_specialists.english_realtime.voice == ModelSettings().english_voice


@pytest.mark.parametrize(
    ("subject", "confidence", "expected"),
    [
        (Subject.math, 0.9, "math"),
        (Subject.math, 0.2, "clarify"),
        (Subject.needs_teacher, 0.1, "needs_teacher"),
        (Subject.off_topic, 0.1, "off_topic"),
    ],
)
def test_unsure_decisions_get_a_clarifying_question(
    routing_specialists: Specialists, subject: Subject, confidence: float, expected: str
) -> None:
    decision = RoutingDecision(subject, confidence, Strategy.two_stage, Stage.llm, 1.0, "r")
    assert routing_specialists.for_decision(decision).name == expected
