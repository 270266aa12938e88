"""Version B: moderation verdicts for the browser's Realtime transcript deltas."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from tutorplane.gateway.api.deps import CsrfChecked, CurrentUser, RateLimit, StateDep
from tutorplane.gateway.api.schemas import TranscriptDeltaIn, TranscriptVerdictOut, problems
from tutorplane.gateway.services.access import session_for_participant
from tutorplane.gateway.services.realtime_moderation import moderate

router = APIRouter(prefix="/api/sessions", tags=["realtime"])

ERRORS = problems(401, 403, 404, 429)


@router.post(
    "/{session_id}/realtime/transcript",
    response_model=TranscriptVerdictOut,
    responses=ERRORS,
    dependencies=[CsrfChecked, Depends(RateLimit("realtime_transcript"))],
    summary="Check a Realtime transcript delta; answers cancel_response when it must stop",
)
async def transcript_delta(
    session_id: uuid.UUID, body: TranscriptDeltaIn, state: StateDep, identity: CurrentUser
) -> TranscriptVerdictOut:
    info = await session_for_participant(state, identity, str(session_id))
    return await moderate(state, info, body)
