"""Escalations: raising them (student or system), the teacher feed stream, acknowledgement."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from tutorplane.db import repository
from tutorplane.db.records import Escalation
from tutorplane.gateway.core.identity import Identity
from tutorplane.gateway.core.metrics import ACTIVE_STREAMS, ESCALATIONS
from tutorplane.gateway.core.state import GatewayState
from tutorplane.gateway.services.access import DB_ERRORS
from tutorplane.gateway.services.escalation_feed import RESYNC
from tutorplane.gateway.services.session_directory import SessionInfo
from tutorplane.gateway.services.sse import CLOSING, HEARTBEAT, next_item, sse_comment, sse_event, sse_retry

log = logging.getLogger(__name__)

REPLAY_PAGE = 500


def escalation_json(e: Escalation) -> dict[str, Any]:
    return {
        "id": e.id,
        "session_id": str(e.session_id),
        "student_id": str(e.student_id),
        "student_name": e.student_name,
        "reason": e.reason,
        "source": e.source,
        "status": e.status,
        "created_at": e.created_at.isoformat() if e.created_at else None,
        "acknowledged_at": e.acknowledged_at.isoformat() if e.acknowledged_at else None,
    }


async def raise_escalation(
    state: GatewayState, info: SessionInfo, *, reason: str, source: str
) -> Escalation | None:
    """Insert now (the teachers' feeds learn of it through NOTIFY). When PostgreSQL is down the row
    goes through the audit writer, which retries until the database is back: it is delayed, not lost.
    Returns the row, or None when it was queued."""
    ESCALATIONS.labels(source=source).inc()
    try:
        escalation = await repository.create_escalation(
            state.pool, session_id=uuid.UUID(info.id), reason=reason, source=source
        )
    except DB_ERRORS as exc:
        log.warning("escalation queued for retry", extra={"session_id": info.id, "error": str(exc)})
        state.audit.submit(
            "escalation_events",
            {
                "session_id": uuid.UUID(info.id),
                "student_id": uuid.UUID(info.student_id),
                "reason": reason,
                "source": source,
            },
        )
        escalation = None
    with contextlib.suppress(Exception):
        await state.session_events.publish(
            info.id,
            "escalation",
            {"status": "open", "source": source, "message": "A teacher has been asked to help."},
        )
    return escalation


def submit_system_escalation(state: GatewayState, info: SessionInfo, *, reason: str, source: str) -> None:
    """Fire-and-forget escalation from inside a turn (guardrail or router); never blocks the stream."""
    ESCALATIONS.labels(source=source).inc()
    state.audit.submit(
        "escalation_events",
        {
            "session_id": uuid.UUID(info.id),
            "student_id": uuid.UUID(info.student_id),
            "reason": reason[:1000],
            "source": source,
        },
    )


async def teacher_feed(state: GatewayState, teacher: Identity, last_event_id: int) -> AsyncIterator[bytes]:
    """SSE: replay escalations after ``last_event_id`` from the table, then live ones as NOTIFY
    announces them (each announcement re-reads the table from the last id sent, so order holds and
    nothing is skipped). Heartbeat comments keep proxies from closing the stream."""
    teacher_uuid = uuid.UUID(teacher.user_id)
    settings = state.settings
    drain = state.drain
    last = max(0, last_event_id)
    ACTIVE_STREAMS.labels(kind="teacher_feed").inc()
    try:
        async with state.escalations.subscribe() as queue:
            yield sse_retry(3000)
            classes: set[str] | None = None
            replay_needed = True
            while True:
                if replay_needed:
                    try:
                        if classes is None:
                            user = await repository.get_user(state.pool, teacher_uuid)
                            classes = {str(c) for c in user.class_ids} if user else set()
                        while True:
                            rows = await repository.escalations_since(
                                state.pool, teacher_id=teacher_uuid, last_id=last, limit=REPLAY_PAGE
                            )
                            for row in rows:
                                yield sse_event("escalation", escalation_json(row), event_id=row.id)
                                last = row.id
                            if len(rows) < REPLAY_PAGE:
                                break
                        replay_needed = False
                    except DB_ERRORS as exc:
                        log.warning("teacher feed replay failed; retrying", extra={"error": str(exc)})
                        yield sse_comment("database unavailable; retrying")
                item = await next_item(
                    queue,
                    heartbeat_s=1.0 if replay_needed else settings.sse_heartbeat_s,
                    closing=lambda: drain.draining,
                )
                if item is CLOSING:
                    yield sse_event("reconnect", {"reason": "server restarting; reconnect to resume"})
                    return
                if item is HEARTBEAT:
                    yield sse_comment()
                elif item is RESYNC:
                    replay_needed = True
                elif int(item.get("id", 0)) > last:
                    mine = classes is None or str(item.get("class_id")) in classes
                    replay_needed = replay_needed or mine
    finally:
        ACTIVE_STREAMS.labels(kind="teacher_feed").dec()
