"""The emulator as a process: `python -m tutorplane.emulators` starts, answers health, stops on SIGTERM."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _health(port: int, timeout: float = 10.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/health", timeout=1) as response:
                return json.loads(response.read())  # type: ignore[no-any-return]
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_entry_points_serve_health_stop_cleanly_and_report_a_busy_port() -> None:
    """Both entry points run side by side: the module serves, the console script meets a busy port."""
    console_script = shutil.which("tutorplane-emulators", path=str(Path(sys.executable).parent))
    assert console_script is not None, "the tutorplane-emulators console script is installed with the package"
    port = _free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        refused = subprocess.Popen(
            [console_script, "--port", str(busy.getsockname()[1])],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        served = subprocess.Popen(
            [sys.executable, "-m", "tutorplane.emulators", "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            health = _health(port)
            assert health["status"] == "ok" and health["providers"] == ["openai", "anthropic"]
        finally:
            served.send_signal(signal.SIGTERM)
            _, served_stderr = served.communicate(timeout=10)
            _, refused_stderr = refused.communicate(timeout=10)
    assert served.returncode == 0
    lines = [json.loads(line) for line in served_stderr.decode().splitlines() if line.startswith("{")]
    listening = next(line for line in lines if line["msg"] == "emulators listening")
    assert listening["openai_base_url"] == f"http://127.0.0.1:{port}/v1"
    assert refused.returncode == 2
    assert b"pick another --port" in refused_stderr


def test_clients_hanging_up_mid_stream_are_not_server_errors(tmp_path: Path) -> None:
    """Barge-in and first-token probes close streams early: the emulator lets them go without
    logging a server error for each (a routing bench run printed hundreds of tracebacks)."""
    import asyncio

    import anthropic

    port = _free_port()
    log_path = tmp_path / "emulator.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tutorplane.emulators", "--port", str(port)], stdout=log, stderr=log
        )
    try:
        _health(port)

        async def hang_up_after_first_word() -> None:
            async with anthropic.AsyncAnthropic(
                api_key="k", base_url=f"http://127.0.0.1:{port}", max_retries=0
            ) as client:
                for _ in range(30):
                    stream = await client.messages.create(
                        model="m",
                        max_tokens=400,
                        stream=True,
                        messages=[{"role": "user", "content": "Tell me about the Romans in Britain."}],
                    )
                    async for event in stream:
                        if event.type == "content_block_delta":
                            break
                    await stream.close()
                await asyncio.sleep(0.3)

        asyncio.run(hang_up_after_first_word())
        assert _health(port)["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    logged = log_path.read_text()
    assert "Error handling request" not in logged and "Traceback" not in logged, logged[-2000:]
