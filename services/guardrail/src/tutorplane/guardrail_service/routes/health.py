"""Probes and metrics. Liveness says the process serves HTTP; readiness that it can check texts."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from tutorplane.common.metrics import render_latest
from tutorplane.guardrail_service.state import ServiceState

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    state: ServiceState = request.app.state.guardrail
    if state.stopping:
        return JSONResponse({"status": "stopping"}, status_code=503)
    if state.ready and state.checker is not None:
        return JSONResponse({"status": "ready", "moderation_model": state.checker.moderation.model})
    return JSONResponse({"status": "not ready"}, status_code=503)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(render_latest(), media_type=CONTENT_TYPE_LATEST)
