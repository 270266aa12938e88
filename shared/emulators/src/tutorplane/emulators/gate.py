"""What happens to every model-API request before its handler answers it.

In order: the API key is checked (any non-empty key passes), the JSON body is read, the request is
recorded for the test, the scripted latency is slept, and a scripted failure (if one is queued)
answers instead of the handler.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from .errors import ANTHROPIC, BadRequest, error_response
from .state import STATE

RECORDED_HEADERS = (
    "authorization",
    "x-api-key",
    "anthropic-version",
    "anthropic-beta",
    "openai-beta",
    "content-type",
    "user-agent",
    "x-stainless-retry-count",
)

_MISSING_KEY = {
    "openai": (
        "You didn't provide an API key. Send it in an Authorization header using Bearer auth "
        "(Authorization: Bearer YOUR_KEY); the emulator accepts any non-empty key."
    ),
    "anthropic": "x-api-key header is required; the emulator accepts any non-empty key.",
}


def api_key(request: web.Request, provider: str) -> str | None:
    if provider == ANTHROPIC and (key := request.headers.get("x-api-key", "").strip()):
        return key
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def header_subset(request: web.Request) -> dict[str, str]:
    return {name: request.headers[name] for name in RECORDED_HEADERS if name in request.headers}


def missing_key(request: web.Request, provider: str) -> web.Response | None:
    if api_key(request, provider) is None:
        return error_response(provider, 401, _MISSING_KEY[provider])
    return None


async def read_json(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise BadRequest(
            f"We could not parse the JSON body of your request ({exc}). Send a JSON object "
            "with Content-Type: application/json."
        ) from exc
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def drop_connection(request: web.Request) -> web.Response:
    """Close the socket without an answer; the client sees a dropped connection or its timeout."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=499)


async def admit(
    request: web.Request, route: str, provider: str, body: dict[str, Any]
) -> web.StreamResponse | None:
    """Record, delay, and apply a scripted failure. Returns the response to send instead, if any."""
    script = request.app[STATE].script
    script.record(route, {**body, "_path": request.path_qs, "_headers": header_subset(request)})
    if latency := script.latency_s(route):
        await asyncio.sleep(latency)
    failure = script.take_failure(route)
    if failure is None:
        return None
    if failure.delay_s:
        await asyncio.sleep(failure.delay_s)
    if failure.status == 0:
        return drop_connection(request)
    retry_after = failure.retry_after_s if failure.status in (429, 503, 529) else None
    return error_response(provider, failure.status, retry_after_s=retry_after)
