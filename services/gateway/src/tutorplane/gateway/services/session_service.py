"""Creating and closing learning sessions (variant assignment, version-A/B credentials, report)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import openai
from fastapi import HTTPException
from tutorplane.db import repository
from tutorplane.db.records import Session
from tutorplane.gateway.core.identity import Identity, Role
from tutorplane.gateway.core.metrics import SESSION_START_ERRORS, SESSIONS
from tutorplane.gateway.core.state import GatewayState
from tutorplane.gateway.services.access import DB_ERRORS, database_unavailable
from tutorplane.gateway.services.livekit_tokens import new_room_name
from tutorplane.gateway.services.realtime_secrets import RealtimeGrant
from tutorplane.gateway.services.session_directory import SessionInfo
from tutorplane.gateway.services.variants import (
    VARIANTS,
    Variant,
    VariantConfig,
    VariantConfigError,
    assign_variant,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CreatedSession:
    session: Session
    livekit_token: str | None = None
    agent_name: str | None = None
    realtime: RealtimeGrant | None = None


def _unavailable(variant: str, config: VariantConfig, reason: str) -> HTTPException:
    published = config.unavailable_reason.get(variant)
    return HTTPException(
        503,
        f"version {variant} is unavailable here: {published or reason}. "
        "Ask an operator to enable it, or retry later.",
    )


def choose_variant(
    state: GatewayState, identity: Identity, student_id: str, requested: str | None
) -> tuple[Variant, str, VariantConfig]:
    """(variant, assignment reason, config). QA overrides: staff, or anyone when the setting opens it."""
    config = state.variants.current()
    if requested:
        wanted = requested.strip().upper()
        if wanted not in VARIANTS:
            raise HTTPException(422, f"variant override must be A or B, got {requested!r}")
        if not (identity.is_staff or state.settings.qa_override_open):
            raise HTTPException(
                403, "variant override is for QA staff only; remove X-Tutor-Variant / ?variant="
            )
        if not config.enabled.get(wanted, True):
            raise _unavailable(wanted, config, "it is switched off in the published variant config")
        return wanted, "override", config  # type: ignore[return-value]
    try:
        return assign_variant(student_id, config, state.settings.assignment_salt), "weighted", config
    except VariantConfigError as exc:
        why = "; ".join(f"version {v}: {r}" for v, r in sorted(config.unavailable_reason.items()))
        raise HTTPException(
            503, f"no version can take new sessions: {why or exc}. Retry in a minute."
        ) from exc


async def resolve_student(state: GatewayState, identity: Identity, on_behalf_of: uuid.UUID | None) -> str:
    """Students start their own sessions; staff may start one for a student they can see (QA)."""
    if identity.role == Role.student:
        if on_behalf_of is not None and str(on_behalf_of) != identity.user_id:
            raise HTTPException(403, "students can only start their own sessions; drop student_id")
        return identity.user_id
    if on_behalf_of is None:
        raise HTTPException(422, "staff must name the student_id to start a QA session for")
    if identity.role == Role.teacher:
        try:
            allowed = await repository.teacher_can_see_student(
                state.pool, teacher_id=uuid.UUID(identity.user_id), student_id=on_behalf_of
            )
        except DB_ERRORS as exc:
            raise database_unavailable() from exc
        if not allowed:
            raise HTTPException(404, f"no student {on_behalf_of} in your classes")
    return str(on_behalf_of)


async def create_session(
    state: GatewayState,
    identity: Identity,
    *,
    student_id: str,
    requested_variant: str | None,
    client: dict[str, Any],
) -> CreatedSession:
    settings = state.settings
    variant, reason, config = choose_variant(state, identity, student_id, requested_variant)
    revision = config.revisions.get(variant) or settings.revision
    session_id = uuid.uuid4()
    room: str | None = None
    token: str | None = None
    agent_name: str | None = None
    grant: RealtimeGrant | None = None
    display_name = identity.display_name if identity.role == Role.student else ""

    # Credentials first: a provider failure must not leave an orphaned session row behind.
    if variant == "A":
        if state.livekit is None:
            raise _unavailable(
                "A", config, "no LiveKit server is configured (TUTOR_LIVEKIT_URL/API_KEY/API_SECRET)"
            )
        room = new_room_name()
        agent_name = config.agent_names.get("A") or settings.default_agent_name
        token = state.livekit.student_token(
            room=room,
            student_id=student_id,
            display_name=display_name,
            agent_name=agent_name,
            session_id=str(session_id),
            revision=revision,
        )
    else:
        if state.realtime is None:
            raise _unavailable(
                "B", config, "no OpenAI API key or base URL is configured (TUTOR_OPENAI_API_KEY)"
            )
        try:
            grant = await _mint_realtime(state)
        except HTTPException:
            SESSION_START_ERRORS.labels(variant="B", reason="realtime_secret").inc()
            raise

    metadata: dict[str, Any] = {
        "client": client,
        "created_by": identity.user_id,
        "created_by_role": identity.role,
    }
    if agent_name:
        metadata["agent_name"] = agent_name
    try:
        session = await repository.create_session(
            state.pool,
            session_id=session_id,
            student_id=uuid.UUID(student_id),
            deployment=settings.deployment,
            variant=variant,
            revision=revision,
            assignment_reason=reason,
            room_name=room,
            metadata=metadata,
        )
    except asyncpg.ForeignKeyViolationError as exc:
        raise HTTPException(
            403, "this account is not enrolled as a student; ask a teacher to add it to a class"
        ) from exc
    except DB_ERRORS as exc:
        raise database_unavailable() from exc
    await state.sessions.put(
        SessionInfo(
            id=str(session.id),
            student_id=student_id,
            variant=variant,
            revision=revision,
            deployment=settings.deployment,
            room_name=room,
            ended=False,
            created_by=identity.user_id,
        )
    )
    SESSIONS.labels(variant=variant, reason=reason).inc()
    return CreatedSession(session=session, livekit_token=token, agent_name=agent_name, realtime=grant)


async def _mint_realtime(state: GatewayState) -> RealtimeGrant:
    assert state.realtime is not None
    try:
        return await state.realtime.mint()
    except openai.OpenAIError as exc:
        log.warning("realtime client secret failed", extra={"error": repr(exc)})
        raise HTTPException(
            502, "the speech service did not issue a session key; retry in a few seconds"
        ) from exc


async def fresh_realtime_key(state: GatewayState, info: SessionInfo) -> RealtimeGrant:
    """A new ephemeral key for an open version-B session: the one issued at the start lives
    minutes (``realtime_secret_ttl_s``), and a browser whose voice connection dropped needs a
    valid one to connect again."""
    if info.ended:
        raise HTTPException(409, "this session has ended; start a new one with POST /api/sessions")
    if info.variant != "B":
        raise HTTPException(
            409, f"this is a version {info.variant} session; only version B connects to Realtime directly"
        )
    if state.realtime is None:
        raise HTTPException(
            503, "voice is not set up on this server (no OpenAI API key or base URL); keep typing"
        )
    return await _mint_realtime(state)


async def close_session(
    state: GatewayState, info: SessionInfo, report: dict[str, Any] | None, *, ended_at: datetime | None = None
) -> Session:
    # The server-built report reads the audit tables: write what this replica still holds first.
    await state.audit.flush(timeout=3.0)
    try:
        session = await repository.close_session(
            state.pool, uuid.UUID(info.id), report=report, ended_at=ended_at
        )
    except DB_ERRORS as exc:
        raise database_unavailable() from exc
    await state.sessions.mark_ended(info)
    return session
