"""The gateway application: ``create_app(settings)``.

Everything expensive (SDK clients, pools, the limiter, the LISTEN connection) is built once in the
lifespan and shared; requests only look things up.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.middleware.cors import CORSMiddleware
from tutorplane.common.asgi import BodyLimitMiddleware
from tutorplane.common.logging import request_id_var
from tutorplane.common.telemetry import fastapi_telemetry
from tutorplane.gateway.api.routes import (
    auth,
    escalations,
    events,
    health,
    platform,
    realtime,
    sessions,
    teacher,
    turns,
)
from tutorplane.gateway.api.spa import mount_spa
from tutorplane.gateway.core.build import build_state, close_state, connect_urls
from tutorplane.gateway.core.config import GatewaySettings
from tutorplane.gateway.core.metrics import bind_deployment
from tutorplane.gateway.middleware.client_ip import ClientIPMiddleware
from tutorplane.gateway.middleware.observe import ObserveMiddleware
from tutorplane.gateway.middleware.probes import ProbeMiddleware
from tutorplane.gateway.middleware.security_headers import SecurityHeadersMiddleware, build_csp
from tutorplane.gateway.services.drain import DrainState

log = logging.getLogger(__name__)

API_DESCRIPTION = """\
The Tutorplane front door for both tutoring versions: sign-in, sessions with A/B assignment,
guarded turns streamed as Server-Sent Events, escalations and the teacher feed, platform status.

State-changing requests need the `X-CSRF-Token` header matching the CSRF cookie
(`GET /api/auth/csrf`). Errors are `{"detail": "..."}` saying what was wrong and what to do.
"""


def create_app(settings: GatewaySettings | None = None, *, drain: DrainState | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    drain = drain or DrainState()
    bind_deployment(settings.deployment)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await build_state(settings, drain)
        app.state.gw = state
        try:
            yield
        finally:
            app.state.gw = None
            await close_state(state)

    app = FastAPI(
        title="Tutorplane gateway",
        version=settings.revision,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/api/docs" if settings.environment.value != "production" else None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        telemetry=fastapi_telemetry(),
    )
    app.state.settings = settings
    app.state.drain = drain
    app.state.gw = None

    for module in (health, auth, sessions, turns, realtime, escalations, teacher, events, platform):
        app.include_router(module.router)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's default echoes the input as UTF-8, and an unpaired surrogate in it (valid JSON
        # escape, invalid Unicode) turned a 422 into a 500. ASCII escapes keep the body valid JSON.
        body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True, default=str)
        return Response(body, status_code=422, media_type="application/json")

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            {"detail": f"internal error; quote request id {request_id_var.get() or '-'} when reporting it"},
            status_code=500,
        )

    if settings.frontend_dist_dir is not None:
        mount_spa(app, settings.frontend_dist_dir)

    # Added innermost first: the last one added runs first.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=[
                "content-type",
                "x-csrf-token",
                "authorization",
                "x-tutor-variant",
                "last-event-id",
            ],
            max_age=600,
        )
    csp = build_csp(connect_urls(settings))
    app.add_middleware(SecurityHeadersMiddleware, csp=csp)
    app.add_middleware(ClientIPMiddleware, trusted_proxies=settings.trusted_proxies)
    app.add_middleware(ObserveMiddleware)
    app.add_middleware(ProbeMiddleware, extra_headers=SecurityHeadersMiddleware(app, csp=csp).common)
    return app
