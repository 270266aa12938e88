"""Realtime session objects (GA shape), ``POST /v1/realtime/client_secrets``, and what every
Realtime transport does before its session starts (record the attempt, scripted failures, the
session a key stands for)."""

from __future__ import annotations

import copy
import time
from typing import Any

from aiohttp import web

from .errors import OPENAI, BadRequest, bad_request
from .gate import admit, missing_key, read_json
from .state import STATE, EmulatorState, MintedSecret
from .wire import new_id

DEFAULT_MODEL = "gpt-realtime"
DEFAULT_TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"
DEFAULT_INSTRUCTIONS = "You are the offline practice tutor. Answer briefly and kindly."
SESSION_TTL_S = 3600
_PCM = {"type": "audio/pcm", "rate": 24000}


def server_vad() -> dict[str, Any]:
    return {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    }


def default_session(kind: str, model: str | None) -> dict[str, Any]:
    now = int(time.time())
    if kind == "transcription":
        return {
            "type": "transcription",
            "object": "realtime.transcription_session",
            "id": new_id("sess_"),
            "expires_at": now + SESSION_TTL_S,
            "include": None,
            "audio": {
                "input": {
                    "format": dict(_PCM),
                    "noise_reduction": None,
                    "transcription": {
                        "model": model or DEFAULT_TRANSCRIPTION_MODEL,
                        "language": None,
                        "prompt": "",
                    },
                    "turn_detection": server_vad(),
                }
            },
        }
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": new_id("sess_"),
        "model": model or DEFAULT_MODEL,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": now + SESSION_TTL_S,
        "include": None,
        "audio": {
            "input": {
                "format": dict(_PCM),
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": server_vad(),
            },
            "output": {"format": dict(_PCM), "voice": "alloy", "speed": 1.0},
        },
    }


def merge(target: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `update` into `target` (objects merge, everything else replaces)."""
    for key, value in update.items():
        if (
            isinstance(value, dict)
            and isinstance(target.get(key), dict)
            and key not in ("turn_detection", "format")
        ):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def session_from_request(requested: dict[str, Any], *, model: str | None = None) -> dict[str, Any]:
    kind = requested.get("type") or "realtime"
    if kind not in ("realtime", "transcription"):
        raise BadRequest(
            "Invalid value for 'session.type': use 'realtime' or 'transcription'.", param="session.type"
        )
    base = default_session(kind, requested.get("model") or model)
    return merge(base, {k: v for k, v in requested.items() if k not in ("id", "object")})


async def client_secrets(request: web.Request) -> web.StreamResponse:
    if (denied := missing_key(request, OPENAI)) is not None:
        return denied
    try:
        body = await read_json(request)
        if (answered := await admit(request, "client_secrets", OPENAI, body)) is not None:
            return answered
        expires_after = body.get("expires_after") or {}
        seconds = expires_after.get("seconds", 600)
        if not isinstance(seconds, int) or not 10 <= seconds <= 7200:
            raise BadRequest(
                "'expires_after.seconds' must be an integer from 10 to 7200.", param="expires_after.seconds"
            )
        if expires_after.get("anchor", "created_at") != "created_at":
            raise BadRequest("'expires_after.anchor' must be 'created_at'.", param="expires_after.anchor")
        requested = body.get("session") or {"type": "realtime"}
        if not isinstance(requested, dict) or "type" not in requested:
            raise BadRequest("Missing required parameter: 'session.type'.", param="session.type")
        session = session_from_request(requested)
    except BadRequest as exc:
        return bad_request(OPENAI, exc.message, param=exc.param)
    expires_at = int(time.time()) + seconds
    value = new_id("ek_", 32)
    request.app[STATE].secrets[value] = MintedSecret(expires_at=expires_at, session=copy.deepcopy(session))
    return web.json_response(
        {"value": value, "expires_at": expires_at, "session": session},
        headers={"x-request-id": new_id("req_")},
    )


EXPIRED_KEY = "The ephemeral key has expired; mint a new client secret."


def session_for_key(state: EmulatorState, key: str, kind: str, model: str | None) -> dict[str, Any]:
    """The session a connection starts with: the one minted with its ephemeral key, else the default."""
    minted = state.secrets.get(key)
    if minted is not None:
        return copy.deepcopy(minted.session)
    return default_session(kind, model)


def ephemeral_key_problem(state: EmulatorState, key: str) -> str | None:
    """Why an ``ek_`` key is refused (not minted here, or expired); None for standard keys."""
    if not key.startswith("ek_"):
        return None
    minted = state.secrets.get(key)
    if minted is None:
        return (
            "Incorrect API key provided: this ephemeral key was not issued by this server (keys do not "
            "survive a restart). Mint a new one with POST /v1/realtime/client_secrets."
        )
    return EXPIRED_KEY if minted.expired else None
