"""Prometheus collectors of the gateway (names carry units)."""

from __future__ import annotations

from tutorplane.common.metrics import counter, gauge, histogram

REQUESTS = counter(
    "tutorplane_gateway_requests_total",
    "HTTP requests by route template, method and status class.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = histogram(
    "tutorplane_gateway_request_seconds",
    "Time to the response start (streams: to the first byte).",
    ["route", "method"],
)
TURN_STAGE_SECONDS = histogram(
    "tutorplane_gateway_turn_stage_seconds",
    "Guarded turn stages: input_check, routing, first_token, first_sentence, first_audio, total.",
    ["stage"],
)
TURNS = counter(
    "tutorplane_gateway_turns_total",
    "Guarded turns by outcome (completed, cancelled, blocked, error).",
    ["outcome"],
)
ACTIVE_STREAMS = gauge(
    "tutorplane_gateway_active_streams",
    "Open streaming responses (turns, student events, teacher feeds).",
    ["kind"],
)
RATE_LIMIT_REJECTIONS = counter(
    "tutorplane_gateway_rate_limit_rejections_total",
    "Requests refused with 429 by route group.",
    ["group"],
)
RATE_LIMIT_ERRORS = counter(
    "tutorplane_gateway_rate_limit_errors_total",
    "Rate-limit checks that could not reach Redis (requests were allowed).",
)
BROWSER_EVENTS = counter(
    "tutorplane_gateway_browser_events_total",
    "Browser telemetry events by result (accepted, rejected).",
    ["result"],
)
ESCALATIONS = counter(
    "tutorplane_gateway_escalations_total",
    "Escalations raised through the gateway by source.",
    ["source"],
)
SESSIONS = counter(
    "tutorplane_gateway_sessions_total",
    "Sessions created by variant and assignment reason.",
    ["variant", "reason"],
)
