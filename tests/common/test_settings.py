"""The shared settings base: secrets refuse placeholders outside development and name the variable."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import ValidationError
from tutorplane.common.settings import (
    DatabaseSettings,
    Environment,
    ModelSettings,
    ProviderSettings,
    ServiceSettings,
    TelemetrySettings,
    is_placeholder,
)

pytestmark = pytest.mark.unit


class DemoSettings(ServiceSettings, ProviderSettings, ModelSettings, DatabaseSettings, TelemetrySettings):
    service_name: ClassVar[str] = "demo"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "DATABASE_URL",
        "TUTOR_DATABASE_URL",
        "TUTOR_ENVIRONMENT",
    ):
        monkeypatch.delenv(var, raising=False)


def test_development_starts_without_secrets() -> None:
    settings = DemoSettings()
    assert settings.environment is Environment.development
    assert settings.database_url is None


def test_production_requires_database_url_and_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTOR_ENVIRONMENT", "production")
    with pytest.raises(ValidationError) as excinfo:
        DemoSettings()
    message = str(excinfo.value)
    assert "TUTOR_DATABASE_URL is not set" in message
    assert "Secret" in message


@pytest.mark.parametrize("value", ["changeme", "sk-your-key-here", "PLACEHOLDER", "  "])
def test_production_refuses_placeholder_secret(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TUTOR_ENVIRONMENT", "production")
    monkeypatch.setenv("TUTOR_DATABASE_URL", "postgresql://app@db/tutor")
    monkeypatch.setenv("OPENAI_API_KEY", value)
    with pytest.raises(ValidationError, match="TUTOR_OPENAI_API_KEY holds a placeholder value"):
        DemoSettings()


def test_production_accepts_real_looking_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTOR_ENVIRONMENT", "production")
    monkeypatch.setenv("TUTOR_DATABASE_URL", "postgresql://app:Zr9q2VwPz@db/tutor")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-8f3kq9x")
    settings = DemoSettings()
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == "sk-proj-8f3kq9x"
    assert "sk-proj" not in repr(settings)


def test_every_model_id_is_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTOR_MATH_MODEL", "claude-test-math")
    monkeypatch.setenv("TUTOR_MODERATION_MODEL", "omni-moderation-test")
    settings = DemoSettings()
    assert settings.math_model == "claude-test-math"
    assert settings.moderation_model == "omni-moderation-test"
    for field in (
        "classifier_model",
        "math_model",
        "history_model",
        "realtime_model",
        "tts_model",
        "stt_model",
        "moderation_model",
        "rewrite_model",
    ):
        assert field in DemoSettings.model_fields


def test_offline_detects_emulator_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8787/v1")
    assert DemoSettings().offline
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert not DemoSettings().offline


def test_placeholder_detection() -> None:
    assert is_placeholder("changeme")
    assert is_placeholder("")
    assert not is_placeholder("b3f0c2e4a9")
