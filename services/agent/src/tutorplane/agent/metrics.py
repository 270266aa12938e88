"""Prometheus metrics of the agent worker.

Two kinds:

* per-session metrics (turn stages, guardrail actions, handoffs, ...) are ordinary collectors
  written by whichever process runs the session; with ``metrics_multiproc_dir`` set, job processes
  write them to shared files and the health server aggregates them;
* worker-level gauges (``tutorplane_agent_active_sessions``, ``tutorplane_agent_worker_load_ratio``,
  ``tutorplane_agent_ready``) are computed at scrape time from the live worker by
  :class:`WorkerCollector`, never stored: the SDK wipes the multi-process directory when the worker
  starts, so a stored main-process value would vanish. The autoscaler scales on
  ``tutorplane_agent_active_sessions``.

The same collector also serves the platform contract the operator's rollout analysis and the
chart's alerts query (``tutorplane_turn_latency_seconds``, ``tutorplane_session_errors_total``,
``tutorplane_guardrail_decisions_total``, each with ``deployment`` and ``variant="A"``), derived at
scrape time from the per-session metrics so the two views never disagree. Session *starts* are
counted by the gateway, which assigns the variant; the pool does not count them again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from tutorplane.common.metrics import (
    TURN_LATENCY_STAGE,
    contract_guardrail_decisions,
    contract_session_errors,
    contract_turn_latency,
    counter,
    counter_sums,
    histogram,
    histogram_sums,
)

# Seconds; turn stages range from sub-millisecond checks to multi-second model replies.
STAGE_BUCKETS: tuple[float, ...] = (
    0.001,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.2,
    0.35,
    0.5,
    0.75,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    10.0,
    20.0,
)

TURN_STAGE_SECONDS = histogram(
    "tutorplane_agent_turn_stage_seconds",
    "Latency of one stage of a turn: input_check, routing, llm_first_token, first_sentence "
    "(end of student input to first guarded sentence), tts_first_audio, handoff.",
    ("stage", "agent"),
    buckets=STAGE_BUCKETS,
)
GUARDRAIL_ACTIONS = counter(
    "tutorplane_agent_guardrail_actions_total",
    "Guardrail decisions on student input and agent speech.",
    ("direction", "action", "category"),
)
HANDOFFS_NOT_JOINED = counter(
    "tutorplane_agent_handoffs_not_joined_total",
    "Handovers to another worker that no worker took within handoff_join_timeout_s (the student stayed).",
    ("agent_name",),
)
HANDOFFS = counter(
    "tutorplane_agent_handoffs_total",
    "Handoffs between agents (in_session, dispatch to another worker, or fallback).",
    ("from_agent", "to_agent", "mode"),
)
ESCALATIONS = counter(
    "tutorplane_agent_escalations_total",
    "Escalations to a teacher raised by the agent worker.",
    ("source",),
)
SESSIONS = counter(
    "tutorplane_agent_sessions_total",
    "Sessions started by this worker, by role and how they started.",
    ("role", "kind"),
)
SESSION_ERRORS = counter(
    "tutorplane_agent_session_errors_total",
    "Sessions that failed to start or ended with an error.",
    ("role", "reason"),
)
TTS_FRAMES = counter(
    "tutorplane_agent_tts_frames_total",
    "Audio frames produced by the guarded tts_node.",
    ("agent",),
)


POOL_VARIANT = "A"


def session_families(multiproc_dir: str | None) -> list[Metric]:
    """The per-session metrics of this worker: its own registry, or the job processes' aggregate."""
    if multiproc_dir:
        from prometheus_client import multiprocess

        return list(multiprocess.MultiProcessCollector(None, path=multiproc_dir).collect())
    return list(REGISTRY.collect())


def contract_families(families: list[Metric], deployment: str) -> Iterator[Metric]:
    """The platform contract metrics of version A, computed from the per-session metrics."""
    stage = {"stage": TURN_LATENCY_STAGE}
    merged = histogram_sums(families, "tutorplane_agent_turn_stage_seconds", stage)
    yield contract_turn_latency(deployment, POOL_VARIANT, merged)
    failed = counter_sums(families, "tutorplane_agent_session_errors", [])
    yield contract_session_errors(deployment, {POOL_VARIANT: sum(failed.values())})
    decisions = counter_sums(families, "tutorplane_agent_guardrail_actions", ["direction", "action"])
    yield contract_guardrail_decisions(deployment, POOL_VARIANT, decisions)


class WorkerCollector(Collector):
    """Worker-level gauges read from the running worker, and the contract metrics, at every scrape."""

    def __init__(
        self,
        *,
        role: str,
        ready: Callable[[], bool],
        active_sessions: Callable[[], int],
        load: Callable[[], float],
        deployment: str = "local",
        multiproc_dir: str | None = None,
    ) -> None:
        self.role = role
        self._ready = ready
        self._active = active_sessions
        self._load = load
        self.deployment = deployment
        self.multiproc_dir = multiproc_dir

    def collect(self) -> Iterator[Any]:
        sessions = GaugeMetricFamily(
            "tutorplane_agent_active_sessions",
            "Agent sessions running on this worker now (the autoscaling signal).",
            labels=["role"],
        )
        sessions.add_metric([self.role], float(self._active()))
        yield sessions
        yield GaugeMetricFamily(
            "tutorplane_agent_worker_load_ratio",
            "Load this worker reports to LiveKit (0..1): max(active sessions / capacity, CPU).",
            value=float(self._load()),
        )
        yield GaugeMetricFamily(
            "tutorplane_agent_ready",
            "1 when the worker is registered with LiveKit and not draining.",
            value=1.0 if self._ready() else 0.0,
        )
        yield from contract_families(session_families(self.multiproc_dir), self.deployment)
