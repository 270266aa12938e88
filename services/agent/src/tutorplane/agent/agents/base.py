"""What the specialists share: handing back to the orchestrator, escalating, and (two-stage
strategy) noticing in code that a student turn belongs elsewhere."""

from __future__ import annotations

import json
import logging
import time
from typing import ClassVar

from livekit.agents import Agent, RunContext, function_tool, llm
from tutorplane.agent.guarded_agent import TutorAgent, tool_call_chunk
from tutorplane.agent.handoff import ORCHESTRATOR, TRANSITION_LINES, record_handoff
from tutorplane.agent.services import SessionServices
from tutorplane.agent.transcript import is_injected
from tutorplane.routing.prompts import NEEDS_TEACHER_LINE, render
from tutorplane.routing.types import TEACHING_SUBJECTS, RoutingDecision, Subject, Turn

log = logging.getLogger(__name__)

ROUTING_HISTORY_TURNS = 8
# A student turn may travel orchestrator -> specialist -> orchestrator -> specialist at most;
# past that the current specialist answers rather than bouncing the student around.
MAX_HANDOFFS_PER_TURN = 3


def routing_history(
    chat_ctx: llm.ChatContext, services: SessionServices, *, exclude_id: str | None
) -> list[Turn]:
    """Earlier student and tutor turns with the subject each student turn was routed to."""
    turns: list[Turn] = []
    routed = services.state.routed_subjects
    for item in chat_ctx.items:
        if item.type != "message" or item.role not in ("user", "assistant") or item.id == exclude_id:
            continue
        if item.role == "user" and is_injected(item):
            continue
        text = (item.text_content or "").strip()
        if not text:
            continue
        subject = routed.get(item.id)
        turns.append(Turn(role=item.role, text=text, subject=Subject(subject) if subject else None))
    return turns[-ROUTING_HISTORY_TURNS:]


def publish_routing(services: SessionServices, decision: RoutingDecision, *, agent: str) -> None:
    from tutorplane.agent import metrics

    metrics.TURN_STAGE_SECONDS.labels("routing", agent).observe(decision.latency_ms / 1000.0)
    services.events.emit(
        "routing",
        turn_index=services.state.turn_index,
        subject=decision.subject.value,
        confidence=round(decision.confidence, 4),
        strategy=decision.strategy.value,
        stage=decision.stage.value,
        latency_ms=round(decision.latency_ms, 3),
        rationale=decision.rationale,
    )


async def route_in_code(
    agent: TutorAgent, chat_ctx: llm.ChatContext, student_text: str
) -> RoutingDecision | None:
    """The shared router's decision for the latest student turn (two-stage strategy only)."""
    services = agent.services
    router = services.router
    if router is None or services.settings.routing_strategy != "two_stage":
        return None
    state = services.state
    message_id = state.last_student_message_id
    history = routing_history(chat_ctx, services, exclude_id=message_id)
    decision = await router.route(
        student_text,
        history,
        session_id=state.session_id if services.persistable else None,
        turn_index=state.turn_index,
    )
    if message_id is not None:
        state.routed_subjects[message_id] = decision.subject.value
    publish_routing(services, decision, agent=agent.key)
    return decision


def handover_context(services: SessionServices, source: llm.ChatContext) -> llm.ChatContext:
    """The full conversation for the next agent, minus the student message that is being handed
    over (it is replayed as the new agent's pending question, so it appears once)."""
    ctx = source.copy(exclude_instructions=True)
    current = services.state.last_student_message_id
    if current is not None:
        ctx.items[:] = [item for item in ctx.items if item.id != current]
    return ctx


class SpecialistAgent(TutorAgent):
    """Math, history and the English fallback: teach one subject; hand back or escalate otherwise."""

    step: ClassVar[str] = "specialist"
    # What a subclass declares: its system prompt (rendered for the students' ages) and the voice
    # it speaks in (a key of the TTS voices; its LLM is looked up by ``key``).
    system_prompt: ClassVar[str]
    voice: ClassVar[str]

    def __init__(
        self,
        services: SessionServices,
        *,
        chat_ctx: llm.ChatContext | None = None,
        pending_question: str | None = None,
    ) -> None:
        super().__init__(
            services,
            instructions=render(self.system_prompt, services.settings.student_age_range),
            llm_model=services.llm_for(self.key),
            tts=services.tts_for(self.voice),
            chat_ctx=chat_ctx,
            pending_question=pending_question,
        )
        self._code_decided: dict[str, RoutingDecision] = {}

    async def decide_in_code(
        self, chat_ctx: llm.ChatContext, student_text: str | None, *, injected: bool = False
    ) -> llm.ChatChunk | None:
        # A handed-over question was routed here already: answer it, never bounce it.
        if student_text is None or injected:
            return None
        self._code_decided.clear()  # a decision never outlives its turn
        if self.state.handoffs_this_turn >= MAX_HANDOFFS_PER_TURN:
            return None
        decision = await route_in_code(self, chat_ctx, student_text)
        if decision is None:
            return None
        subject = decision.subject
        if subject == Subject.needs_teacher:
            self._code_decided["escalate_to_teacher"] = decision
            return tool_call_chunk("escalate_to_teacher", json.dumps({"reason": decision.rationale}))
        if subject in TEACHING_SUBJECTS and subject.value != self.subject:
            self._code_decided["route_back_to_orchestrator"] = decision
            return tool_call_chunk(
                "route_back_to_orchestrator",
                json.dumps({"reason": f"the student asked about {subject.value}"}),
            )
        return None

    @function_tool
    async def route_back_to_orchestrator(self, context: RunContext, reason: str) -> tuple[Agent, str]:
        """Hand the student back to the main tutor: the question is not about your subject, or the
        student wants something else. Do not answer it yourself.

        Args:
            reason: Why you are handing back, in one short sentence.
        """
        from tutorplane.agent.agents.orchestrator import OrchestratorAgent

        started = time.perf_counter()
        decision = self._code_decided.pop("route_back_to_orchestrator", None)
        state = self.state
        question = state.last_student_text
        record_handoff(
            self.services,
            from_agent=self.key,
            to_agent=ORCHESTRATOR,
            mode="in_session",
            reason=reason,
            question=question,
        )
        orchestrator = OrchestratorAgent(
            self.services,
            chat_ctx=handover_context(self.services, context.session.history),
            pending_question=question,
            pending_decision=decision,
        )
        from tutorplane.agent import metrics

        metrics.TURN_STAGE_SECONDS.labels("handoff", self.key).observe(time.perf_counter() - started)
        return orchestrator, TRANSITION_LINES[ORCHESTRATOR]

    @function_tool
    async def escalate_to_teacher(self, context: RunContext, reason: str) -> str:
        """Get the student's teacher: the student seems upset, unsafe, hurt, or asks for a real person.

        Args:
            reason: Why a teacher is needed, in one neutral sentence.
        """
        decided = self._code_decided.pop("escalate_to_teacher", None)
        self.services.escalations.raise_(reason, source="router" if decided is not None else "agent")
        return NEEDS_TEACHER_LINE
