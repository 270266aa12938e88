"""Prometheus collectors of the gateway (names carry units)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from tutorplane.common.metrics import (
    TURN_LATENCY_STAGE,
    contract_guardrail_decisions,
    contract_session_errors,
    contract_turn_latency,
    counter,
    counter_sums,
    gauge,
    gauge_values,
    histogram,
    histogram_sums,
    register_once,
)

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
DEPENDENCY_UP = gauge(
    "tutorplane_gateway_dependency_up",
    "1 when the last readiness check reached the dependency (database, redis, guardrail), else 0.",
    ["dependency"],
)
SPEECH_ERRORS = counter(
    "tutorplane_gateway_speech_errors_total",
    "Turns whose speech synthesis failed (the answer went on as text only).",
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
SESSION_START_ERRORS = counter(
    "tutorplane_gateway_session_start_errors_total",
    "Sessions that could not start after a variant was assigned, by variant and reason.",
    ["variant", "reason"],
)
GUARDRAIL_DECISIONS = counter(
    "tutorplane_gateway_guardrail_decisions_total",
    "Guardrail decisions on gateway turns (version B) by direction (input, output) and action.",
    ["direction", "action"],
)


def record_guardrail_decision(direction: str, action: str) -> None:
    """Count one guardrail decision of a gateway turn (every decision, allow included)."""
    GUARDRAIL_DECISIONS.labels(direction=direction, action=action).inc()


# --- The platform contract -------------------------------------------------------------------
# The operator's rollout analysis and the chart's alerts query platform-wide names with
# ``deployment`` and ``variant`` labels (``namespace`` and ``pod`` come from the scrape target).
# They are derived at scrape time from the gateway's own collectors above, so the turn path keeps
# recording one thing and the two views can never disagree.
#
# * sessions started: every session the gateway creates, labelled with the *assigned* variant;
#   the agent pool does not count starts, so the sum over the fleet counts each session once;
# * session errors: version-B turns that ended in an error, and sessions whose credentials could
#   not be issued after assignment;
# * turn latency: version-B turns from the end of the student's input to the first guarded
#   sentence (the same stage the agent pool reports for version A);
# * guardrail decisions: version-B decisions by action and direction.
GATEWAY_VARIANT = "B"


class ContractView(Collector):
    """The contract metrics, computed from this process's collectors at every scrape."""

    def __init__(self, deployment: str = "local") -> None:
        self.deployment = deployment

    def collect(self) -> Iterator[Metric]:
        deployment = self.deployment
        started = CounterMetricFamily(
            "tutorplane_sessions_started",
            "Sessions started, by TutorDeployment and assigned variant.",
            labels=["deployment", "variant"],
        )
        for (variant,), value in counter_sums(
            SESSIONS.collect(), "tutorplane_gateway_sessions", ["variant"]
        ).items():
            started.add_metric([deployment, variant], value)
        yield started

        # Present at 0 from the start: "no errors" must read as a rate of 0, not as "no data".
        failed: dict[str, float] = {GATEWAY_VARIANT: 0.0}
        for (variant,), value in counter_sums(
            SESSION_START_ERRORS.collect(), "tutorplane_gateway_session_start_errors", ["variant"]
        ).items():
            failed[variant] = failed.get(variant, 0.0) + value
        turns = counter_sums(TURNS.collect(), "tutorplane_gateway_turns", ["outcome"])
        failed[GATEWAY_VARIANT] += turns.get(("error",), 0.0)
        yield contract_session_errors(deployment, failed)

        stage = {"stage": TURN_LATENCY_STAGE}
        merged = histogram_sums(TURN_STAGE_SECONDS.collect(), "tutorplane_gateway_turn_stage_seconds", stage)
        yield contract_turn_latency(deployment, GATEWAY_VARIANT, merged)

        decisions = counter_sums(
            GUARDRAIL_DECISIONS.collect(), "tutorplane_gateway_guardrail_decisions", ["direction", "action"]
        )
        yield contract_guardrail_decisions(deployment, GATEWAY_VARIANT, decisions)

        # The autoscaling signal of the gateway: student event streams open on this replica
        # (one per student with an open session page here).
        active = GaugeMetricFamily(
            "tutorplane_gateway_active_sessions",
            "Student sessions whose event stream is open on this replica (the autoscaling signal).",
            labels=["deployment"],
        )
        streams = gauge_values(ACTIVE_STREAMS.collect(), "tutorplane_gateway_active_streams", ["kind"])
        active.add_metric([deployment], streams.get(("student_events",), 0.0))
        yield active


CONTRACT = ContractView()
register_once(CONTRACT)


def bind_deployment(deployment: str) -> None:
    """Label the contract metrics with this process's TutorDeployment (``TUTOR_DEPLOYMENT``)."""
    CONTRACT.deployment = deployment
