"""Agent fixtures come from the package's pytest plugin (``tutorplane.agent.testing``)."""

from tutorplane.agent.testing import agent_settings, fake_livekit  # noqa: F401
