"""Job metadata: the JSON document a dispatch carries to the worker that takes the job.

Three kinds of dispatch start a job:

* ``start``: the gateway's explicit dispatch in the student's LiveKit token (a new session);
* ``to_english``: the orchestrator hands the student to the English Realtime worker;
* ``return_from_english``: the English worker hands the student back to the pipeline.

Example (what the gateway puts in ``RoomAgentDispatch.metadata``)::

    {"v": 1, "kind": "start", "session_id": "8e3c...", "student_id": "1f0a..."}

The metadata is always JSON read from ``ctx.job.metadata`` (never ``ctx.room.metadata``, which belongs
to the room and is shared by every participant). A ``key:value|key:value`` string is rejected: a
``|`` inside a question would split it.

Handoffs cross pool revisions during a rollout (they go to the agent names the operator publishes),
so a worker must read what the previous revision writes: add optional fields only (unknown ones are
ignored), and bump ``v`` only in a release whose workers read both versions.
"""

from __future__ import annotations

import json
import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

METADATA_VERSION = 1
# LiveKit limits dispatch metadata; questions are cut well below it.
MAX_QUESTION_CHARS = 1000


class MetadataError(ValueError):
    """The job metadata is not a document this worker understands."""


class DispatchKind(StrEnum):
    start = "start"
    to_english = "to_english"
    return_from_english = "return_from_english"


class JobMetadata(BaseModel):
    """What a job needs to continue a student's session."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    v: int = Field(default=METADATA_VERSION, description="Schema version of this document.")
    kind: DispatchKind = DispatchKind.start
    session_id: uuid.UUID
    student_id: uuid.UUID | None = None
    question: str | None = Field(default=None, max_length=MAX_QUESTION_CHARS)
    reason: str | None = Field(default=None, max_length=200)
    turn_index: int = Field(default=0, ge=0, description="Next turn index, so turns stay unique.")
    subjects: tuple[str, ...] = Field(default=(), description="Subjects covered so far.")
    english_fallback: bool = Field(
        default=False, description="Realtime was unavailable: answer English in the pipeline session."
    )

    @model_validator(mode="after")
    def _question_for_handoffs(self) -> JobMetadata:
        if self.v != METADATA_VERSION:
            raise ValueError(
                f"metadata version {self.v} is not supported (this worker reads v{METADATA_VERSION})"
            )
        if self.kind == DispatchKind.to_english and not (self.question or "").strip():
            raise ValueError("a to_english dispatch must carry the student's pending question")
        return self

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def parse(cls, raw: str | bytes | None) -> JobMetadata:
        """Parse ``ctx.job.metadata``; raises :class:`MetadataError` saying what is wrong and what to send."""
        text = raw.decode() if isinstance(raw, bytes) else (raw or "")
        if not text.strip():
            raise MetadataError(
                "job metadata is empty: the dispatch must carry JSON such as "
                '{"kind": "start", "session_id": "<uuid>", "student_id": "<uuid>"}'
            )
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            hint = (
                " (it looks like the old key:value|key:value format; send JSON instead)"
                if ":" in text and "{" not in text
                else ""
            )
            raise MetadataError(f"job metadata is not JSON{hint}: {exc.msg} at position {exc.pos}") from None
        if not isinstance(data, dict):
            raise MetadataError(f"job metadata must be a JSON object, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            fields = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'metadata'}: {err['msg']}" for err in exc.errors()
            )
            raise MetadataError(f"job metadata is invalid: {fields}") from None


def truncate_question(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_QUESTION_CHARS else text[: MAX_QUESTION_CHARS - 1] + "…"


def continuation(state: Any, kind: DispatchKind, **fields: Any) -> JobMetadata:
    """Metadata that continues ``state`` (a SessionState) on another worker."""
    return JobMetadata(
        kind=kind,
        session_id=uuid.UUID(state.session_id),
        student_id=uuid.UUID(state.student_id) if state.student_id else None,
        turn_index=state.turn_index,
        subjects=tuple(state.subjects),
        **fields,
    )
