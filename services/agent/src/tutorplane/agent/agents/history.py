"""The history tutor: OpenAI chat, its own voice, hands back to the orchestrator only."""

from __future__ import annotations

from typing import ClassVar

from tutorplane.agent.agents.base import SpecialistAgent
from tutorplane.agent.state import Speaker
from tutorplane.routing.prompts import HISTORY_SYSTEM


class HistoryAgent(SpecialistAgent):
    key: ClassVar[str] = "history"
    speaker: ClassVar[Speaker] = Speaker.history
    subject: ClassVar[str | None] = "history"
    system_prompt: ClassVar[str] = HISTORY_SYSTEM
    voice: ClassVar[str] = "history"
