"""Who may touch which session: students their own, teachers their classes' students, admins read all.

Running a session (turns, cancel, escalate, live events, Realtime moderation) is for its student,
and for the teacher or admin who started it as a QA session — nobody else, staff included.

A session the caller may not see answers 404, like one that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

import uuid

import asyncpg
from fastapi import HTTPException
from tutorplane.db import repository
from tutorplane.gateway.core.identity import Identity, Role
from tutorplane.gateway.core.state import GatewayState
from tutorplane.gateway.services.session_directory import SessionInfo, SessionUnavailableError

DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


def not_found(session_id: str) -> HTTPException:
    return HTTPException(404, f"no session {session_id} that you can see; start one with POST /api/sessions")


def database_unavailable() -> HTTPException:
    return HTTPException(
        503, "the database is unavailable; retry in a few seconds", headers={"Retry-After": "5"}
    )


async def load_session(state: GatewayState, session_id: str) -> SessionInfo:
    try:
        info = await state.sessions.get(session_id)
    except SessionUnavailableError as exc:
        raise database_unavailable() from exc
    if info is None:
        raise not_found(session_id)
    return info


async def teacher_sees(state: GatewayState, teacher: Identity, student_id: str) -> bool:
    try:
        return await repository.teacher_can_see_student(
            state.pool, teacher_id=uuid.UUID(teacher.user_id), student_id=uuid.UUID(student_id)
        )
    except DB_ERRORS as exc:
        raise database_unavailable() from exc


async def session_for_student(state: GatewayState, identity: Identity, session_id: str) -> SessionInfo:
    """The caller's own session (students only)."""
    info = await load_session(state, session_id)
    if identity.role != Role.student or info.student_id != identity.user_id:
        raise not_found(session_id)
    return info


async def session_for_participant(state: GatewayState, identity: Identity, session_id: str) -> SessionInfo:
    """A session the caller may run: a student's own, or a QA session the staff caller started."""
    info = await load_session(state, session_id)
    if identity.role == Role.student:
        if info.student_id != identity.user_id:
            raise not_found(session_id)
        return info
    try:
        creator = await state.sessions.creator(info)
    except SessionUnavailableError as exc:
        raise database_unavailable() from exc
    if creator != identity.user_id:
        raise not_found(session_id)
    return info


async def session_for_teacher(state: GatewayState, identity: Identity, session_id: str) -> SessionInfo:
    """A session of one of the teacher's students."""
    info = await load_session(state, session_id)
    if identity.role != Role.teacher or not await teacher_sees(state, identity, info.student_id):
        raise not_found(session_id)
    return info


async def session_for_reader(state: GatewayState, identity: Identity, session_id: str) -> SessionInfo:
    """Read access: the student, their teachers, or an admin."""
    info = await load_session(state, session_id)
    if identity.role == Role.admin:
        return info
    if identity.role == Role.student and info.student_id == identity.user_id:
        return info
    if identity.role == Role.teacher and await teacher_sees(state, identity, info.student_id):
        return info
    raise not_found(session_id)
