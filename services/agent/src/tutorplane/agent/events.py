"""Flow events for the web app, published to the room as JSON data messages.

Every message is one UTF-8 JSON object, sent reliably on the LiveKit data topic ``tutorplane.events``
(the live transcript has its own topic, ``transcript``; see :mod:`tutorplane.agent.transcript`).
Event names are the gateway's SSE event names where the two overlap, so the web app's flow view
handles both variants with one reducer.

Common fields of every event::

    {"event": "<name>", "seq": 7, "session_id": "<uuid>", "ts": 1732550000.123, ...}

``seq`` increases by one per event within a job (a gap means a lost message); ``ts`` is the
agent's clock in seconds since the epoch.

Event names and their own fields:

``state``      ``agent_state`` (``listening`` | ``thinking`` | ``speaking`` | ``initializing`` | ``idle``),
               ``speaking_agent``, ``step`` (``orchestrator`` | ``specialist`` | ``guardrail`` | ``tts`` | null),
               ``teacher_present`` (bool)
``routing``    ``turn_index``, ``subject``, ``confidence``, ``strategy``, ``stage``, ``latency_ms``,
               ``rationale``
``guardrail``  ``turn_index``, ``direction`` (``input`` | ``output``), ``action`` (``allow`` | ``rewrite`` |
               ``block`` | ``escalate``), ``category``, ``score``, ``fail_closed``, ``agent``
``sentence``   ``turn_index``, ``index`` (0-based within the turn), ``agent``, ``text`` (as released for
               speech, after the guardrail), ``action``, ``latency_ms`` (end of student input to release)
``handoff``    ``from_agent``, ``to_agent``, ``mode`` (``in_session`` | ``dispatch`` | ``fallback``),
               ``reason``, ``question`` (masked, short)
``escalation`` ``reason``, ``source`` (``student`` | ``guardrail`` | ``router`` | ``agent``), ``turn_index``

Only ``allow`` guardrail decisions are left out of ``guardrail`` events (each released sentence is a
``sentence`` event carrying its action); every non-allow decision is published.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from tutorplane.agent.background import BackgroundTasks

log = logging.getLogger(__name__)

EVENTS_TOPIC = "tutorplane.events"
TRANSCRIPT_TOPIC = "transcript"

EventName = Literal["state", "routing", "guardrail", "sentence", "handoff", "escalation"]
EVENT_NAMES: frozenset[str] = frozenset(
    {"state", "routing", "guardrail", "sentence", "handoff", "escalation"}
)
PipelineStep = Literal["orchestrator", "specialist", "guardrail", "tts"]

# LiveKit data packets above ~15 KB are rejected by the SFU; events stay far below.
MAX_EVENT_BYTES = 14_000


class RoomSink(Protocol):
    """Where JSON messages go: the room's data channel in production, a list in tests."""

    async def publish(self, topic: str, payload: bytes) -> None: ...


class LocalParticipantSink:
    """Reliable data messages from the agent's local participant."""

    def __init__(self, room: Any) -> None:
        self._room = room

    async def publish(self, topic: str, payload: bytes) -> None:
        if not self._room.isconnected():
            return
        await self._room.local_participant.publish_data(payload, reliable=True, topic=topic)


class NullSink:
    async def publish(self, topic: str, payload: bytes) -> None:
        return None


@dataclass
class EventBus:
    """Builds, numbers and publishes events without ever blocking the caller."""

    session_id: str
    sink: RoomSink
    tasks: BackgroundTasks = field(default_factory=lambda: BackgroundTasks("events"))
    _seq: int = 0

    def emit(self, name: EventName, **fields: Any) -> dict[str, Any]:
        """Publish one flow event (sync: safe to call from LiveKit's synchronous event handlers)."""
        if name not in EVENT_NAMES:
            raise ValueError(f"unknown event name {name!r}; known: {sorted(EVENT_NAMES)}")
        self._seq += 1
        event = {"event": name, "seq": self._seq, "session_id": self.session_id, "ts": round(time.time(), 3)}
        event.update(fields)
        self.publish_json(EVENTS_TOPIC, event)
        return event

    def publish_json(self, topic: str, message: dict[str, Any]) -> None:
        payload = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str).encode()
        if len(payload) > MAX_EVENT_BYTES:
            log.warning("event too large, not published", extra={"topic": topic, "bytes": len(payload)})
            return
        self.tasks.spawn(self._publish(topic, payload), name=f"publish:{topic}")

    async def _publish(self, topic: str, payload: bytes) -> None:
        try:
            await self.sink.publish(topic, payload)
        except Exception as exc:
            # The room may be closing; a lost flow event must never break a turn.
            log.debug("event publish failed", extra={"topic": topic, "error": repr(exc)})

    def state(
        self,
        *,
        agent_state: str | None = None,
        speaking_agent: str | None = None,
        step: PipelineStep | None = None,
        teacher_present: bool | None = None,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {"step": step}
        if agent_state is not None:
            fields["agent_state"] = agent_state
        if speaking_agent is not None:
            fields["speaking_agent"] = speaking_agent
        if teacher_present is not None:
            fields["teacher_present"] = teacher_present
        return self.emit("state", **fields)

    async def aclose(self) -> None:
        await self.tasks.aclose()
