"""Child processes of the embedded stack: start, wait until healthy, stop in reverse order."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class ChildSpec:
    name: str
    argv: list[str]
    health_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    startup_timeout_s: float = 30.0


@dataclass
class Child:
    spec: ChildSpec
    proc: subprocess.Popen[bytes]
    log_path: Path


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def wait_healthy(child: Child) -> None:
    url = child.spec.health_url
    if url is None:
        return
    deadline = time.monotonic() + child.spec.startup_timeout_s
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(
                f"{child.spec.name} exited with code {child.proc.returncode} during start-up; "
                f"see {child.log_path}"
            )
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status < 500:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"{child.spec.name} not healthy at {url} after {child.spec.startup_timeout_s}s; see {child.log_path}"
    )


def start(spec: ChildSpec, log_dir: Path, base_env: dict[str, str]) -> Child:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{spec.name}.log"
    env = {**os.environ, **base_env, **spec.env}
    handle = log_path.open("ab")
    proc = subprocess.Popen(
        spec.argv, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    child = Child(spec, proc, log_path)
    wait_healthy(child)
    return child


def stop_all(children: list[Child], grace_s: float = 10.0) -> None:
    for child in reversed(children):
        if child.proc.poll() is None:
            child.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for child in reversed(children):
        remaining = max(0.1, deadline - time.monotonic())
        try:
            child.proc.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0fs; killing it", child.spec.name, grace_s)
            child.proc.kill()
            child.proc.wait()
