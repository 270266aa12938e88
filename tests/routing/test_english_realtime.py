"""The English Realtime session through the real openai SDK's realtime websocket against the
emulator: our session config is accepted, the routed question is carried over, and a hand_back
call parses into the HandBack contract."""

from __future__ import annotations

from typing import Any

import pytest
from tutorplane.common.settings import ModelSettings
from tutorplane.routing.clients import ProviderClients
from tutorplane.routing.local import LocalClassifier
from tutorplane.routing.specialists import (
    HAND_BACK_TOOL,
    EnglishRealtimeConfig,
    HandBack,
    HandBackReason,
    function_call_output,
)
from tutorplane.routing.types import Subject, Turn

pytestmark = pytest.mark.integration


async def run_session(clients: ProviderClients, config: EnglishRealtimeConfig, question: str) -> list[Any]:
    events: list[Any] = []
    async with clients.openai.realtime.connect(model=config.model) as connection:
        await connection.session.update(session=config.session())  # type: ignore[arg-type]
        for client_event in config.opening_events(
            question, [Turn("user", "hi", None), Turn("assistant", "Hello!", None)]
        ):
            await connection.send(client_event)  # type: ignore[arg-type]
        async for server_event in connection:
            events.append(server_event)
            if server_event.type in ("response.done", "error"):
                break
    return events


async def test_english_session_answers_the_carried_question(
    emulator_clients: ProviderClients, emulator: Any
) -> None:
    config = EnglishRealtimeConfig.from_settings(ModelSettings())
    emulator.script.realtime("A simile compares two things using like or as.")
    events = await run_session(emulator_clients, config, "what is a simile")
    types = [e.type for e in events]
    assert "error" not in types, [e for e in events if e.type == "error"]
    assert "session.updated" in types and types[-1] == "response.done"
    spoken = "".join(
        getattr(e, "delta", "")
        for e in events
        if e.type in ("response.output_audio_transcript.delta", "response.output_text.delta")
    )
    assert "simile" in spoken


async def test_hand_back_call_parses_into_the_contract(
    emulator_clients: ProviderClients, emulator: Any, routing_local: LocalClassifier
) -> None:
    config = EnglishRealtimeConfig.from_settings(ModelSettings())
    emulator.script.realtime(
        tool_calls=[
            {
                "name": HAND_BACK_TOOL["name"],
                "arguments": {"question": "what is 7 times 8", "reason": "other_subject"},
            }
        ]
    )
    events = await run_session(emulator_clients, config, "what is 7 times 8")
    calls = [
        e.item
        for e in events
        if e.type == "response.output_item.done" and getattr(e.item, "type", None) == "function_call"
    ]
    assert calls, [e.type for e in events]
    call = calls[0]
    assert call.name == "hand_back"
    back = HandBack.from_arguments(call.arguments)
    assert back == HandBack("what is 7 times 8", HandBackReason.other_subject)
    assert function_call_output(call.call_id)["item"]["call_id"] == call.call_id
    assert HandBack.from_metadata(back.to_metadata()) == back
    # The orchestrator routes the carried question as the next student turn.
    assert routing_local.classify(back.question).subject is Subject.math
