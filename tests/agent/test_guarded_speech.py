"""Nothing reaches speech unchecked: output sentences go through the shared guardrail before the TTS
(the real OpenAI TTS plugin, recorded by the emulator), student input is moderated and PII-masked,
and ``tts_node`` yields audio frames."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from livekit import rtc
from tutorplane.agent.agents.orchestrator import OrchestratorAgent
from tutorplane.agent.testing import AgentHarness, CapturingAudioOutput, emulator_agent_settings
from tutorplane.guardrail.policy import SafeLines

pytestmark = pytest.mark.integration

UNSAFE = "There was blood everywhere on the field."
SAFE_BLOCK = SafeLines().block


def spoken(emulator) -> list[str]:
    """Every text the TTS was asked to synthesize."""
    return [r.get("input", "") for r in emulator.script.requests("speech")]


async def test_unsafe_sentence_is_blocked_before_it_reaches_tts(emulator) -> None:
    settings = emulator_agent_settings(emulator)
    emulator.script.chat(
        f"The battle of Hastings was in 1066. {UNSAFE} Then William became king.", match="Hastings"
    )
    async with AgentHarness(settings, audio=True) as h:
        await h.ask("Tell me about the battle of Hastings")
        tts_inputs = spoken(emulator)
        assert tts_inputs, "the TTS plugin was never called"
        assert not any("blood" in text for text in tts_inputs), tts_inputs
        assert SAFE_BLOCK in " ".join(tts_inputs)
        assert "William became king" in " ".join(tts_inputs)  # the rest is still spoken
        assert h.audio_out is not None and h.audio_out.frames
        assert all(isinstance(f, rtc.AudioFrame) for f in h.audio_out.items)
        # the transcript and the chat history carry the checked text too
        history_turn = [c for s, c in h.transcript() if s == "history"][-1]
        assert "blood" not in history_turn and SAFE_BLOCK in history_turn
        assert not any(
            "blood" in (i.text_content or "") for i in h.session.history.items if i.type == "message"
        )
        await h.settle()
        [event] = [e for e in h.sink.events("guardrail") if e["direction"] == "output"]
        assert (event["action"], event["category"], event["agent"]) == (
            "block",
            "violence/graphic",
            "history",
        )


async def test_escalating_sentence_stops_the_answer_and_raises_an_escalation(emulator) -> None:
    settings = emulator_agent_settings(emulator)
    emulator.script.chat(
        "Some people ask how to hurt yourself when sad. Here is more detail about it.", match="Romans"
    )
    async with AgentHarness(settings, audio=True) as h:
        await h.ask("Why were the Romans sad?")
        assert not any("how to hurt" in t for t in spoken(emulator))
        assert not any("more detail" in t for t in spoken(emulator))  # nothing after the escalation
        await h.settle()
        [escalation] = h.sink.events("escalation")
        assert escalation["source"] == "guardrail"
        assert h.state.escalated


async def test_student_input_is_moderated_and_escalated(emulator) -> None:
    settings = emulator_agent_settings(emulator)
    async with AgentHarness(settings) as h:
        before_chat = len(emulator.script.requests("messages")) + len(emulator.script.requests("chat"))
        r = await h.ask("I want to hurt myself")
        said = [e.item.text_content for e in r.events if e.type == "message"]
        assert said == [SafeLines().self_harm]
        assert [e for e in r.events if e.type == "agent_handoff"] == []
        await h.settle()
        assert h.sink.events("escalation")[0]["source"] == "student"
        input_events = [e for e in h.sink.events("guardrail") if e["direction"] == "input"]
        assert input_events[0]["action"] == "escalate"
        # no tutor model answered it
        after_chat = len(emulator.script.requests("messages")) + len(emulator.script.requests("chat"))
        assert after_chat == before_chat


async def test_pii_is_masked_before_any_model_and_in_the_transcript(emulator) -> None:
    settings = emulator_agent_settings(emulator)
    async with AgentHarness(settings) as h:
        await h.ask("My email is kid.learner@example.com, what is 7 times 8?")
        bodies = str(emulator.script.requests("messages")) + str(emulator.script.requests("moderations"))
        assert "kid.learner@example.com" not in bodies
        assert "what is 7 times 8" in bodies
        student = next(c for s, c in h.transcript() if s == "student")
        assert "kid.learner@example.com" not in student and "[EMAIL]" in student
        assert not any(
            "kid.learner@example.com" in (i.text_content or "")
            for i in h.session.history.items
            if i.type == "message"
        )


async def test_moderation_outage_fails_closed_for_speech(emulator) -> None:
    settings = emulator_agent_settings(emulator, moderation_timeout_s=0.5, guardrail_check_timeout_s=1.0)
    emulator.script.chat("The Great Wall of China is very long.", match="Great Wall")
    async with AgentHarness(settings, audio=True) as h:
        emulator.script.fail("moderations", status=500, times=50)
        await h.ask("Tell me about the Great Wall")
        assert not any("very long" in t for t in spoken(emulator))
        assert SafeLines().fallback in " ".join(spoken(emulator))


class _TextFromTtsNode(OrchestratorAgent):
    """What an earlier system did: a tts_node that yields text. The SDK drops it silently."""

    async def tts_node(self, text: Any, model_settings: Any) -> Any:  # type: ignore[override]
        async for chunk in text:
            yield chunk


async def _play(h: AgentHarness, agent: OrchestratorAgent) -> CapturingAudioOutput:
    audio = CapturingAudioOutput()
    from tutorplane.agent.session import pipeline_session

    session = pipeline_session(h.services, with_audio=False)
    session.output.audio = audio
    await session.start(agent)
    try:
        handle = session.say("Hello there. This is a test of the voice.")
        await asyncio.wait_for(handle.wait_for_playout(), 10)
    finally:
        await session.aclose()
    return audio


async def test_tts_node_yields_audio_frames_and_a_text_yielding_node_would_be_dropped(emulator) -> None:
    settings = emulator_agent_settings(emulator)
    async with AgentHarness(settings) as h:
        ours = await _play(h, OrchestratorAgent(h.services))
        assert ours.frames and all(isinstance(item, rtc.AudioFrame) for item in ours.items)
        assert ours.seconds > 0.5
        wrong = await _play(h, _TextFromTtsNode(h.services))
        assert wrong.items == []  # no frame and no error surfaced: exactly the silent failure
