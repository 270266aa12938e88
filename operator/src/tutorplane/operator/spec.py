"""Pydantic models of ``TutorDeployment.spec``, mirroring the CRD schema in :mod:`.crd`.

Every default here equals the CRD's ``default`` for the same field (a test checks it), so the
builders see the same object whether the API server or the ``render`` CLI applied the defaults.
Field names are the CRD's camelCase names through aliases; Python code uses snake_case.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


VariantName = Literal["A", "B"]
VARIANTS: tuple[VariantName, VariantName] = ("A", "B")


class SecretKeyRef(_Model):
    """One key of a Kubernetes Secret in the TutorDeployment's namespace."""

    name: str = Field(min_length=1, max_length=253)
    key: str = Field(min_length=1, max_length=253)


class LiveKitSecretRef(_Model):
    name: str = Field(min_length=1, max_length=253)
    api_key_key: str = "api-key"
    api_secret_key: str = "api-secret"


class LangfuseSecretRef(_Model):
    name: str = Field(min_length=1, max_length=253)
    public_key_key: str = "public-key"
    secret_key_key: str = "secret-key"


class GatewaySecretRef(_Model):
    """Signing secrets of the gateway (session JWTs and CSRF tokens)."""

    name: str = Field(min_length=1, max_length=253)
    jwt_secret_key: str = "jwt-secret"
    csrf_secret_key: str = "csrf-secret"


class Secrets(_Model):
    openai: SecretKeyRef
    anthropic: SecretKeyRef
    livekit: LiveKitSecretRef | None = None
    database: SecretKeyRef | None = None
    redis: SecretKeyRef | None = None
    langfuse: LangfuseSecretRef | None = None
    gateway: GatewaySecretRef | None = None


class PullPolicy(StrEnum):
    always = "Always"
    if_not_present = "IfNotPresent"
    never = "Never"


class Images(_Model):
    agent: str = Field(min_length=1, max_length=512)
    gateway: str = Field(min_length=1, max_length=512)
    guardrail: str = Field(min_length=1, max_length=512)
    migrations: str | None = Field(default=None, max_length=512)
    pull_policy: PullPolicy = PullPolicy.if_not_present
    pull_secrets: list[str] = Field(default_factory=list, max_length=8)


class Models(_Model):
    classifier: str = "claude-haiku-4-5"
    math: str = "claude-sonnet-4-6"
    history: str = "gpt-4.1-mini"
    orchestrator: str = "gpt-4.1-mini"
    realtime: str = "gpt-realtime"
    tts: str = "gpt-4o-mini-tts"
    stt: str = "gpt-4o-mini-transcribe"
    moderation: str = "omni-moderation-latest"
    rewrite: str = "gpt-4.1-mini"


class Voices(_Model):
    orchestrator: str = "alloy"
    math: str = "echo"
    history: str = "fable"
    english: str = "shimmer"


class ResourceList(_Model):
    cpu: str | None = None
    memory: str | None = None


class Resources(_Model):
    requests: ResourceList = Field(default_factory=ResourceList)
    limits: ResourceList = Field(default_factory=ResourceList)


class Autoscaling(_Model):
    enabled: bool = True
    min_replicas: int = Field(default=1, ge=1, le=1000)
    max_replicas: int = Field(default=10, ge=1, le=1000)
    target_active_sessions_per_pod: int = Field(default=10, ge=1, le=1000)
    scale_up_stabilization_seconds: int = Field(default=30, ge=0, le=3600)
    scale_down_stabilization_seconds: int = Field(default=600, ge=0, le=3600)


class EnvVar(_Model):
    name: str = Field(min_length=1, max_length=128)
    value: str = Field(max_length=4096)


class Variant(_Model):
    enabled: bool
    weight: int = Field(ge=0, le=100)
    replicas: int = Field(default=2, ge=0, le=1000)
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    resources: Resources = Field(default_factory=Resources)
    session_cap_seconds: int = Field(ge=60, le=14400)
    drain_grace_seconds: int = Field(ge=60, le=14400)
    # After SIGTERM a pod keeps taking new work this long before it drains: the time the rest of the
    # cluster needs to stop sending it any (see the CRD description).
    drain_settle_seconds: int = Field(ge=0, le=600)
    sessions_metric: str
    env: list[EnvVar] = Field(default_factory=list, max_length=32)


# Per-variant defaults (camelCase, as in the CRD). Version A is an agent pool (LiveKit's sizing:
# about 4 cores / 8 GiB per 25 sessions); version B is the gateway, whose sessions are capped by
# OpenAI Realtime at 60 minutes. The CRD uses these same dicts for its ``default`` values.
VARIANT_DEFAULTS: dict[str, dict[str, Any]] = {
    "A": {
        "enabled": True,
        "weight": 100,
        "replicas": 2,
        "sessionCapSeconds": 1800,
        "drainGraceSeconds": 1860,
        # The kubelet refreshes the published agent names in mounted ConfigMaps within about a minute.
        "drainSettleSeconds": 90,
        "sessionsMetric": "tutorplane_agent_active_sessions",
        "autoscaling": {"targetActiveSessionsPerPod": 10},
        "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "6Gi"}},
    },
    "B": {
        "enabled": False,
        "weight": 0,
        "replicas": 2,
        "sessionCapSeconds": 3600,
        "drainGraceSeconds": 3660,
        # Endpoint removal reaches kube-proxy and the ingress within seconds.
        "drainSettleSeconds": 5,
        "sessionsMetric": "tutorplane_gateway_active_sessions",
        "autoscaling": {"targetActiveSessionsPerPod": 50},
        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
    },
}


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def default_variant(name: str) -> Variant:
    return Variant.model_validate(VARIANT_DEFAULTS[name])


class Variants(_Model):
    a: Variant = Field(default_factory=lambda: default_variant("A"), alias="A")
    b: Variant = Field(default_factory=lambda: default_variant("B"), alias="B")

    @model_validator(mode="before")
    @classmethod
    def _apply_variant_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        filled = dict(data)
        for name, field in (("A", "a"), ("B", "b")):
            key = name if name in filled else field
            given = filled.get(key)
            if isinstance(given, dict):
                filled[key] = _deep_merge(VARIANT_DEFAULTS[name], given)
        return filled

    def get(self, name: VariantName) -> Variant:
        return self.a if name == "A" else self.b


class FailMode(StrEnum):
    closed = "closed"
    open = "open"


class Guardrail(_Model):
    replicas: int = Field(default=2, ge=1, le=100)
    # After SIGTERM a pod keeps answering checks this long while the Service stops sending it any
    # (a refused check fails closed for the student's audio).
    drain_settle_seconds: int = Field(default=5, ge=0, le=600)
    fail_mode: FailMode = FailMode.closed
    thresholds: dict[str, float] = Field(default_factory=dict, max_length=32)
    resources: Resources = Field(
        default_factory=lambda: Resources(
            requests=ResourceList(cpu="250m", memory="256Mi"), limits=ResourceList(memory="512Mi")
        )
    )


class RoutingStrategy(StrEnum):
    two_stage = "two-stage"
    llm_tools = "llm-tools"


class Routing(_Model):
    strategy: RoutingStrategy = RoutingStrategy.two_stage


class RolloutStep(_Model):
    weight: int = Field(ge=1, le=100, description="Weight of the candidate variant at this step.")
    pause_seconds: int = Field(default=60, ge=0, le=86400)


class Thresholds(_Model):
    turn_latency_p95_seconds: float = Field(default=2.5, gt=0)
    error_rate: float = Field(default=0.05, ge=0, le=1)
    guardrail_block_rate: float = Field(default=0.1, ge=0, le=1)


class AnalysisQueries(_Model):
    """PromQL overrides; ``{deployment}``, ``{namespace}``, ``{variant}``, ``{window}`` are filled in."""

    sessions: str | None = None
    turn_latency_p95: str | None = None
    error_rate: str | None = None
    guardrail_block_rate: str | None = None


class Rollout(_Model):
    candidate: VariantName = "B"
    steps: list[RolloutStep] = Field(default_factory=list, max_length=20)
    analysis_interval_seconds: int = Field(default=60, ge=1, le=3600)
    analysis_window_seconds: int = Field(default=300, ge=10, le=86400)
    min_sessions_per_step: int = Field(default=20, ge=1, le=1_000_000)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    queries: AnalysisQueries = Field(default_factory=AnalysisQueries)


class Prometheus(_Model):
    address: str = Field(min_length=1, max_length=2048)
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)


class Ingress(_Model):
    enabled: bool = False
    host: str | None = None
    class_name: str | None = None
    tls_secret_name: str | None = None
    annotations: dict[str, str] = Field(default_factory=dict)


class DependencyMode(StrEnum):
    managed = "managed"
    external = "external"
    disabled = "disabled"


class LangfuseDependency(_Model):
    mode: DependencyMode = DependencyMode.disabled
    url: str | None = None
    values: dict[str, Any] = Field(default_factory=dict)


class SupabaseDependency(_Model):
    mode: DependencyMode = DependencyMode.external
    values: dict[str, Any] = Field(default_factory=dict)


class Dependencies(_Model):
    langfuse: LangfuseDependency = Field(default_factory=LangfuseDependency)
    supabase: SupabaseDependency = Field(default_factory=SupabaseDependency)


class LiveKit(_Model):
    # The agent workers and the gateway's token issuer use ``url`` (usually in-cluster); the
    # browser joins rooms at ``public_url`` (the LiveKit server's address outside the cluster).
    url: str = Field(min_length=1, max_length=2048)
    public_url: str | None = Field(default=None, max_length=2048)


class Redis(_Model):
    url: str = "redis://redis:6379/0"


class Migrations(_Model):
    enabled: bool = True


class NetworkPolicies(_Model):
    enabled: bool = True
    monitoring_namespace: str = "monitoring"
    ingress_namespace: str | None = None


class TutorDeploymentSpec(_Model):
    images: Images
    secrets: Secrets
    models: Models = Field(default_factory=Models)
    voices: Voices = Field(default_factory=Voices)
    variants: Variants = Field(default_factory=Variants)
    guardrail: Guardrail = Field(default_factory=Guardrail)
    routing: Routing = Field(default_factory=Routing)
    livekit: LiveKit | None = None
    redis: Redis = Field(default_factory=Redis)
    prometheus: Prometheus | None = None
    rollout: Rollout | None = None
    ingress: Ingress = Field(default_factory=Ingress)
    dependencies: Dependencies = Field(default_factory=Dependencies)
    migrations: Migrations = Field(default_factory=Migrations)
    network_policies: NetworkPolicies = Field(default_factory=NetworkPolicies)

    @model_validator(mode="after")
    def _cross_field_rules(self) -> TutorDeploymentSpec:
        # The same rules as the CRD's CEL validations, for objects that never met an API server.
        problems = cross_field_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def enabled_variants(self) -> list[VariantName]:
        return [name for name in VARIANTS if self.variants.get(name).enabled]

    def target_weights(self) -> dict[str, int]:
        return {
            name: (self.variants.get(name).weight if self.variants.get(name).enabled else 0)
            for name in VARIANTS
        }


def cross_field_problems(spec: TutorDeploymentSpec) -> list[str]:
    """Rules that span fields, each phrased as something a platform engineer can act on."""
    problems: list[str] = []
    enabled = [name for name in VARIANTS if spec.variants.get(name).enabled]
    if not enabled:
        problems.append("spec.variants: enable at least one variant (A or B)")
    total = sum(spec.variants.get(name).weight for name in enabled)
    if enabled and total != 100:
        weights = ", ".join(f"{n}={spec.variants.get(n).weight}" for n in enabled)
        problems.append(
            f"spec.variants: weights of enabled variants must sum to 100 (got {weights}, total {total})"
        )
    for name in VARIANTS:
        variant = spec.variants.get(name)
        if not variant.enabled and variant.weight != 0:
            problems.append(
                f"spec.variants.{name}: a disabled variant must have weight 0 (got {variant.weight})"
            )
        if variant.drain_grace_seconds < variant.session_cap_seconds:
            problems.append(
                f"spec.variants.{name}.drainGraceSeconds ({variant.drain_grace_seconds}) must be >= "
                f"sessionCapSeconds ({variant.session_cap_seconds}) so a scale-down never cuts a session"
            )
        if variant.autoscaling.min_replicas > variant.autoscaling.max_replicas:
            problems.append(
                f"spec.variants.{name}.autoscaling: minReplicas ({variant.autoscaling.min_replicas}) "
                f"exceeds maxReplicas ({variant.autoscaling.max_replicas})"
            )
    if spec.variants.a.enabled:
        if spec.livekit is None:
            problems.append("spec.livekit.url: variant A (agent pool) needs the LiveKit server URL")
        if spec.secrets.livekit is None:
            problems.append(
                "spec.secrets.livekit: variant A needs a Secret with the LiveKit API key and secret"
            )
    if spec.dependencies.supabase.mode != DependencyMode.managed and spec.secrets.database is None:
        problems.append(
            "spec.secrets.database: reference the Secret key holding the PostgreSQL URL, "
            "or set spec.dependencies.supabase.mode: managed"
        )
    if spec.dependencies.langfuse.mode == DependencyMode.external:
        if not spec.dependencies.langfuse.url:
            problems.append("spec.dependencies.langfuse.url: external Langfuse needs its URL")
        if spec.secrets.langfuse is None:
            problems.append(
                "spec.secrets.langfuse: external Langfuse needs a Secret with its public and secret key"
            )
    if spec.ingress.enabled and not spec.ingress.host:
        problems.append("spec.ingress.host: an enabled ingress needs a host name")
    if spec.ingress.tls_secret_name and not spec.ingress.host:
        problems.append("spec.ingress.tlsSecretName: TLS needs spec.ingress.host")
    if spec.rollout is not None and spec.rollout.steps:
        step_weights = [step.weight for step in spec.rollout.steps]
        if step_weights != sorted(step_weights):
            problems.append(f"spec.rollout.steps: step weights must not decrease (got {step_weights})")
        if spec.prometheus is None:
            problems.append("spec.prometheus.address: a rollout with steps needs Prometheus for its analysis")
    return problems


def parse_spec(raw: dict[str, Any]) -> TutorDeploymentSpec:
    """Validate a ``spec`` mapping; raises pydantic.ValidationError with field paths."""
    return TutorDeploymentSpec.model_validate(raw)
