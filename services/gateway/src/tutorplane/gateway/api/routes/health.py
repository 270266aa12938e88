"""Liveness, readiness and Prometheus metrics (probes use 127.0.0.1, never "localhost")."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from tutorplane.common.metrics import render_latest
from tutorplane.gateway.api.schemas import HealthOut, ReadyOut

router = APIRouter(tags=["operations"])

_HEALTH_BODY = b'{"status":"ok"}'


@router.get("/healthz", response_model=HealthOut, summary="Liveness: the process serves requests")
async def healthz() -> Response:
    return Response(_HEALTH_BODY, media_type="application/json")


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={
        503: {
            "model": ReadyOut,
            "description": (
                "Starting, draining, a dependency not reached since start-up, or one named in "
                "TUTOR_READINESS_REQUIRES is down."
            ),
        }
    },
    summary="Readiness: false while starting or draining; dependencies are checked and reported",
    description=(
        "Ready once PostgreSQL, Redis and the guardrail service have each answered since start-up. One "
        "failing later is listed in `degraded` and the replica stays ready (every replica shares it, and "
        "the gateway serves through the outage) unless `TUTOR_READINESS_REQUIRES` names it."
    ),
)
async def readyz(request: Request) -> JSONResponse:
    state = getattr(request.app.state, "gw", None)
    if state is None:
        body = ReadyOut(ready=False, draining=False, checks={"startup": "starting"}, degraded=[])
        return JSONResponse(body.model_dump(), status_code=503)
    draining = state.drain.stopping
    report = await state.readiness.report(draining=draining)
    body = ReadyOut(ready=report.ready, draining=draining, checks=report.checks, degraded=report.degraded)
    return JSONResponse(body.model_dump(), status_code=200 if report.ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition."}},
    summary="Prometheus metrics",
)
async def metrics() -> Response:
    return Response(render_latest(), media_type="text/plain; version=0.0.4; charset=utf-8")
