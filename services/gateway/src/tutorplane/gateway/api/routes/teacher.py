"""The teacher view: live escalation feed, acknowledgement, hints, transcripts, joining a room."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query
from fastapi.responses import StreamingResponse
from tutorplane.db import repository
from tutorplane.gateway.api.deps import CsrfChecked, CurrentUser, RateLimit, StateDep
from tutorplane.gateway.api.schemas import (
    EscalationOut,
    HintIn,
    HintOut,
    SessionSummaryOut,
    TeacherJoinOut,
    TeacherSessionOut,
    TranscriptOut,
    TranscriptTurnOut,
    problems,
)
from tutorplane.gateway.core.identity import Identity, Role
from tutorplane.gateway.services import teacher_queries
from tutorplane.gateway.services.access import DB_ERRORS, database_unavailable, session_for_teacher
from tutorplane.gateway.services.escalation_service import escalation_json, teacher_feed
from tutorplane.gateway.services.sse import SSE_HEADERS, SSE_MEDIA_TYPE
from tutorplane.gateway.services.teacher_service import deliver_hint

router = APIRouter(prefix="/api/teacher", tags=["teacher"])

ERRORS = problems(401, 403, 404, 409, 429, 503)


async def require_teacher(identity: CurrentUser) -> Identity:
    if identity.role != Role.teacher:
        raise HTTPException(403, "only teachers can do this; sign in with a teacher account")
    return identity


TeacherUser = Annotated[Identity, Depends(require_teacher)]


@router.get(
    "/escalations/stream",
    response_class=StreamingResponse,
    responses={**ERRORS, 200: {"content": {SSE_MEDIA_TYPE: {}}, "description": "Server-Sent Events"}},
    dependencies=[Depends(RateLimit("read"))],
    summary="Live escalations of your students (SSE; resumes after Last-Event-ID)",
)
async def escalation_stream(
    state: StateDep,
    teacher: TeacherUser,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
    since: Annotated[
        int | None, Query(ge=0, description="Replay after this id (when no Last-Event-ID)")
    ] = None,
) -> StreamingResponse:
    last = since or 0
    if last_event_id:
        if not last_event_id.strip().isdigit():
            raise HTTPException(422, "Last-Event-ID must be the numeric id of the last escalation received")
        last = int(last_event_id)
    return StreamingResponse(
        teacher_feed(state, teacher, last), media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS
    )


@router.post(
    "/escalations/{escalation_id}/ack",
    response_model=EscalationOut,
    responses=ERRORS,
    dependencies=[CsrfChecked, Depends(RateLimit("ack"))],
    summary="Acknowledge an escalation (the student sees that a teacher is on it)",
)
async def acknowledge(
    escalation_id: Annotated[int, Path(ge=1, le=2**62)], state: StateDep, teacher: TeacherUser
) -> EscalationOut:
    try:
        row = await repository.acknowledge_escalation(
            state.pool, escalation_id=escalation_id, teacher_id=uuid.UUID(teacher.user_id)
        )
    except DB_ERRORS as exc:
        raise database_unavailable() from exc
    if row is None:
        raise HTTPException(404, f"no escalation {escalation_id} among your students")
    await state.session_events.publish(
        str(row.session_id),
        "teacher_ack",
        {"escalation_id": row.id, "teacher": teacher.display_name or "Your teacher", "status": row.status},
    )
    return EscalationOut(**escalation_json(row))


@router.get(
    "/sessions",
    response_model=list[TeacherSessionOut],
    responses=ERRORS,
    dependencies=[Depends(RateLimit("read"))],
    summary="Recent sessions of your students",
)
async def sessions(
    state: StateDep,
    teacher: TeacherUser,
    active: Annotated[bool, Query(description="Only sessions still open")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[TeacherSessionOut]:
    try:
        rows = await teacher_queries.recent_sessions(
            state.pool, uuid.UUID(teacher.user_id), active_only=active, limit=limit
        )
    except DB_ERRORS as exc:
        raise database_unavailable() from exc
    return [
        TeacherSessionOut(
            session_id=r["id"],
            student_id=r["student_id"],
            student_name=r["student_name"],
            variant=r["variant"],
            revision=r["revision"],
            started_at=r["started_at"],
            ended_at=r["ended_at"],
            room_name=r["room_name"],
            open_escalations=r["open_escalations"],
        )
        for r in rows
    ]


@router.get(
    "/sessions/{session_id}/transcript",
    response_model=TranscriptOut,
    responses=ERRORS,
    dependencies=[Depends(RateLimit("read"))],
    summary="A student's session transcript",
)
async def transcript(session_id: uuid.UUID, state: StateDep, teacher: TeacherUser) -> TranscriptOut:
    info = await session_for_teacher(state, teacher, str(session_id))
    try:
        session = await repository.get_session(state.pool, session_id)
        turns = await repository.session_transcript(state.pool, session_id)
    except DB_ERRORS as exc:
        raise database_unavailable() from exc
    started = session.started_at if session else dt.datetime.now(dt.UTC)
    return TranscriptOut(
        session=SessionSummaryOut(
            session_id=session_id,
            student_id=uuid.UUID(info.student_id),
            variant=info.variant,  # type: ignore[arg-type]
            revision=info.revision,
            started_at=started,
            ended_at=session.ended_at if session else None,
            room_name=info.room_name,
        ),
        turns=[
            TranscriptTurnOut(
                turn_index=t.turn_index,
                speaker=t.speaker,
                role=t.role,
                content=t.content,
                subject=t.subject,
                latency_ms=t.latency_ms,
                created_at=t.created_at,
            )
            for t in turns
        ],
    )


@router.post(
    "/sessions/{session_id}/hint",
    response_model=HintOut,
    responses=ERRORS,
    dependencies=[CsrfChecked, Depends(RateLimit("hint"))],
    summary="Send a hint to the student's screen (and the transcript)",
)
async def hint(session_id: uuid.UUID, body: HintIn, state: StateDep, teacher: TeacherUser) -> HintOut:
    info = await session_for_teacher(state, teacher, str(session_id))
    delivered, stored = await deliver_hint(state, info, teacher, body.text.strip())
    return HintOut(session_id=session_id, delivered_to=delivered, stored=stored)


@router.post(
    "/sessions/{session_id}/join",
    response_model=TeacherJoinOut,
    responses=ERRORS,
    dependencies=[CsrfChecked, Depends(RateLimit("hint"))],
    summary="A LiveKit token to listen and talk in a version-A session's room (never room admin)",
)
async def join(session_id: uuid.UUID, state: StateDep, teacher: TeacherUser) -> TeacherJoinOut:
    info = await session_for_teacher(state, teacher, str(session_id))
    if info.variant != "A" or not info.room_name:
        raise HTTPException(409, "this is a version-B session (no room to join); send hints instead")
    if state.livekit is None:
        raise HTTPException(503, "no LiveKit server is configured on this gateway")
    token = state.livekit.teacher_token(
        room=info.room_name,
        teacher_id=teacher.user_id,
        display_name=teacher.display_name,
        session_id=info.id,
    )
    await state.session_events.publish(
        info.id, "teacher_joined", {"teacher": teacher.display_name or "Teacher"}
    )
    return TeacherJoinOut(
        url=state.settings.livekit_public_url or state.livekit.url, token=token, room=info.room_name
    )
