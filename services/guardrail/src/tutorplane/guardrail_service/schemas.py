"""Wire models of ``POST /v1/check``."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from tutorplane.guardrail.policy import Action, Direction

MAX_TEXTS = 64
MAX_TEXT_CHARS = 4000

Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]


class CheckContextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: UUID | None = Field(default=None, description="Learning session id (audit rows link to it).")
    source: str = Field(
        default="service",
        pattern=r"^[a-z0-9][a-z0-9:_.-]{0,63}$",
        description="Caller, e.g. 'gateway' or 'agent:math'.",
    )
    age_band: Literal["8-10", "11-13", "14-16"] | None = Field(
        default=None, description="Reading level for rewrites (default: ages 8-16)."
    )


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[Text] = Field(
        min_length=1, max_length=MAX_TEXTS, description="Sentences or student messages."
    )
    direction: Direction = Field(description="'output' for tutor speech, 'input' for student text.")
    context: CheckContextIn = Field(default_factory=CheckContextIn)


class CheckResult(BaseModel):
    text: str = Field(description="Output: what may be spoken. Input: the PII-masked text to forward.")
    action: Action
    category: str | None
    score: float
    flagged: bool = Field(description="Moderation scored a category at or above its threshold.")
    fail_closed: bool = Field(description="Blocked because moderation was unavailable.")
    escalate: bool
    reason: str
    pii: list[str] = Field(description="Kinds of PII masked in the input.")
    safe_line: str | None = Field(description="Input: what the tutor says instead of answering.")


class CheckResponse(BaseModel):
    direction: Direction
    model: str
    results: list[CheckResult]
