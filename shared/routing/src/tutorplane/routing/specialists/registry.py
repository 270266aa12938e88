"""All specialists of a process, built once from settings around shared SDK clients."""

from __future__ import annotations

from dataclasses import dataclass

from tutorplane.common.settings import ModelSettings
from tutorplane.routing.clients import ProviderClients
from tutorplane.routing.settings import RoutingSettings
from tutorplane.routing.specialists.base import Specialist
from tutorplane.routing.specialists.chat_specialist import EnglishTextSpecialist, HistorySpecialist
from tutorplane.routing.specialists.english_realtime import EnglishRealtimeConfig
from tutorplane.routing.specialists.handlers import ClarifyHandler, NeedsTeacherHandler, OffTopicHandler
from tutorplane.routing.specialists.math_specialist import MathSpecialist
from tutorplane.routing.types import RoutingDecision, Subject

# Below this final confidence a teaching subject is a guess: ask the student instead.
CLARIFY_BELOW = 0.4


@dataclass(frozen=True, slots=True)
class Specialists:
    math: MathSpecialist
    history: HistorySpecialist
    english_text: EnglishTextSpecialist
    english_realtime: EnglishRealtimeConfig
    off_topic: OffTopicHandler
    needs_teacher: NeedsTeacherHandler
    clarify: ClarifyHandler

    def for_subject(self, subject: Subject) -> Specialist:
        """The streaming answerer for ``subject`` (English: the text specialist; spoken English
        uses ``english_realtime`` instead)."""
        by_subject: dict[Subject, Specialist] = {
            Subject.math: self.math,
            Subject.history: self.history,
            Subject.english: self.english_text,
            Subject.off_topic: self.off_topic,
            Subject.needs_teacher: self.needs_teacher,
        }
        return by_subject[subject]

    def for_decision(self, decision: RoutingDecision, *, clarify_below: float = CLARIFY_BELOW) -> Specialist:
        """The answerer for a routing decision: a clarifying question when a teaching subject was
        chosen with confidence under ``clarify_below``; needs_teacher is never second-guessed."""
        if decision.subject.is_specialist and decision.confidence < clarify_below:
            return self.clarify
        return self.for_subject(decision.subject)


def build_specialists(
    clients: ProviderClients, models: ModelSettings, routing: RoutingSettings
) -> Specialists:
    ages = routing.student_age_range
    max_tokens = models.max_answer_tokens
    timeout_s = routing.specialist_timeout_s
    turns = routing.specialist_context_turns
    return Specialists(
        math=MathSpecialist(
            clients.anthropic,
            model=models.math_model,
            temperature=models.math_temperature,
            max_tokens=max_tokens,
            timeout_s=timeout_s,
            context_turns=turns,
            ages=ages,
        ),
        history=HistorySpecialist(
            clients.openai,
            model=models.history_model,
            temperature=models.history_temperature,
            max_tokens=max_tokens,
            timeout_s=timeout_s,
            context_turns=turns,
            ages=ages,
        ),
        english_text=EnglishTextSpecialist(
            clients.openai,
            model=models.history_model,
            temperature=models.history_temperature,
            max_tokens=max_tokens,
            timeout_s=timeout_s,
            context_turns=turns,
            ages=ages,
        ),
        english_realtime=EnglishRealtimeConfig.from_settings(models, ages=ages),
        off_topic=OffTopicHandler(),
        needs_teacher=NeedsTeacherHandler(),
        clarify=ClarifyHandler(),
    )
