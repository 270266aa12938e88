"""FastAPI app factory of the guardrail service: moderation + policy + rewrite + input PII over HTTP."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import openai
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from opentelemetry.trace import TracerProvider
from starlette.exceptions import HTTPException as StarletteHTTPException
from tutorplane.common.asgi import BodyLimitMiddleware, too_large_message
from tutorplane.common.telemetry import fastapi_telemetry, setup_tracing
from tutorplane.guardrail.checker import LocalChecker
from tutorplane.guardrail.coalescing import CoalescingModeration
from tutorplane.guardrail.moderation import ModerationClient
from tutorplane.guardrail.openai_moderation import OpenAIModeration
from tutorplane.guardrail.rewrite import OpenAIRewriter, Rewriter
from tutorplane.guardrail_service.metrics import REJECTED
from tutorplane.guardrail_service.routes import check, health
from tutorplane.guardrail_service.settings import GuardrailServiceSettings
from tutorplane.guardrail_service.state import ServiceState

log = logging.getLogger(__name__)

TOO_LARGE_ADVICE = "send fewer or shorter texts per request"


def create_app(
    settings: GuardrailServiceSettings | None = None,
    *,
    moderation: ModerationClient | None = None,
    rewriter: Rewriter | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """Build the app. ``moderation``/``rewriter`` replace the OpenAI-backed ones (tests, benchmarks)."""
    settings = settings or GuardrailServiceSettings()
    policy = settings.guardrail_policy()
    if tracer_provider is None:
        setup_tracing(settings)
    tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer("tutorplane.guardrail_service")
    state = ServiceState(settings=settings, tracer=tracer)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client: openai.AsyncOpenAI | None = None
        mod, rew = moderation, rewriter
        if mod is None or (rew is None and settings.rewrite_enabled):
            client = openai.AsyncOpenAI(
                api_key=settings.moderation_api_key(),
                base_url=settings.openai_base_url,
                max_retries=0,
                http_client=openai.DefaultAioHttpClient(),  # a quarter of httpx's CPU per call
            )
        if mod is None:
            assert client is not None
            mod = OpenAIModeration(
                client=client, model=settings.moderation_model, timeout_s=settings.moderation_timeout_s
            )
        if rew is None and settings.rewrite_enabled:
            assert client is not None
            rew = OpenAIRewriter(
                client=client, model=settings.rewrite_model, timeout_s=settings.rewrite_timeout_s
            )
        # Concurrent checks (many turns at once) share moderation calls instead of one call each.
        merged = CoalescingModeration(
            mod, max_batch=settings.moderation_max_batch, max_inflight=settings.moderation_max_inflight
        )
        state.checker = LocalChecker(
            merged,
            policy,
            rewriter=rew,
            moderation_timeout_s=settings.moderation_timeout_s,
            rewrite_timeout_s=settings.rewrite_timeout_s,
        )
        state.ready = True
        log.info(
            "guardrail service ready",
            extra={"moderation_model": mod.model, "offline": settings.offline, "rewrite": rew is not None},
        )
        try:
            yield
        finally:
            state.ready = False
            if client is not None:
                await client.close()

    development = settings.environment.value == "development"
    app = FastAPI(
        title="Tutorplane guardrail",
        version=settings.revision,
        lifespan=lifespan,
        docs_url="/docs" if development else None,
        redoc_url=None,
        openapi_url="/openapi.json" if development else None,
        telemetry=fastapi_telemetry(tracer_provider),
    )
    app.state.guardrail = state
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        advice=TOO_LARGE_ADVICE,
        error_body=_error_body,
        on_refused=REJECTED.labels("too_large").inc,
    )
    app.include_router(check.router)
    app.include_router(health.router)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        REJECTED.labels("invalid").inc()
        problems = [_describe(error) for error in exc.errors()]
        return JSONResponse(
            status_code=422,
            content={
                "error": "invalid_request",
                "message": "; ".join(problems)
                + '. Expected {"texts": [1-64 non-empty strings of <= 4000 chars], '
                '"direction": "input"|"output", "context": {"session_id", "source", "age_band"}}',
                # Inputs are not echoed: they may hold a child's words.
                "detail": [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()],
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 413:
            REJECTED.labels("too_large").inc()
            message = too_large_message(settings.max_body_bytes, TOO_LARGE_ADVICE)
            return JSONResponse({"error": "request_too_large", "message": message}, status_code=413)
        return JSONResponse(
            {"error": _error_name(exc.status_code), "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    return app


def _error_body(status: int, error: str, message: str) -> dict[str, Any]:
    return {"error": error, "message": message}


def _describe(error: dict[str, Any]) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p != "body"]
    return f"{'.'.join(loc) or 'body'}: {error.get('msg', 'invalid')}"


def _error_name(status: int) -> str:
    return {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 503: "unavailable"}.get(
        status, "http_error"
    )
