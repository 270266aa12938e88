"""The real `openai.AsyncOpenAI` client against the emulator over loopback sockets."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import AsyncIterator

import openai
import pytest
from tutorplane.emulators import EmulatorThread, audio

pytestmark = pytest.mark.integration

CLASSIFY_TOOL = {
    "type": "function",
    "function": {
        "name": "classify_subject",
        "description": "Classify the student's question.",
        "parameters": {
            "type": "object",
            "properties": {
                "subject": {"type": "string", "enum": ["math", "history", "english", "other"]},
                "confidence": {"type": "number"},
                "rationale": {"type": "string"},
            },
            "required": ["subject", "confidence", "rationale"],
            "additionalProperties": False,
        },
    },
}


@pytest.fixture
async def client(emulator: EmulatorThread) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0) as c:
        yield c


async def test_streamed_chat_text_with_usage(client: openai.AsyncOpenAI, emulator: EmulatorThread) -> None:
    stream = await client.chat.completions.create(
        model="gpt-4.1-mini",
        messages=[
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "What is 7 times 8?"},
        ],
        stream=True,
        stream_options={"include_usage": True},
    )
    deltas: list[str] = []
    finish: list[str | None] = []
    usage = None
    async for chunk in stream:
        for choice in chunk.choices:
            deltas.append(choice.delta.content or "")
            finish.append(choice.finish_reason)
        if chunk.usage is not None:
            usage = chunk.usage
    text = "".join(deltas)
    assert len([d for d in deltas if d]) > 5, "the answer must arrive as several deltas"
    assert "56" in text and "offline" in text
    assert finish[-1] == "stop"
    assert usage is not None and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0
    recorded = emulator.script.requests("chat")
    assert recorded[-1]["stream_options"] == {"include_usage": True}
    assert recorded[-1]["_headers"]["authorization"] == "Bearer sk-test"


async def test_streamed_scripted_tool_calls(client: openai.AsyncOpenAI, emulator: EmulatorThread) -> None:
    emulator.script.chat(
        tool_calls=[
            {"name": "transfer_to_math", "arguments": {"question": "7 x 8", "grade": 4}},
            {"name": "log_turn", "arguments": {}},
        ]
    )
    stream = await client.chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    async for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += delta.id or ""
                if delta.function is not None:
                    entry["name"] += delta.function.name or ""
                    entry["arguments"] += delta.function.arguments or ""
    assert finish == "tool_calls"
    assert [calls[i]["name"] for i in sorted(calls)] == ["transfer_to_math", "log_turn"]
    assert json.loads(calls[0]["arguments"]) == {"question": "7 x 8", "grade": 4}
    assert calls[0]["id"].startswith("call_")


async def test_offline_tutor_calls_classify_subject_tool(client: openai.AsyncOpenAI) -> None:
    result = await client.chat.completions.create(
        model="gpt-4.1-mini",
        messages=[{"role": "user", "content": "Who was Napoleon?"}],
        tools=[CLASSIFY_TOOL],  # type: ignore[list-item]
        tool_choice={"type": "function", "function": {"name": "classify_subject"}},
    )
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "classify_subject"  # type: ignore[union-attr]
    arguments = json.loads(call.function.arguments)  # type: ignore[union-attr]
    assert arguments["subject"] == "history"
    assert 0 < arguments["confidence"] <= 1
    assert result.usage is not None and result.usage.completion_tokens > 0


async def test_moderations_flagged_clean_and_scripted(
    client: openai.AsyncOpenAI, emulator: EmulatorThread
) -> None:
    emulator.script.moderation("volcano", {"violence": 0.8, "violence/graphic": 0.6})
    result = await client.moderations.create(
        model="omni-moderation-latest",
        input=["I want to kill myself", "Fractions are fun", "the VOLCANO erupted"],
    )
    harmful, clean, scripted = result.results
    assert harmful.flagged and harmful.categories.self_harm_intent
    assert harmful.category_scores.self_harm_intent >= 0.5
    assert harmful.category_applied_input_types.self_harm_intent == ["text"]
    assert not clean.flagged and max(clean.category_scores.model_dump().values()) < 0.01
    assert scripted.flagged and scripted.categories.violence and scripted.categories.violence_graphic
    assert scripted.category_scores.violence == 0.8
    assert result.model == "omni-moderation-latest"


async def test_speech_pcm_has_the_expected_sample_count(client: openai.AsyncOpenAI) -> None:
    text = "Seven times eight is fifty six"
    async with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="alloy", input=text, response_format="pcm"
    ) as response:
        assert response.headers["content-type"] == "audio/pcm"
        pieces = [piece async for piece in response.iter_bytes()]
    pcm = b"".join(pieces)
    assert len(pcm) // 2 == 6 * audio.samples_per_word()
    assert audio.rms(pcm) > 0.05, "speech audio must not be silence"


async def test_speech_wav_is_a_valid_riff_file(client: openai.AsyncOpenAI) -> None:
    response = await client.audio.speech.create(
        model="gpt-4o-mini-tts", voice="echo", input="Hello there", response_format="wav"
    )
    wav = response.read()
    riff, size, wave_, fmt, _, fmt_tag, channels, rate, _, _, bits, data, data_size = struct.unpack(
        "<4sI4s4sIHHIIHH4sI", wav[:44]
    )
    assert (riff, wave_, fmt, data) == (b"RIFF", b"WAVE", b"fmt ", b"data")
    assert (fmt_tag, channels, rate, bits) == (1, 1, 24_000, 16)
    assert size == len(wav) - 8
    assert data_size == len(wav) - 44 == 2 * audio.samples_per_word() * 2


async def test_speech_sse_stream_for_pcm(client: openai.AsyncOpenAI) -> None:
    async with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts",
        voice="alloy",
        input="one two three",
        response_format="pcm",
        stream_format="sse",
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) async for line in response.iter_lines() if line.startswith("data: ")]
    pcm = b"".join(base64.b64decode(e["audio"]) for e in events if e["type"] == "speech.audio.delta")
    assert len(pcm) // 2 == 3 * audio.samples_per_word()
    assert events[-1]["type"] == "speech.audio.done" and events[-1]["usage"]["output_tokens"] > 0


async def test_transcriptions_json_text_verbose_and_scripted(
    client: openai.AsyncOpenAI, emulator: EmulatorThread
) -> None:
    wav = audio.to_wav(audio.synthesize("what is seven times eight"))
    default = await client.audio.transcriptions.create(
        model="gpt-4o-mini-transcribe", file=("q.wav", wav, "audio/wav")
    )
    assert default.text == "What is seven times eight?"
    emulator.script.transcription("Who built the pyramids?")
    text = await client.audio.transcriptions.create(
        model="gpt-4o-mini-transcribe", file=("q.wav", wav, "audio/wav"), response_format="text"
    )
    assert text.strip() == "Who built the pyramids?"
    verbose = await client.audio.transcriptions.create(
        model="whisper-1", file=("q.wav", wav, "audio/wav"), response_format="verbose_json"
    )
    assert verbose.duration == pytest.approx(5 * audio.MS_PER_WORD / 1000)
    assert verbose.language == "english" and verbose.words
    silence = audio.to_wav(bytes(24_000))
    quiet = await client.audio.transcriptions.create(
        model="gpt-4o-mini-transcribe", file=("s.wav", silence, "audio/wav")
    )
    assert quiet.text == ""
    assert emulator.script.requests("transcriptions")[0]["file_bytes"] == len(wav)


async def test_realtime_client_secret_has_the_ga_shape(client: openai.AsyncOpenAI) -> None:
    secret = await client.realtime.client_secrets.create(
        expires_after={"anchor": "created_at", "seconds": 120},
        session={"type": "realtime", "model": "gpt-realtime", "instructions": "Be an English tutor."},
    )
    assert secret.value.startswith("ek_")
    assert secret.expires_at > 0
    assert secret.session.type == "realtime"
    assert secret.session.instructions == "Be an English tutor."  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError, match=r"expires_after\.seconds"):
        await client.realtime.client_secrets.create(
            expires_after={"anchor": "created_at", "seconds": 5}, session={"type": "realtime"}
        )


async def test_realtime_text_and_audio_responses(
    client: openai.AsyncOpenAI, emulator: EmulatorThread
) -> None:
    secret = await client.realtime.client_secrets.create(
        session={"type": "realtime", "instructions": "Teach English."}
    )
    ephemeral = openai.AsyncOpenAI(api_key=secret.value, websocket_base_url=emulator.realtime_base_url)
    async with ephemeral, ephemeral.realtime.connect(model="gpt-realtime") as connection:
        created = await connection.recv()
        assert created.type == "session.created"
        assert created.session.instructions == "Teach English."  # type: ignore[union-attr]
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "What is a noun?"}],
            }
        )
        await connection.response.create()
        seen: list[str] = []
        text = ""
        async for event in connection:
            seen.append(event.type)
            if event.type == "response.output_text.delta":
                text += event.delta
            if event.type == "response.done":
                assert event.response.status == "completed"
                assert event.response.usage is not None and event.response.usage.total_tokens
                break
        assert "session.updated" in seen and "conversation.item.created" in seen
        assert "names a person, place or thing" in text

        await connection.session.update(session={"type": "realtime", "output_modalities": ["audio"]})
        await connection.response.create(response={"metadata": {"client_event_id": "abc"}})
        pcm = b""
        transcript = ""
        async for event in connection:
            if event.type == "response.created":
                assert event.response.metadata == {"client_event_id": "abc"}
            elif event.type == "response.output_audio.delta":
                pcm += base64.b64decode(event.delta)
            elif event.type == "response.output_audio_transcript.delta":
                transcript += event.delta
            elif event.type == "response.done":
                break
    assert transcript and len(pcm) // 2 == len(transcript.split()) * audio.samples_per_word()
    connects = [r for r in emulator.script.requests("realtime") if r["type"] == "websocket.connect"]
    assert connects[-1]["_headers"]["authorization"] == f"Bearer {secret.value}"


async def test_realtime_audio_commit_transcription_and_function_call(
    client: openai.AsyncOpenAI, emulator: EmulatorThread
) -> None:
    tool = {
        "type": "function",
        "name": "transfer_to_math",
        "description": "Hand a math question to the math tutor.",
        "parameters": {"type": "object", "properties": {"question": {"type": "string"}}},
    }
    emulator.script.transcription("What is 6 times 7?")
    async with client.realtime.connect(model="gpt-realtime") as connection:
        await connection.session.update(
            session={
                "type": "realtime",
                "tools": [tool],
                "audio": {"input": {"turn_detection": None}},
            }
        )
        await connection.input_audio_buffer.commit()  # nothing appended yet: an error event
        await connection.input_audio_buffer.append(
            audio=base64.b64encode(audio.synthesize("what is six times seven")).decode()
        )
        await connection.input_audio_buffer.commit()
        await connection.response.create()
        events = []
        async for event in connection:
            events.append(event)
            if event.type == "response.done":
                break
    by_type = {e.type: e for e in events}
    assert by_type["error"].error.code == "input_audio_buffer_commit_empty"
    assert by_type["input_audio_buffer.committed"].item_id
    assert by_type["conversation.item.input_audio_transcription.completed"].transcript == "What is 6 times 7?"
    done = by_type["response.function_call_arguments.done"]
    assert done.name == "transfer_to_math"
    assert json.loads(done.arguments) == {"question": "What is 6 times 7?"}
    assert by_type["response.done"].response.output[0].type == "function_call"  # type: ignore[index]


async def test_realtime_server_vad_commits_and_answers_a_spoken_turn(client: openai.AsyncOpenAI) -> None:
    silence = bytes(24_000)  # 500 ms
    speech = audio.synthesize("what is seven times eight")
    async with client.realtime.connect(model="gpt-realtime") as connection:
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        for chunk in (silence, speech, silence):
            await connection.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
        kinds: list[str] = []
        answer = ""
        async for event in connection:
            kinds.append(event.type)
            if event.type == "conversation.item.input_audio_transcription.completed":
                assert event.transcript == "What is seven times eight?"
            if event.type == "response.output_text.delta":
                answer += event.delta
            if event.type == "response.done":
                break
    order = [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
    ]
    assert [k for k in kinds if k in order] == order
    assert kinds.index("input_audio_buffer.committed") < kinds.index("response.created")
    assert "56" in answer


async def test_realtime_response_cancel(client: openai.AsyncOpenAI, emulator: EmulatorThread) -> None:
    emulator.script.realtime("one two three four five six seven eight nine ten", chunk_delay_s=0.02)
    async with client.realtime.connect(model="gpt-realtime") as connection:
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await connection.response.create()
        deltas = 0
        async for event in connection:
            if event.type == "response.output_text.delta":
                deltas += 1
                if deltas == 1:
                    await connection.response.cancel()
            if event.type == "response.done":
                done = event
                break
        await connection.response.cancel()
        error = await connection.recv()
    assert done.response.status == "cancelled"
    assert done.response.status_details.reason == "client_cancelled"  # type: ignore[union-attr]
    assert deltas < 10
    assert error.type == "error" and error.error.message.startswith("Cancellation failed")


async def test_realtime_unknown_event_is_an_error_event(client: openai.AsyncOpenAI) -> None:
    async with client.realtime.connect(model="gpt-realtime") as connection:
        await connection.recv()
        await connection.send({"type": "session.destroy", "event_id": "evt_1"})  # type: ignore[arg-type, typeddict-item]
        event = await connection.recv()
    assert event.type == "error"
    assert event.error.event_id == "evt_1" and "session.destroy" in event.error.message


async def test_missing_api_key_is_401_in_openai_shape(emulator: EmulatorThread) -> None:
    import httpx

    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{emulator.openai_base_url}/chat/completions", json={"model": "m", "messages": []}
        )
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "API key" in response.json()["error"]["message"]


async def test_realtime_websocket_refuses_an_ephemeral_key_it_did_not_mint(emulator: EmulatorThread) -> None:
    """Same rule as the WebRTC calls endpoint: an ``ek_`` key must come from client_secrets."""
    import websockets

    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(
            f"{emulator.realtime_base_url}/realtime?model=gpt-realtime",
            additional_headers={"Authorization": "Bearer ek_0123456789abcdef0123456789abcdef"},
        ):
            pass
    assert refused.value.response.status_code == 401
    assert b"client_secrets" in refused.value.response.body


async def test_bad_request_names_the_parameter(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await client.chat.completions.create(model="gpt-4.1-mini", messages=[])
    assert info.value.param == "messages"  # type: ignore[attr-defined]
