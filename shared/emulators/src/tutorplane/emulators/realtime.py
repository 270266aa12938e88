"""OpenAI Realtime (GA) sessions: the client and server events, whatever carries them.

One :class:`RealtimeConnection` is one session. Its transports are thin: the websocket
(``GET /v1/realtime``, :mod:`.realtime_ws`) and WebRTC's ``oai-events`` data channel
(``POST /v1/realtime/calls``, :mod:`.realtime_webrtc`) hand it JSON text and send what it emits.

Speaks the GA event names the openai SDK and the LiveKit realtime plugin parse. Conversation items
are announced as ``conversation.item.created`` and ``conversation.item.added`` (then
``conversation.item.done``), so clients written for either name work. Audio is 24 kHz s16le mono
PCM both ways: on a websocket as base64 in ``input_audio_buffer.append`` and
``response.output_audio.delta``; over WebRTC as the media tracks instead (the transport resamples),
with ``output_audio_buffer.started``/``stopped`` as the real API sends them. Turn detection
(``server_vad``/``semantic_vad``) is an energy detector over the input audio; a committed turn is
"heard" as the next scripted transcription, or as :data:`~.offline.DEFAULT_TRANSCRIPT` when it is
not silent.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from . import audio, offline
from .offline import DEFAULT_TRANSCRIPT
from .plan import Conversation, Plan, plan_reply
from .realtime_session import merge
from .state import EmulatorState
from .vad import EnergyVad
from .wire import dumps, estimate_tokens, json_chunks, new_id, text_chunks

log = logging.getLogger(__name__)

_MIN_COMMIT_BYTES = audio.SAMPLE_RATE * audio.BYTES_PER_SAMPLE // 10  # 100 ms
_SILENCE_RMS = 0.005
_SEMANTIC_SILENCE_MS = {"low": 800, "medium": 500, "auto": 500, "high": 250}
_CLIENT_EVENTS = (
    "session.update",
    "conversation.item.create",
    "conversation.item.delete",
    "conversation.item.truncate",
    "conversation.item.retrieve",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "output_audio_buffer.clear",
    "response.create",
    "response.cancel",
)


class EventTransport(Protocol):
    """What carries the JSON events: a websocket, or WebRTC's ``oai-events`` data channel."""

    @property
    def closed(self) -> bool: ...

    async def send_text(self, text: str) -> None: ...


class OutputAudio(Protocol):
    """Where response audio goes when it is media rather than events (WebRTC's outgoing track).

    It reports playback through the connection's :meth:`RealtimeConnection.playback` callback.
    """

    def play(self, response_id: str, pcm: bytes) -> None:
        """Queue 24 kHz s16le mono PCM of `response_id` behind what is already queued."""

    def finish(self, response_id: str) -> None:
        """No more audio comes for `response_id`; ``stopped`` is reported once it has played out."""

    def clear(self) -> None:
        """Drop everything queued, at once (no ``stopped`` is reported for it)."""


@dataclass
class _Active:
    response_id: str
    cancel_reason: str | None = None


class RealtimeConnection:
    """One Realtime session: its configuration, conversation items, input audio and response.

    The transport calls :meth:`open` once, :meth:`handle` for every client event (in order),
    :meth:`append_input_audio` for media-track audio, and :meth:`close` when it goes away.
    """

    def __init__(
        self,
        events: EventTransport,
        state: EmulatorState,
        session: dict[str, Any],
        *,
        output_audio: OutputAudio | None = None,
    ) -> None:
        self.events = events
        self.output_audio = output_audio
        self.state = state
        self.session = session
        self.conversation_id = new_id("conv_")
        self.items: list[dict[str, Any]] = []
        self.transcripts: dict[str, str] = {}
        self.buffer = bytearray()
        self.vad: EnergyVad | None = None
        self.speech_item_id: str | None = None
        self.active: _Active | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self._send_lock = asyncio.Lock()
        self._configure_vad()

    # -- plumbing ------------------------------------------------------------------------------

    async def send(self, event: dict[str, Any]) -> None:
        event = {"event_id": new_id("event_"), **event}
        async with self._send_lock:
            if not self.events.closed:
                await self.events.send_text(dumps(event))

    def playback(self, kind: str, response_id: str) -> None:
        """`output_audio_buffer.<kind>` ("started" / "stopped"), reported by :class:`OutputAudio`."""
        self._spawn(self.send({"type": f"output_audio_buffer.{kind}", "response_id": response_id}))

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def error(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        event_id: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        await self.send(
            {
                "type": "error",
                "error": {
                    "type": kind,
                    "code": code,
                    "message": message,
                    "param": param,
                    "event_id": event_id,
                },
            }
        )

    @property
    def is_transcription(self) -> bool:
        return self.session.get("type") == "transcription"

    def _input_config(self) -> dict[str, Any]:
        return ((self.session.get("audio") or {}).get("input")) or {}

    def _configure_vad(self) -> None:
        turn = self._input_config().get("turn_detection")
        if not isinstance(turn, dict) or turn.get("type") not in ("server_vad", "semantic_vad"):
            self.vad = None
            return
        if turn["type"] == "semantic_vad":
            silence = _SEMANTIC_SILENCE_MS.get(str(turn.get("eagerness") or "auto"), 500)
            threshold, padding = 0.5, 300
        else:
            silence = int(turn.get("silence_duration_ms") or 200)
            raw_threshold = turn.get("threshold")
            threshold = 0.5 if raw_threshold is None else float(raw_threshold)
            padding = int(turn.get("prefix_padding_ms") or 300)
        rate = int(((self._input_config().get("format") or {}).get("rate")) or audio.SAMPLE_RATE)
        self.vad = EnergyVad(
            sample_rate=rate, threshold=threshold, prefix_padding_ms=padding, silence_duration_ms=silence
        )

    async def open(self) -> None:
        await self.send({"type": "session.created", "session": self.session})

    async def close(self) -> None:
        """Stop the response in progress (and anything else this session started)."""
        while self.tasks:
            tasks = list(self.tasks)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                self.tasks.discard(task)

    async def handle(self, raw: str) -> None:
        try:
            event = json.loads(raw)
        except ValueError as exc:
            await self.error(f"Invalid JSON in client event: {exc}", code="invalid_json")
            return
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            await self.error(
                "Each client event must be a JSON object with a 'type'.", code="invalid_value", param="type"
            )
            return
        kind = event["type"]
        event_id = event.get("event_id")
        if kind != "input_audio_buffer.append":
            self.state.script.record("realtime", copy.deepcopy(event))
        if kind not in _CLIENT_EVENTS:
            await self.error(
                f"Invalid value: '{kind}'. Supported client events: {', '.join(_CLIENT_EVENTS)}.",
                code="invalid_value",
                param="type",
                event_id=event_id,
            )
            return
        handler = getattr(self, "on_" + kind.replace(".", "_"))
        await handler(event)

    # -- session and conversation ----------------------------------------------------------------

    async def on_session_update(self, event: dict[str, Any]) -> None:
        update = event.get("session")
        if not isinstance(update, dict):
            await self.error("'session' must be an object.", param="session", event_id=event.get("event_id"))
            return
        if "type" in update and update["type"] != self.session.get("type"):
            await self.error(
                f"Cannot change a {self.session.get('type')} session into a {update['type']} session; "
                "open a new connection (use ?intent=transcription for transcription sessions).",
                code="invalid_value",
                param="session.type",
                event_id=event.get("event_id"),
            )
            return
        merge(self.session, {k: v for k, v in update.items() if k not in ("id", "object")})
        self._configure_vad()
        await self.send({"type": "session.updated", "session": self.session})

    def _previous_id(self) -> str | None:
        return self.items[-1]["id"] if self.items else None

    async def _announce_item(self, item: dict[str, Any], previous_item_id: str | None, *, done: bool) -> None:
        public = _public_item(item)
        for kind in ("conversation.item.created", "conversation.item.added"):
            await self.send({"type": kind, "previous_item_id": previous_item_id, "item": public})
        if done:
            await self.send(
                {"type": "conversation.item.done", "previous_item_id": previous_item_id, "item": public}
            )

    async def on_conversation_item_create(self, event: dict[str, Any]) -> None:
        event_id = event.get("event_id")
        item = event.get("item")
        if not isinstance(item, dict) or item.get("type") not in (
            "message",
            "function_call",
            "function_call_output",
        ):
            await self.error(
                "'item.type' must be 'message', 'function_call' or 'function_call_output'.",
                code="invalid_value",
                param="item.type",
                event_id=event_id,
            )
            return
        item = copy.deepcopy(item)
        item_id = item.setdefault("id", new_id("item_"))
        if any(existing["id"] == item_id for existing in self.items):
            await self.error(
                f"Item with id '{item_id}' already exists.",
                code="item_create_duplicate_item_id",
                param="item.id",
                event_id=event_id,
            )
            return
        item.setdefault("object", "realtime.item")
        item.setdefault("status", "completed")
        if item["type"] == "message" and not isinstance(item.get("content"), list):
            item["content"] = []
        if item["type"] == "function_call":
            item.setdefault("arguments", "")
        previous = event.get("previous_item_id")
        index = len(self.items)
        if previous == "root":
            index, previous = 0, None
        elif previous is not None:
            found = next((i for i, existing in enumerate(self.items) if existing["id"] == previous), None)
            index = len(self.items) if found is None else found + 1
        else:
            previous = self._previous_id()
        self.items.insert(index, item)
        await self._announce_item(item, previous, done=True)

    async def on_conversation_item_delete(self, event: dict[str, Any]) -> None:
        item_id = event.get("item_id")
        before = len(self.items)
        self.items = [item for item in self.items if item["id"] != item_id]
        if len(self.items) == before:
            await self.error(
                f"Item with item_id '{item_id}' not found.",
                code="item_delete_invalid_item_id",
                param="item_id",
                event_id=event.get("event_id"),
            )
            return
        self.transcripts.pop(str(item_id), None)
        await self.send({"type": "conversation.item.deleted", "item_id": item_id})

    async def on_conversation_item_truncate(self, event: dict[str, Any]) -> None:
        await self.send(
            {
                "type": "conversation.item.truncated",
                "item_id": event.get("item_id"),
                "content_index": event.get("content_index", 0),
                "audio_end_ms": event.get("audio_end_ms", 0),
            }
        )

    async def on_conversation_item_retrieve(self, event: dict[str, Any]) -> None:
        item = next((i for i in self.items if i["id"] == event.get("item_id")), None)
        if item is None:
            await self.error(
                f"Item with item_id '{event.get('item_id')}' not found.",
                code="item_retrieve_invalid_item_id",
                param="item_id",
                event_id=event.get("event_id"),
            )
            return
        await self.send({"type": "conversation.item.retrieved", "item": _public_item(item)})

    # -- input audio ---------------------------------------------------------------------------

    async def on_input_audio_buffer_append(self, event: dict[str, Any]) -> None:
        try:
            pcm = base64.b64decode(event.get("audio") or "", validate=True)
        except (binascii.Error, ValueError):
            await self.error(
                "'audio' must be base64-encoded PCM.",
                code="invalid_value",
                param="audio",
                event_id=event.get("event_id"),
            )
            return
        await self.append_input_audio(pcm)

    async def append_input_audio(self, pcm: bytes) -> None:
        """Input audio (24 kHz s16le mono) from ``input_audio_buffer.append`` or the mic track."""
        self.buffer.extend(pcm)
        if self.vad is None:
            return
        for vad_event in self.vad.push(pcm):
            if vad_event.kind == "started":
                self.speech_item_id = new_id("item_")
                await self.send(
                    {
                        "type": "input_audio_buffer.speech_started",
                        "audio_start_ms": vad_event.at_ms,
                        "item_id": self.speech_item_id,
                    }
                )
                turn = self._input_config().get("turn_detection") or {}
                if self.active is not None and turn.get("interrupt_response", True):
                    self.active.cancel_reason = "turn_detected"
                    if self.output_audio is not None:
                        # WebRTC: the student talked over the tutor, whose queued audio is dropped.
                        self.output_audio.clear()
                        await self.send(
                            {"type": "output_audio_buffer.cleared", "response_id": self.active.response_id}
                        )
            else:
                item_id = self.speech_item_id or new_id("item_")
                self.speech_item_id = None
                await self.send(
                    {
                        "type": "input_audio_buffer.speech_stopped",
                        "audio_end_ms": vad_event.at_ms,
                        "item_id": item_id,
                    }
                )
                await self._commit(item_id, event_id=None)
                turn = self._input_config().get("turn_detection") or {}
                if not self.is_transcription and turn.get("create_response", True) and self.active is None:
                    self._start_response({})

    async def on_input_audio_buffer_commit(self, event: dict[str, Any]) -> None:
        await self._commit(None, event_id=event.get("event_id"))

    async def on_input_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        self.buffer.clear()
        if self.vad is not None:
            self.vad.reset()
        await self.send({"type": "input_audio_buffer.cleared"})

    async def on_output_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        if self.output_audio is not None:
            self.output_audio.clear()
        await self.send(
            {
                "type": "output_audio_buffer.cleared",
                "response_id": self.active.response_id if self.active else None,
            }
        )

    async def _commit(self, item_id: str | None, *, event_id: str | None) -> None:
        if len(self.buffer) < _MIN_COMMIT_BYTES:
            have_ms = audio.duration_s(len(self.buffer)) * 1000
            await self.error(
                "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, "
                f"but buffer only has {have_ms:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
                event_id=event_id,
            )
            return
        pcm = bytes(self.buffer)
        self.buffer.clear()
        item_id = item_id or new_id("item_")
        previous = self._previous_id()
        self.state.script.record(
            "realtime", {"type": "input_audio_buffer.committed", "item_id": item_id, "audio_bytes": len(pcm)}
        )
        await self.send(
            {"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": previous}
        )
        content: dict[str, Any] = {"type": "input_audio", "transcript": None}
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [content],
        }
        self.items.append(item)
        await self._announce_item(item, previous, done=True)

        scripted = self.state.script.take_transcription()
        transcript = (
            scripted
            if scripted is not None
            else ("" if audio.rms(pcm) < _SILENCE_RMS else DEFAULT_TRANSCRIPT)
        )
        self.transcripts[item_id] = transcript
        content["transcript"] = transcript
        # Committed audio is always transcribed, whether or not the session configured input
        # transcription: clients of the emulator rely on the transcript events after a commit.
        for piece in text_chunks(transcript):
            await self.send(
                {
                    "type": "conversation.item.input_audio_transcription.delta",
                    "item_id": item_id,
                    "content_index": 0,
                    "delta": piece,
                }
            )
        audio_tokens = max(1, round(audio.duration_s(len(pcm)) * 10))
        text_tokens = estimate_tokens(transcript)
        await self.send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item_id,
                "content_index": 0,
                "transcript": transcript,
                "usage": {
                    "type": "tokens",
                    "input_tokens": audio_tokens,
                    "output_tokens": text_tokens,
                    "total_tokens": audio_tokens + text_tokens,
                    "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
                },
            }
        )

    # -- responses -------------------------------------------------------------------------------

    async def on_response_create(self, event: dict[str, Any]) -> None:
        params = event.get("response") or {}
        if not isinstance(params, dict):
            await self.error(
                "'response' must be an object.", param="response", event_id=event.get("event_id")
            )
            return
        if self.is_transcription:
            await self.error(
                "Transcription sessions do not create responses.",
                code="invalid_value",
                event_id=event.get("event_id"),
            )
            return
        if self.active is not None and params.get("conversation", "auto") != "none":
            await self.error(
                f"Conversation already has an active response in progress: {self.active.response_id}. "
                "Wait until the response is finished before creating a new one.",
                code="conversation_already_has_active_response",
                event_id=event.get("event_id"),
            )
            return
        self._start_response(params)

    async def on_response_cancel(self, event: dict[str, Any]) -> None:
        wanted = event.get("response_id")
        if self.active is None or (wanted and wanted != self.active.response_id):
            await self.error(
                "Cancellation failed: no active response found",
                code="response_cancel_not_active",
                event_id=event.get("event_id"),
            )
            return
        self.active.cancel_reason = "client_cancelled"

    def _start_response(self, params: dict[str, Any]) -> None:
        in_band = params.get("conversation", "auto") != "none"
        active = _Active(new_id("resp_"))
        if in_band:
            self.active = active
        self._spawn(self._respond(params, active, in_band))

    def _conversation(self, params: dict[str, Any]) -> Conversation:
        items = self.items
        if isinstance(params.get("input"), list):
            by_id = {item["id"]: item for item in self.items}
            items = [
                by_id.get(str(entry.get("id")), {}) if entry.get("type") == "item_reference" else entry
                for entry in params["input"]
                if isinstance(entry, dict)
            ]
        question = ""
        for item in reversed(items):
            if item.get("type") == "message" and item.get("role") == "user":
                question = self._item_text(item)
                break
        after_tool = bool(items) and items[-1].get("type") == "function_call_output"
        system = str(params.get("instructions") or self.session.get("instructions") or "")
        return Conversation(question=question, after_tool_result=after_tool, system=system)

    def _item_text(self, item: dict[str, Any]) -> str:
        parts: list[str] = []
        for part in item.get("content") or []:
            if part.get("type") == "input_text" and part.get("text"):
                parts.append(str(part["text"]))
            elif part.get("type") == "input_audio":
                heard = self.transcripts.get(item["id"], part.get("transcript"))
                if heard:
                    parts.append(str(heard))
        return " ".join(parts)

    def _tools(self, params: dict[str, Any]) -> tuple[list[offline.ToolSpec], str | None]:
        raw_tools = params["tools"] if "tools" in params else self.session.get("tools")
        tools = [
            offline.ToolSpec(str(t["name"]), str(t.get("description") or ""), t.get("parameters") or {})
            for t in raw_tools or []
            if isinstance(t, dict) and t.get("type", "function") == "function" and t.get("name")
        ]
        choice = params["tool_choice"] if "tool_choice" in params else self.session.get("tool_choice")
        if isinstance(choice, dict) and choice.get("name"):
            return tools, f"name:{choice['name']}"
        return tools, choice if choice in ("none", "required") else None

    async def _respond(self, params: dict[str, Any], active: _Active, in_band: bool) -> None:
        try:
            await self._generate(params, active, in_band)
        except (ConnectionResetError, RuntimeError) as exc:
            log.debug("realtime response %s ended early: %s", active.response_id, exc)
        finally:
            if self.active is active:
                self.active = None

    async def _generate(self, params: dict[str, Any], active: _Active, in_band: bool) -> None:
        tools, tool_choice = self._tools(params)
        plan = plan_reply(self.state.script, "realtime", self._conversation(params), tools, tool_choice)
        modalities = params.get("output_modalities") or self.session.get("output_modalities") or ["audio"]
        with_audio = "audio" in modalities
        voice = (((params.get("audio") or {}).get("output") or {}).get("voice")) or (
            ((self.session.get("audio") or {}).get("output") or {}).get("voice") or "alloy"
        )
        response: dict[str, Any] = {
            "object": "realtime.response",
            "id": active.response_id,
            "status": "in_progress",
            "status_details": None,
            "output": [],
            "conversation_id": self.conversation_id if in_band else None,
            "output_modalities": ["audio"] if with_audio else ["text"],
            "max_output_tokens": params.get("max_output_tokens")
            or self.session.get("max_output_tokens", "inf"),
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": voice}},
            "usage": None,
            "metadata": params.get("metadata"),
        }
        await self.send({"type": "response.created", "response": copy.deepcopy(response)})
        wait = self.state.script.latency_s("realtime") + plan.delay_s
        if wait:
            await asyncio.sleep(wait)

        audio_bytes = 0
        output_index = 0
        if plan.text or not plan.calls:
            item, audio_bytes = await self._message_item(
                plan, active, in_band, output_index, with_audio, voice
            )
            response["output"].append(item)
            output_index += 1
        for call in plan.calls:
            if active.cancel_reason:
                break
            response["output"].append(
                await self._call_item(plan, call.name, call.arguments, active, in_band, output_index)
            )
            output_index += 1

        text_out = estimate_tokens(plan.text + "".join(c.arguments for c in plan.calls))
        audio_out = audio_bytes // 960
        text_in = estimate_tokens(json.dumps([_public_item(i) for i in self.items]))
        response["usage"] = {
            "total_tokens": text_in + text_out + audio_out,
            "input_tokens": text_in,
            "output_tokens": text_out + audio_out,
            "input_token_details": {
                "text_tokens": text_in,
                "audio_tokens": 0,
                "image_tokens": 0,
                "cached_tokens": 0,
                "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
            },
            "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
        }
        if active.cancel_reason:
            response["status"] = "cancelled"
            response["status_details"] = {"type": "cancelled", "reason": active.cancel_reason}
        else:
            response["status"] = "completed"
        await self.send({"type": "response.done", "response": response})

    async def _pace(self, plan: Plan) -> None:
        await asyncio.sleep(plan.chunk_delay_s)

    async def _message_item(
        self, plan: Plan, active: _Active, in_band: bool, output_index: int, with_audio: bool, voice: str
    ) -> tuple[dict[str, Any], int]:
        rid = active.response_id
        item: dict[str, Any] = {
            "id": new_id("item_"),
            "object": "realtime.item",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        item_id = item["id"]
        where = {"response_id": rid, "item_id": item_id, "output_index": output_index, "content_index": 0}
        await self.send(
            {
                "type": "response.output_item.added",
                "response_id": rid,
                "output_index": output_index,
                "item": copy.deepcopy(item),
            }
        )
        previous = self._previous_id()
        if in_band:
            self.items.append(item)
            await self._announce_item(item, previous, done=False)
        empty_part = {"type": "audio", "transcript": ""} if with_audio else {"type": "text", "text": ""}
        await self.send({"type": "response.content_part.added", **where, "part": empty_part})

        sent = ""
        audio_bytes = 0
        pieces = text_chunks(plan.text)
        segments = audio.word_segments(plan.text, voice=voice) if with_audio and plan.text else []
        for index, piece in enumerate(pieces):
            if active.cancel_reason:
                break
            if with_audio:
                await self.send({"type": "response.output_audio_transcript.delta", **where, "delta": piece})
                if index < len(segments):
                    pcm = segments[index][1]
                    audio_bytes += len(pcm)
                    if self.output_audio is not None:
                        self.output_audio.play(rid, pcm)
                    else:
                        await self.send(
                            {
                                "type": "response.output_audio.delta",
                                **where,
                                "delta": base64.b64encode(pcm).decode(),
                            }
                        )
            else:
                await self.send({"type": "response.output_text.delta", **where, "delta": piece})
            sent += piece
            await self._pace(plan)

        if with_audio:
            if self.output_audio is not None:
                self.output_audio.finish(rid)
            await self.send({"type": "response.output_audio.done", **where})
            await self.send({"type": "response.output_audio_transcript.done", **where, "transcript": sent})
            final_part: dict[str, Any] = {"type": "audio", "transcript": sent}
            item["content"] = [{"type": "output_audio", "transcript": sent}]
        else:
            await self.send({"type": "response.output_text.done", **where, "text": sent})
            final_part = {"type": "text", "text": sent}
            item["content"] = [{"type": "output_text", "text": sent}]
        await self.send({"type": "response.content_part.done", **where, "part": final_part})
        item["status"] = "incomplete" if active.cancel_reason else "completed"
        await self.send(
            {
                "type": "response.output_item.done",
                "response_id": rid,
                "output_index": output_index,
                "item": copy.deepcopy(item),
            }
        )
        if in_band:
            await self.send(
                {"type": "conversation.item.done", "previous_item_id": previous, "item": _public_item(item)}
            )
        return copy.deepcopy(item), audio_bytes

    async def _call_item(
        self, plan: Plan, name: str, arguments: str, active: _Active, in_band: bool, output_index: int
    ) -> dict[str, Any]:
        rid = active.response_id
        item: dict[str, Any] = {
            "id": new_id("item_"),
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "name": name,
            "call_id": new_id("call_", 16),
            "arguments": "",
        }
        await self.send(
            {
                "type": "response.output_item.added",
                "response_id": rid,
                "output_index": output_index,
                "item": copy.deepcopy(item),
            }
        )
        previous = self._previous_id()
        if in_band:
            self.items.append(item)
            await self._announce_item(item, previous, done=False)
        where = {
            "response_id": rid,
            "item_id": item["id"],
            "output_index": output_index,
            "call_id": item["call_id"],
        }
        for piece in json_chunks(arguments):
            await self.send({"type": "response.function_call_arguments.delta", **where, "delta": piece})
            await self._pace(plan)
        await self.send(
            {"type": "response.function_call_arguments.done", **where, "name": name, "arguments": arguments}
        )
        item["arguments"] = arguments
        item["status"] = "completed"
        await self.send(
            {
                "type": "response.output_item.done",
                "response_id": rid,
                "output_index": output_index,
                "item": copy.deepcopy(item),
            }
        )
        if in_band:
            await self.send(
                {"type": "conversation.item.done", "previous_item_id": previous, "item": _public_item(item)}
            )
        return copy.deepcopy(item)


def _public_item(item: dict[str, Any]) -> dict[str, Any]:
    """The item as the server echoes it: input audio bytes are never sent back."""
    public = copy.deepcopy(item)
    for part in public.get("content") or []:
        if isinstance(part, dict):
            part.pop("audio", None)
    return public
