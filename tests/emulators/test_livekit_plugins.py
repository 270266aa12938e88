"""The real LiveKit plugins (openai LLM/TTS/STT/realtime, anthropic LLM) pointed at the emulator."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from livekit import rtc
from livekit.agents import llm, stt
from livekit.plugins import anthropic as lk_anthropic
from livekit.plugins import openai as lk_openai
from tutorplane.emulators import EmulatorThread, audio

pytestmark = pytest.mark.integration


def chat_context(question: str) -> llm.ChatContext:
    ctx = llm.ChatContext()
    ctx.add_message(role="system", content="You are a friendly tutor for children.")
    ctx.add_message(role="user", content=question)
    return ctx


async def collect(
    stream: llm.LLMStream,
) -> tuple[str, list[llm.FunctionToolCall], llm.CompletionUsage | None]:
    text, calls, usage = "", [], None
    async with stream:
        async for chunk in stream:
            if chunk.delta is not None:
                text += chunk.delta.content or ""
                calls.extend(chunk.delta.tool_calls or [])
            usage = chunk.usage or usage
    return text, calls, usage


async def test_openai_llm_plugin_streams_text_and_usage(emulator: EmulatorThread) -> None:
    model = lk_openai.LLM(model="gpt-4.1-mini", base_url=emulator.openai_base_url, api_key="sk-test")
    try:
        text, calls, usage = await collect(model.chat(chat_ctx=chat_context("Who was Napoleon?")))
    finally:
        await model.aclose()
    assert "Napoleon" in text and "offline" in text
    assert calls == []
    assert usage is not None and usage.completion_tokens > 0 and usage.prompt_tokens > 0


async def test_openai_llm_plugin_receives_tool_calls(emulator: EmulatorThread) -> None:
    @llm.function_tool
    async def transfer_to_math(question: str) -> str:
        """Hand a math question to the math tutor."""
        return question

    model = lk_openai.LLM(model="gpt-4.1-mini", base_url=emulator.openai_base_url, api_key="sk-test")
    try:
        _, calls, _ = await collect(
            model.chat(chat_ctx=chat_context("What is 9 times 9?"), tools=[transfer_to_math])
        )
    finally:
        await model.aclose()
    assert [c.name for c in calls] == ["transfer_to_math"]
    assert '"question"' in calls[0].arguments


async def test_anthropic_llm_plugin_streams_text(emulator: EmulatorThread) -> None:
    model = lk_anthropic.LLM(
        model="claude-sonnet-4-6", base_url=emulator.anthropic_base_url, api_key="sk-ant"
    )
    text, _, usage = await collect(model.chat(chat_ctx=chat_context("What is 7 times 8?")))
    assert "56" in text
    assert usage is not None and usage.completion_tokens > 1
    recorded = emulator.script.requests("messages")[-1]
    assert recorded["system"][0]["text"] == "You are a friendly tutor for children."
    assert recorded["_headers"]["x-api-key"] == "sk-ant"


async def test_anthropic_llm_plugin_forced_tool_use(emulator: EmulatorThread) -> None:
    @llm.function_tool
    async def classify_subject(subject: str, confidence: float, rationale: str) -> str:
        """Classify the student's question into a school subject."""
        return subject

    model = lk_anthropic.LLM(
        model="claude-haiku-4-5",
        base_url=emulator.anthropic_base_url,
        api_key="sk-ant",
        tool_choice={"type": "function", "function": {"name": "classify_subject"}},
    )
    _, calls, _ = await collect(
        model.chat(chat_ctx=chat_context("When did the Vikings sail?"), tools=[classify_subject])
    )
    assert [c.name for c in calls] == ["classify_subject"]
    assert '"subject":"history"' in calls[0].arguments


@pytest.mark.parametrize("response_format", ["mp3", "pcm", "wav"])
async def test_openai_tts_plugin_yields_audio_frames(emulator: EmulatorThread, response_format: str) -> None:
    tts = lk_openai.TTS(base_url=emulator.openai_base_url, api_key="sk-test", response_format=response_format)
    text = "Seven times eight is fifty six, well done."
    frames: list[rtc.AudioFrame] = []
    try:
        async with tts.synthesize(text) as stream:
            async for event in stream:
                frames.append(event.frame)
    finally:
        await tts.aclose()
    samples = sum(f.samples_per_channel for f in frames)
    expected = len(text.split()) * audio.samples_per_word()
    assert frames and all(f.sample_rate == 24_000 for f in frames)
    assert 0.75 * expected <= samples <= 1.1 * expected, "duration must follow the text"


async def test_openai_stt_plugin_recognize_and_stream(emulator: EmulatorThread) -> None:
    pcm = audio.synthesize("what is seven times eight please")
    frame = rtc.AudioFrame(data=pcm, sample_rate=24_000, num_channels=1, samples_per_channel=len(pcm) // 2)
    batch = lk_openai.STT(base_url=emulator.openai_base_url, api_key="sk-test", use_realtime=False)
    event = await batch.recognize(buffer=[frame])
    assert event.alternatives[0].text == "What is seven times eight?"

    async with aiohttp.ClientSession() as session:
        streaming = lk_openai.STT(base_url=emulator.openai_base_url, api_key="sk-test", use_realtime=True)
        streaming._session = session  # outside a LiveKit job there is no shared http context
        stream = streaming.stream()
        silence = bytes(24_000)  # 500 ms
        for chunk in (silence, pcm, silence):
            stream.push_frame(
                rtc.AudioFrame(
                    data=chunk, sample_rate=24_000, num_channels=1, samples_per_channel=len(chunk) // 2
                )
            )

        async def final_transcript() -> list[stt.SpeechEvent]:
            seen = []
            async for ev in stream:
                seen.append(ev)
                if ev.type == stt.SpeechEventType.FINAL_TRANSCRIPT:
                    return seen
            return seen

        try:
            seen = await asyncio.wait_for(final_transcript(), 10)
        finally:
            await stream.aclose()
            await streaming.aclose()
    kinds = [ev.type for ev in seen]
    assert stt.SpeechEventType.START_OF_SPEECH in kinds and stt.SpeechEventType.END_OF_SPEECH in kinds
    assert seen[-1].alternatives[0].text == "What is seven times eight?"


@pytest.mark.parametrize("modalities", [["text"], ["audio"]])
async def test_openai_realtime_model_connects_and_answers(
    emulator: EmulatorThread, modalities: list[str]
) -> None:
    model = lk_openai.realtime.RealtimeModel(
        base_url=emulator.openai_base_url,
        api_key="sk-test",
        modalities=modalities,  # type: ignore[arg-type]
    )
    session = model.session()
    try:
        await session.update_chat_ctx(chat_context("What is an adjective?"))
        generation = await asyncio.wait_for(session.generate_reply(), 5)
        text, samples = "", 0
        async for message in generation.message_stream:

            async def count_audio(m: llm.MessageGeneration = message) -> int:
                return sum([f.samples_per_channel async for f in m.audio_stream])

            audio_task = asyncio.create_task(count_audio())
            text += "".join([piece async for piece in message.text_stream])
            samples += await audio_task
    finally:
        await session.aclose()
        await model.aclose()
    assert "An adjective describes a noun" in text
    if modalities == ["audio"]:
        assert samples == len(text.split()) * audio.samples_per_word()
    else:
        assert samples == 0
    sent = [r["type"] for r in emulator.script.requests("realtime")]
    assert sent[:2] == ["websocket.connect", "session.update"] and "response.create" in sent
