"""Browser telemetry events become OpenTelemetry spans (``frontend.<name>``).

Names and attribute keys are restricted to a safe alphabet and bounded in count and length, so
the endpoint cannot be used to flood traces with unbounded cardinality or inject log lines.
"""

from __future__ import annotations

import re
from typing import Any

from opentelemetry import trace
from tutorplane.common.telemetry import SESSION_ID_ATTR, USER_ID_ATTR

NAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
MAX_ATTRIBUTES = 32
MAX_VALUE_CHARS = 512

_tracer = trace.get_tracer("tutorplane.gateway.browser")


def record_browser_event(
    name: str,
    attributes: dict[str, Any],
    *,
    session_id: str | None,
    user_id: str | None,
    duration_ms: float | None,
    client_ts_ms: int | None,
) -> None:
    span_attrs: dict[str, Any] = {"source": "frontend"}
    if session_id:
        span_attrs[SESSION_ID_ATTR] = session_id
        span_attrs["session.id"] = session_id
    if user_id:
        span_attrs[USER_ID_ATTR] = user_id
    if duration_ms is not None:
        span_attrs["frontend.duration_ms"] = duration_ms
    if client_ts_ms is not None:
        span_attrs["frontend.client_ts_ms"] = client_ts_ms
    for key, value in attributes.items():
        span_attrs[f"frontend.{key}"] = value
    with _tracer.start_as_current_span(f"frontend.{name}", attributes=span_attrs):
        pass
