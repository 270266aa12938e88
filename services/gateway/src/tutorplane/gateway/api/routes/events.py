"""The student's live event stream (teacher hints and presence) and browser telemetry events."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from tutorplane.gateway.api.deps import CurrentUser, RateLimit, StateDep, optional_identity, verify_csrf
from tutorplane.gateway.api.schemas import BrowserEventIn, BrowserEventOut, problems
from tutorplane.gateway.core.metrics import ACTIVE_STREAMS, BROWSER_EVENTS
from tutorplane.gateway.core.state import GatewayState
from tutorplane.gateway.services.access import session_for_participant
from tutorplane.gateway.services.browser_events import record_browser_event
from tutorplane.gateway.services.idle_sessions import mark_present
from tutorplane.gateway.services.sse import (
    CLOSING,
    HEARTBEAT,
    SSE_HEADERS,
    SSE_MEDIA_TYPE,
    next_item,
    sse_comment,
    sse_event,
    sse_retry,
)

router = APIRouter(prefix="/api", tags=["events"])

ERRORS = problems(401, 403, 404, 429)


async def _student_stream(state: GatewayState, session_id: str) -> AsyncIterator[bytes]:
    ACTIVE_STREAMS.labels(kind="student_events").inc()
    try:
        async with state.session_events.listen(session_id) as queue:
            await mark_present(state, session_id)
            yield sse_retry(2000)
            yield sse_event("ready", {"session_id": session_id})
            while True:
                item = await next_item(
                    queue, heartbeat_s=state.settings.sse_heartbeat_s, closing=lambda: state.drain.draining
                )
                if item is CLOSING:
                    yield sse_event("reconnect", {"reason": "server restarting; reconnect to resume"})
                    return
                if item is HEARTBEAT:
                    await mark_present(state, session_id)
                    yield sse_comment()
                    continue
                yield sse_event(str(item.get("event", "message")), item.get("data", {}))
    finally:
        ACTIVE_STREAMS.labels(kind="student_events").dec()


@router.get(
    "/sessions/{session_id}/events",
    response_class=StreamingResponse,
    responses={**ERRORS, 200: {"content": {SSE_MEDIA_TYPE: {}}, "description": "Server-Sent Events"}},
    dependencies=[Depends(RateLimit("read"))],
    summary="Live events for a session you run: hint, teacher_ack, teacher_joined, escalation",
)
async def session_events(session_id: uuid.UUID, state: StateDep, identity: CurrentUser) -> StreamingResponse:
    info = await session_for_participant(state, identity, str(session_id))
    return StreamingResponse(_student_stream(state, info.id), media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS)


@router.post(
    "/events",
    response_model=BrowserEventOut,
    status_code=202,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": BrowserEventIn.model_json_schema()}},
        }
    },
    summary="Browser telemetry event -> trace span (always 202; never fails the UI)",
)
async def browser_event(request: Request, state: StateDep) -> BrowserEventOut:
    """Validated and size-limited; anything wrong is reported in the body, not as an error status."""
    limit = state.settings.events_max_bytes
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            BROWSER_EVENTS.labels(result="rejected").inc()
            return BrowserEventOut(accepted=False, reason=f"event over {limit} bytes")
    try:
        identity = await optional_identity(request, state)
        await verify_csrf(request, state, identity)
    except Exception as exc:
        BROWSER_EVENTS.labels(result="rejected").inc()
        return BrowserEventOut(accepted=False, reason=str(getattr(exc, "detail", exc)))
    decision = await RateLimit("events").check(request, state, identity)
    if not decision.allowed:
        BROWSER_EVENTS.labels(result="rejected").inc()
        return BrowserEventOut(accepted=False, reason="too many events; slow down")
    try:
        event = BrowserEventIn.model_validate(json.loads(body or b"null"))
    except (ValueError, ValidationError) as exc:
        BROWSER_EVENTS.labels(result="rejected").inc()
        return BrowserEventOut(accepted=False, reason=f"invalid event: {str(exc)[:300]}")
    record_browser_event(
        event.name,
        dict(event.attributes),
        session_id=str(event.session_id) if event.session_id else None,
        user_id=identity.user_id if identity else None,
        duration_ms=event.duration_ms,
        client_ts_ms=event.client_ts_ms,
    )
    BROWSER_EVENTS.labels(result="accepted").inc()
    return BrowserEventOut(accepted=True)
