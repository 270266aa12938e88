"""``POST /v1/check``: a batch of texts in, one decision per text out.

Moderation trouble never turns into an HTTP error: it becomes fail-mode decisions (``fail_closed``)
so the caller's speaking path gets an answer it can act on within its timeout.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request, Response
from opentelemetry.trace import Status, StatusCode
from tutorplane.common.telemetry import SESSION_ID_ATTR
from tutorplane.guardrail.categories import Category
from tutorplane.guardrail.decision import CheckContext
from tutorplane.guardrail_service.metrics import ACTIONS, CHECK_SECONDS, CHECKS
from tutorplane.guardrail_service.schemas import CheckRequest, CheckResponse, CheckResult
from tutorplane.guardrail_service.state import ServiceState

router = APIRouter()
_KNOWN_CATEGORIES = frozenset(c.value for c in Category)


@router.post("/v1/check", response_model=CheckResponse, summary="Check a batch of texts")
async def check(body: CheckRequest, request: Request) -> Response:
    state: ServiceState = request.app.state.guardrail
    if state.checker is None or not state.ready:
        raise HTTPException(503, "guardrail service is starting or stopping; retry shortly")
    direction = body.direction
    context = CheckContext(
        session_id=str(body.context.session_id) if body.context.session_id else None,
        source=body.context.source,
        age_band=body.context.age_band,
    )
    started = time.perf_counter()
    with state.tracer.start_as_current_span("guardrail.check") as span:
        span.set_attribute("guardrail.direction", direction.value)
        span.set_attribute("guardrail.texts", len(body.texts))
        span.set_attribute("guardrail.source", context.source)
        if context.session_id:
            span.set_attribute(SESSION_ID_ATTR, context.session_id)
        decisions = await state.checker.check(body.texts, direction=direction, context=context)
        actions = [d.action.value for d in decisions]
        fail_closed = sum(d.fail_closed for d in decisions)
        span.set_attribute("guardrail.actions", actions)
        span.set_attribute("guardrail.flagged", sum(d.flagged for d in decisions))
        span.set_attribute("guardrail.fail_closed", fail_closed)
        if any(d.unchecked for d in decisions):
            span.set_status(Status(StatusCode.ERROR, "moderation unavailable; fail mode applied"))
    CHECK_SECONDS.labels(direction.value).observe(time.perf_counter() - started)
    CHECKS.labels(direction.value).inc(len(decisions))
    for decision in decisions:
        category = decision.category or "none"
        ACTIONS.labels(
            direction.value,
            decision.action.value,
            category if category in _KNOWN_CATEGORIES or category == "none" else "other",
        ).inc()
    response = CheckResponse(
        direction=direction,
        model=state.checker.moderation.model,
        results=[CheckResult(**d.to_wire()) for d in decisions],
    )
    # Serialized once by pydantic; returned as a model, FastAPI would validate and encode it again
    # (response_model above still documents the schema).
    return Response(response.model_dump_json(), media_type="application/json")
