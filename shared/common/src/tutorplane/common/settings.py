"""Settings building blocks shared by every Tutorplane service.

Each service defines exactly one settings class by combining the mixins below with
:class:`ServiceSettings`. Every model id, voice, threshold, URL and secret lives in that one
object; the operator sets the environment variables from the TutorDeployment spec.

Environment variables are ``TUTOR_<FIELD>`` unless a field names its own aliases (provider keys
also accept the providers' conventional names, e.g. ``OPENAI_API_KEY``).

Secrets are :class:`pydantic.SecretStr`. Outside ``development`` a secret that is missing (when the
field is marked ``required_outside_development``) or that still holds a placeholder value makes the
service refuse to start, and the error names the environment variable to set.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values people paste from docs and samples. A secret containing one of these is a placeholder.
PLACEHOLDER_MARKERS: tuple[str, ...] = (
    "changeme",
    "change-me",
    "change_me",
    "placeholder",
    "your-",
    "your_",
    "replace-me",
    "xxxxx",
    "dev-only",
    "insecure",
    "example",
)


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class SettingsError(ValueError):
    """Start-up configuration is wrong; the message names the variable and what to do."""


def env_names(field_name: str, field: Any) -> list[str]:
    """The environment variable names a field is read from, most specific first."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    if isinstance(alias, str):
        return [alias]
    return [f"TUTOR_{field_name.upper()}"]


def is_placeholder(value: str) -> bool:
    lowered = value.strip().lower()
    return lowered == "" or any(marker in lowered for marker in PLACEHOLDER_MARKERS)


def secret_field(*env: str, required_outside_development: bool = False, description: str = "") -> Any:
    """A secret read from the given environment variables (first one named in errors)."""
    return Field(
        default=None,
        validation_alias=AliasChoices(*env),
        description=description,
        json_schema_extra={"secret": True, "required_outside_development": required_outside_development},
    )


# Every mixin carries the same config: pydantic merges model_config along the MRO, so a mixin with the
# default config would silently drop the TUTOR_ prefix for the whole combined class.
SETTINGS_CONFIG = SettingsConfigDict(env_prefix="TUTOR_", extra="ignore", populate_by_name=True)


class ServiceSettings(BaseSettings):
    """Fields every service has. Subclasses set ``service_name``."""

    model_config = SETTINGS_CONFIG

    service_name: ClassVar[str] = "tutorplane"

    environment: Environment = Field(
        default=Environment.development,
        description="development relaxes secret checks; the operator always sets production.",
    )
    log_level: str = Field(default="INFO", description="Root log level (DEBUG, INFO, WARNING, ...).")
    log_json: bool = Field(default=True, description="JSON log lines (one object per line) for collectors.")
    deployment: str = Field(default="local", description="TutorDeployment name, stamped on traces and rows.")
    revision: str = Field(
        default="dev", description="Revision of the running pool/gateway (from the operator)."
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if self.environment == Environment.development:
            return self
        problems: list[str] = []
        for name, field in type(self).model_fields.items():
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            if not extra.get("secret"):
                continue
            value = getattr(self, name)
            var = env_names(name, field)[0]
            if value is None:
                if extra.get("required_outside_development"):
                    problems.append(f"{var} is not set; provide it from a Kubernetes Secret reference")
                continue
            raw = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
            if is_placeholder(raw):
                problems.append(f"{var} holds a placeholder value; set a real secret")
        if problems:
            raise SettingsError(
                f"{type(self).__name__} refuses to start in {self.environment.value}: " + "; ".join(problems)
            )
        return self


class ProviderSettings(BaseSettings):
    """Where model APIs live. Unset base URLs mean the providers' public endpoints."""

    model_config = SETTINGS_CONFIG

    openai_api_key: SecretStr | None = secret_field(
        "TUTOR_OPENAI_API_KEY", "OPENAI_API_KEY", description="OpenAI API key (any value for the emulators)."
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TUTOR_OPENAI_BASE_URL", "OPENAI_BASE_URL"),
        description="OpenAI-compatible base URL ending in /v1 (the emulator in offline mode).",
    )
    openai_websocket_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TUTOR_OPENAI_WEBSOCKET_BASE_URL"),
        description="Realtime websocket base URL; derived from openai_base_url when unset.",
    )
    anthropic_api_key: SecretStr | None = secret_field(
        "TUTOR_ANTHROPIC_API_KEY",
        "ANTHROPIC_API_KEY",
        description="Anthropic API key (any value for the emulators).",
    )
    anthropic_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TUTOR_ANTHROPIC_BASE_URL", "ANTHROPIC_BASE_URL"),
        description="Anthropic-compatible base URL (without /v1).",
    )
    model_timeout_s: float = Field(default=20.0, gt=0, description="Timeout for one model API call.")
    model_max_retries: int = Field(default=1, ge=0, le=5, description="SDK retries on 429/5xx.")

    @property
    def offline(self) -> bool:
        """True when talking to the project's emulators rather than the real providers."""
        return any(
            url is not None and ("127.0.0.1" in url or "localhost" in url)
            for url in (self.openai_base_url, self.anthropic_base_url)
        )


class ModelSettings(BaseSettings):
    """Every model id, temperature and voice the product uses."""

    model_config = SETTINGS_CONFIG

    classifier_model: str = Field(default="claude-haiku-4-5", description="Stage-2 subject classifier.")
    math_model: str = Field(default="claude-sonnet-4-6", description="Math specialist (Anthropic).")
    history_model: str = Field(default="gpt-4.1-mini", description="History specialist (OpenAI chat).")
    orchestrator_model: str = Field(default="gpt-4.1-mini", description="Version-A orchestrator LLM.")
    realtime_model: str = Field(default="gpt-realtime", description="English / version-B Realtime model.")
    tts_model: str = Field(default="gpt-4o-mini-tts", description="Text-to-speech model.")
    stt_model: str = Field(default="gpt-4o-mini-transcribe", description="Speech-to-text model.")
    moderation_model: str = Field(default="omni-moderation-latest", description="Moderation model.")
    rewrite_model: str = Field(default="gpt-4.1-mini", description="Age-appropriate rewrite model.")
    math_temperature: float = Field(
        default=0.3, ge=0, le=2, description="Sampling temperature of the math specialist."
    )
    history_temperature: float = Field(
        default=0.5, ge=0, le=2, description="Sampling temperature of the history specialist."
    )
    classifier_temperature: float = Field(
        default=0.0, ge=0, le=2, description="Sampling temperature of the stage-2 classifier."
    )
    max_answer_tokens: int = Field(
        default=400, gt=0, le=4096, description="Upper bound on one specialist answer."
    )
    orchestrator_voice: str = Field(
        default="alloy", description="TTS voice of the orchestrator (version A) and gateway answers."
    )
    math_voice: str = Field(default="echo", description="TTS voice of the math specialist.")
    history_voice: str = Field(default="fable", description="TTS voice of the history specialist.")
    english_voice: str = Field(default="shimmer", description="Realtime voice of the English tutor.")
    tts_sample_rate_hz: int = Field(default=24000, description="PCM sample rate of synthesized speech.")


class DatabaseSettings(BaseSettings):
    model_config = SETTINGS_CONFIG

    database_url: SecretStr | None = secret_field(
        "TUTOR_DATABASE_URL",
        "DATABASE_URL",
        required_outside_development=True,
        description="PostgreSQL DSN (asyncpg).",
    )
    db_pool_min_size: int = Field(
        default=1, ge=0, le=100, description="Minimum asyncpg pool connections per process."
    )
    db_pool_max_size: int = Field(
        default=10,
        ge=1,
        le=200,
        description="Maximum asyncpg pool connections per process (size per replica).",
    )
    audit_max_retries: int = Field(default=5, ge=0, le=100, description="Retries per failed audit write.")
    audit_queue_size: int = Field(
        default=10000, ge=10, description="Audit rows buffered while the DB is down."
    )


class RedisSettings(BaseSettings):
    model_config = SETTINGS_CONFIG

    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0", description="Redis for state shared across replicas."
    )


class TelemetrySettings(BaseSettings):
    model_config = SETTINGS_CONFIG

    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP base (e.g. Langfuse .../api/public/otel); tracing is a no-op when unset.",
    )
    langfuse_public_key: str | None = Field(default=None, description="Langfuse public key (Basic auth).")
    langfuse_secret_key: SecretStr | None = secret_field(
        "TUTOR_LANGFUSE_SECRET_KEY", "LANGFUSE_SECRET_KEY", description="Langfuse secret key (Basic auth)."
    )
    metrics_port: int = Field(default=9100, ge=0, le=65535, description="Prometheus port (0 = none).")
