"""Request and response models of the public API (the OpenAPI schema is generated from these)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator


def storable_text(text: str) -> str:
    """Text that PostgreSQL can store: no NUL character, no unpaired surrogates (a 422, not a 5xx)."""
    if "\x00" in text:
        raise ValueError("text must not contain the NUL character (\\u0000)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no unpaired surrogates)") from None
    return text


StoredText = Annotated[str, AfterValidator(storable_text)]

ATTRIBUTE_KEY = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
VariantName = Literal["A", "B"]
RoleName = Literal["student", "teacher", "admin"]
SubjectName = Literal["math", "history", "english", "off_topic", "needs_teacher"]


class Problem(BaseModel):
    """Every error: what was wrong and what to do."""

    detail: str


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting these error statuses with the Problem body."""
    return {code: {"model": Problem} for code in codes}


# --- auth ------------------------------------------------------------------------------------


class CsrfTokenOut(BaseModel):
    token: str = Field(description="Send back as the X-CSRF-Token header on state-changing requests.")
    expires_at: int = Field(description="Unix seconds; fetch a new token before then.")


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID | None = Field(default=None, description="A seeded demo user's id.")
    login: str | None = Field(
        default=None, min_length=1, max_length=200, description="Or the user's display name or e-mail."
    )

    @model_validator(mode="after")
    def _one_of(self) -> LoginIn:
        if (self.user_id is None) == (self.login is None):
            raise ValueError("send exactly one of user_id or login")
        return self


class UserOut(BaseModel):
    user_id: uuid.UUID
    role: RoleName
    display_name: str


class LoginOut(BaseModel):
    user: UserOut
    access_token: str = Field(description="Also set as an HttpOnly cookie; send as Bearer from non-browsers.")
    token_type: Literal["bearer"] = "bearer"
    expires_at: int
    csrf_token: str = Field(description="CSRF token bound to this sign-in (also set as a cookie).")


class DemoUserOut(BaseModel):
    user_id: uuid.UUID
    role: RoleName
    display_name: str
    login: str = Field(description="What to type to sign in as this user.")


class LogoutOut(BaseModel):
    signed_out: bool = True


class PublicConfigOut(BaseModel):
    deployment: str
    revision: str
    offline: bool = Field(description="Model calls go to the local emulators (show it in the UI).")
    local_login: bool
    variants_enabled: dict[str, bool]
    livekit_url: str | None
    qa_override_open: bool = Field(
        description="The caller may pin version A or B (X-Tutor-Variant / ?variant=): staff always, "
        "students only when the gateway opens the QA override to everyone."
    )
    realtime_calls_url: str | None = Field(
        description="Version B: where the browser posts its WebRTC SDP offer (OpenAI Realtime calls "
        "endpoint, the emulator in offline mode); null when this gateway cannot mint Realtime keys."
    )


# --- sessions --------------------------------------------------------------------------------


class SessionCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    student_id: uuid.UUID | None = Field(
        default=None, description="Staff only: start a QA session for one of your students."
    )
    client: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        max_length=16,
        description="Browser facts to keep with the session (keys up to 64 characters, text values up to 512).",
    )

    @field_validator("client")
    @classmethod
    def _storable_client_facts(
        cls, value: dict[str, str | int | float | bool]
    ) -> dict[str, str | int | float | bool]:
        # Stored as JSONB: PostgreSQL refuses the NUL character, and a huge value is not a browser fact.
        for key, item in value.items():
            if not 1 <= len(key) <= 64:
                raise ValueError(f"client keys must be 1-64 characters (got {len(key)})")
            for text in (key, item) if isinstance(item, str) else (key,):
                storable_text(text)
            if isinstance(item, str) and len(item) > 512:
                raise ValueError(f"client value {key!r} is longer than 512 characters")
        return value


class LiveKitJoinOut(BaseModel):
    url: str
    token: str
    room: str
    agent_name: str


class RealtimeJoinOut(BaseModel):
    client_secret: str = Field(description="Ephemeral key for the browser's direct Realtime connection.")
    expires_at: int
    model: str
    voice: str
    tools: list[str]


class SessionOut(BaseModel):
    session_id: uuid.UUID
    student_id: uuid.UUID
    variant: VariantName
    revision: str
    assignment_reason: Literal["weighted", "override"]
    deployment: str
    started_at: dt.datetime
    livekit: LiveKitJoinOut | None = None
    realtime: RealtimeJoinOut | None = None


class SessionCloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_report: dict[str, Any] | None = Field(
        default=None,
        description="Client-built report; the server builds one from the audit tables when absent.",
    )


class SessionCloseOut(BaseModel):
    session_id: uuid.UUID
    closed: bool
    ended_at: dt.datetime | None
    session_report: dict[str, Any] | None


class SessionSummaryOut(BaseModel):
    session_id: uuid.UUID
    student_id: uuid.UUID
    student_name: str | None = None
    variant: VariantName
    revision: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    room_name: str | None = None


# --- turns -----------------------------------------------------------------------------------


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: StoredText = Field(min_length=1, max_length=10000, description="What the student said or typed.")
    speak: bool = Field(default=True, description="Stream TTS audio events for each guarded sentence.")
    source: Literal["typed", "voice", "realtime_tool"] = "typed"
    subject_hint: Literal["math", "history"] | None = Field(
        default=None, description="Version B: the subject the Realtime tool call named."
    )


class CancelOut(BaseModel):
    turn_id: str
    cancelled: bool


class RealtimeUsageIn(BaseModel):
    """Usage from the Realtime ``response.done`` event (so version B's cost can be reported)."""

    model_config = ConfigDict(extra="forbid")

    input_tokens: int = Field(default=0, ge=0, le=1_000_000)
    output_tokens: int = Field(default=0, ge=0, le=1_000_000)
    audio_seconds: float = Field(default=0.0, ge=0, le=3600)


class TranscriptDeltaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    response_id: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Realtime response id (assistant) or input item id (user).",
    )
    role: Literal["user", "assistant"]
    delta: StoredText = Field(
        default="", max_length=4000, description="New transcript text since the last post."
    )
    final: bool = Field(default=False, description="The response/transcription is complete.")
    usage: RealtimeUsageIn | None = None


class TranscriptVerdictOut(BaseModel):
    action: Literal["cancel_response", "continue"]
    category: str | None = None
    message: str | None = Field(default=None, description="What to say instead, when cancelling.")
    escalated: bool = False


# --- escalations & teacher -------------------------------------------------------------------


class EscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: StoredText = Field(min_length=1, max_length=500)


class EscalationOut(BaseModel):
    id: int
    session_id: uuid.UUID
    student_id: uuid.UUID
    student_name: str | None = None
    reason: str
    source: Literal["student", "guardrail", "router", "agent", "teacher"]
    status: Literal["open", "acknowledged", "resolved"]
    created_at: dt.datetime | None = None
    acknowledged_at: dt.datetime | None = None


class EscalateOut(BaseModel):
    session_id: uuid.UUID
    escalation: EscalationOut | None = Field(description="The stored escalation; null when it was queued.")
    queued: bool = Field(description="True when the database was unavailable and the row waits for retry.")


class HintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: StoredText = Field(min_length=1, max_length=1000)


class HintOut(BaseModel):
    session_id: uuid.UUID
    delivered_to: int = Field(description="Replicas with an open student stream that received the hint.")
    stored: bool


class TeacherSessionOut(SessionSummaryOut):
    open_escalations: int = 0


class TranscriptTurnOut(BaseModel):
    turn_index: int
    speaker: str
    role: str
    content: str
    subject: str | None = None
    latency_ms: float | None = None
    created_at: dt.datetime | None = None


class TranscriptOut(BaseModel):
    session: SessionSummaryOut
    turns: list[TranscriptTurnOut]


class TeacherJoinOut(BaseModel):
    url: str
    token: str
    room: str


# --- telemetry & platform --------------------------------------------------------------------


class BrowserEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.-]{0,63}$")
    session_id: uuid.UUID | None = None
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=32)
    duration_ms: float | None = Field(default=None, ge=0, le=3_600_000)
    client_ts_ms: int | None = Field(default=None, ge=0, le=2**53)

    @field_validator("attributes")
    @classmethod
    def _bounded_attributes(
        cls, value: dict[str, str | int | float | bool]
    ) -> dict[str, str | int | float | bool]:
        for key, item in value.items():
            if not ATTRIBUTE_KEY.match(key):
                raise ValueError(f"attribute key {key[:40]!r} must match {ATTRIBUTE_KEY.pattern}")
            if isinstance(item, str) and len(item) > 512:
                raise ValueError(f"attribute {key} is over 512 characters")
        return value


class BrowserEventOut(BaseModel):
    accepted: bool
    reason: str | None = None


class DeploymentOut(BaseModel):
    name: str
    variant: str | None = None
    revision: str | None = None
    weights: dict[str, int] = Field(default_factory=dict)
    replicas: int | None = None
    ready_replicas: int | None = None
    active_sessions: int | None = None
    rollout_step: str | None = None
    last_analysis: dict[str, Any] | None = None
    unavailable_reason: str | None = None


class DeploymentsOut(BaseModel):
    source: str = Field(description="Where the status came from: the operator's status file or the config.")
    updated_at: str | None = None
    deployments: list[DeploymentOut]


class EstimateOut(BaseModel):
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


class VariantReportOut(BaseModel):
    variant: VariantName
    sessions: int
    turns: int
    latency_p50_ms: EstimateOut
    latency_p95_ms: EstimateOut
    cost_per_session_usd: EstimateOut
    escalation_rate: EstimateOut
    guardrail_block_rate: EstimateOut


class AbReportOut(BaseModel):
    deployment: str
    enough_data: bool
    min_sessions: int
    verdict: str
    findings: list[str]
    variants: list[VariantReportOut]


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    ready: bool
    draining: bool
    checks: dict[str, str] = Field(description="Each dependency: `ok`, or what failed.")
    degraded: list[str] = Field(
        description="Failing dependencies this replica serves without (degraded, still ready)."
    )
