"""``python -m tutorplane.agent console --text`` in a pseudo-terminal: the SDK's own console runs our
entrypoint with a local fake job (no LiveKit server), talking to the emulators."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


def _portaudio_missing() -> bool:
    try:
        import sounddevice  # noqa: F401
    except OSError:
        return True
    return False


@pytest.mark.timeout(300)
@pytest.mark.skipif(
    _portaudio_missing(), reason="console mode needs libportaudio2 (apt-get install libportaudio2)"
)
def test_console_text_mode_routes_a_typed_question(emulator) -> None:
    env = {
        **os.environ,
        "TUTOR_OPENAI_BASE_URL": emulator.openai_base_url,
        "TUTOR_ANTHROPIC_BASE_URL": emulator.anthropic_base_url,
        "TUTOR_OPENAI_API_KEY": "test-key",
        "TUTOR_ANTHROPIC_API_KEY": "test-key",
        "TUTOR_JOB_EXECUTOR": "thread",
        "TUTOR_LOG_JSON": "false",
        "TERM": "xterm",
        "COLUMNS": "120",
    }
    pid, fd = pty.fork()
    if pid == 0:  # child: becomes the console
        os.chdir(REPO)
        os.execve(sys.executable, [sys.executable, "-m", "tutorplane.agent", "console", "--text"], env)
    output = bytearray()

    def screen() -> str:
        return ANSI.sub("", output.decode(errors="replace"))

    def read_until(done, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    output.extend(os.read(fd, 65536))
                except OSError:
                    return False
            if done(screen()):
                return True
        return False

    try:
        assert read_until(lambda s: "console session" in s, 150), screen()[-3000:]
        read_until(lambda s: False, 3)  # let the session finish starting
        for ch in "What is 7 times 8?":  # typed, not pasted: the prompt reads key by key
            os.write(fd, ch.encode())
            read_until(lambda s: False, 0.05)
        read_until(lambda s: "What is 7 times 8?" in s, 10)
        os.write(fd, b"\r")
        assert read_until(lambda s: "equals 56" in s, 90), screen()[-3000:]
        text = screen()
        assert "Let me bring in our math tutor" in text
        assert "Handoff: OrchestratorAgent" in text and "MathAgent" in text
    finally:
        os.kill(pid, signal.SIGTERM)
        read_until(lambda s: False, 2)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
