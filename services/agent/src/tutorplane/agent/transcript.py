"""The live transcript: every student and tutor turn, published to the room and stored.

Published on the LiveKit data topic ``transcript`` as one JSON object per message::

    {"speaker": "math", "role": "assistant", "content": "...", "subject": "math",
     "turn": 3, "session_id": "<uuid>", "latency_ms": 812.5}

Rules (each was a bug in an earlier system):

* the ``conversation_item_added`` event is unwrapped (``event.item``) and only chat messages are
  turns (a handoff item is not);
* text comes from ``ChatMessage.text_content`` (content parts are plain strings, not objects);
* the speaker of a tutor turn is the agent that produced it (``SessionState.speaking_agent``), not
  the agent the session is handing over to;
* a question we replay to a new agent after a handoff is not a student turn: it is skipped by the
  ``skip_next_user_turns`` counter together with a marker on the injected message itself, never by
  comparing text;
* the handler is synchronous and only schedules work (the SDK rejects async callbacks), and
  storage is fire-and-forget.

Student text is PII-masked before it is published or stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import llm
from tutorplane.agent.audit import AuditSink
from tutorplane.agent.events import TRANSCRIPT_TOPIC, EventBus
from tutorplane.agent.state import SessionState, Speaker
from tutorplane.agent.telemetry import event_span

log = logging.getLogger(__name__)

# Marks a user message we injected (a handed-over question), in ChatMessage.extra.
INJECTED_KEY = "tutorplane_injected"
# The injected text already passed the input check in this session (an in-session handoff).
CHECKED_KEY = "tutorplane_input_checked"


def injected_message(text: str, *, checked: bool = False) -> llm.ChatMessage:
    """A user message carrying the handed-over question, marked as not said by the student now."""
    return llm.ChatMessage(role="user", content=[text], extra={INJECTED_KEY: True, CHECKED_KEY: checked})


def is_injected(message: llm.ChatMessage) -> bool:
    return bool(message.extra.get(INJECTED_KEY))


def input_already_checked(message: llm.ChatMessage) -> bool:
    return bool(message.extra.get(CHECKED_KEY))


@dataclass
class _PendingRow:
    turn_index: int
    speaker: str
    content: list[str]
    subject: str | None
    latency_ms: float | None
    checked_sentences: int | None = None


@dataclass
class TranscriptRecorder:
    """Follows one ``AgentSession`` and turns its conversation items into transcript turns."""

    state: SessionState
    events: EventBus
    audit: AuditSink
    mask: Callable[[str], str]
    persist: bool = True
    # Realtime sessions create user items from server events, so a marker cannot travel with
    # the injected question; there the counter alone decides.
    counter_only: bool = False
    published: list[dict[str, Any]] = field(default_factory=list)
    _pending: _PendingRow | None = None

    def attach(self, session: Any) -> None:
        session.on("conversation_item_added", self.on_conversation_item_added)
        session.on("close", lambda _ev: self.flush())

    # The SDK requires synchronous callbacks; nothing here awaits.
    def on_conversation_item_added(self, event: Any) -> None:
        item = getattr(event, "item", event)
        if not isinstance(item, llm.ChatMessage):
            return
        if item.role == "user":
            self._on_user(item)
        elif item.role == "assistant":
            self._on_assistant(item)

    def _on_user(self, message: llm.ChatMessage) -> None:
        if self._should_skip(message):
            return
        text = (message.text_content or "").strip()
        if not text:
            return
        turn = self.state.register_student_message(message.id, input_at=message.created_at)
        self._emit(Speaker.student.value, "user", self.mask(text), turn, subject=None, latency_ms=None)

    def _should_skip(self, message: llm.ChatMessage) -> bool:
        if is_injected(message):
            if self.state.skip_next_user_turns > 0:
                self.state.skip_next_user_turns -= 1
            return True
        if self.counter_only and self.state.skip_next_user_turns > 0:
            self.state.skip_next_user_turns -= 1
            return True
        return False

    def _on_assistant(self, message: llm.ChatMessage) -> None:
        text = (message.text_content or "").strip()
        if not text:
            return  # a tool-call-only reply or an interrupted empty reply is not a turn
        speaker = self.state.speaking_agent.value
        subject = self.state.current_subject if speaker not in ("orchestrator", "system") else None
        latency = self.state.first_sentence_ms
        self._emit(speaker, "assistant", text, self.state.turn_index, subject=subject, latency_ms=latency)

    def _emit(
        self,
        speaker: str,
        role: str,
        content: str,
        turn: int,
        *,
        subject: str | None,
        latency_ms: float | None,
    ) -> None:
        message: dict[str, Any] = {
            "speaker": speaker,
            "role": role,
            "content": content,
            "subject": subject,
            "turn": turn,
            "session_id": self.state.session_id,
        }
        if latency_ms is not None:
            message["latency_ms"] = round(latency_ms, 1)
        self.published.append(message)
        self.events.publish_json(TRANSCRIPT_TOPIC, message)
        event_span(
            "conversation.item", self.state, speaker=speaker, role=role, turn=turn, e2e_response_ms=latency_ms
        )
        if self.persist:
            self._store(turn, speaker, role, content, subject, latency_ms)

    def _store(
        self, turn: int, speaker: str, role: str, content: str, subject: str | None, latency_ms: float | None
    ) -> None:
        # transcript_turns is unique per (session, turn, speaker): several messages of one speaker
        # in one turn (a transition line, then the answer after a tool call) become one row.
        pending = self._pending
        if pending is not None and pending.turn_index == turn and pending.speaker == speaker:
            pending.content.append(content)
            if role == "assistant":
                pending.checked_sentences = self.state.checked_sentences
            if pending.latency_ms is None:
                pending.latency_ms = latency_ms
            return
        self.flush()
        self._pending = _PendingRow(turn, speaker, [content], subject, latency_ms)
        if role == "assistant":
            # Taken now: the counter restarts when the next student message arrives, before this flush.
            self._pending.checked_sentences = self.state.checked_sentences
        if role == "user":
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None or not self.persist:
            return
        row: dict[str, Any] = {
            "session_id": self.state.session_id,
            "turn_index": pending.turn_index,
            "speaker": pending.speaker,
            "role": "user" if pending.speaker == Speaker.student.value else "assistant",
            "content": " ".join(pending.content),
        }
        if pending.subject:
            row["subject"] = pending.subject
        if pending.latency_ms is not None:
            row["latency_ms"] = pending.latency_ms
        if pending.checked_sentences is not None:
            row["checked_sentences"] = pending.checked_sentences
        try:
            self.audit.submit("transcript_turns", row)
        except ValueError:
            log.exception("transcript row rejected", extra={"turn": pending.turn_index})
