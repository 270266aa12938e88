"""Guardrail settings mixins for the services' single settings objects.

``GuardrailPolicySettings`` carries per-category overrides of the default policy (JSON objects in
the environment, e.g. ``TUTOR_GUARDRAIL_THRESHOLDS='{"violence": 0.7}'``) and the backend timeouts;
``GuardrailStreamSettings`` adds the streaming knobs for services that speak (gateway, agent).
An invalid policy stops the service at start-up with a message naming the variable.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from tutorplane.common.settings import SettingsError
from tutorplane.guardrail.pipeline import PipelineConfig
from tutorplane.guardrail.policy import Action, GuardrailPolicy


class GuardrailPolicySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUTOR_", extra="ignore")

    guardrail_thresholds: dict[str, float] = Field(
        default_factory=dict, description='Per-category thresholds, e.g. {"violence": 0.7} (severe: <= 0.5).'
    )
    guardrail_actions: dict[str, Action] = Field(
        default_factory=dict, description='Per-category output actions, e.g. {"hate": "block"}.'
    )
    guardrail_input_actions: dict[str, Action] = Field(
        default_factory=dict, description='Per-category student-input actions, e.g. {"violence": "block"}.'
    )
    guardrail_fail_closed: dict[str, bool] = Field(
        default_factory=dict, description="Per-category fail mode for output (severe ones default to closed)."
    )
    guardrail_input_fail_closed: bool = Field(
        default=False, description="Block student input when moderation is unavailable."
    )
    moderation_timeout_s: float = Field(default=1.0, gt=0, le=30, description="One moderation round trip.")
    rewrite_timeout_s: float = Field(default=3.0, gt=0, le=60, description="One rewrite model call.")

    @model_validator(mode="after")
    def _policy_is_valid(self) -> GuardrailPolicySettings:
        self.guardrail_policy()
        return self

    def guardrail_policy(self) -> GuardrailPolicy:
        try:
            return GuardrailPolicy().with_overrides(
                thresholds=self.guardrail_thresholds,
                actions=self.guardrail_actions,
                input_actions=self.guardrail_input_actions,
                fail_closed=self.guardrail_fail_closed,
                input_fail_closed=self.guardrail_input_fail_closed,
            )
        except ValidationError as exc:
            reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            raise SettingsError(
                f"TUTOR_GUARDRAIL_THRESHOLDS / _ACTIONS / _INPUT_ACTIONS / _FAIL_CLOSED: {reasons}"
            ) from None
        except ValueError as exc:
            raise SettingsError(
                f"TUTOR_GUARDRAIL_THRESHOLDS / _ACTIONS / _INPUT_ACTIONS / _FAIL_CLOSED: {exc}"
            ) from None


class GuardrailStreamSettings(GuardrailPolicySettings):
    guardrail_min_chars: int = Field(default=12, ge=0, le=200, description="Shorter sentences are merged.")
    guardrail_max_chars: int = Field(default=240, ge=20, le=2000, description="Longer run-ons are cut.")
    guardrail_lookahead: int = Field(default=16, ge=1, le=256, description="Sentences checked ahead.")
    guardrail_max_batch: int = Field(default=8, ge=1, le=64, description="Sentences per check request.")
    guardrail_stall_timeout_s: float = Field(
        default=2.0, gt=0, le=60, description="Flush after this silence."
    )
    guardrail_check_timeout_s: float = Field(default=5.0, gt=0, le=60, description="Backstop per check.")
    guardrail_halt_on_escalate: bool = Field(default=True, description="Stop an answer after an escalation.")
    guardrail_hash_key: SecretStr | None = Field(
        default=None, description="HMAC key for audit sentence hashes (unset: plain SHA-256)."
    )

    def pipeline_config(self) -> PipelineConfig:
        try:
            return PipelineConfig(
                min_chars=self.guardrail_min_chars,
                max_chars=self.guardrail_max_chars,
                lookahead=self.guardrail_lookahead,
                max_batch=self.guardrail_max_batch,
                stall_timeout_s=self.guardrail_stall_timeout_s,
                check_timeout_s=self.guardrail_check_timeout_s,
                halt_on_escalate=self.guardrail_halt_on_escalate,
            )
        except ValueError as exc:
            raise SettingsError(f"TUTOR_GUARDRAIL_MIN_CHARS / _MAX_CHARS: {exc}") from None

    def hash_key(self) -> bytes | None:
        return self.guardrail_hash_key.get_secret_value().encode() if self.guardrail_hash_key else None
