"""The local stack the browser tests drive: the built web app served by a real gateway, with the
guardrail service, embedded PostgreSQL, Redis and the provider emulators behind it.

Imported by this folder's conftest; nothing here is a fixture itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tutorplane.emulators import audio
from tutorplane.gateway.testing import ApiClient, GatewayProcess, free_port

REPO = Path(__file__).resolve().parents[2]
FRONTEND = REPO / "frontend"
DIST = FRONTEND / "dist"
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]

# Chromium's default fake microphone beeps twice a second, loud enough for the emulated server VAD
# to hear someone talking over the tutor (version B voice is live): the browser tests feed it a WAV
# file instead, silence unless the test has words to say.
FAKE_MIC_RATE = 48_000


def fake_microphone_args(wav: Path) -> list[str]:
    """Chromium arguments for a fake microphone that plays `wav` (looped)."""
    return [*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}"]


def write_microphone_wav(path: Path, pcm: bytes) -> Path:
    """`pcm` (48 kHz s16le mono) as the WAV file a fake microphone plays."""
    path.write_bytes(audio.to_wav(pcm, sample_rate=FAKE_MIC_RATE))
    return path


JWT_SECRET = "browser-tests-jwt-5c1e9a7b3d2f4e6a8b0c1d2e3f4a5b6c"
CSRF_SECRET = "browser-tests-csrf-7d3a1b9c5e2f4a6b8c0d1e2f3a4b5c6d"

# Every route group gets a large budget: the tests click fast and share one client IP.
RATE_LIMITS = {
    group: 100000
    for group in (
        "login", "session_create", "session_close", "turn", "cancel", "realtime_transcript",
        "escalate", "hint", "ack", "events", "read",
    )
}  # fmt: skip

PLATFORM_STATUS = {
    "updatedAt": "2025-01-01T12:00:00Z",
    "deployments": [
        {
            "name": "tutor-a",
            "variant": "A",
            "revision": "a-r7",
            "weights": {"A": 20},
            "replicas": 3,
            "readyReplicas": 3,
            "activeSessions": 12,
            "rolloutStep": "2/4",
            "lastAnalysis": {"result": "inconclusive", "reason": "too few sessions (12 < 30)"},
        },
        {
            "name": "tutor-b",
            "variant": "B",
            "revision": "b-r3",
            "weights": {"B": 80},
            "replicas": 2,
            "readyReplicas": 2,
            "activeSessions": 41,
            "rolloutStep": "2/4",
            "lastAnalysis": {"result": "pass", "reason": "p95 latency within budget"},
        },
    ],
}


def _newest_mtime(paths: list[Path]) -> float:
    newest = 0.0
    for root in paths:
        if root.is_file():
            newest = max(newest, root.stat().st_mtime)
            continue
        for path in root.rglob("*"):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


def frontend_sources() -> list[Path]:
    return [
        FRONTEND / "src",
        FRONTEND / "index.html",
        FRONTEND / "package.json",
        FRONTEND / "vite.config.ts",
        FRONTEND / "tsconfig.json",
    ]


def dist_is_stale() -> bool:
    index = DIST / "index.html"
    return not index.is_file() or index.stat().st_mtime < _newest_mtime(frontend_sources())


def ensure_frontend_built() -> str | None:
    """Build frontend/dist when missing or older than its sources. Returns a skip reason or None."""
    if not dist_is_stale():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed, so frontend/dist cannot be built (install Node 20 and npm)"
    if not (FRONTEND / "node_modules").is_dir():
        return "frontend/node_modules is missing: run `npm ci` in frontend/ (make install does it)"
    result = subprocess.run(
        [npm, "run", "build"], cwd=FRONTEND, capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"`npm run build` failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return None


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


class GuardrailProcess:
    """``python -m tutorplane.guardrail_service`` on a loopback port."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env, "TUTOR_PORT": str(self.port), "TUTOR_HOST": "127.0.0.1"}
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> GuardrailProcess:
        """Start the process without waiting (it imports while the gateway starts too)."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tutorplane.guardrail_service"],
            env=self.env,
            stdout=self._log,
            stderr=self._log,
        )
        return self

    def wait_ready(self, timeout: float = 60.0) -> GuardrailProcess:
        assert self.proc is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"guardrail service exited during start-up; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"guardrail service did not answer /healthz in {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()


@dataclass
class Stack:
    """The running stack: the gateway (restartable on the same port) and what it was started with."""

    gateway_env: dict[str, str]
    log_dir: Path
    dsn: str
    gateway: GatewayProcess | None = None
    restarts: int = 0
    clients: list[ApiClient] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    def start_gateway(self, port: int | None = None) -> GatewayProcess:
        log = self.log_dir / f"gateway-{self.restarts}.log"
        self.gateway = GatewayProcess(self.gateway_env, port=port, log_path=log).start(timeout=60)
        return self.gateway

    def restart_gateway(self) -> None:
        """Stop the gateway (it drains: feeds are told to reconnect) and start it on the same port."""
        assert self.gateway is not None
        port = self.gateway.port
        self.gateway.stop()
        self.restarts += 1
        deadline = time.monotonic() + 20
        while True:
            try:
                self.start_gateway(port)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def client(self, login: str) -> ApiClient:
        client = ApiClient(self.url)
        client.login(login)
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()
        if self.gateway is not None:
            self.gateway.stop()


def new_context(browser: Any, stack: Stack, **options: Any) -> Any:
    context = browser.new_context(base_url=stack.url, permissions=["microphone"], **options)
    context.set_default_timeout(15_000)
    return context


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
