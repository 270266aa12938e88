"""Teacher hints: delivered live through Redis (any replica) and stored as a transcript turn."""

from __future__ import annotations

import logging
import time
import uuid

from redis.exceptions import RedisError
from tutorplane.db import repository
from tutorplane.gateway.core.identity import Identity
from tutorplane.gateway.core.state import GatewayState
from tutorplane.gateway.services.access import DB_ERRORS
from tutorplane.gateway.services.session_directory import SessionInfo, SessionUnavailableError

log = logging.getLogger(__name__)


async def deliver_hint(
    state: GatewayState, info: SessionInfo, teacher: Identity, text: str
) -> tuple[int, bool]:
    """(replicas that delivered it live, stored in the transcript now)."""
    try:
        turn_index, _ = await state.sessions.begin_turn(info.id, 0)
    except SessionUnavailableError:
        turn_index = None
    delivered = 0
    try:
        delivered = await state.session_events.publish(
            info.id,
            "hint",
            {"text": text, "teacher": teacher.display_name or "Your teacher", "sent_at": time.time()},
        )
    except (RedisError, OSError) as exc:
        log.warning("hint not delivered live", extra={"session_id": info.id, "error": str(exc)})
    if turn_index is None:  # begin_turn already tried PostgreSQL after Redis
        log.error("hint not stored: neither Redis nor PostgreSQL available", extra={"session_id": info.id})
        return delivered, False
    session_uuid = uuid.UUID(info.id)
    row = {"session_id": session_uuid, "speaker": "teacher", "role": "system", "content": text}
    try:
        await repository.add_transcript_turn(
            state.pool,
            session_id=session_uuid,
            turn_index=turn_index,
            speaker="teacher",
            role="system",
            content=text,
        )
        return delivered, True
    except DB_ERRORS as exc:
        log.warning("hint turn queued for retry", extra={"session_id": info.id, "error": str(exc)})
        state.audit.submit("transcript_turns", {**row, "turn_index": turn_index})
        return delivered, False
