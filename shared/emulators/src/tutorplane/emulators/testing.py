"""pytest plugin: the ``emulator`` fixture (registered by the repository's tests/conftest.py).

``emulator`` is one :class:`~tutorplane.emulators.EmulatorThread` per test session; its script is
reset before every test that uses it (directly or through another fixture), so queued replies,
failures and recorded requests never leak between tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import EmulatorThread


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorThread]:
    emu = EmulatorThread(host="127.0.0.1", port=0).start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture(autouse=True)
def _reset_emulator_script(request: pytest.FixtureRequest) -> None:
    if "emulator" in request.fixturenames:
        emu: EmulatorThread = request.getfixturevalue("emulator")
        emu.script.reset()
