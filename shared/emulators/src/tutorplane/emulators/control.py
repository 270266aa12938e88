"""The emulator's own endpoints under ``/_emulator``: health, scripting, reset, recorded requests."""

from __future__ import annotations

import json

from aiohttp import web

from .script import ROUTES
from .state import STATE

VERSION = "1"


async def health(request: web.Request) -> web.StreamResponse:
    return web.json_response(
        {
            "status": "ok",
            "emulator": "tutorplane",
            "version": VERSION,
            "providers": ["openai", "anthropic"],
            "routes": list(ROUTES),
        }
    )


def _problem(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def script(request: web.Request) -> web.StreamResponse:
    try:
        body = json.loads(await request.read() or b"null")
    except ValueError as exc:
        return _problem(f'body is not JSON ({exc}); send {{"op": "chat", "text": "..."}}')
    if not isinstance(body, dict) or not isinstance(body.get("op"), str):
        return _problem('body must be a JSON object with an "op", e.g. {"op": "chat", "text": "Hello"}')
    op = body.pop("op")
    try:
        request.app[STATE].script.apply(op, body)
    except ValueError as exc:
        return _problem(str(exc))
    return web.json_response({"ok": True, "op": op})


async def reset(request: web.Request) -> web.StreamResponse:
    request.app[STATE].script.reset()
    return web.json_response({"ok": True})


async def requests(request: web.Request) -> web.StreamResponse:
    route = request.query.get("route")
    script_ = request.app[STATE].script
    if route is None:
        return web.json_response({"requests": {r: script_.requests(r) for r in ROUTES}})
    try:
        recorded = script_.requests(route)
    except ValueError as exc:
        return _problem(str(exc))
    return web.json_response({"route": route, "requests": recorded})
