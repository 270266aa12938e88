"""Guarded turns streamed as Server-Sent Events, and barge-in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import StreamingResponse
from tutorplane.gateway.api.deps import CsrfChecked, CurrentUser, RateLimit, StateDep
from tutorplane.gateway.api.schemas import CancelOut, TurnIn, problems
from tutorplane.gateway.core.metrics import ACTIVE_STREAMS
from tutorplane.gateway.core.state import GatewayState
from tutorplane.gateway.services.access import session_for_participant
from tutorplane.gateway.services.sse import SSE_HEADERS, SSE_MEDIA_TYPE
from tutorplane.gateway.services.turn_pipeline import TurnPipeline, TurnRequest
from tutorplane.routing.types import Subject

router = APIRouter(prefix="/api/sessions", tags=["turns"])

ERRORS = problems(401, 403, 404, 409, 422, 429, 503)

TURN_STREAM_DOC = """\
Server-Sent Events, in this order:

* `turn` `{turn_id, turn_index, session_id}` — use `turn_id` to cancel (barge-in)
* `routing` `{subject, confidence, stage, strategy, latency_ms, rationale}`
* `guardrail` `{direction, action, category, score, fail_closed, reason}` — each non-allow decision
* `sentence` `{index, text, action}` — a checked sentence, safe to show and speak
* `audio` `{index, seq, sample_rate, pcm}` — base64 s16le mono PCM of sentence `index`
* `escalation` `{source, message}` — a teacher was asked to help
* `done` `{turn_id, outcome, cancelled, latency_ms, usage, sentences}` — always last
* `error` `{message}` — something failed; `done` follows
"""


async def _tracked(state: GatewayState, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    state.drain.stream_opened()
    ACTIVE_STREAMS.labels(kind="turn").inc()
    try:
        async for chunk in body:
            yield chunk
    finally:
        ACTIVE_STREAMS.labels(kind="turn").dec()
        state.drain.stream_closed()


@router.post(
    "/{session_id}/turns",
    response_class=StreamingResponse,
    responses={**ERRORS, 200: {"content": {SSE_MEDIA_TYPE: {}}, "description": TURN_STREAM_DOC}},
    dependencies=[CsrfChecked, Depends(RateLimit("turn"))],
    summary="Ask the tutor: a guarded, spoken answer streamed as Server-Sent Events",
)
async def create_turn(
    session_id: uuid.UUID, body: TurnIn, state: StateDep, identity: CurrentUser
) -> StreamingResponse:
    info = await session_for_participant(state, identity, str(session_id))
    if info.ended:
        raise HTTPException(409, "this session has ended; start a new one with POST /api/sessions")
    text = body.text.strip()
    if not text:
        raise HTTPException(422, "say or type something first: the text is empty")
    if len(text) > state.settings.turn_max_chars:
        raise HTTPException(422, f"that is too long: at most {state.settings.turn_max_chars} characters")
    request = TurnRequest(
        session=info,
        user_id=identity.user_id,
        text=text,
        speak=body.speak,
        subject_hint=Subject(body.subject_hint) if body.subject_hint else None,
    )
    return StreamingResponse(
        _tracked(state, state.pipeline.stream(request)), media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS
    )


@router.post(
    "/{session_id}/turns/{turn_id}/cancel",
    response_model=CancelOut,
    responses=ERRORS,
    dependencies=[CsrfChecked, Depends(RateLimit("cancel"))],
    summary="Barge-in: stop a turn's generation and speech on whichever replica streams it",
)
async def cancel_turn(
    session_id: uuid.UUID,
    turn_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    state: StateDep,
    identity: CurrentUser,
) -> CancelOut:
    info = await session_for_participant(state, identity, str(session_id))
    cancelled = await state.cancels.cancel(TurnPipeline.cancel_key(info.id, turn_id))
    return CancelOut(turn_id=turn_id, cancelled=cancelled)
