"""A student (or the staff member running a QA session) asks for a teacher."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from tutorplane.gateway.api.deps import CsrfChecked, CurrentUser, RateLimit, StateDep
from tutorplane.gateway.api.schemas import EscalateIn, EscalateOut, EscalationOut, problems
from tutorplane.gateway.core.identity import Role
from tutorplane.gateway.services.access import session_for_participant
from tutorplane.gateway.services.escalation_service import escalation_json, raise_escalation

router = APIRouter(prefix="/api/sessions", tags=["escalations"])

ERRORS = problems(401, 403, 404, 429)


@router.post(
    "/{session_id}/escalate",
    response_model=EscalateOut,
    status_code=201,
    responses=ERRORS,
    dependencies=[CsrfChecked, Depends(RateLimit("escalate"))],
    summary="Ask a teacher to help (their live feed shows it at once)",
)
async def escalate(
    session_id: uuid.UUID, body: EscalateIn, state: StateDep, identity: CurrentUser
) -> EscalateOut:
    info = await session_for_participant(state, identity, str(session_id))
    student = identity.role == Role.student
    escalation = await raise_escalation(
        state,
        info,
        reason=body.reason.strip() or ("student asked" if student else "QA session: staff asked"),
        source="student" if student else "teacher",
    )
    return EscalateOut(
        session_id=session_id,
        escalation=EscalationOut(**escalation_json(escalation)) if escalation else None,
        queued=escalation is None,
    )
