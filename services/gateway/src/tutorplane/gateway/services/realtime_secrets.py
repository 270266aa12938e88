"""Version B: an OpenAI Realtime ephemeral client secret with the session's configuration.

The browser connects to Realtime directly with this short-lived key. The session (the routing
package's English Realtime configuration) handles English and small talk itself and hands
math/history questions to the gateway through the ``ask_specialist`` tool (the gateway guards and
speaks those answers); it asks for a teacher through ``request_teacher``. Input transcription is
on, so the gateway can moderate the student's words and store transcript turns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import openai
from openai import AsyncOpenAI
from tutorplane.routing.prompts import ENGLISH_SYSTEM, render

VERSION_B_ADDENDUM = """
In this app you are also the first voice the student hears. You may make brief, friendly small
talk, then steer back to learning. For any math or history question, do not answer it yourself:
call ask_specialist with the student's question (in their own words) and the subject, and say one
short filler such as "Let me check that for you." The tool result has already been spoken to the
student by the app: do not read it again; at most ask whether they have a follow-up question.
If the student is upset, talks about being hurt or unsafe, or asks for a person, call
request_teacher with a short reason and tell them kindly that a teacher is coming."""


TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "ask_specialist",
        "description": "Hand a math or history question to the specialist tutor; the app speaks the answer.",
        "parameters": {
            "type": "object",
            "properties": {
                "question": {"type": "string", "description": "The student's question, verbatim."},
                "subject": {"type": "string", "enum": ["math", "history"]},
            },
            "required": ["question", "subject"],
            "additionalProperties": False,
        },
    },
    {
        "type": "function",
        "name": "request_teacher",
        "description": "Ask a human teacher to join because the student needs help a tutor cannot give.",
        "parameters": {
            "type": "object",
            "properties": {"reason": {"type": "string", "description": "Why a teacher is needed."}},
            "required": ["reason"],
            "additionalProperties": False,
        },
    },
]


@dataclass(frozen=True)
class RealtimeGrant:
    value: str
    expires_at: int
    model: str
    session: dict[str, Any]


@dataclass(frozen=True)
class RealtimeMinter:
    """Mints keys for the version-B session: the English Realtime configuration (model, voice,
    transcription, turn detection from settings) with version B's instructions and tools."""

    client: AsyncOpenAI
    base_session: dict[str, Any]
    ages: str
    ttl_s: int
    _session: dict[str, Any] = field(init=False, repr=False)

    @property
    def model(self) -> str:
        return str(self.base_session.get("model", ""))

    @property
    def voice(self) -> str:
        return str(self.base_session.get("audio", {}).get("output", {}).get("voice", ""))

    def session_config(self) -> dict[str, Any]:
        return self._session

    def __post_init__(self) -> None:
        session = dict(self.base_session)
        session["instructions"] = render(ENGLISH_SYSTEM, self.ages) + VERSION_B_ADDENDUM
        session["tools"] = TOOLS
        session["tool_choice"] = "auto"
        object.__setattr__(self, "_session", session)

    async def mint(self) -> RealtimeGrant:
        session = self.session_config()
        # The session is built once and already in wire form, so it goes as the raw body (the SDK
        # would re-walk it against its TypedDicts on every call), and only value/expires_at are read
        # back (parsing the echoed session into SDK models is most of the remaining CPU cost).
        raw = await self.client.realtime.client_secrets.with_raw_response.create(
            extra_body={"expires_after": {"anchor": "created_at", "seconds": self.ttl_s}, "session": session},
        )
        try:
            body = raw.http_response.json()
            value, expires_at = str(body["value"]), int(body["expires_at"])
        except (ValueError, KeyError, TypeError) as exc:
            raise openai.APIResponseValidationError(
                response=raw.http_response,
                body=None,
                message="client secret response without value/expires_at",
            ) from exc
        return RealtimeGrant(value=value, expires_at=expires_at, model=self.model, session=session)
