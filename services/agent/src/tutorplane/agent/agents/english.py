"""English: the OpenAI Realtime tutor (its own worker and session), and the in-session fallback.

Why a second session: a Realtime model cannot share an ``AgentSession`` with the STT/LLM/TTS
pipeline, so the orchestrator dispatches the English worker into the room with the pending
question in JSON job metadata, and the English worker hands back the same way
(:class:`~tutorplane.routing.specialists.HandBack`, the shared hand-back contract).

Guarded speech in the Realtime session: by default the model answers in text and our TTS speaks
it, so every sentence is checked before synthesis (in ``tts_node``); the transcript is the TTS's
aligned transcript of what was actually spoken. With ``english_native_audio`` the model speaks
itself; the guardrail then checks the transcript and cuts the speech off on a block.

The instructions are given to the ``Agent``; ``RealtimeModel`` takes none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterable, AsyncIterator
from typing import ClassVar, Literal

from livekit.agents import RunContext, ToolError, function_tool, llm
from livekit.agents.voice import ModelSettings
from livekit.agents.voice.io import TimedString
from tutorplane.agent.agents.base import SpecialistAgent
from tutorplane.agent.agents.orchestrator import close_after_playout
from tutorplane.agent.dispatch import DispatchError
from tutorplane.agent.guarded_agent import TutorAgent
from tutorplane.agent.handoff import ORCHESTRATOR, record_handoff
from tutorplane.agent.metadata import DispatchKind, continuation, truncate_question
from tutorplane.agent.services import SessionServices
from tutorplane.agent.speech_guard import ALLOW, SentenceDecision
from tutorplane.agent.state import Speaker
from tutorplane.routing.prompts import ENGLISH_SYSTEM
from tutorplane.routing.specialists import EnglishRealtimeConfig, HandBack, HandBackReason

log = logging.getLogger(__name__)

HANDED_BACK_REPLY = (
    "Handed back to the main tutor. Say one short, friendly sentence that the main tutor will help "
    "now. Do not answer the question yourself."
)
MAIN_TUTOR_AWAY = (
    "The main tutor did not join after all. Tell the student kindly that you are staying with them: you "
    "can keep helping with English, or they can ask their question again in a moment."
)
HAND_BACK_UNAVAILABLE = (
    "The main tutor cannot take over right now. Tell the student kindly that you can keep helping "
    "with English, or that they can ask again in a moment."
)


class EnglishFallbackAgent(SpecialistAgent):
    """English in the pipeline session, used when the Realtime worker is unavailable."""

    key: ClassVar[str] = "english_fallback"
    speaker: ClassVar[Speaker] = Speaker.english
    subject: ClassVar[str | None] = "english"
    system_prompt: ClassVar[str] = ENGLISH_SYSTEM
    voice: ClassVar[str] = "english"


class EnglishRealtimeAgent(TutorAgent):
    """The English tutor on OpenAI Realtime, in the English worker's own session."""

    key: ClassVar[str] = "english"
    speaker: ClassVar[Speaker] = Speaker.english
    subject: ClassVar[str | None] = "english"

    def __init__(
        self,
        services: SessionServices,
        *,
        realtime_model: llm.RealtimeModel,
        pending_question: str | None = None,
        audience_ready: asyncio.Event | None = None,
    ) -> None:
        config = EnglishRealtimeConfig.from_settings(
            services.settings, ages=services.settings.student_age_range
        )
        native = services.settings.english_native_audio
        super().__init__(
            services,
            instructions=config.instructions,
            llm_model=realtime_model,
            tts=services.tts_for("english") if not native else None,
            pending_question=pending_question,
            pending_checked=False,
            use_tts_aligned_transcript=not native,
        )
        self._native_audio = native
        self._audience_ready = audience_ready

    async def on_enter(self) -> None:
        # Speak only once the student can hear us: the first subscription to our audio, bounded
        # by english_greeting_max_wait_s (the earlier system slept a fixed 3 s instead).
        if self._audience_ready is not None and not self._audience_ready.is_set():
            try:
                await asyncio.wait_for(
                    self._audience_ready.wait(), self.services.settings.english_greeting_max_wait_s
                )
            except TimeoutError:
                log.info("student did not subscribe to the English audio in time; answering anyway")
        await super().on_enter()

    # ----------------------------------------------------------------- guarded speech

    def tts_text(self, text: AsyncIterable[str]) -> AsyncIterable[str]:
        return self._guarded(text)

    async def _guarded(self, text: AsyncIterable[str]) -> AsyncIterator[str]:
        released = 0
        async for decision in self.services.guard.guard_output(
            text, session_id=self.state.session_id, source=f"agent:{self.key}"
        ):
            self._on_sentence(decision)
            yield decision.text if released == 0 else " " + decision.text
            released += 1
            if decision.stops_answer:
                break

    async def transcription_node(  # type: ignore[override]
        self, text: AsyncIterable[str | TimedString], model_settings: ModelSettings
    ) -> AsyncIterator[str | TimedString]:
        iterator = aiter(text)
        try:
            first = await anext(iterator)
        except StopAsyncIteration:
            return
        if isinstance(first, TimedString):
            # The TTS's aligned transcript: exactly the guarded text that was spoken.
            yield first
            async for chunk in iterator:
                yield chunk
            return

        async def rest() -> AsyncIterator[str]:
            yield str(first)
            async for chunk in iterator:
                yield str(chunk)

        async for sentence in self._guarded_transcript(rest()):
            yield sentence

    async def _guarded_transcript(self, text: AsyncIterable[str]) -> AsyncIterator[str]:
        released = 0
        async for decision in self.services.guard.guard_output(
            text, session_id=self.state.session_id, source=f"agent:{self.key}"
        ):
            self._on_sentence(decision)
            yield decision.text if released == 0 else " " + decision.text
            released += 1
            if decision.action != ALLOW and self._native_audio:
                self._cut_native_speech(decision)
            if decision.stops_answer:
                break

    def _cut_native_speech(self, decision: SentenceDecision) -> None:
        """Native audio cannot be checked before it is spoken: stop it and say the safe line."""
        if decision.action == "rewrite":
            return
        self.services.tasks.spawn(self._interrupt_and_say(decision.text), name="english-cut")

    async def _interrupt_and_say(self, line: str) -> None:
        try:
            await self.session.interrupt(force=True)
        except RuntimeError:
            pass
        self.session.say(line)

    # ----------------------------------------------------------------- hand back

    @function_tool
    async def hand_back(
        self, context: RunContext, question: str, reason: Literal["other_subject", "goodbye", "needs_teacher"]
    ) -> str:
        """Hand the student back to the main tutor: the question is not about English, the student
        said goodbye, or the student seems upset or unsafe.

        Args:
            question: The student's latest question in their own words (empty for goodbye).
            reason: other_subject, goodbye or needs_teacher.
        """
        try:
            handback = HandBack.from_arguments({"question": question, "reason": reason})
        except ValueError as exc:
            raise ToolError(str(exc)) from exc
        state = self.state
        if handback.reason == HandBackReason.needs_teacher:
            self.services.escalations.raise_(
                handback.question or "the student seems upset (English tutor)", source="agent"
            )
        dispatcher = self.services.dispatcher
        if dispatcher is None:
            return HAND_BACK_UNAVAILABLE
        metadata = continuation(
            state,
            DispatchKind.return_from_english,
            question=truncate_question(self.services.guard.mask(handback.question)) or None,
            reason=handback.reason.value,
        )
        if self.services.partner is not None:
            self.services.partner.expect()
        try:
            receipt = await dispatcher.dispatch(
                agent_name=self.services.targets.pipeline(), room=state.room_name, metadata=metadata
            )
        except DispatchError as exc:
            log.error("could not hand the student back to the pipeline", extra={"error": str(exc)})
            return HAND_BACK_UNAVAILABLE
        record_handoff(
            self.services,
            from_agent=self.key,
            to_agent=ORCHESTRATOR,
            mode="dispatch",
            reason=handback.reason.value,
            question=handback.question,
        )
        state.handing_over = True

        async def stay() -> None:
            # No pipeline worker came (all full or down): the student is not left alone.
            with contextlib.suppress(RuntimeError):
                self.session.generate_reply(instructions=MAIN_TUTOR_AWAY)

        self.services.tasks.spawn(
            close_after_playout(context, self.services, receipt, take_back=stay),
            name="close-after-handback",
        )
        return HANDED_BACK_REPLY
