"""Service settings (one object, refuses to start without a moderation backend) and ``python -m``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from pydantic import SecretStr
from tutorplane.common.settings import Environment
from tutorplane.guardrail.policy import Action
from tutorplane.guardrail_service.settings import OFFLINE_API_KEY, GuardrailServiceSettings

pytestmark = pytest.mark.integration


def test_defaults_and_policy_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTOR_GUARDRAIL_THRESHOLDS", '{"violence": 0.75}')
    monkeypatch.setenv("TUTOR_MODERATION_MODEL", "omni-moderation-2024-09-26")
    settings = GuardrailServiceSettings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8090)
    assert settings.moderation_model == "omni-moderation-2024-09-26"
    assert settings.guardrail_policy().rule_for("violence").threshold == 0.75
    assert settings.guardrail_policy().rule_for("sexual/minors").action == Action.escalate


def test_offline_key_only_for_a_loopback_emulator() -> None:
    offline = GuardrailServiceSettings(
        environment=Environment.production, openai_base_url="http://127.0.0.1:9/v1"
    )
    assert offline.moderation_api_key() == OFFLINE_API_KEY
    with pytest.raises(ValueError, match="TUTOR_OPENAI_API_KEY is not set"):
        GuardrailServiceSettings(environment=Environment.production)


def test_placeholder_keys_are_refused_outside_development() -> None:
    with pytest.raises(ValueError, match="TUTOR_OPENAI_API_KEY holds a placeholder"):
        GuardrailServiceSettings(
            environment=Environment.production, openai_api_key=SecretStr("sk-your-key-here")
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_python_dash_m_serves_on_the_configured_port(emulator: Any) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "TUTOR_PORT": str(port),
        "TUTOR_OPENAI_BASE_URL": emulator.openai_base_url,
        "TUTOR_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tutorplane.guardrail_service"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "service did not become ready"
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(10)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal for the exit status.
    assert proc.returncode in (0, -15)


def test_after_sigterm_checks_are_answered_until_the_settle_ends(emulator: Any) -> None:
    """The Service keeps sending to a terminating pod for some seconds, and a refused check fails
    closed for the student's audio: the port stays open for ``drain_settle_s``, readiness says 503."""
    port = _free_port()
    env = {
        **os.environ,
        "TUTOR_PORT": str(port),
        "TUTOR_OPENAI_BASE_URL": emulator.openai_base_url,
        "TUTOR_LOG_LEVEL": "WARNING",
        "TUTOR_DRAIN_SETTLE_S": "2",
    }
    proc = subprocess.Popen([sys.executable, "-m", "tutorplane.guardrail_service"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=1):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "service did not become ready"
                time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        with pytest.raises(urllib.error.HTTPError) as not_ready:
            urllib.request.urlopen(f"{url}/readyz", timeout=5)
        assert not_ready.value.code == 503
        check = urllib.request.Request(
            f"{url}/v1/check",
            data=json.dumps({"texts": ["The capital of France is Paris."], "direction": "output"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(check, timeout=5) as response:
            assert json.loads(response.read())["results"][0]["action"] == "allow"
        assert proc.wait(30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_python_dash_m_explains_bad_configuration() -> None:
    env = {**os.environ, "TUTOR_GUARDRAIL_ACTIONS": '{"self-harm/intent": "allow"}'}
    result = subprocess.run(
        [sys.executable, "-m", "tutorplane.guardrail_service"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid configuration" in result.stderr and "self-harm/intent is severe" in result.stderr
