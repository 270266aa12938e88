"""The gateway's one settings object.

Every field reads ``TUTOR_<FIELD>`` from the environment (the operator sets them from the
TutorDeployment spec). Secrets are refused outside ``development`` when missing or placeholders.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict
from tutorplane.common.settings import (
    DatabaseSettings,
    Environment,
    ModelSettings,
    ProviderSettings,
    RedisSettings,
    ServiceSettings,
    SettingsError,
    TelemetrySettings,
    secret_field,
)
from tutorplane.guardrail.settings import GuardrailStreamSettings
from tutorplane.routing.settings import RoutingSettings

#: Route groups with their own rate-limit budget (requests per window, per identity or client IP).
DEFAULT_RATE_LIMITS: dict[str, int] = {
    "login": 10,
    "session_create": 20,
    "session_close": 30,
    "turn": 30,
    "cancel": 120,
    "realtime_transcript": 600,
    "realtime_key": 20,
    "escalate": 10,
    "hint": 30,
    "ack": 60,
    "events": 240,
    "read": 600,
}


class ModelPrice(BaseModel):
    """USD prices for one model id; cost per session in the A/B report comes from these."""

    input_per_mtok: float = Field(default=0.0, ge=0, description="USD per million input tokens.")
    output_per_mtok: float = Field(default=0.0, ge=0, description="USD per million output tokens.")
    per_audio_second: float = Field(default=0.0, ge=0, description="USD per second of audio.")


DEFAULT_PRICES: dict[str, ModelPrice] = {
    "claude-haiku-4-5": ModelPrice(input_per_mtok=1.0, output_per_mtok=5.0),
    "claude-sonnet-4-5": ModelPrice(input_per_mtok=3.0, output_per_mtok=15.0),
    "claude-sonnet-4-6": ModelPrice(input_per_mtok=3.0, output_per_mtok=15.0),
    "gpt-4.1-mini": ModelPrice(input_per_mtok=0.4, output_per_mtok=1.6),
    "gpt-4o-mini-tts": ModelPrice(input_per_mtok=0.6, per_audio_second=0.00025),
    "gpt-4o-mini-transcribe": ModelPrice(per_audio_second=0.0001),
    "gpt-realtime": ModelPrice(input_per_mtok=4.0, output_per_mtok=16.0, per_audio_second=0.0012),
    "omni-moderation-latest": ModelPrice(),
}


class GatewaySettings(
    ServiceSettings,
    ProviderSettings,
    ModelSettings,
    DatabaseSettings,
    RedisSettings,
    TelemetrySettings,
    RoutingSettings,
    GuardrailStreamSettings,
):
    """Settings of the version-B gateway / front-door API."""

    # Mixins without their own config would otherwise reset the prefix and extra handling.
    model_config = SettingsConfigDict(env_prefix="TUTOR_", extra="ignore", populate_by_name=True)

    service_name: ClassVar[str] = "tutorplane-gateway"

    host: str = Field(default="127.0.0.1", description="Bind address; the pod sets 0.0.0.0.")
    port: int = Field(default=8080, ge=0, le=65535, description="HTTP port.")

    # Identity ---------------------------------------------------------------------------------
    jwt_secret: SecretStr | None = secret_field(
        "TUTOR_JWT_SECRET",
        "SUPABASE_JWT_SECRET",
        required_outside_development=True,
        description="HS256 secret of Supabase-compatible access tokens (the Supabase JWT secret).",
    )
    jwt_audience: str = Field(default="authenticated", description="Required `aud` claim.")
    jwt_issuer: str | None = Field(default=None, description="Required `iss` claim when set.")
    jwks_url: str | None = Field(
        default=None, description="Optional JWKS URL for asymmetric tokens (RS256/ES256) besides HS256."
    )
    local_login_enabled: bool | None = Field(
        default=None,
        description="POST /api/auth/login for seeded demo users; defaults to on only in development.",
    )
    local_login_ttl_s: int = Field(default=8 * 3600, ge=60, le=7 * 86400, description="Local token life.")
    session_cookie_name: str = Field(default="tutor_session", description="HttpOnly auth cookie.")
    cookie_secure: bool | None = Field(
        default=None, description="Secure flag on cookies; defaults to on outside development."
    )

    # CSRF --------------------------------------------------------------------------------------
    csrf_secret: SecretStr | None = secret_field(
        "TUTOR_CSRF_SECRET",
        required_outside_development=True,
        description="HMAC key of CSRF tokens; one value shared by every replica.",
    )
    csrf_ttl_s: int = Field(
        default=2 * 3600, ge=60, le=86400, description="CSRF token life (capped by auth)."
    )
    csrf_cookie_name: str = Field(default="tutor_csrf", description="Readable double-submit cookie.")

    # LiveKit (version A) ----------------------------------------------------------------------
    livekit_url: str | None = Field(default=None, description="wss URL the browser joins for version A.")
    livekit_public_url: str | None = Field(
        default=None,
        description="URL the *browser* joins version-A rooms at (livekit_url is often in-cluster); "
        "defaults to livekit_url.",
    )
    livekit_api_key: str | None = Field(default=None, description="LiveKit API key (token issuer).")
    livekit_api_secret: SecretStr | None = secret_field(
        "TUTOR_LIVEKIT_API_SECRET", "LIVEKIT_API_SECRET", description="LiveKit API secret."
    )
    livekit_token_ttl_s: int = Field(default=2 * 3600, ge=60, le=86400, description="Room token life.")
    default_agent_name: str = Field(
        default="tutor-agent", description="Agent dispatched into version-A rooms when the config names none."
    )

    # Variant assignment -----------------------------------------------------------------------
    variant_config_path: Path | None = Field(
        default=None,
        description=(
            "Operator-published JSON {weights, revisions, agentNames, enabled, unavailableReason}; "
            "re-read on change."
        ),
    )
    default_weights: dict[str, int] = Field(
        default_factory=lambda: {"A": 50, "B": 50},
        description="Weights used while no variant config file exists.",
    )
    assignment_salt: str = Field(
        default="tutorplane-ab-1", description="Changing it re-shuffles every student's sticky bucket."
    )
    qa_override_open: bool = Field(
        default=False, description="Let students pin a variant with X-Tutor-Variant / ?variant=."
    )
    platform_status_path: Path | None = Field(
        default=None, description="Operator-published deployment status JSON for /api/platform/deployments."
    )

    # Realtime (version B) ---------------------------------------------------------------------
    realtime_secret_ttl_s: int = Field(default=600, ge=10, le=7200, description="Ephemeral key life.")
    realtime_transcription_model: str | None = Field(
        default=None, description="Input transcription model of Realtime sessions (stt_model when unset)."
    )

    # Turns ------------------------------------------------------------------------------------
    turn_max_chars: int = Field(default=1000, ge=10, le=10000, description="Longest student utterance.")
    tts_chunk_bytes: int = Field(
        default=9600, ge=960, description="PCM bytes of the first audio event of a speech request (200 ms)."
    )
    tts_max_chunk_bytes: int = Field(
        default=48000,
        ge=960,
        description="Largest audio event (1 s); each event after the first doubles up to this.",
    )
    turn_timeout_s: float = Field(default=60.0, gt=0, description="A turn stream is cut after this long.")
    history_turns: int = Field(default=6, ge=0, le=50, description="Recent turns passed to the router.")

    # Security ---------------------------------------------------------------------------------
    rate_limits: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS),
        description="Requests per window per route group and identity (0 disables a group).",
    )
    rate_limit_window_s: int = Field(default=60, ge=1, le=3600, description="Rate-limit window.")
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        description="CIDRs whose X-Forwarded-For is believed (the ingress controller's pod network).",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call with credentials (same origin needs none)."
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Largest request body accepted.")
    events_max_bytes: int = Field(default=8 * 1024, ge=256, description="Largest browser event body.")

    # Operations -------------------------------------------------------------------------------
    drain_grace_s: float = Field(
        default=30.0,
        ge=0,
        validation_alias=AliasChoices("TUTOR_DRAIN_GRACE_S", "TUTOR_DRAIN_TIMEOUT_SECONDS"),
        description="After SIGTERM, open streams get this long to finish (the operator sets it).",
    )
    drain_settle_s: float = Field(
        default=0.0,
        ge=0,
        le=600,
        description="After SIGTERM, keep serving new requests this long before draining: the Service "
        "and the ingress stop sending to a terminating pod only some seconds later (the operator sets "
        "it). The drain grace follows.",
    )
    sse_heartbeat_s: float = Field(default=15.0, gt=0, description="Comment line interval on SSE streams.")
    session_idle_close_s: int = Field(
        default=1800,
        ge=0,
        description="End sessions with no page open and no turn this long (0: never end them).",
    )
    session_idle_check_s: float = Field(default=60.0, gt=0, description="Interval of the idle-session sweep.")
    guardrail_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TUTOR_GUARDRAIL_URL"),
        description="Guardrail service base URL; unset runs the guardrail engine in-process.",
    )
    frontend_dist_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("TUTOR_FRONTEND_DIST_DIR", "TUTOR_FRONTEND_DIST"),
        description="Built web app served at / (SPA fallback to index.html).",
    )
    offline_mode: bool | None = Field(
        default=None,
        description="Tell the UI it talks to the local emulators (derived from the base URLs when unset).",
    )
    readiness_cache_s: float = Field(default=2.0, ge=0, description="Readiness probe results are cached.")
    readiness_requires: list[Literal["database", "redis", "guardrail"]] = Field(
        default_factory=list,
        description=(
            "Dependencies whose failure makes a replica unready at any time (JSON list). By default "
            "each is needed once, at start-up; later outages are served degraded (all replicas share them)."
        ),
    )
    access_log: bool = Field(default=False, description="uvicorn access log (JSON logs carry requests).")

    # Reporting --------------------------------------------------------------------------------
    prices: dict[str, ModelPrice] = Field(
        default_factory=lambda: dict(DEFAULT_PRICES), description="Price table per model id."
    )
    ab_min_sessions: int = Field(
        default=30, ge=2, description="Fewer sessions per variant than this: 'not enough sessions yet'."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"TUTOR_TRUSTED_PROXIES: {cidr!r} is not a CIDR ({exc})") from exc
        return value

    @field_validator("default_weights")
    @classmethod
    def _valid_weights(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = set(value) - {"A", "B"}
        if unknown or any(w < 0 for w in value.values()) or sum(value.values()) <= 0:
            raise ValueError(
                'TUTOR_DEFAULT_WEIGHTS must look like {"A": 50, "B": 50}: keys A/B, non-negative, sum > 0'
            )
        return value

    @model_validator(mode="after")
    def _production_rules(self) -> GatewaySettings:
        if self.environment == Environment.production and self.local_login_enabled:
            raise SettingsError(
                "TUTOR_LOCAL_LOGIN_ENABLED=true is refused in production: users sign in through "
                "Supabase Auth there; unset it"
            )
        if self.livekit_public_url is None:
            self.livekit_public_url = self.livekit_url
        if self.livekit_api_key and self.livekit_api_secret is None:
            raise SettingsError("TUTOR_LIVEKIT_API_KEY is set but TUTOR_LIVEKIT_API_SECRET is not; set both")
        return self

    @property
    def local_login(self) -> bool:
        if self.local_login_enabled is None:
            return self.environment == Environment.development
        return self.local_login_enabled

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is None:
            return self.environment != Environment.development
        return self.cookie_secure

    @property
    def is_offline(self) -> bool:
        return self.offline if self.offline_mode is None else self.offline_mode

    @property
    def livekit_configured(self) -> bool:
        return bool(self.livekit_url and self.livekit_api_key and self.livekit_api_secret)

    def rate_limit(self, group: str) -> int:
        """Budget of a route group; groups missing from the setting use the built-in default."""
        return self.rate_limits.get(group, DEFAULT_RATE_LIMITS.get(group, 0))
