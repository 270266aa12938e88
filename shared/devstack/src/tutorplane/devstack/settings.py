"""Settings of the embedded stack launcher (`make demo`)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import AliasChoices, Field
from tutorplane.common.settings import ProviderSettings, ServiceSettings


class DevstackSettings(ServiceSettings, ProviderSettings):
    service_name: ClassVar[str] = "tutorplane-devstack"

    state_dir: Path = Field(
        default=Path(".local"), description="Project-local folder for data, logs, secrets."
    )
    gateway_port: int = Field(default=8080, ge=1, le=65535, description="Gateway + web app port of the demo.")
    guardrail_port: int = Field(
        default=8090, ge=1, le=65535, description="Guardrail service port of the demo."
    )
    agent_health_port: int = Field(default=8081, ge=1, le=65535, description="Agent health port of the demo.")
    emulator_port: int = Field(
        default=8787, ge=1, le=65535, description="Model-API emulator port (offline mode)."
    )
    redis_port: int = Field(
        default=6390, ge=1, le=65535, description="Not 6379, so a system Redis is left alone."
    )
    livekit_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TUTOR_LIVEKIT_URL", "LIVEKIT_URL"),
        description="LiveKit server for version A; without it only version B runs.",
    )

    @property
    def offline(self) -> bool:
        """Offline mode (emulators) unless both provider keys are present."""
        return self.openai_api_key is None or self.anthropic_api_key is None
