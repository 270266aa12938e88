"""Test doubles and fixtures for the agent worker (a pytest plugin).

Doubles (ports only; the agents themselves always run for real):

* :class:`~tutorplane.agent.fake_llm.FakeLLM`: a scripted ``llm.LLM``;
* :class:`RecordingDispatcher`: the dispatch port, recording what would be sent to LiveKit;
* :class:`RecordingSink`: the room's data channel, recording published JSON;
* :class:`CapturingAudioOutput`: an audio sink that keeps every frame the session plays;
* :class:`FakeLiveKitServer`: the two LiveKit server endpoints the worker uses (the ``/agent``
  registration websocket and ``AgentDispatchService/CreateDispatch``), for wiring tests.

:class:`AgentHarness` starts exactly what a job starts (``open_resources`` → ``build_services`` →
``start_*_session``), in text mode, without a room.

Fixtures: ``agent_settings`` (settings pointed at the ``emulator``), ``fake_livekit``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from livekit import api, rtc
from livekit.agents import AgentSession, llm
from livekit.agents.voice import io
from livekit.protocol import agent as agent_proto
from livekit.protocol import agent_dispatch, models
from tutorplane.agent.config import AgentSettings
from tutorplane.agent.dispatch import DispatchError, DispatchReceipt
from tutorplane.agent.fake_llm import FakeLLM, ScriptedToolCall
from tutorplane.agent.metadata import DispatchKind, JobMetadata
from tutorplane.agent.services import SessionServices
from tutorplane.agent.session import (
    JobResources,
    build_services,
    english_session,
    new_state,
    open_resources,
    pipeline_session,
    start_english_session,
    start_pipeline_session,
)
from tutorplane.agent.transcript import TranscriptRecorder

__all__ = [
    "AgentHarness",
    "CapturingAudioOutput",
    "FakeLLM",
    "FakeLiveKitServer",
    "RecordingDispatcher",
    "RecordingSink",
    "ScriptedToolCall",
    "emulator_agent_settings",
]


# --------------------------------------------------------------------------------------------
# port doubles
# --------------------------------------------------------------------------------------------


@dataclass
class DispatchCall:
    agent_name: str
    room: str
    metadata: JobMetadata
    raw: str


@dataclass
class StandInParticipant:
    identity: str
    attributes: dict[str, str] = field(default_factory=dict)
    kind: int = rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD


class StandInRoom(rtc.EventEmitter[str]):
    """The room events the session listens to (teachers and agents joining and leaving); a LiveKit
    room needs a server."""

    def __init__(self) -> None:
        super().__init__()
        self.remote_participants: dict[str, StandInParticipant] = {}


class RecordingDispatcher:
    """Records dispatches; ``fail_with`` makes the next ones raise :class:`DispatchError`."""

    def __init__(self, *, fail_with: str | None = None) -> None:
        self.calls: list[DispatchCall] = []
        self.withdrawn: list[DispatchReceipt] = []
        self.fail_with = fail_with

    async def dispatch(self, *, agent_name: str, room: str, metadata: JobMetadata) -> DispatchReceipt:
        if self.fail_with is not None:
            raise DispatchError(self.fail_with)
        raw = metadata.to_json()
        # What the other worker will read from ctx.job.metadata.
        self.calls.append(DispatchCall(agent_name, room, JobMetadata.parse(raw), raw))
        return DispatchReceipt(dispatch_id=f"AD_{len(self.calls)}", agent_name=agent_name, room=room)

    async def withdraw(self, receipt: DispatchReceipt) -> None:
        self.withdrawn.append(receipt)


class RecordingSink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, topic: str, payload: bytes) -> None:
        self.messages.append((topic, json.loads(payload)))

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [m for t, m in self.messages if t == topic]

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.on("tutorplane.events") if name is None or m["event"] == name]


class CapturingAudioOutput(io.AudioOutput):
    """Plays instantly: keeps the frames and reports each segment as fully played."""

    def __init__(self) -> None:
        super().__init__(label="capturing", capabilities=io.AudioOutputCapabilities(pause=False))
        self.frames: list[rtc.AudioFrame] = []
        self.items: list[Any] = []
        self._segment = 0.0
        self._open = False

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        self.items.append(frame)
        if isinstance(frame, rtc.AudioFrame):
            self.frames.append(frame)
            if not self._open:
                self._open = True
                self.on_playback_started(created_at=time.time())
            self._segment += frame.duration

    def flush(self) -> None:
        super().flush()
        if self._open:
            self._open = False
            played, self._segment = self._segment, 0.0
            self.on_playback_finished(playback_position=played, interrupted=False)

    def clear_buffer(self) -> None:
        if self._open:
            self._open = False
            played, self._segment = self._segment, 0.0
            self.on_playback_finished(playback_position=played, interrupted=True)

    @property
    def seconds(self) -> float:
        return sum(f.duration for f in self.frames)


# --------------------------------------------------------------------------------------------
# harness
# --------------------------------------------------------------------------------------------


def script_hand_back(emulator: Any, question: str = "What is 7 times 8?") -> None:
    """The English Realtime model's next reply hands the student back for another subject."""
    emulator.script.realtime(
        "Let me pass you back to your main tutor.",
        tool_calls=[{"name": "hand_back", "arguments": {"question": question, "reason": "other_subject"}}],
    )


def emulator_agent_settings(emulator: Any, **overrides: Any) -> AgentSettings:
    """Settings with every provider pointed at a running emulator (no retries, short timeouts)."""
    values: dict[str, Any] = {
        "openai_base_url": emulator.openai_base_url,
        "openai_websocket_base_url": emulator.realtime_base_url,
        "anthropic_base_url": emulator.anthropic_base_url,
        "openai_api_key": "test-key",
        "anthropic_api_key": "test-key",
        "livekit_api_secret": "test-livekit-secret-value-4f1a9c2e7b3d",
        "model_max_retries": 0,
        "model_timeout_s": 5.0,
        "routing_llm_timeout_s": 3.0,
        "guardrail_stall_timeout_s": 1.0,
        "rewrite_model": "gpt-4.1-mini",
        "job_executor": "thread",
        "database_url": None,
    }
    values.update(overrides)
    return AgentSettings(**values)


@dataclass
class AgentHarness:
    """One student session in text mode, started through the worker's own functions."""

    settings: AgentSettings
    metadata: JobMetadata | None = None
    audit: Any = None
    dispatcher: Any = None
    llm_overrides: dict[str, llm.LLM] = field(default_factory=dict)
    audio: bool = False
    realtime_model: Any = None
    wait_for_greeting: bool = True

    sink: RecordingSink = field(init=False, default_factory=RecordingSink)
    resources: JobResources = field(init=False)
    services: SessionServices = field(init=False)
    session: AgentSession = field(init=False)
    recorder: TranscriptRecorder = field(init=False)
    audio_out: CapturingAudioOutput | None = field(init=False, default=None)

    async def __aenter__(self) -> AgentHarness:
        if self.metadata is None:
            self.metadata = JobMetadata(session_id=uuid.uuid4(), student_id=uuid.uuid4())
        self.resources = await open_resources(self.settings, audit=self.audit, dispatcher=self.dispatcher)
        state = new_state(self.settings, self.metadata, f"room-{self.metadata.session_id}")
        self.services = build_services(
            self.settings, self.resources, state, self.sink, llm_overrides=self.llm_overrides
        )
        english = self.metadata.kind == DispatchKind.to_english
        self.session = (
            english_session(self.services) if english else pipeline_session(self.services, with_audio=False)
        )
        if self.audio:
            self.audio_out = CapturingAudioOutput()
            self.session.output.audio = self.audio_out
        if english:
            model = self.realtime_model or self.services.providers.realtime_model(  # type: ignore[union-attr]
                text_only=not self.settings.english_native_audio
            )
            self.realtime_model = model
            self.recorder = await start_english_session(
                self.services, self.metadata, self.session, realtime_model=model
            )
        else:
            self.recorder = await start_pipeline_session(self.services, self.metadata, self.session)
            if self.metadata.kind == DispatchKind.start and self.wait_for_greeting:
                # A student answers the greeting; in text mode nothing else orders the two.
                await wait_until(lambda: any(m["role"] == "assistant" for m in self.recorder.published))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.aclose()
        self.recorder.flush()
        await self.services.tasks.aclose()
        await self.services.events.aclose()
        if self.realtime_model is not None:
            await self.realtime_model.aclose()
        await self.resources.aclose()

    @property
    def state(self) -> Any:
        return self.services.state

    async def ask(self, text: str) -> Any:
        """One typed student turn; returns the RunResult once the tutor has finished answering."""
        return await self.session.run(user_input=text)

    async def settle(self) -> None:
        """Let background publishing finish."""
        await self.services.events.tasks.drain(2.0)

    def transcript(self) -> list[tuple[str, str]]:
        return [(m["speaker"], m["content"]) for m in self.recorder.published]


# --------------------------------------------------------------------------------------------
# LiveKit server endpoints
# --------------------------------------------------------------------------------------------


class FakeLiveKitServer:
    """The worker-facing parts of a LiveKit server on a loopback port (in a thread).

    * ``/agent`` websocket: answers the worker's ``register`` with a ``RegisterWorkerResponse`` and
      records every later ``WorkerMessage`` (status updates: available/full, load).
    * ``/twirp/livekit.AgentDispatchService/CreateDispatch`` and ``DeleteDispatch``: check the
      bearer token was signed with the API secret, record the request, answer with an
      ``AgentDispatch``.
    * :meth:`offer_job` asks the worker whether it takes a job (an ``AvailabilityRequest``, what
      LiveKit sends before assigning one) and returns its answer.

    It does not host rooms or media (no WebRTC here); jobs are never assigned.
    """

    def __init__(
        self, api_key: str = "devkey", api_secret: str = "test-livekit-secret-value-4f1a9c2e7b3d"
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.registrations: list[agent_proto.RegisterWorkerRequest] = []
        self.worker_messages: list[agent_proto.WorkerMessage] = []
        self.dispatches: list[agent_dispatch.CreateAgentDispatchRequest] = []
        self.deleted: list[agent_dispatch.DeleteAgentDispatchRequest] = []
        self.dispatch_status = 200
        self.availability: dict[str, bool] = {}  # job id -> the worker's answer to an offer
        self.port = 0
        self._worker_ws: web.WebSocketResponse | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def statuses(self) -> list[int]:
        return [m.update_worker.status for m in self.worker_messages if m.HasField("update_worker")]

    async def _agent_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type != WSMsgType.BINARY:
                continue
            message = agent_proto.WorkerMessage()
            message.ParseFromString(msg.data)
            if message.HasField("register"):
                self.registrations.append(message.register)
                reply = agent_proto.ServerMessage(
                    register=agent_proto.RegisterWorkerResponse(
                        worker_id=f"AW_fake{len(self.registrations)}", server_info=models.ServerInfo()
                    )
                )
                self._worker_ws = ws
                await ws.send_bytes(reply.SerializeToString())
            elif message.HasField("availability"):
                self.availability[message.availability.job_id] = message.availability.available
            else:
                self.worker_messages.append(message)
        return ws

    async def offer_job(self, job_id: str, metadata: str) -> bool:
        """Offer the registered worker a room job; True when it says it takes it."""
        assert self._loop is not None
        job = agent_proto.Job(
            id=job_id,
            type=agent_proto.JobType.JT_ROOM,
            room=models.Room(name=f"room-{job_id}"),
            metadata=metadata,
        )
        offer = agent_proto.ServerMessage(availability=agent_proto.AvailabilityRequest(job=job))

        async def send() -> None:
            if self._worker_ws is None:
                raise RuntimeError("no worker is registered with the fake LiveKit server")
            await self._worker_ws.send_bytes(offer.SerializeToString())

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(send(), self._loop))
        await wait_until(lambda: job_id in self.availability, timeout=10.0)
        return self.availability[job_id]

    def _unauthenticated(self, request: web.Request) -> web.Response | None:
        """A 401 unless the bearer token was signed with the API secret."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        try:
            api.TokenVerifier(self.api_key, self.api_secret).verify(token)
        except Exception:
            return web.json_response({"code": "unauthenticated", "msg": "bad token"}, status=401)
        return None

    async def _create_dispatch(self, request: web.Request) -> web.Response:
        if (refused := self._unauthenticated(request)) is not None:
            return refused
        if self.dispatch_status != 200:
            return web.json_response(
                {"code": "internal", "msg": "scripted failure"}, status=self.dispatch_status
            )
        req = agent_dispatch.CreateAgentDispatchRequest()
        req.ParseFromString(await request.read())
        self.dispatches.append(req)
        reply = agent_dispatch.AgentDispatch(
            id=f"AD_{len(self.dispatches)}", agent_name=req.agent_name, room=req.room, metadata=req.metadata
        )
        return web.Response(body=reply.SerializeToString(), content_type="application/protobuf")

    async def _delete_dispatch(self, request: web.Request) -> web.Response:
        if (refused := self._unauthenticated(request)) is not None:
            return refused
        req = agent_dispatch.DeleteAgentDispatchRequest()
        req.ParseFromString(await request.read())
        self.deleted.append(req)
        reply = agent_dispatch.AgentDispatch(id=req.dispatch_id, room=req.room)
        return web.Response(body=reply.SerializeToString(), content_type="application/protobuf")

    def start(self) -> FakeLiveKitServer:
        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_get("/agent", self._agent_ws)
            app.router.add_post("/twirp/livekit.AgentDispatchService/CreateDispatch", self._create_dispatch)
            app.router.add_post("/twirp/livekit.AgentDispatchService/DeleteDispatch", self._delete_dispatch)
            runner = web.AppRunner(app)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self._runner = runner
            self._ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-livekit", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake LiveKit server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture
def agent_settings(emulator: Any) -> AgentSettings:
    return emulator_agent_settings(emulator)


@pytest.fixture
def fake_livekit() -> Iterator[FakeLiveKitServer]:
    server = FakeLiveKitServer().start()
    try:
        yield server
    finally:
        server.stop()


async def wait_until(predicate: Any, timeout: float = 5.0, interval: float = 0.01) -> None:  # noqa: ASYNC109
    """Poll ``predicate`` until true (for background work with no completion signal)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)
