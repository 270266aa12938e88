"""Error responses in each provider's own shape, so the SDKs raise their usual exception types."""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web

from .wire import new_id

OPENAI = "openai"
ANTHROPIC = "anthropic"

_OPENAI_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "The request was invalid."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Access denied."),
    404: ("invalid_request_error", "not_found", "The requested resource was not found."),
    408: ("timeout", None, "Request timed out."),
    409: ("invalid_request_error", "conflict", "The request conflicts with the current state."),
    422: ("invalid_request_error", None, "The request could not be processed."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached (emulated). Please try again after the time in retry-after.",
    ),
    500: ("server_error", None, "The server had an error while processing your request (emulated)."),
    502: ("server_error", None, "Bad gateway (emulated)."),
    503: ("server_error", "service_unavailable", "The engine is currently overloaded (emulated)."),
    504: ("server_error", None, "Gateway timeout (emulated)."),
}

_ANTHROPIC_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "The request was invalid."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "The requested resource was not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed size."),
    429: ("rate_limit_error", "Rate limit reached (emulated). Please retry after the retry-after time."),
    500: ("api_error", "Internal server error (emulated)."),
    529: ("overloaded_error", "Overloaded (emulated)."),
}


def openai_error_body(
    status: int, message: str | None = None, *, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    kind, default_code, default_message = _OPENAI_DEFAULTS.get(
        status,
        ("server_error" if status >= 500 else "invalid_request_error", None, f"HTTP {status} (emulated)."),
    )
    return {
        "error": {
            "message": message or default_message,
            "type": kind,
            "param": param,
            "code": code if code is not None else default_code,
        }
    }


def anthropic_error_body(status: int, message: str | None = None) -> dict[str, Any]:
    kind, default_message = _ANTHROPIC_DEFAULTS.get(
        status, ("api_error" if status >= 500 else "invalid_request_error", f"HTTP {status} (emulated).")
    )
    return {
        "type": "error",
        "error": {"type": kind, "message": message or default_message},
        "request_id": new_id("req_"),
    }


def error_response(
    provider: str,
    status: int,
    message: str | None = None,
    *,
    code: str | None = None,
    param: str | None = None,
    retry_after_s: float | None = None,
) -> web.Response:
    if provider == ANTHROPIC:
        body = anthropic_error_body(status, message)
        headers = {"request-id": body["request_id"]}
    else:
        body = openai_error_body(status, message, code=code, param=param)
        headers = {"x-request-id": new_id("req_")}
    if retry_after_s is not None:
        headers["retry-after"] = str(max(0, math.ceil(retry_after_s)))
        headers["retry-after-ms"] = str(max(0, round(retry_after_s * 1000)))
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers
    )


def bad_request(provider: str, message: str, *, param: str | None = None) -> web.Response:
    return error_response(provider, 400, message, param=param)


class BadRequest(Exception):
    """Raised while reading a request body; becomes a 400 in the provider's shape."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
