"""Operator settings: one pydantic-settings object, environment prefix ``TUTOR_OPERATOR_``.

Every field states its default and why. The Helm chart sets these from its values.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _bundled_charts() -> Path:
    return Path(__file__).resolve().parent / "charts"


class OperatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUTOR_OPERATOR_", extra="ignore")

    namespaces: list[str] = Field(
        default_factory=list,
        description=(
            "Namespaces to watch (namespaced mode, the default of the chart: RBAC is a Role per namespace). "
            "Empty together with clusterwide=false means the operator's own namespace only."
        ),
    )
    clusterwide: bool = Field(
        default=False,
        description="Watch every namespace (needs a ClusterRole). Off by default: least privilege.",
    )
    own_namespace: str = Field(
        default="tutorplane-system", description="Where the operator runs; watched when namespaces is empty."
    )
    resync_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Timer that re-asserts desired state; 30 s keeps drift correction well under 60 s.",
    )
    rollout_tick_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often rollouts check whether an analysis is due (writes only when one is).",
    )
    child_debounce_seconds: float = Field(
        default=0.05,
        ge=0,
        description="Child events within this window collapse into one status refresh of the owner.",
    )
    max_parallel_writes: int = Field(
        default=16, ge=1, le=64, description="Child writes in flight per reconcile."
    )
    request_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="One Kubernetes API request; short timeouts turn a slow API server into a retry storm.",
    )
    peering_name: str = Field(default="tutorplane", description="kopf peering object shared by the replicas.")
    peering_priority: int | None = Field(
        default=None,
        description=(
            "kopf peering priority (the highest works, the others stand by). Unset: each process draws "
            "its own at random, since replicas sharing one priority pause each other, all of them."
        ),
    )
    standalone: bool = Field(default=False, description="Disable peering (single replica, tests).")
    liveness_port: int = Field(default=8080, ge=0, le=65535, description="kopf liveness endpoint (/healthz).")
    metrics_port: int = Field(
        default=9090, ge=0, le=65535, description="Prometheus /metrics of the operator."
    )
    webhook_port: int = Field(default=9443, ge=0, le=65535, description="Admission webhook HTTPS port.")
    webhook_host: str | None = Field(
        default=None, description="Service DNS name the API server uses for the webhooks (chart sets it)."
    )
    webhook_cert_dir: Path | None = Field(
        default=None, description="Directory with tls.crt/tls.key (cert-manager); self-signed when unset."
    )
    webhooks_managed: bool = Field(
        default=False,
        description="Let kopf create the webhook configurations itself (needs RBAC on them); the chart ships them.",
    )
    charts_dir: Path = Field(
        default_factory=_bundled_charts,
        description="Bundled Langfuse/Supabase charts for managed dependencies.",
    )
    post_events: bool = Field(default=True, description="Post Kubernetes Events on condition transitions.")
    log_level: str = Field(default="INFO")
