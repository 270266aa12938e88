"""The math tutor: Anthropic Claude, its own voice, hands back to the orchestrator only."""

from __future__ import annotations

from typing import ClassVar

from livekit.agents import llm
from tutorplane.agent.agents.base import SpecialistAgent
from tutorplane.agent.services import SessionServices
from tutorplane.agent.state import Speaker
from tutorplane.routing.prompts import MATH_SYSTEM, render


class MathAgent(SpecialistAgent):
    key: ClassVar[str] = "math"
    speaker: ClassVar[Speaker] = Speaker.math
    subject: ClassVar[str | None] = "math"

    def __init__(
        self,
        services: SessionServices,
        *,
        chat_ctx: llm.ChatContext | None = None,
        pending_question: str | None = None,
    ) -> None:
        super().__init__(
            services,
            instructions=render(MATH_SYSTEM, services.settings.student_age_range),
            llm_model=services.llm_for("math"),
            tts=services.tts_for("math"),
            chat_ctx=chat_ctx,
            pending_question=pending_question,
        )
