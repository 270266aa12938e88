"""Agent fixtures come from the package's pytest plugin (``tutorplane.agent.testing``)."""

import os
from collections.abc import Iterator

import pytest
from tutorplane.agent.testing import agent_settings, fake_livekit  # noqa: F401


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """livekit-agents' server writes LIVEKIT_URL/API_KEY/API_SECRET and PROMETHEUS_MULTIPROC_DIR
    into ``os.environ`` for its job processes; an in-process worker must not leave them to the next
    test (a later settings test then saw a LiveKit secret it never set)."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)
