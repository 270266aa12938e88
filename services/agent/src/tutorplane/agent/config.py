"""The agent worker's one settings object.

Every field is read from ``TUTOR_<FIELD>`` (LiveKit credentials also from the SDK's conventional
``LIVEKIT_URL`` / ``LIVEKIT_API_KEY`` / ``LIVEKIT_API_SECRET``). The operator sets them per pool and
revision from the TutorDeployment spec.

One image runs two kinds of worker, because the SDK allows one ``rtc_session`` per process and an
OpenAI Realtime model cannot share an ``AgentSession`` with an STT/LLM/TTS pipeline:

* ``agent_role=pipeline`` registers as ``pipeline_agent_name``: orchestrator, math, history (and
  the in-session English fallback);
* ``agent_role=english`` registers as ``english_agent_name``: the Realtime English tutor.

Each dispatches the other by name with JSON job metadata (see :mod:`tutorplane.agent.metadata`).
Once a newer pool revision is in service, handoffs go to its workers (the names the operator
publishes in ``variant_config_path``): a draining worker of an older revision takes no new jobs, so
a handoff to its own revision's name would reach nobody.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from pydantic import AliasChoices, Field, SecretStr, model_validator
from tutorplane.common.settings import (
    DatabaseSettings,
    ModelSettings,
    ProviderSettings,
    ServiceSettings,
    TelemetrySettings,
    secret_field,
)
from tutorplane.guardrail.settings import GuardrailStreamSettings
from tutorplane.routing.settings import RoutingSettings


class AgentRole(StrEnum):
    pipeline = "pipeline"
    english = "english"


class JobExecutor(StrEnum):
    process = "process"
    thread = "thread"


class LLMProvider(StrEnum):
    openai = "openai"
    anthropic = "anthropic"


class AgentSettings(
    ServiceSettings,
    ProviderSettings,
    ModelSettings,
    DatabaseSettings,
    TelemetrySettings,
    RoutingSettings,
    GuardrailStreamSettings,
):
    """Settings of the version-A LiveKit agent worker.

    ``routing_strategy`` (from :class:`RoutingSettings`) picks who decides handoffs: ``two_stage``
    (the shared router, in code) or ``function_tools`` (the orchestrator LLM calling route tools).
    """

    service_name: ClassVar[str] = "tutorplane-agent"

    # --- identity and dispatch -------------------------------------------------------------
    agent_role: AgentRole = Field(
        default=AgentRole.pipeline,
        description="pipeline (orchestrator + specialists) or english (the Realtime worker).",
    )
    pipeline_agent_name: str = Field(
        default="tutorplane-a",
        min_length=1,
        description="agent_name of the pipeline pool (per pool and revision); English hands back to it.",
    )
    english_agent_name: str = Field(
        default="tutorplane-a-english",
        min_length=1,
        description="agent_name of the English Realtime pool the orchestrator dispatches to.",
    )
    variant_config_path: Path | None = Field(
        default=None,
        description="The variant config the operator publishes (a mounted ConfigMap). Its agent names "
        "of version A, the pool revision in service, are where handoffs go; unset or missing: this "
        "worker's own pipeline_agent_name / english_agent_name.",
    )
    livekit_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TUTOR_LIVEKIT_URL", "LIVEKIT_URL"),
        description="LiveKit server websocket URL (wss://...). Needed to register and to dispatch.",
    )
    livekit_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TUTOR_LIVEKIT_API_KEY", "LIVEKIT_API_KEY"),
        description="LiveKit API key (the key id, not secret on its own).",
    )
    livekit_api_secret: SecretStr | None = secret_field(
        "TUTOR_LIVEKIT_API_SECRET",
        "LIVEKIT_API_SECRET",
        required_outside_development=True,
        description="LiveKit API secret: signs the worker's registration and dispatch requests.",
    )

    # --- behaviour --------------------------------------------------------------------------
    orchestrator_provider: LLMProvider = Field(
        default=LLMProvider.openai,
        description="Provider of orchestrator_model (used by the function_tools strategy and small talk).",
    )
    english_realtime_enabled: bool = Field(
        default=True,
        description="Off: English is answered in the pipeline session by english_fallback_model.",
    )
    english_fallback_model: str = Field(
        default="gpt-4.1-mini", description="OpenAI chat model for English when Realtime is unavailable."
    )
    english_greeting_max_wait_s: float = Field(
        default=3.0,
        ge=0,
        le=30,
        description="Longest the English worker waits for the student to subscribe to its audio before "
        "answering the carried-over question (it answers as soon as the subscription arrives).",
    )
    handoff_close_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=300,
        description="A session handing over to another worker closes when its transition line has "
        "played out; this is the upper bound if playout never completes.",
    )
    handoff_join_timeout_s: float = Field(
        default=15.0,
        gt=0,
        le=120,
        description="After a handover's transition line, how long the session waits for the other "
        "worker to join the room; if none does (every worker full or down), the dispatch is withdrawn and "
        "this session keeps the student.",
    )
    min_endpointing_delay_s: float = Field(default=0.4, ge=0, le=5)
    max_endpointing_delay_s: float = Field(default=2.0, ge=0, le=10)

    # --- guardrail (policy and streaming knobs come from GuardrailStreamSettings) ---------------
    guardrail_service_url: str | None = Field(
        default=None,
        description="Base URL of the shared guardrail service; unset: moderation is called in-process.",
    )
    guardrail_service_timeout_s: float = Field(
        default=3.0,
        gt=0,
        le=30,
        description="One call to the guardrail service; a timeout fails closed for audio.",
    )
    english_native_audio: bool = Field(
        default=False,
        description="English speaks with the Realtime model's own voice. Off (default): the Realtime model "
        "answers in text and every sentence is guardrail-checked before our TTS speaks it; on: lower "
        "latency, but the guardrail can only stop speech after it started.",
    )

    # --- capacity and lifecycle ---------------------------------------------------------------
    health_host: str = Field(
        default="0.0.0.0",
        description="Interface of the health/metrics server (probes reach the pod IP).",
    )
    health_port: int = Field(default=8081, ge=0, le=65535, description="/healthz, /readyz and /metrics.")
    max_concurrent_sessions: int = Field(
        default=8,
        ge=1,
        le=1000,
        description="Sessions one worker carries at full load; load = active sessions / this (or CPU, "
        "whichever is higher).",
    )
    load_threshold: float = Field(
        default=0.75,
        gt=0,
        le=1,
        description="Above this load the worker tells LiveKit it is full and takes no new jobs.",
    )
    session_max_duration_s: float = Field(
        default=3600.0,
        gt=0,
        description="Session cap: a session is wrapped up politely after this long.",
    )
    drain_settle_s: float = Field(
        default=0.0,
        ge=0,
        le=900,
        description="On SIGTERM, how long the worker keeps taking new jobs before it drains. During a "
        "pool rollout the old workers are stopped as soon as the new ones are ready, but the gateway and "
        "the other workers learn the new agent names only when the kubelet refreshes the published "
        "ConfigMap (up to about a minute): dispatches made meanwhile still name the old revision. Set "
        "above that delay in a cluster (the operator does); 0 drains at once.",
    )
    drain_grace_s: int = Field(
        default=3660,
        gt=0,
        description="On SIGTERM, how long running sessions may continue before the worker exits. "
        "Must be >= session_max_duration_s so no session is cut; pod terminationGracePeriodSeconds "
        "must be larger still.",
    )
    job_executor: JobExecutor = Field(
        default=JobExecutor.process, description="process isolates sessions; thread is for tests/dev."
    )
    num_idle_processes: int = Field(default=2, ge=0, le=64, description="Warm job processes kept ready.")
    metrics_multiproc_dir: str | None = Field(
        default=None,
        description="Directory for Prometheus multi-process metrics (job processes write, the health "
        "server aggregates). Required with job_executor=process to see per-session metrics.",
    )

    @model_validator(mode="after")
    def _check_agent_settings(self) -> AgentSettings:
        problems: list[str] = []
        if self.drain_grace_s < self.session_max_duration_s:
            problems.append(
                f"TUTOR_DRAIN_GRACE_S ({self.drain_grace_s}) is shorter than TUTOR_SESSION_MAX_DURATION_S "
                f"({self.session_max_duration_s:g}): a SIGTERM would cut live sessions; raise the grace"
            )
        if self.max_endpointing_delay_s < self.min_endpointing_delay_s:
            problems.append("TUTOR_MAX_ENDPOINTING_DELAY_S must be >= TUTOR_MIN_ENDPOINTING_DELAY_S")
        if self.pipeline_agent_name == self.english_agent_name:
            problems.append(
                "TUTOR_PIPELINE_AGENT_NAME and TUTOR_ENGLISH_AGENT_NAME are equal; the two workers need "
                "distinct names or dispatch cannot tell them apart"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def agent_name(self) -> str:
        """The name this worker registers under (explicit dispatch only)."""
        return self.english_agent_name if self.agent_role == AgentRole.english else self.pipeline_agent_name

    @property
    def realtime_base_url(self) -> str | None:
        """Base URL handed to the Realtime model (it maps http(s) to ws(s) itself)."""
        return self.openai_websocket_base_url or self.openai_base_url

    def livekit_configured(self) -> bool:
        return bool(self.livekit_url and self.livekit_api_key and self.livekit_api_secret)
