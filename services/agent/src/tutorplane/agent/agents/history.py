"""The history tutor: OpenAI chat, its own voice, hands back to the orchestrator only."""

from __future__ import annotations

from typing import ClassVar

from livekit.agents import llm
from tutorplane.agent.agents.base import SpecialistAgent
from tutorplane.agent.services import SessionServices
from tutorplane.agent.state import Speaker
from tutorplane.routing.prompts import HISTORY_SYSTEM, render


class HistoryAgent(SpecialistAgent):
    key: ClassVar[str] = "history"
    speaker: ClassVar[Speaker] = Speaker.history
    subject: ClassVar[str | None] = "history"

    def __init__(
        self,
        services: SessionServices,
        *,
        chat_ctx: llm.ChatContext | None = None,
        pending_question: str | None = None,
    ) -> None:
        super().__init__(
            services,
            instructions=render(HISTORY_SYSTEM, services.settings.student_age_range),
            llm_model=services.llm_for("history"),
            tts=services.tts_for("history"),
            chat_ctx=chat_ctx,
            pending_question=pending_question,
        )
