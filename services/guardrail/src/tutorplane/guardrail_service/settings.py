"""The guardrail service's one settings object (environment variables ``TUTOR_*``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator
from tutorplane.common.settings import (
    ModelSettings,
    ProviderSettings,
    ServiceSettings,
    SettingsError,
    TelemetrySettings,
)
from tutorplane.guardrail.settings import GuardrailPolicySettings

# The emulator accepts any non-empty key; this one is only ever sent to a loopback base URL.
OFFLINE_API_KEY = "offline-emulator"


class GuardrailServiceSettings(
    ServiceSettings, ProviderSettings, ModelSettings, TelemetrySettings, GuardrailPolicySettings
):
    """Moderation backend, policy overrides, HTTP limits. Model ids come from ``ModelSettings``."""

    service_name: ClassVar[str] = "tutorplane-guardrail"

    host: str = Field(default="127.0.0.1", description="Bind address; the pod sets 0.0.0.0.")
    port: int = Field(default=8090, ge=0, le=65535, description="HTTP port.")
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, description="Largest request body accepted.")
    drain_settle_s: float = Field(
        default=0.0,
        ge=0,
        le=600,
        description="After SIGTERM, keep answering checks this long before shutting down: the Service "
        "stops sending to a terminating pod only some seconds later, and a refused check fails closed "
        "(the operator sets it).",
    )
    rewrite_enabled: bool = Field(
        default=True, description="Rewrite flagged output with rewrite_model; off: the safe line is used."
    )
    moderation_max_inflight: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Moderation API calls open at once; checks arriving meanwhile share the next call.",
    )
    moderation_max_batch: int = Field(
        default=32, ge=1, le=256, description="Most texts merged into one moderation API call."
    )

    @model_validator(mode="after")
    def _needs_a_moderation_backend(self) -> GuardrailServiceSettings:
        if self.openai_api_key is None and not self.offline and self.environment.value != "development":
            raise SettingsError(
                "GuardrailServiceSettings: TUTOR_OPENAI_API_KEY is not set; provide it from a Kubernetes "
                "Secret, or set TUTOR_OPENAI_BASE_URL to the local emulator for offline runs"
            )
        return self

    def moderation_api_key(self) -> str:
        """The key for the moderation/rewrite client; the emulator gets a fixed offline key."""
        if self.openai_api_key is not None:
            return self.openai_api_key.get_secret_value()
        if self.offline:
            return OFFLINE_API_KEY
        raise SettingsError(
            "TUTOR_OPENAI_API_KEY is not set and TUTOR_OPENAI_BASE_URL is not a local emulator: the guardrail "
            "service has no moderation backend; set one of them"
        )
