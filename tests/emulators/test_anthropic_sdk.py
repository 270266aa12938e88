"""The real `anthropic.AsyncAnthropic` client against the emulator over loopback sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import pytest
from tutorplane.emulators import EmulatorThread

pytestmark = pytest.mark.integration

CLASSIFY = {
    "name": "classify_subject",
    "description": "Classify the student's question.",
    "input_schema": {
        "type": "object",
        "properties": {
            "subject": {"type": "string", "enum": ["math", "history", "english", "other"]},
            "confidence": {"type": "number"},
            "rationale": {"type": "string"},
        },
        "required": ["subject", "confidence", "rationale"],
    },
}


@pytest.fixture
async def client(emulator: EmulatorThread) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        api_key="sk-ant-test", base_url=emulator.anthropic_base_url, max_retries=0
    ) as c:
        yield c


async def test_streamed_text_follows_the_event_sequence(client: anthropic.AsyncAnthropic) -> None:
    events: list[str] = []
    async with client.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=300,
        system="You are a patient math tutor.",
        messages=[{"role": "user", "content": "What is 12 plus 5?"}],
    ) as stream:
        async for event in stream:
            events.append(event.type)
        message = await stream.get_final_message()
    assert events[0] == "message_start"
    assert events[-1] == "message_stop"
    assert events.count("text") > 5, "text must stream as several deltas"
    assert "content_block_stop" in events and "message_delta" in events
    assert message.stop_reason == "end_turn"
    assert message.content[0].type == "text" and "17" in message.content[0].text
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 1


async def test_forced_tool_use_streams_input_json(client: anthropic.AsyncAnthropic) -> None:
    async with client.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=200,
        tools=[CLASSIFY],  # type: ignore[list-item]
        tool_choice={"type": "tool", "name": "classify_subject"},
        messages=[{"role": "user", "content": "What is an adverb?"}],
    ) as stream:
        json_deltas = [event async for event in stream if event.type == "input_json"]
        message = await stream.get_final_message()
    assert len(json_deltas) > 1
    assert message.stop_reason == "tool_use"
    block = message.content[0]
    assert block.type == "tool_use" and block.name == "classify_subject" and block.id.startswith("toolu_")
    assert block.input["subject"] == "english"  # type: ignore[index]
    assert set(block.input) == {"subject", "confidence", "rationale"}  # type: ignore[arg-type]


async def test_scripted_reply_and_tool_use(
    client: anthropic.AsyncAnthropic, emulator: EmulatorThread
) -> None:
    emulator.script.messages("Scripted answer.", match="pyramids")
    emulator.script.messages(tool_use={"name": "escalate", "input": {"reason": "distress"}})
    first = await client.messages.create(
        model="claude-sonnet-4-6", max_tokens=50, messages=[{"role": "user", "content": "I feel sad"}]
    )
    assert first.content[0].type == "tool_use" and first.content[0].input == {"reason": "distress"}
    second = await client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=50,
        messages=[{"role": "user", "content": "Who built the Pyramids?"}],
    )
    assert second.content[0].type == "text" and second.content[0].text == "Scripted answer."


async def test_tool_result_is_answered_with_text(client: anthropic.AsyncAnthropic) -> None:
    message = await client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=200,
        tools=[CLASSIFY],  # type: ignore[list-item]
        messages=[
            {"role": "user", "content": "What is 3 times 4?"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "classify_subject", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "math"}],
            },
        ],
    )
    assert message.stop_reason == "end_turn"
    assert message.content[0].type == "text" and "12" in message.content[0].text


async def test_errors_use_the_anthropic_shape(emulator: EmulatorThread) -> None:
    async with anthropic.AsyncAnthropic(
        api_key="k", base_url=emulator.anthropic_base_url, max_retries=0
    ) as c:
        emulator.script.fail("messages", status=429, retry_after_s=3)
        with pytest.raises(anthropic.RateLimitError) as limited:
            await c.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
        assert limited.value.response.headers["retry-after"] == "3"
        with pytest.raises(anthropic.BadRequestError, match="max_tokens"):
            await c.messages.create(model="m", max_tokens=0, messages=[{"role": "user", "content": "hi"}])
    import httpx

    async with httpx.AsyncClient() as http:
        response = await http.post(f"{emulator.anthropic_base_url}/v1/messages", json={})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
