"""Classification of model API failures into a small, stable set of metric reasons."""

from __future__ import annotations

import anthropic
import openai


def _mro_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def failure_reason(exc: BaseException) -> str:
    """``rate_limited``, ``server_error``, ``timeout``, ``connection``, ``auth``, ``bad_request``,
    ``bad_response`` or ``other``.

    Transport errors raised while a stream is being read are not wrapped by the SDKs and come from
    their HTTP library (httpx, or httpx2 for anthropic 1.x), so those are recognised by class name.
    """
    if isinstance(exc, openai.RateLimitError | anthropic.RateLimitError):
        return "rate_limited"
    if isinstance(exc, openai.APITimeoutError | anthropic.APITimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, openai.AuthenticationError | anthropic.AuthenticationError):
        return "auth"
    if isinstance(exc, openai.PermissionDeniedError | anthropic.PermissionDeniedError):
        return "auth"
    if isinstance(exc, openai.APIStatusError | anthropic.APIStatusError):
        return "server_error" if exc.status_code >= 500 else "bad_request"
    if isinstance(exc, openai.APIConnectionError | anthropic.APIConnectionError):
        return "connection"
    if _mro_names(exc) & {"ProviderStreamError"}:  # an `error` event in a started stream
        return "server_error"
    names = _mro_names(exc)
    if "TimeoutException" in names:
        return "timeout"
    if names & {"TransportError", "RemoteProtocolError", "StreamError"}:
        return "connection"
    if isinstance(exc, openai.APIError | anthropic.APIError):
        # e.g. an `error` event inside an otherwise successful stream (overloaded mid-answer)
        return "server_error"
    if isinstance(exc, ValueError | KeyError | TypeError):
        return "bad_response"
    return "other"
