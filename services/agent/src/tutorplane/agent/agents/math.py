"""The math tutor: Anthropic Claude, its own voice, hands back to the orchestrator only."""

from __future__ import annotations

from typing import ClassVar

from tutorplane.agent.agents.base import SpecialistAgent
from tutorplane.agent.state import Speaker
from tutorplane.routing.prompts import MATH_SYSTEM


class MathAgent(SpecialistAgent):
    key: ClassVar[str] = "math"
    speaker: ClassVar[Speaker] = Speaker.math
    subject: ClassVar[str | None] = "math"
    system_prompt: ClassVar[str] = MATH_SYSTEM
    voice: ClassVar[str] = "math"
