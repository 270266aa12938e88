"""The moderation port: what the guardrail needs from a moderation backend, and its error type.

Implementations: :class:`~tutorplane.guardrail.openai_moderation.OpenAIModeration` (the OpenAI
moderation API, or the project's emulator) and
:class:`~tutorplane.guardrail.scripted_moderation.ScriptedModeration` (a test and benchmark double).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ModerationResult:
    """Scores for one text, keyed by canonical category name (``self-harm/intent``)."""

    scores: dict[str, float]
    provider_flagged: bool = False


class ModerationError(Exception):
    """The backend could not give an answer. ``reason`` is a short label for metrics and audit."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@runtime_checkable
class ModerationClient(Protocol):
    model: str

    async def moderate(self, texts: Sequence[str]) -> list[ModerationResult]:
        """One result per text, in order. Raises :class:`ModerationError` on any failure."""
        ...

    async def aclose(self) -> None: ...
