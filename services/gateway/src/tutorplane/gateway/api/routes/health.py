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
    responses={503: {"model": ReadyOut, "description": "A dependency is down or the replica is draining."}},
    summary="Readiness: PostgreSQL, Redis and the guardrail answer; false while draining",
)
async def readyz(request: Request) -> JSONResponse:
    state = getattr(request.app.state, "gw", None)
    if state is None:
        body = ReadyOut(ready=False, draining=False, checks={"startup": "starting"})
        return JSONResponse(body.model_dump(), status_code=503)
    checks = await state.readiness.results()
    draining = state.drain.draining
    ready = not draining and all(v == "ok" for v in checks.values())
    body = ReadyOut(ready=ready, draining=draining, checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition."}},
    summary="Prometheus metrics",
)
async def metrics() -> Response:
    return Response(render_latest(), media_type="text/plain; version=0.0.4; charset=utf-8")
