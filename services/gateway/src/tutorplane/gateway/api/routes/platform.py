"""Platform status and the A/B report (teachers and admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from tutorplane.gateway.api.deps import RateLimit, StaffUser, StateDep
from tutorplane.gateway.api.schemas import AbReportOut, DeploymentsOut, problems
from tutorplane.gateway.services.ab_report import build_report
from tutorplane.gateway.services.access import DB_ERRORS, database_unavailable
from tutorplane.gateway.services.platform_status import read_status

router = APIRouter(prefix="/api", tags=["platform"], dependencies=[Depends(RateLimit("read"))])

ERRORS = problems(401, 403, 429, 503)


@router.get(
    "/platform/deployments",
    response_model=DeploymentsOut,
    responses=ERRORS,
    summary="Deployments as the operator publishes them: weights, replicas, sessions, rollout",
)
async def deployments(state: StateDep, _staff: StaffUser) -> DeploymentsOut:
    return read_status(
        state.settings.platform_status_path, state.variants.current(), state.settings.deployment
    )


@router.get(
    "/reports/ab",
    response_model=AbReportOut,
    responses=ERRORS,
    summary="A vs B: latency, cost, escalations, guardrail blocks with 95% intervals and a verdict",
)
async def ab_report(
    state: StateDep,
    _staff: StaffUser,
    deployment: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")] = None,
) -> AbReportOut:
    settings = state.settings
    try:
        return await build_report(
            state.pool,
            deployment=deployment or settings.deployment,
            prices=settings.prices,
            min_sessions=settings.ab_min_sessions,
        )
    except DB_ERRORS as exc:
        raise database_unavailable() from exc
