"""``GET /v1/models`` for both providers (the SDKs' pre-warm calls), told apart by headers.

The Anthropic SDK always sends ``anthropic-version``; the OpenAI SDK never does.
"""

from __future__ import annotations

from aiohttp import web

from .errors import ANTHROPIC, OPENAI
from .gate import missing_key

OPENAI_MODELS = (
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4o-mini",
    "gpt-realtime",
    "gpt-realtime-mini",
    "gpt-4o-mini-tts",
    "tts-1",
    "gpt-4o-mini-transcribe",
    "gpt-4o-transcribe",
    "whisper-1",
    "omni-moderation-latest",
)
ANTHROPIC_MODELS = ("claude-haiku-4-5", "claude-sonnet-4-5", "claude-sonnet-4-6", "claude-opus-4-5")
_CREATED = 1_735_689_600  # fixed: 2025-01-01T00:00:00Z, so listings are deterministic


def _provider(request: web.Request) -> str:
    return ANTHROPIC if "anthropic-version" in request.headers else OPENAI


def _anthropic_model(model_id: str) -> dict[str, object]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": model_id.replace("-", " ").title() + " (emulated)",
        "created_at": "2025-01-01T00:00:00Z",
        "lifecycle": "active",
    }


def _openai_model(model_id: str) -> dict[str, object]:
    return {"id": model_id, "object": "model", "created": _CREATED, "owned_by": "tutorplane-emulator"}


async def list_models(request: web.Request) -> web.StreamResponse:
    provider = _provider(request)
    if (denied := missing_key(request, provider)) is not None:
        return denied
    if provider == ANTHROPIC:
        limit = max(1, min(1000, int(request.query.get("limit", "20") or 20)))
        data = [_anthropic_model(m) for m in ANTHROPIC_MODELS[:limit]]
        return web.json_response(
            {
                "data": data,
                "has_more": len(ANTHROPIC_MODELS) > limit,
                "first_id": data[0]["id"],
                "last_id": data[-1]["id"],
            }
        )
    return web.json_response({"object": "list", "data": [_openai_model(m) for m in OPENAI_MODELS]})


async def get_model(request: web.Request) -> web.StreamResponse:
    provider = _provider(request)
    if (denied := missing_key(request, provider)) is not None:
        return denied
    model_id = request.match_info["model"]
    return web.json_response(_anthropic_model(model_id) if provider == ANTHROPIC else _openai_model(model_id))
