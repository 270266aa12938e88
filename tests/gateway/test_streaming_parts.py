"""Delta coalescing, sentence speech (real OpenAI SDK against the emulator) and SSE framing."""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from openai import AsyncOpenAI
from tutorplane.emulators import EmulatorServer
from tutorplane.gateway.services.coalesce import coalesce_ready
from tutorplane.gateway.services.speaker import SentenceSpeaker
from tutorplane.gateway.services.speech import SpeechSynthesizer
from tutorplane.gateway.services.sse import sse_event

pytestmark = pytest.mark.integration


async def bursty() -> AsyncIterator[str]:
    for delta in ("One. ", "Two. ", "Three. "):
        yield delta  # three deltas ready at once (one network read)
    await asyncio.sleep(0.01)
    yield "Four."


async def test_ready_deltas_are_passed_on_together_and_nothing_waits() -> None:
    assert [d async for d in coalesce_ready(bursty())] == ["One. Two. Three. ", "Four."]


async def test_source_errors_surface_after_the_text_before_them() -> None:
    async def failing() -> AsyncIterator[str]:
        yield "Partial answer. "
        raise ConnectionError("model stream dropped")

    seen: list[str] = []
    with pytest.raises(ConnectionError, match="dropped"):
        async for delta in coalesce_ready(failing()):
            seen.append(delta)
    assert seen == ["Partial answer. "]


async def test_closing_early_closes_the_source() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncIterator[str]:
        try:
            while True:
                yield "more "
                await asyncio.sleep(0)
        finally:
            closed.set()

    stream = coalesce_ready(endless())
    assert await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]
    assert closed.is_set()


async def test_speaker_speaks_in_order_coalescing_only_waiting_sentences() -> None:
    async with EmulatorServer() as emu:
        client = AsyncOpenAI(api_key="sk-test", base_url=emu.openai_base_url)
        speech = SpeechSynthesizer(client, model="gpt-4o-mini-tts", sample_rate=24000, chunk_bytes=9600)
        events: list[dict[str, object]] = []
        usage: list[float] = []
        first_audio: list[bool] = []

        def emit(raw: bytes) -> None:
            lines = raw.decode().strip().splitlines()
            events.append(
                {"event": lines[0].removeprefix("event: "), **json.loads(lines[1].removeprefix("data: "))}
            )

        speaker = SentenceSpeaker(
            speech, "alloy", emit, on_first_audio=lambda: first_audio.append(True), on_usage=usage.append
        )
        speaker.say(0, "The first sentence is spoken alone.")
        await asyncio.sleep(0)  # the speaker takes it before the others are released
        for i in range(1, 16):
            speaker.say(i, f"Sentence number {i} waits for its turn.")
        await speaker.finish()
        await client.close()
        requests = emu.script.requests("speech")

    audio = [e for e in events if e["event"] == "audio"]
    groups = sorted({(e["index"], e["through"]) for e in audio})
    assert groups[0] == (0, 0)
    # Waiting sentences share a request, at most MAX_SENTENCES (12) of them.
    assert [g for g in groups if g[0] > 0] == [(1, 12), (13, 15)]
    assert len(requests) == len(groups) == len(usage) == 3
    assert first_audio == [True]
    total = sum(len(base64.b64decode(str(e["pcm"]))) for e in audio)
    assert sum(usage) == pytest.approx(total / 48000)


async def test_sentences_released_together_are_spoken_in_one_request() -> None:
    """A slow first check can release several sentences at once: they share the first request
    (streamed speech starts as soon with several sentences as with one)."""
    async with EmulatorServer() as emu:
        client = AsyncOpenAI(api_key="sk-test", base_url=emu.openai_base_url)
        speech = SpeechSynthesizer(client, model="gpt-4o-mini-tts", sample_rate=24000, chunk_bytes=9600)
        groups: set[tuple[int, int]] = set()

        def emit(raw: bytes) -> None:
            data = json.loads(raw.decode().strip().splitlines()[1].removeprefix("data: "))
            groups.add((data["index"], data["through"]))

        speaker = SentenceSpeaker(
            speech, "alloy", emit, on_first_audio=lambda: None, on_usage=lambda _s: None
        )
        for i in range(4):
            speaker.say(i, f"Sentence {i} was released with the others.")
        await speaker.finish()
        await client.close()
        assert len(emu.script.requests("speech")) == 1
    assert groups == {(0, 3)}


async def test_speech_chunks_start_small_and_double_up_to_the_largest() -> None:
    async with EmulatorServer() as emu:
        client = AsyncOpenAI(api_key="sk-test", base_url=emu.openai_base_url)
        speech = SpeechSynthesizer(
            client, model="gpt-4o-mini-tts", sample_rate=24000, chunk_bytes=9600, max_chunk_bytes=48000
        )
        text = " ".join(f"Sentence number {i} is spoken in one request." for i in range(12))
        chunks = [chunk async for chunk in speech.stream(text, "alloy")]
        whole = await client.audio.speech.create(
            model="gpt-4o-mini-tts", voice="alloy", input=text, response_format="pcm"
        )
        await client.close()

    sizes = [len(c) for c in chunks]
    assert sizes[:4] == [9600, 19200, 38400, 48000]
    assert all(size == 48000 for size in sizes[4:-1]) and 0 < sizes[-1] <= 48000 and sizes[-1] % 2 == 0
    assert b"".join(chunks) == whole.content  # re-cut, nothing lost or reordered


def test_sse_frames_parse_back_to_what_the_stdlib_encoder_wrote() -> None:
    """The frames went from json.dumps to orjson: a client must read the same values as before."""
    session = uuid.UUID("5f0c7a43-1111-4222-8333-944444444444")
    at = datetime.datetime(2026, 11, 26, 7, 30, tzinfo=datetime.UTC)
    data = {"session": session, "at": at, "text": "Ça va?\nYes.", "by_index": {3: "three"}, "score": 0.5}
    frame = sse_event("sentence", data, event_id=7)
    head, _, payload = frame.partition(b"data: ")
    assert head == b"id: 7\nevent: sentence\n" and payload.endswith(b"\n\n")
    assert b"\n" not in payload[:-2]  # one data line: JSON escapes the newline inside the text
    assert json.loads(payload) == json.loads(json.dumps(data, default=str))
    assert (
        sse_event("hint", "first line\nsecond line")
        == b"event: hint\ndata: first line\ndata: second line\n\n"
    )
