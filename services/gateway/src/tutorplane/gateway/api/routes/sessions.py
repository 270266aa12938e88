"""Learning sessions: create (A/B assignment + credentials), read, close."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from tutorplane.db import repository
from tutorplane.gateway.api.deps import CsrfChecked, CurrentUser, RateLimit, StateDep
from tutorplane.gateway.api.schemas import (
    LiveKitJoinOut,
    RealtimeJoinOut,
    SessionCloseIn,
    SessionCloseOut,
    SessionCreateIn,
    SessionOut,
    SessionSummaryOut,
    problems,
)
from tutorplane.gateway.core.identity import Role
from tutorplane.gateway.core.state import GatewayState
from tutorplane.gateway.services import session_service
from tutorplane.gateway.services.access import (
    DB_ERRORS,
    database_unavailable,
    not_found,
    session_for_participant,
    session_for_reader,
)
from tutorplane.gateway.services.realtime_secrets import TOOLS, RealtimeGrant

router = APIRouter(prefix="/api/sessions", tags=["sessions"])

ERRORS = problems(401, 403, 404, 429, 502, 503)


@router.post(
    "",
    response_model=SessionOut,
    status_code=201,
    responses=ERRORS,
    dependencies=[CsrfChecked, Depends(RateLimit("session_create"))],
    summary="Start a session: assigns version A or B and returns its credentials",
)
async def create_session(
    state: StateDep,
    identity: CurrentUser,
    body: SessionCreateIn | None = None,
    x_tutor_variant: Annotated[str | None, Header(description="QA override: A or B")] = None,
    variant: Annotated[str | None, Query(description="QA override: A or B", max_length=8)] = None,
) -> SessionOut:
    body = body or SessionCreateIn()
    student_id = await session_service.resolve_student(state, identity, body.student_id)
    created = await session_service.create_session(
        state,
        identity,
        student_id=student_id,
        requested_variant=x_tutor_variant or variant,
        client=body.client,
    )
    session = created.session
    livekit = None
    if created.livekit_token is not None:
        assert state.settings.livekit_public_url is not None and session.room_name is not None
        livekit = LiveKitJoinOut(
            url=state.settings.livekit_public_url,
            token=created.livekit_token,
            room=session.room_name,
            agent_name=created.agent_name or "",
        )
    realtime = realtime_join(state, created.realtime) if created.realtime is not None else None
    return SessionOut(
        session_id=session.id,
        student_id=session.student_id,
        variant=session.variant,  # type: ignore[arg-type]
        revision=session.revision,
        assignment_reason=session.assignment_reason,  # type: ignore[arg-type]
        deployment=session.deployment,
        started_at=session.started_at,
        livekit=livekit,
        realtime=realtime,
    )


def realtime_join(state: GatewayState, grant: RealtimeGrant) -> RealtimeJoinOut:
    return RealtimeJoinOut(
        client_secret=grant.value,
        expires_at=grant.expires_at,
        model=grant.model,
        voice=state.realtime.voice if state.realtime else "",
        tools=[str(t["name"]) for t in TOOLS],
    )


@router.post(
    "/{session_id}/realtime/key",
    response_model=RealtimeJoinOut,
    responses=problems(401, 403, 404, 409, 429, 502, 503),
    dependencies=[CsrfChecked, Depends(RateLimit("realtime_key"))],
    summary="A fresh Realtime key for an open version-B session (to connect voice again)",
)
async def realtime_key(session_id: uuid.UUID, state: StateDep, identity: CurrentUser) -> RealtimeJoinOut:
    info = await session_for_participant(state, identity, str(session_id))
    return realtime_join(state, await session_service.fresh_realtime_key(state, info))


@router.get(
    "/{session_id}",
    response_model=SessionSummaryOut,
    responses=ERRORS,
    dependencies=[Depends(RateLimit("read"))],
    summary="One session",
)
async def get_session(session_id: uuid.UUID, state: StateDep, identity: CurrentUser) -> SessionSummaryOut:
    info = await session_for_reader(state, identity, str(session_id))
    try:
        row = await repository.get_session(state.pool, uuid.UUID(info.id))
    except DB_ERRORS as exc:
        raise database_unavailable() from exc
    if row is None:
        raise not_found(str(session_id))
    return SessionSummaryOut(
        session_id=row.id,
        student_id=row.student_id,
        variant=row.variant,  # type: ignore[arg-type]
        revision=row.revision,
        started_at=row.started_at,
        ended_at=row.ended_at,
        room_name=row.room_name if identity.role != Role.student else None,
    )


@router.post(
    "/{session_id}/close",
    response_model=SessionCloseOut,
    responses=ERRORS,
    dependencies=[CsrfChecked, Depends(RateLimit("session_close"))],
    summary="End a session and store its report (server-built when none is sent)",
)
async def close_session(
    session_id: uuid.UUID, state: StateDep, identity: CurrentUser, body: SessionCloseIn | None = None
) -> SessionCloseOut:
    info = await session_for_reader(state, identity, str(session_id))
    if identity.role == Role.admin:
        raise not_found(str(session_id))
    report = body.session_report if body else None
    session = await session_service.close_session(state, info, report)
    return SessionCloseOut(
        session_id=session.id,
        closed=session.ended_at is not None,
        ended_at=session.ended_at,
        session_report=session.session_report,
    )
