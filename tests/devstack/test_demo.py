"""`make demo` for real: the launcher starts embedded PostgreSQL, Redis, the emulators and the services,
each answers its health check, and everything stops cleanly. Run twice on one data folder: the second
start reuses the data (migrations are a no-op)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_check(state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TUTOR_STATE_DIR": str(state_dir),
        "TUTOR_GATEWAY_PORT": str(free_port()),
        "TUTOR_GUARDRAIL_PORT": str(free_port()),
        "TUTOR_EMULATOR_PORT": str(free_port()),
        "TUTOR_REDIS_PORT": str(free_port()),
        "TUTOR_LOG_LEVEL": "INFO",
    }
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LIVEKIT_URL", "TUTOR_LIVEKIT_URL"):
        env.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "tutorplane.devstack", "--check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_demo_starts_every_service_and_stops_cleanly(tmp_path: Path) -> None:
    first = _run_check(tmp_path / "state")
    assert first.returncode == 0, first.stderr[-3000:]
    running = next(line for line in first.stderr.splitlines() if "running:" in line)
    for name in ("redis", "emulators", "guardrail", "gateway"):
        assert name in running
    assert "offline mode" in first.stderr
    assert "version A needs a LiveKit server" in first.stderr
    secrets_file = tmp_path / "state" / "dev-secrets.json"
    assert secrets_file.stat().st_mode & 0o777 == 0o600

    second = _run_check(tmp_path / "state")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "'migrations_applied': []" in second.stderr or "migrations_applied" not in second.stderr
