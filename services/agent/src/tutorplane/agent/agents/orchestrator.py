"""The orchestrator: greets, routes every question to a specialist, never teaches.

Two strategies (``routing_strategy``):

* ``two_stage``: the shared router (local classifier, LLM classifier only when unsure) decides in
  code; the decision is emitted as the matching tool call, so both strategies run the same tools,
  hand over the same way and write the same kind of ``routing_decisions`` row;
* ``function_tools``: the orchestrator LLM picks ``route_to_<subject>`` / ``escalate_to_teacher``
  itself (the reference design); a reply without a tool call is recorded as ``off_topic``.

English goes to a separate worker (OpenAI Realtime cannot share a session with the STT/LLM/TTS
pipeline): the English worker is dispatched with the pending question in JSON job metadata, this
session speaks its transition line and closes once that line has played. When Realtime is
unavailable (disabled, or the dispatch fails), English is answered in this session by the
fallback agent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from livekit.agents import Agent, RunContext, function_tool, llm
from livekit.agents.voice import ModelSettings
from tutorplane.agent import metrics
from tutorplane.agent.agents.base import handover_context, publish_routing, route_in_code
from tutorplane.agent.dispatch import DispatchError, DispatchReceipt
from tutorplane.agent.guarded_agent import TutorAgent, tool_call_chunk
from tutorplane.agent.handoff import RETURN_GREETING, TRANSITION_LINES, record_handoff
from tutorplane.agent.metadata import DispatchKind, continuation, truncate_question
from tutorplane.agent.services import SessionServices
from tutorplane.agent.state import Speaker
from tutorplane.routing.function_tools import decision_from_tool_call, decision_without_tool_call
from tutorplane.routing.prompts import (
    FAREWELL_LINE,
    GREETING_LINE,
    NEEDS_TEACHER_LINE,
    ORCHESTRATOR_SYSTEM,
    render,
)
from tutorplane.routing.router import record_decision
from tutorplane.routing.types import RoutingDecision, Subject

log = logging.getLogger(__name__)

SMALL_TALK_INSTRUCTIONS = (
    "The student's latest message is small talk or too vague to route. Do not call a tool. Answer in "
    "one short, kind sentence and invite a math, history or English question."
)


class OrchestratorAgent(TutorAgent):
    key: ClassVar[str] = "orchestrator"
    speaker: ClassVar[Speaker] = Speaker.orchestrator
    subject: ClassVar[str | None] = None
    step: ClassVar[str] = "orchestrator"

    def __init__(
        self,
        services: SessionServices,
        *,
        chat_ctx: llm.ChatContext | None = None,
        pending_question: str | None = None,
        pending_decision: RoutingDecision | None = None,
        pending_checked: bool = True,
        returning: bool = False,
    ) -> None:
        super().__init__(
            services,
            instructions=render(ORCHESTRATOR_SYSTEM, services.settings.student_age_range),
            llm_model=services.llm_for("orchestrator"),
            tts=services.tts_for("orchestrator"),
            chat_ctx=chat_ctx,
            pending_question=pending_question,
            pending_checked=pending_checked,
        )
        # A specialist that handed back after routing in code passes its decision along, so the
        # turn is routed (and audited) once.
        self._pending_decision = pending_decision
        self._returning = returning or chat_ctx is not None
        self._code_decided: dict[str, RoutingDecision] = {}
        # The student said goodbye to the English tutor: say goodbye instead of inviting a question.
        self.farewell = False

    @property
    def two_stage(self) -> bool:
        return self.services.settings.routing_strategy == "two_stage"

    async def on_enter_without_question(self) -> None:
        line = FAREWELL_LINE if self.farewell else RETURN_GREETING if self._returning else GREETING_LINE
        self.services.events.emit(
            "sentence",
            turn_index=self.state.turn_index,
            index=0,
            agent=self.key,
            text=line,
            action="allow",
            latency_ms=None,
        )
        self.session.say(line)

    # ------------------------------------------------------------------ routing

    async def decide_in_code(
        self, chat_ctx: llm.ChatContext, student_text: str | None, *, injected: bool = False
    ) -> llm.ChatChunk | None:
        if student_text is None or not self.two_stage:
            return None
        self._code_decided.clear()  # a decision never outlives its turn
        decision, self._pending_decision = self._pending_decision, None
        if decision is None:
            decision = await route_in_code(self, chat_ctx, student_text)
        elif self.state.last_student_message_id is not None:
            self.state.routed_subjects[self.state.last_student_message_id] = decision.subject.value
        if decision is None:
            return None
        if decision.subject in (Subject.math, Subject.history, Subject.english):
            name = f"route_to_{decision.subject.value}"
            self._code_decided[name] = decision
            return tool_call_chunk(
                name,
                json.dumps(
                    {"question_summary": truncate_question(student_text), "confidence": decision.confidence}
                ),
            )
        if decision.subject == Subject.needs_teacher:
            self._code_decided["escalate_to_teacher"] = decision
            return tool_call_chunk(
                "escalate_to_teacher",
                json.dumps({"reason": decision.rationale, "confidence": decision.confidence}),
            )
        return None  # off_topic: a short reply from the orchestrator LLM, without tools

    def model_tools(self, tools: list[llm.Tool]) -> list[llm.Tool]:
        return [] if self.two_stage else tools

    def model_chat_ctx(self, chat_ctx: llm.ChatContext) -> llm.ChatContext:
        if not self.two_stage:
            return chat_ctx
        # Routing already happened in code; the model only answers small talk.
        ctx = chat_ctx.copy()
        ctx.add_message(role="system", content=[SMALL_TALK_INSTRUCTIONS])
        return ctx

    async def llm_node(  # type: ignore[override]
        self, chat_ctx: llm.ChatContext, tools: list[llm.Tool], model_settings: ModelSettings
    ) -> Any:
        tool_called = False
        reply: list[str] = []
        turn_before = self.state.turns_started
        async for out in super().llm_node(chat_ctx, tools, model_settings):
            if isinstance(out, llm.ChatChunk) and out.delta and out.delta.tool_calls:
                tool_called = True
            elif isinstance(out, str):
                reply.append(out)
            yield out
        fresh_turn = self.state.turns_started > turn_before
        if not self.two_stage and fresh_turn and not tool_called and self.state.last_student_text:
            self._record_tool_decision(
                decision_without_tool_call("".join(reply), self._elapsed_ms()).decision
            )

    def _elapsed_ms(self) -> float:
        anchor = self.state.turn_input_at
        return max(0.0, (time.time() - anchor) * 1000.0) if anchor else 0.0

    def _record_tool_decision(self, decision: RoutingDecision) -> None:
        state = self.state
        record_decision(
            self.services.audit,
            decision,
            text=state.last_student_text or "",
            session_id=state.session_id if self.services.persistable else None,
            turn_index=state.turn_index,
        )
        if state.last_student_message_id is not None:
            state.routed_subjects[state.last_student_message_id] = decision.subject.value
        publish_routing(self.services, decision, agent=self.key)

    def _decision_for(self, name: str, arguments: dict[str, Any]) -> RoutingDecision:
        """The code's decision when it made the call, else the LLM's (recorded here)."""
        decided = self._code_decided.pop(name, None)
        if decided is not None:
            return decided
        decision = decision_from_tool_call(name, arguments, self._elapsed_ms()).decision
        self._record_tool_decision(decision)
        return decision

    # ------------------------------------------------------------------ tools

    @function_tool
    async def route_to_math(
        self, context: RunContext, question_summary: str, confidence: float = 0.5
    ) -> tuple[Agent, str]:
        """Send the student to the math tutor.

        Args:
            question_summary: The student's math question in one sentence.
            confidence: Your probability (0 to 1) that this is the right place for the question.
        """
        from tutorplane.agent.agents.math import MathAgent

        self._decision_for("route_to_math", {"question_summary": question_summary, "confidence": confidence})
        return self._hand_to(context, "math", MathAgent, question_summary)

    @function_tool
    async def route_to_history(
        self, context: RunContext, question_summary: str, confidence: float = 0.5
    ) -> tuple[Agent, str]:
        """Send the student to the history tutor.

        Args:
            question_summary: The student's history question in one sentence.
            confidence: Your probability (0 to 1) that this is the right place for the question.
        """
        from tutorplane.agent.agents.history import HistoryAgent

        self._decision_for(
            "route_to_history", {"question_summary": question_summary, "confidence": confidence}
        )
        return self._hand_to(context, "history", HistoryAgent, question_summary)

    @function_tool
    async def route_to_english(
        self, context: RunContext, question_summary: str, confidence: float = 0.5
    ) -> Any:
        """Send the student to the English tutor (reading, writing, grammar, spelling, literature).

        Args:
            question_summary: The student's English question in one sentence.
            confidence: Your probability (0 to 1) that this is the right place for the question.
        """
        self._decision_for(
            "route_to_english", {"question_summary": question_summary, "confidence": confidence}
        )
        question = self.state.last_student_text or question_summary
        self.state.note_subject("english")
        settings = self.services.settings
        dispatcher = self.services.dispatcher
        if (
            settings.english_realtime_enabled
            and not self.state.english_realtime_down
            and dispatcher is not None
        ):
            metadata = continuation(self.state, DispatchKind.to_english, question=truncate_question(question))
            if self.services.partner is not None:
                self.services.partner.expect()
            try:
                receipt = await dispatcher.dispatch(
                    agent_name=self.services.targets.english(), room=self.state.room_name, metadata=metadata
                )
            except DispatchError as exc:
                log.warning(
                    "English Realtime worker unavailable, answering in-session", extra={"error": str(exc)}
                )
                self.state.english_realtime_down = True
            else:
                # The transition line must be heard in full: no barge-in, no interrupt().
                context.disallow_interruptions()
                record_handoff(
                    self.services,
                    from_agent=self.key,
                    to_agent="english",
                    mode="dispatch",
                    reason="english question",
                    question=question,
                )
                self.state.handing_over = True

                async def answer_here() -> None:
                    # No English worker came (all full or down): answer in this session after all.
                    from tutorplane.agent.agents.english import EnglishFallbackAgent

                    self.state.english_realtime_down = True
                    agent, _ = self._hand_to(
                        context, "english_fallback", EnglishFallbackAgent, question_summary, mode="fallback"
                    )
                    context.session.update_agent(agent)

                self.services.tasks.spawn(
                    close_after_playout(context, self.services, receipt, take_back=answer_here),
                    name="close-after-handover",
                )
                return TRANSITION_LINES["english"]
        from tutorplane.agent.agents.english import EnglishFallbackAgent

        return self._hand_to(
            context, "english_fallback", EnglishFallbackAgent, question_summary, mode="fallback"
        )

    @function_tool
    async def escalate_to_teacher(self, context: RunContext, reason: str, confidence: float = 0.5) -> str:
        """Get the student's teacher: the student seems upset, unsafe or asks for a real person.

        Args:
            reason: Why a teacher is needed, in one neutral sentence.
            confidence: Your probability (0 to 1) that this is the right place for the question.
        """
        decided = "escalate_to_teacher" in self._code_decided
        self._decision_for("escalate_to_teacher", {"reason": reason, "confidence": confidence})
        self.services.escalations.raise_(reason, source="router" if decided else "agent")
        return NEEDS_TEACHER_LINE

    def _hand_to(
        self, context: RunContext, to_key: str, agent_cls: Any, summary: str, *, mode: str = "in_session"
    ) -> tuple[Agent, str]:
        started = time.perf_counter()
        question = self.state.last_student_text or summary
        record_handoff(self.services, from_agent=self.key, to_agent=to_key, mode=mode, question=question)
        self.state.note_subject(agent_cls.subject or to_key)
        specialist = agent_cls(
            self.services,
            chat_ctx=handover_context(self.services, context.session.history),
            pending_question=question,
        )
        metrics.TURN_STAGE_SECONDS.labels("handoff", self.key).observe(time.perf_counter() - started)
        return specialist, TRANSITION_LINES[to_key]


async def close_after_playout(
    context: RunContext,
    services: SessionServices,
    receipt: DispatchReceipt | None = None,
    *,
    take_back: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Close this session once the transition line has been heard (never ``interrupt()``: that
    silenced the transition in an earlier system; bounded by ``handoff_close_timeout_s``) and the
    worker it handed over to has joined the room.

    LiveKit holds a dispatch no worker takes (all of them full, crashing, or none registered): if no
    agent joins within ``handoff_join_timeout_s``, the dispatch is withdrawn and ``take_back()``
    keeps the student in this session; a worker that still joins within another such wait takes
    over after all. Without a room to watch (text mode) it closes at once.
    """
    settings = services.settings
    try:
        await asyncio.wait_for(context.speech_handle.wait_for_playout(), settings.handoff_close_timeout_s)
    except TimeoutError:
        log.warning("transition playout did not finish in time; closing the session anyway")
    partner = services.partner
    if (
        partner is None
        or receipt is None
        or take_back is None
        or await partner.arrived(settings.handoff_join_timeout_s)
    ):
        await context.session.aclose()
        return
    log.warning(
        "no worker joined after the handover; keeping the student here",
        extra={"agent_name": receipt.agent_name, "wait_s": settings.handoff_join_timeout_s},
    )
    metrics.HANDOFFS_NOT_JOINED.labels(receipt.agent_name).inc()
    if services.dispatcher is not None:
        try:
            await services.dispatcher.withdraw(receipt)
        except DispatchError as exc:
            log.warning("could not withdraw the dispatch", extra={"error": str(exc)})
    services.state.handing_over = False
    await take_back()
    # A worker that had taken the job before it was withdrawn may still come: then it takes over
    # after all, rather than two tutors talking at once.
    if await partner.arrived(settings.handoff_join_timeout_s):
        log.warning(
            "the worker handed over to joined late; it takes over", extra={"agent_name": receipt.agent_name}
        )
        services.state.handing_over = True
        await context.session.aclose()
