"""Version B's Realtime WebRTC flow against the emulator, with a Python aiortc peer standing in for
the browser: SDP offer to ``/v1/realtime/calls`` with the ephemeral key, the ``oai-events`` data
channel, response audio on the remote track, and the microphone track heard by server VAD."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from tutorplane.emulators import EmulatorThread, audio
from tutorplane.emulators.webrtc_audio import ResponseAudioTrack

pytestmark = pytest.mark.integration

EVENT_TIMEOUT_S = 10.0
VOICED_RMS = 0.01


@dataclass
class Call:
    """The caller's side of one call: what a browser holds after posting its offer."""

    pc: RTCPeerConnection
    channel: RTCDataChannel
    mic: ResponseAudioTrack
    location: str
    events: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    seen: list[dict[str, Any]] = field(default_factory=list)
    frames: list[float] = field(default_factory=list)  # RMS of every received 20 ms frame
    closed: asyncio.Event = field(default_factory=asyncio.Event)  # the data channel closed

    def send(self, event: dict[str, Any]) -> None:
        self.channel.send(json.dumps(event))

    async def next_event(self, kind: str) -> dict[str, Any]:
        """The next server event of `kind` (events before it are kept in `seen`)."""
        async with asyncio.timeout(EVENT_TIMEOUT_S):
            while True:
                event = await self.events.get()
                self.seen.append(event)
                if event["type"] == kind:
                    return event

    def kinds(self) -> list[str]:
        return [event["type"] for event in self.seen]

    @property
    def voiced_ms(self) -> int:
        return 20 * sum(1 for level in self.frames if level >= VOICED_RMS)


async def _record(track: MediaStreamTrack, into: list[float]) -> None:
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        samples = frame.to_ndarray().astype(np.float64) / 32768.0  # type: ignore[union-attr]
        into.append(float(np.sqrt(np.mean(samples * samples))))


async def post_offer(emulator: EmulatorThread, key: str | None, sdp: str) -> aiohttp.ClientResponse:
    headers = {"Content-Type": "application/sdp"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{emulator.openai_base_url}/realtime/calls?model=gpt-realtime", data=sdp, headers=headers
        ) as r,
    ):
        await r.read()
        return r


async def mint_key(emulator: EmulatorThread, session: dict[str, Any] | None = None) -> str:
    body = {"session": session or {"type": "realtime", "instructions": "You teach English."}}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{emulator.openai_base_url}/realtime/client_secrets",
            json=body,
            headers={"Authorization": "Bearer sk-gateway"},
        ) as r,
    ):
        assert r.status == 200, await r.text()
        return str((await r.json())["value"])


@pytest.fixture
async def call(emulator: EmulatorThread) -> AsyncIterator[Call]:
    """A call opened the way the web app opens it (mic track, data channel, offer, answer)."""
    key = await mint_key(emulator)
    pc = RTCPeerConnection()
    mic = ResponseAudioTrack()  # silence until a test queues speech: the emulator's own paced PCM track
    pc.addTrack(mic)
    channel = pc.createDataChannel("oai-events")
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    channel.on("message", lambda message: events.put_nowait(json.loads(message)))
    frames: list[float] = []
    recorders: list[asyncio.Task[None]] = []
    pc.on("track", lambda track: recorders.append(asyncio.create_task(_record(track, frames))))
    await pc.setLocalDescription(await pc.createOffer())
    response = await post_offer(emulator, key, pc.localDescription.sdp)
    assert response.status == 201, await response.text()
    assert response.content_type == "application/sdp"
    await pc.setRemoteDescription(RTCSessionDescription(sdp=await response.text(), type="answer"))
    opened = Call(pc, channel, mic, response.headers["Location"], events, frames=frames)
    channel.on("close", opened.closed.set)
    try:
        yield opened
    finally:
        with contextlib.suppress(aiohttp.ClientError):  # as the web app does when a session ends
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    f"{emulator.url}{opened.location}/hangup", headers={"Authorization": f"Bearer {key}"}
                ),
            ):
                pass
        await pc.close()
        for task in recorders:
            task.cancel()


async def test_text_turn_over_the_data_channel_with_audio_on_the_track(
    call: Call, emulator: EmulatorThread
) -> None:
    reply = "A noun names a person, a place or a thing."
    emulator.script.realtime(reply, chunk_delay_s=0.01)
    created = await call.next_event("session.created")
    # The session is the one minted with the ephemeral key.
    assert created["session"]["instructions"] == "You teach English."
    call.send({"type": "session.update", "session": {"type": "realtime", "instructions": "Be brief."}})
    assert (await call.next_event("session.updated"))["session"]["instructions"] == "Be brief."
    call.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "What is a noun?"}],
            },
        }
    )
    await call.next_event("conversation.item.added")
    silent_before = call.voiced_ms
    call.send({"type": "response.create"})
    done = await call.next_event("response.done")
    assert done["response"]["status"] == "completed"
    transcript = "".join(
        e["delta"] for e in call.seen if e["type"] == "response.output_audio_transcript.delta"
    )
    assert transcript == reply
    # Over WebRTC the audio is media, not events; the buffer events frame its playback.
    assert "response.output_audio.delta" not in call.kinds()
    stopped = await call.next_event("output_audio_buffer.stopped")
    started = [e for e in call.seen if e["type"] == "output_audio_buffer.started"]
    assert [e["response_id"] for e in started] == [stopped["response_id"]] == [done["response"]["id"]]
    # The whole reply was heard on the remote track (60 ms per word, about 80 % of it voiced).
    await asyncio.sleep(0.2)
    expected_ms = len(reply.split()) * audio.MS_PER_WORD
    assert silent_before == 0
    assert 0.5 * expected_ms <= call.voiced_ms <= 1.5 * expected_ms, (call.voiced_ms, expected_ms)

    sent = [r["type"] for r in emulator.script.requests("realtime")]
    assert sent[0] == "webrtc.offer"
    assert {"session.update", "conversation.item.create", "response.create"} <= set(sent)


async def test_microphone_track_is_a_spoken_turn_for_server_vad(call: Call, emulator: EmulatorThread) -> None:
    emulator.script.transcription("What is a noun?")
    emulator.script.realtime("A noun is a naming word.")
    await call.next_event("session.created")
    call.mic.play("mic", audio.synthesize("what is a noun please tell me"))
    call.mic.finish("mic")
    started = await call.next_event("input_audio_buffer.speech_started")
    stopped = await call.next_event("input_audio_buffer.speech_stopped")
    assert stopped["item_id"] == started["item_id"]
    heard = await call.next_event("conversation.item.input_audio_transcription.completed")
    assert heard["transcript"] == "What is a noun?"
    done = await call.next_event("response.done")
    assert done["response"]["output"][0]["content"][0]["transcript"] == "A noun is a naming word."
    committed = [
        r for r in emulator.script.requests("realtime") if r["type"] == "input_audio_buffer.committed"
    ]
    assert (
        committed
        and committed[0]["audio_bytes"] >= len(audio.synthesize("what is a noun please tell me")) // 2
    )


async def test_hangup_closes_the_call(call: Call, emulator: EmulatorThread) -> None:
    await call.next_event("session.created")
    call_id = call.location.rstrip("/").rsplit("/", 1)[-1]
    assert call_id in emulator.state.calls  # other tests' calls may still be closing: look at this one
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{emulator.url}{call.location}/hangup", headers={"Authorization": "Bearer sk-x"}) as r,
    ):
        assert r.status == 200
    await asyncio.wait_for(call.closed.wait(), EVENT_TIMEOUT_S)
    assert call_id not in emulator.state.calls


async def _offer_sdp() -> tuple[RTCPeerConnection, str]:
    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="sendrecv")
    pc.createDataChannel("oai-events")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


async def test_unknown_and_expired_ephemeral_keys_get_401_in_the_openai_shape(
    emulator: EmulatorThread,
) -> None:
    before = set(emulator.state.calls)
    pc, sdp = await _offer_sdp()
    try:
        unknown = await post_offer(emulator, "ek_0123456789abcdef0123456789abcdef", sdp)
        assert unknown.status == 401
        body = json.loads(await unknown.text())
        assert set(body["error"]) == {"message", "type", "param", "code"}
        assert body["error"]["code"] == "invalid_api_key"
        assert "client_secrets" in body["error"]["message"]

        key = await mint_key(emulator)
        emulator.state.secrets[key].expires_at = int(time.time()) - 1
        expired = await post_offer(emulator, key, sdp)
        assert expired.status == 401
        assert "expired" in json.loads(await expired.text())["error"]["message"]

        missing = await post_offer(emulator, None, sdp)
        assert missing.status == 401
        assert missing.headers["Access-Control-Allow-Origin"] == "*"  # a browser can read the refusal
        assert set(emulator.state.calls) <= before  # no call was opened
    finally:
        await pc.close()


async def test_offer_without_a_data_channel_is_a_400_that_says_what_to_do(emulator: EmulatorThread) -> None:
    before = set(emulator.state.calls)
    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="sendrecv")
    try:
        await pc.setLocalDescription(await pc.createOffer())
        response = await post_offer(emulator, "sk-test", pc.localDescription.sdp)
        assert response.status == 400
        assert "oai-events" in json.loads(await response.text())["error"]["message"]
        garbage = await post_offer(emulator, "sk-test", "not an offer")
        assert garbage.status == 400
    finally:
        await pc.close()
    assert set(emulator.state.calls) <= before  # no call was opened


async def test_browser_preflight_is_allowed(emulator: EmulatorThread) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.options(
            f"{emulator.openai_base_url}/realtime/calls",
            headers={
                "Origin": "http://127.0.0.1:8080",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        ) as r,
    ):
        assert r.status == 204
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
        assert "Location" in r.headers["Access-Control-Expose-Headers"]
