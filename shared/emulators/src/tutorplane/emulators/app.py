"""The aiohttp application: one route table for both providers and the control endpoints."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import WSCloseCode, web

from . import (
    anthropic_messages,
    control,
    models,
    openai_audio,
    openai_chat,
    openai_moderations,
    realtime_webrtc,
    realtime_ws,
)
from .errors import ANTHROPIC, OPENAI, error_response
from .realtime_session import client_secrets
from .script import Script
from .state import STATE, EmulatorState
from .wire import STARTED_RESPONSE

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # the transcription API's file limit

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _provider_of(request: web.Request) -> str:
    anthropic = "anthropic-version" in request.headers or request.path.startswith("/v1/messages")
    return ANTHROPIC if anthropic else OPENAI


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPNotFound:
        if request.path.startswith("/_emulator"):
            return web.json_response({"error": f"unknown control endpoint {request.path}"}, status=404)
        return error_response(
            _provider_of(request),
            404,
            f"Unknown request URL: {request.method} {request.path}. The emulator serves "
            "/v1/chat/completions, /v1/moderations, /v1/audio/speech, /v1/audio/transcriptions, "
            "/v1/realtime, /v1/realtime/client_secrets, /v1/realtime/calls, /v1/models and /v1/messages.",
        )
    except web.HTTPMethodNotAllowed:
        return error_response(
            _provider_of(request), 405, f"{request.method} is not supported on {request.path}."
        )
    except web.HTTPException:
        raise
    except ConnectionResetError:  # the client went away mid-stream (a barge-in, a TTFT probe): normal
        log.debug("client disconnected", extra={"path": request.path})
        started = request.get(STARTED_RESPONSE)
        if started is None:
            raise
        return started  # aiohttp's write_eof on it meets the closed connection and lets it go
    except Exception:
        log.exception("emulator handler failed", extra={"path": request.path})
        return error_response(_provider_of(request), 500, "The emulator failed while handling this request.")


async def _index(request: web.Request) -> web.StreamResponse:
    return web.json_response({"emulator": "tutorplane", "health": "/_emulator/health"})


async def _close_websockets(app: web.Application) -> None:
    for ws in list(app[STATE].websockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"emulator shutting down")


def build_app(script: Script | None = None) -> web.Application:
    app = web.Application(middlewares=[realtime_webrtc.cors, _errors], client_max_size=MAX_UPLOAD_BYTES)
    app[STATE] = EmulatorState(script=script or Script())
    app.router.add_post("/v1/chat/completions", openai_chat.chat_completions)
    app.router.add_post("/v1/moderations", openai_moderations.moderations)
    app.router.add_post("/v1/audio/speech", openai_audio.speech)
    app.router.add_post("/v1/audio/transcriptions", openai_audio.transcriptions)
    app.router.add_post("/v1/realtime/client_secrets", client_secrets)
    app.router.add_get("/v1/realtime", realtime_ws.realtime_ws)
    realtime_webrtc.add_routes(app)
    app.router.add_post("/v1/messages", anthropic_messages.messages)
    app.router.add_post("/v1/messages/count_tokens", anthropic_messages.count_tokens)
    app.router.add_get("/v1/models", models.list_models)
    app.router.add_get("/v1/models/{model}", models.get_model)
    app.router.add_get("/v1", _index)
    app.router.add_get("/v1/", _index)
    app.router.add_get("/", _index)
    app.router.add_get("/_emulator/health", control.health)
    app.router.add_post("/_emulator/script", control.script)
    app.router.add_post("/_emulator/reset", control.reset)
    app.router.add_get("/_emulator/requests", control.requests)
    app.on_shutdown.append(_close_websockets)
    return app
