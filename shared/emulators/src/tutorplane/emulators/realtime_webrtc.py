"""OpenAI Realtime over WebRTC: ``POST /v1/realtime/calls?model=...`` answers an SDP offer.

The body is the SDP offer (``Content-Type: application/sdp``, the browser's ephemeral-key flow) or
a multipart form with ``sdp`` and ``session`` (JSON) fields (the unified interface a server uses
with its API key). The answer is ``201`` with the SDP and ``Location: /v1/realtime/calls/<id>``.
Browsers call it cross-origin, so these routes answer CORS preflights.

One :class:`RealtimeCall` per answer:

- the ``oai-events`` data channel carries the same client and server events as the websocket:
  one :class:`~.realtime.RealtimeConnection` per call, ``session.created`` when the channel opens;
- the caller's microphone track is resampled to 24 kHz PCM and fed to the session's input audio,
  exactly like ``input_audio_buffer.append`` (server VAD commits the turns);
- response audio goes out on the answer's audio track (48 kHz Opus) instead of
  ``response.output_audio.delta`` events, with ``output_audio_buffer.started`` / ``stopped``.

``POST /v1/realtime/calls/{call_id}/hangup``, the peer closing the connection or the data
channel, and stopping the emulator all end a call.

Keys: any non-empty standard key opens a default session; an ``ek_`` key must be one this
emulator minted (``POST /v1/realtime/client_secrets``) and not expired, else 401 in the
provider's error shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Coroutine
from typing import Any

from aiohttp import web
from aiortc import MediaStreamTrack, RTCDataChannel, RTCPeerConnection, RTCSessionDescription

from .errors import OPENAI, BadRequest, bad_request, error_response
from .gate import admit, api_key
from .realtime import RealtimeConnection
from .realtime_session import ephemeral_key_problem, merge, session_for_key
from .state import STATE, EmulatorState
from .webrtc_audio import ResponseAudioTrack, mic_pcm
from .wire import new_id

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "oai-events"
CALLS_PATH = "/v1/realtime/calls"
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, OpenAI-Beta",
    "Access-Control-Expose-Headers": "Location, x-request-id",
    "Access-Control-Max-Age": "600",
}


class _DataChannelEvents:
    """The ``oai-events`` data channel as the session's event transport (closed until it opens)."""

    def __init__(self) -> None:
        self.channel: RTCDataChannel | None = None

    @property
    def closed(self) -> bool:
        return self.channel is None or self.channel.readyState != "open"

    async def send_text(self, text: str) -> None:
        assert self.channel is not None
        self.channel.send(text)


class RealtimeCall:
    """One answered offer: the peer connection, its Realtime session and the tasks serving it."""

    def __init__(self, call_id: str, state: EmulatorState, session: dict[str, Any]) -> None:
        self.call_id = call_id
        self.state = state
        self.pc = RTCPeerConnection()
        self.voice = ResponseAudioTrack()
        self.events = _DataChannelEvents()
        self.connection = RealtimeConnection(self.events, state, session, output_audio=self.voice)
        self.voice.on_playback = self.connection.playback
        self._inbox: asyncio.Queue[str | bytes] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing: asyncio.Task[None] | None = None
        self._closed = False
        self.pc.on("datachannel", self._on_datachannel)
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_connection_state)

    async def answer(self, offer_sdp: str) -> str:
        """The SDP answer: our voice on the offered audio section, ICE candidates included."""
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except ValueError as exc:
            raise BadRequest(f"The SDP offer could not be parsed: {exc}.", param="sdp") from exc
        kinds = {transceiver.kind for transceiver in self.pc.getTransceivers()}
        if "audio" not in kinds:
            raise BadRequest(
                "The SDP offer has no audio section: add the microphone track (or a recvonly audio "
                "transceiver) to the peer connection before createOffer().",
                param="sdp",
            )
        if self.pc.sctp is None:
            raise BadRequest(
                f"The SDP offer has no data channel: create the '{EVENTS_CHANNEL}' data channel "
                "before createOffer().",
                param="sdp",
            )
        self.pc.addTrack(self.voice)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    # -- peer connection events ------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        if channel.label != EVENTS_CHANNEL or self.events.channel is not None:
            log.debug("call %s: ignoring data channel %r", self.call_id, channel.label)
            return
        self.events.channel = channel
        channel.on("message", self._inbox.put_nowait)
        channel.on("close", self.close_soon)
        self._spawn(self._serve_events())

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._spawn(self._listen(track))

    def _on_connection_state(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            self.close_soon()

    async def _serve_events(self) -> None:
        await self.connection.open()
        while True:
            message = await self._inbox.get()
            if isinstance(message, str):
                await self.connection.handle(message)
            else:
                await self.connection.error("Send client events as JSON text messages.", code="invalid_json")

    async def _listen(self, track: MediaStreamTrack) -> None:
        """The caller's microphone into the session's input audio (once the events can be sent)."""
        async for pcm in mic_pcm(track):
            if not self.events.closed:
                await self.connection.append_input_audio(pcm)

    # -- ending ----------------------------------------------------------------------------------

    def close_soon(self) -> None:
        if self._closing is None and not self._closed:
            self._closing = asyncio.create_task(self.close())

    async def close(self) -> None:
        """Stop serving, end the session and close the peer connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.state.calls.pop(self.call_id, None)
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.connection.close()
        self.voice.stop()
        await self.pc.close()


async def _read_offer(request: web.Request) -> tuple[str, dict[str, Any]]:
    """(SDP offer, session overrides) from an application/sdp body or a multipart form."""
    if request.content_type == "multipart/form-data":
        form = await request.post()
        sdp, session = form.get("sdp"), form.get("session")
        if not isinstance(sdp, str) or not sdp.strip():
            raise BadRequest("Missing required form field: 'sdp' (the SDP offer).", param="sdp")
        try:
            overrides = json.loads(session) if isinstance(session, str) and session.strip() else {}
        except ValueError as exc:
            raise BadRequest(f"The 'session' field is not valid JSON: {exc}.", param="session") from exc
        if not isinstance(overrides, dict):
            raise BadRequest("The 'session' field must be a JSON object.", param="session")
        return sdp, overrides
    if request.content_type != "application/sdp":
        raise BadRequest(
            "Send the SDP offer as the request body with Content-Type: application/sdp "
            "(or a multipart form with 'sdp' and 'session' fields).",
        )
    sdp = await request.text()
    if not sdp.strip():
        raise BadRequest("The request body is empty: send the SDP offer from createOffer().", param="sdp")
    return sdp, {}


async def create_call(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    key = api_key(request, OPENAI)
    if key is None:
        return error_response(
            OPENAI,
            401,
            "You didn't provide an API key. Send the ephemeral key (or an API key) as "
            "'Authorization: Bearer <key>'.",
        )
    if (problem := ephemeral_key_problem(state, key)) is not None:
        return error_response(OPENAI, 401, problem)
    model = request.query.get("model")
    call_id = new_id("rtc_")
    if (
        refused := await admit(request, "realtime", OPENAI, {"type": "webrtc.offer", "model": model})
    ) is not None:
        return refused
    try:
        sdp, overrides = await _read_offer(request)
        if overrides.get("type", "realtime") != "realtime":
            raise BadRequest("WebRTC calls are 'realtime' sessions.", param="session.type")
        session = session_for_key(state, key, "realtime", overrides.get("model") or model)
        merge(session, {k: v for k, v in overrides.items() if k not in ("id", "object", "type")})
        call = RealtimeCall(call_id, state, session)
        try:
            answer = await call.answer(sdp)
        except BaseException:
            await call.close()
            raise
    except BadRequest as exc:
        return bad_request(OPENAI, exc.message, param=exc.param)
    state.calls[call_id] = call
    return web.Response(
        status=201,
        text=answer,
        content_type="application/sdp",
        headers={"Location": f"{CALLS_PATH}/{call_id}", "x-request-id": new_id("req_")},
    )


async def hangup(request: web.Request) -> web.StreamResponse:
    if api_key(request, OPENAI) is None:
        return error_response(OPENAI, 401, "You didn't provide an API key.")
    call = request.app[STATE].calls.get(request.match_info["call_id"])
    if call is None:
        return error_response(OPENAI, 404, f"No call with id '{request.match_info['call_id']}'.")
    await call.close()
    return web.json_response({})


async def preflight(request: web.Request) -> web.StreamResponse:
    return web.Response(status=204)


@web.middleware
async def cors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Browsers post the offer from the web app's origin: allow it (as the real API does)."""
    response: web.StreamResponse = await handler(request)
    if request.path.startswith(CALLS_PATH) and not response.prepared:
        response.headers.update(_CORS)
    return response


async def close_calls(app: web.Application) -> None:
    for call in list(app[STATE].calls.values()):
        await call.close()


def add_routes(app: web.Application) -> None:
    app.router.add_post(CALLS_PATH, create_call)
    app.router.add_route("OPTIONS", CALLS_PATH, preflight)
    app.router.add_post(CALLS_PATH + "/{call_id}/hangup", hangup)
    app.router.add_route("OPTIONS", CALLS_PATH + "/{call_id}/hangup", preflight)
    app.on_shutdown.append(close_calls)
