"""English over OpenAI Realtime (speech to speech): the session configuration and the contract
for handing the conversation back to the orchestrator.

Both versions use this: version B mints an ephemeral client secret with :meth:`EnglishRealtimeConfig.session`
(``client.realtime.client_secrets.create(session=...)``) and the browser talks to Realtime directly;
version A starts a second LiveKit session with the same model, voice and instructions.

Handing back: the Realtime model calls the ``hand_back`` tool with the student's question in
their words and a reason. :meth:`HandBack.from_arguments` validates the call; the JSON from
:meth:`HandBack.to_metadata` travels in dispatch/job metadata (JSON, so a ``|`` or ``:`` in the
question cannot break it), and the orchestrator routes ``HandBack.question`` as the next student
turn. :meth:`EnglishRealtimeConfig.opening_events` seeds a new English session with the recent
turns and the question that was routed to English, so nothing has to be asked twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tutorplane.common.settings import ModelSettings
from tutorplane.routing.prompts import ENGLISH_REALTIME_HANDBACK, ENGLISH_SYSTEM, render
from tutorplane.routing.types import Turn

HAND_BACK_TOOL_NAME = "hand_back"
MAX_QUESTION_CHARS = 500


class HandBackReason(StrEnum):
    other_subject = "other_subject"
    goodbye = "goodbye"
    needs_teacher = "needs_teacher"


HAND_BACK_TOOL: dict[str, Any] = {
    "type": "function",
    "name": HAND_BACK_TOOL_NAME,
    "description": (
        "Hand the student back to the main tutor: the question is not about English, the student "
        "said goodbye, or the student seems upset or unsafe."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "question": {
                "type": "string",
                "description": "The student's latest question in their own words (empty for goodbye).",
            },
            "reason": {"type": "string", "enum": [r.value for r in HandBackReason]},
        },
        "required": ["question", "reason"],
        "additionalProperties": False,
    },
}


@dataclass(frozen=True, slots=True)
class HandBack:
    """The English session returns control, carrying the student's question over."""

    question: str
    reason: HandBackReason

    @classmethod
    def from_arguments(cls, arguments: str | dict[str, Any]) -> HandBack:
        """Parse the ``hand_back`` tool arguments; ValueError says what was wrong."""
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError as exc:
                raise ValueError(f"hand_back arguments are not valid JSON: {exc}") from exc
        if not isinstance(arguments, dict):
            raise ValueError("hand_back arguments must be a JSON object with question and reason")
        try:
            reason = HandBackReason(str(arguments.get("reason", HandBackReason.other_subject.value)))
        except ValueError as exc:
            raise ValueError(
                f"hand_back reason {arguments.get('reason')!r} is not one of "
                f"{[r.value for r in HandBackReason]}"
            ) from exc
        question = " ".join(str(arguments.get("question", "")).split())[:MAX_QUESTION_CHARS]
        if not question and reason is HandBackReason.other_subject:
            raise ValueError("hand_back with reason other_subject must carry the question")
        return cls(question=question, reason=reason)

    def to_metadata(self) -> str:
        return json.dumps({"hand_back": {"question": self.question, "reason": self.reason.value}})

    @classmethod
    def from_metadata(cls, metadata: str) -> HandBack | None:
        """The hand-back carried in job/dispatch metadata, or None when there is none."""
        try:
            data = json.loads(metadata) if metadata else {}
        except json.JSONDecodeError:
            return None
        payload = data.get("hand_back") if isinstance(data, dict) else None
        return cls.from_arguments(payload) if isinstance(payload, dict) else None


def function_call_output(call_id: str, output: str = "handed back to the main tutor") -> dict[str, Any]:
    """The client event that answers a ``hand_back`` call, so the Realtime conversation knows it
    was handled and does not keep talking over the handoff."""
    return {
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": call_id, "output": output},
    }


@dataclass(frozen=True, slots=True)
class EnglishRealtimeConfig:
    """Everything an English Realtime session needs; every value comes from settings."""

    model: str
    voice: str
    instructions: str
    transcription_model: str
    turn_detection: dict[str, Any] = field(
        default_factory=lambda: {"type": "semantic_vad", "eagerness": "auto", "interrupt_response": True}
    )
    max_output_tokens: int = 400

    @classmethod
    def from_settings(cls, models: ModelSettings, *, ages: str = "8-16") -> EnglishRealtimeConfig:
        return cls(
            model=models.realtime_model,
            voice=models.english_voice,
            instructions=render(ENGLISH_SYSTEM + ENGLISH_REALTIME_HANDBACK, ages),
            transcription_model=models.stt_model,
            max_output_tokens=models.max_answer_tokens,
        )

    def tools(self) -> list[dict[str, Any]]:
        return [HAND_BACK_TOOL]

    def session(self) -> dict[str, Any]:
        """The GA ``realtime`` session object (for ``session.update`` and client secrets)."""
        return {
            "type": "realtime",
            "model": self.model,
            "instructions": self.instructions,
            "output_modalities": ["audio"],
            "max_output_tokens": self.max_output_tokens,
            "audio": {
                "input": {
                    "transcription": {"model": self.transcription_model},
                    "turn_detection": self.turn_detection,
                },
                "output": {"voice": self.voice},
            },
            "tools": self.tools(),
            "tool_choice": "auto",
        }

    def opening_events(
        self, question: str, history: Sequence[Turn] = (), *, turns: int = 6
    ) -> list[dict[str, Any]]:
        """Client events that seed a new English session with recent turns and the routed question,
        then ask for a response."""
        events: list[dict[str, Any]] = []
        for turn in list(history)[-turns:] if turns else []:
            if not turn.text.strip():
                continue
            content_type = "input_text" if turn.role == "user" else "output_text"
            events.append(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "message",
                        "role": turn.role,
                        "content": [{"type": content_type, "text": turn.text}],
                    },
                }
            )
        if question.strip():
            events.append(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": question}],
                    },
                }
            )
        events.append({"type": "response.create"})
        return events
