"""Typed rows returned by :mod:`tutorplane.db.repository`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg

Variant = Literal["A", "B"]
UserKind = Literal["teacher", "student"]


@dataclass(frozen=True)
class User:
    id: UUID
    kind: UserKind
    display_name: str
    class_ids: tuple[UUID, ...]
    email: str | None = None


@dataclass(frozen=True)
class Session:
    id: UUID
    student_id: UUID
    deployment: str
    variant: str
    revision: str
    room_name: str | None
    assignment_reason: str
    started_at: datetime
    ended_at: datetime | None
    metadata: dict[str, Any]
    session_report: dict[str, Any] | None
    created_at: datetime

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> Session:
        return cls(
            id=r["id"],
            student_id=r["student_id"],
            deployment=r["deployment"],
            variant=r["variant"],
            revision=r["revision"],
            room_name=r["room_name"],
            assignment_reason=r["assignment_reason"],
            started_at=r["started_at"],
            ended_at=r["ended_at"],
            metadata=r["metadata"],
            session_report=r["session_report"],
            created_at=r["created_at"],
        )


@dataclass(frozen=True)
class Turn:
    id: int
    session_id: UUID
    turn_index: int
    speaker: str
    role: str
    content: str
    subject: str | None
    latency_ms: float | None
    created_at: datetime

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> Turn:
        return cls(
            id=r["id"],
            session_id=r["session_id"],
            turn_index=r["turn_index"],
            speaker=r["speaker"],
            role=r["role"],
            content=r["content"],
            subject=r["subject"],
            latency_ms=r["latency_ms"],
            created_at=r["created_at"],
        )


@dataclass(frozen=True)
class Escalation:
    """One escalation; ``id`` is the teacher feed's SSE event id."""

    id: int
    session_id: UUID
    student_id: UUID
    student_name: str
    class_id: UUID
    reason: str
    source: str
    status: str
    acknowledged_by: UUID | None
    acknowledged_at: datetime | None
    created_at: datetime

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> Escalation:
        return cls(
            id=r["id"],
            session_id=r["session_id"],
            student_id=r["student_id"],
            student_name=r["student_name"],
            class_id=r["class_id"],
            reason=r["reason"],
            source=r["source"],
            status=r["status"],
            acknowledged_by=r["acknowledged_by"],
            acknowledged_at=r["acknowledged_at"],
            created_at=r["created_at"],
        )


@dataclass(frozen=True)
class VariantReport:
    """Per-(deployment, variant) aggregates for the A/B report and rollout analysis.

    Latency percentiles come from assistant turns' ``latency_ms`` (end of student input -> first
    guarded sentence released) and are None when no turn recorded one. Rates are in [0, 1].
    """

    deployment: str
    variant: str
    sessions: int
    completed_sessions: int
    mean_duration_s: float | None
    assistant_turns: int
    latency_samples: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    input_tokens: int
    output_tokens: int
    audio_seconds: float
    escalated_sessions: int
    escalations: int
    escalation_rate: float
    guardrail_output_checks: int
    guardrail_blocks: int
    guardrail_rewrites: int
    guardrail_block_rate: float | None

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> VariantReport:
        return cls(**{name: r[name] for name in cls.__dataclass_fields__})
