"""The base of every Tutorplane agent: nothing reaches speech without passing the guardrail.

Where the check sits:

* pipeline agents (orchestrator, math, history, English fallback) guard inside ``llm_node``: the
  model's text deltas go through the shared sentence pipeline and only released sentences leave
  the node, so the chat history, the transcript and the TTS all carry the same, checked text;
* the Realtime English agent has no ``llm_node``; it guards in ``transcription_node`` and its
  ``tts_node`` speaks only what that guard released (see :mod:`tutorplane.agent.agents.english`).

``tts_node`` must yield ``rtc.AudioFrame`` objects: the SDK silently drops anything else (text
returned from ``tts_node`` produced no audio and no error in an earlier system).

Each new student message is PII-masked in place (the model never sees it unmasked) and moderated;
the input check runs concurrently with routing and with the model's first tokens, and nothing is
released until it has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from typing import Any, ClassVar

from livekit import rtc
from livekit.agents import Agent, llm
from livekit.agents.types import NOT_GIVEN, FlushSentinel
from livekit.agents.utils import shortuuid
from livekit.agents.voice import ModelSettings
from tutorplane.agent import metrics
from tutorplane.agent.services import SessionServices
from tutorplane.agent.speech_guard import ALLOW, ESCALATE, InputDecision, SentenceDecision
from tutorplane.agent.state import SessionState, Speaker
from tutorplane.agent.telemetry import event_span, session_span
from tutorplane.agent.transcript import injected_message, input_already_checked, is_injected
from tutorplane.routing.prompts import FALLBACK_BEFORE_ANSWER, FALLBACK_MID_ANSWER

log = logging.getLogger(__name__)

# Tools whose output is a fixed line we wrote: the transition after a handoff, the escalation
# confirmation. It is spoken as is, without a second model call.
VERBATIM_TOOLS: frozenset[str] = frozenset(
    {
        "route_to_math",
        "route_to_history",
        "route_to_english",
        "route_back_to_orchestrator",
        "escalate_to_teacher",
    }
)


def latest_user_message(chat_ctx: llm.ChatContext) -> llm.ChatMessage | None:
    for item in reversed(chat_ctx.items):
        if item.type == "message" and item.role == "user":
            return item
        if item.type == "message" and item.role == "assistant":
            return None
    return None


def verbatim_tool_output(chat_ctx: llm.ChatContext) -> str | None:
    """The fixed line to speak when this generation answers one of our own tools."""
    items = chat_ctx.items
    if not items:
        return None
    last = items[-1]
    if last.type == "function_call_output" and last.name in VERBATIM_TOOLS and not last.is_error:
        return last.output.strip() or None
    return None


def tool_call_chunk(name: str, arguments: str) -> llm.ChatChunk:
    """A tool call decided in code, emitted exactly as if the model had made it."""
    return llm.ChatChunk(
        id=shortuuid("route_"),
        delta=llm.ChoiceDelta(
            role="assistant",
            tool_calls=[llm.FunctionToolCall(name=name, arguments=arguments, call_id=shortuuid("call_"))],
        ),
    )


class TutorAgent(Agent):
    """Shared behaviour of the orchestrator and the specialists."""

    key: ClassVar[str] = "tutor"
    speaker: ClassVar[Speaker] = Speaker.orchestrator
    subject: ClassVar[str | None] = None
    step: ClassVar[str] = "specialist"

    def __init__(
        self,
        services: SessionServices,
        *,
        instructions: str,
        llm_model: Any = NOT_GIVEN,
        tts: Any = NOT_GIVEN,
        chat_ctx: llm.ChatContext | None = None,
        pending_question: str | None = None,
        pending_checked: bool = True,
        tools: list[Any] | None = None,
        use_tts_aligned_transcript: bool | Any = NOT_GIVEN,
    ) -> None:
        super().__init__(
            instructions=instructions,
            llm=llm_model,
            tts=tts,
            chat_ctx=chat_ctx if chat_ctx is not None else NOT_GIVEN,
            tools=tools or [],
            use_tts_aligned_transcript=use_tts_aligned_transcript,
        )
        self.services = services
        self._pending_question = pending_question
        # In-session handoffs carry a question this session already moderated; one that arrives
        # from another worker's dispatch is checked again.
        self._pending_checked = pending_checked

    # ------------------------------------------------------------------ helpers

    @property
    def state(self) -> SessionState:
        return self.services.state

    @property
    def pending_question(self) -> str | None:
        return self._pending_question

    def _announce(self) -> None:
        self.state.speaking_agent = self.speaker
        self.services.events.state(speaking_agent=self.speaker.value, step=self.step)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ lifecycle

    async def on_enter(self) -> None:
        self._announce()
        event_span("agent.activated", self.state, agent=self.key, pending=bool(self._pending_question))
        question, self._pending_question = self._pending_question, None
        if question:
            # The handed-over question is replayed as a user message so the new agent answers it
            # (without it the specialist stayed silent); it is marked and counted so the
            # transcript does not show it as a second student turn.
            self.state.skip_next_user_turns += 1
            self.session.generate_reply(user_input=injected_message(question, checked=self._pending_checked))
            return
        await self.on_enter_without_question()

    async def on_enter_without_question(self) -> None:
        """Called on entry when no question was handed over (the orchestrator greets)."""

    # ------------------------------------------------------------------ llm_node

    async def llm_node(  # type: ignore[override]
        self,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        model_settings: ModelSettings,
    ) -> AsyncGenerator[llm.ChatChunk | str | FlushSentinel, None]:
        self.state.speaking_agent = self.speaker
        spoken = verbatim_tool_output(chat_ctx)
        if spoken is not None:
            async for out in self._release_trusted(spoken):
                yield out
            return
        if self.state.handing_over:
            # Another worker is taking over; this session only finishes its transition line, so
            # two tutors never answer the same student.
            return

        message = latest_user_message(chat_ctx)
        student_text: str | None = None
        injected = False
        input_check: asyncio.Task[InputDecision] | None = None
        if message is not None and message.id not in self.state.checked_input_ids:
            self.state.checked_input_ids.add(message.id)
            injected = is_injected(message)
            if not injected:
                self.state.register_student_message(message.id, input_at=message.created_at)
            raw = message.text_content or ""
            masked = self.services.guard.mask(raw)
            if masked != raw:
                message.content = [masked]
            student_text = masked
            self.state.last_student_text = masked
            self.state.last_student_message_id = message.id
            if not (injected and input_already_checked(message)):
                input_check = asyncio.ensure_future(self._check_input(masked))

        try:
            decided = await self.decide_in_code(chat_ctx, student_text, injected=injected)
            if decided is not None:
                verdict = await input_check if input_check is not None else None
                if verdict is not None and not verdict.allowed:
                    async for out in self._refuse_input(verdict):
                        yield out
                    return
                yield decided
                return
            async for reply in self._guarded_model_reply(chat_ctx, tools, model_settings, input_check):
                yield reply
        finally:
            if input_check is not None and not input_check.done():
                input_check.cancel()

    async def decide_in_code(
        self, chat_ctx: llm.ChatContext, student_text: str | None, *, injected: bool = False
    ) -> llm.ChatChunk | None:
        """A handoff or escalation decided without the model (two-stage routing), as a tool call.

        ``injected`` is true for a question handed over by another agent (already routed)."""
        return None

    def model_tools(self, tools: list[llm.Tool]) -> list[llm.Tool]:
        """The tools offered to the model for this reply (the orchestrator narrows them)."""
        return tools

    def model_chat_ctx(self, chat_ctx: llm.ChatContext) -> llm.ChatContext:
        """The context sent to the model for this reply."""
        return chat_ctx

    async def _check_input(self, text: str) -> InputDecision:
        started = time.perf_counter()
        decision = await self.services.guard.check_input(text, session_id=self.state.session_id)
        metrics.TURN_STAGE_SECONDS.labels("input_check", self.key).observe(time.perf_counter() - started)
        metrics.GUARDRAIL_ACTIONS.labels("input", decision.action, decision.category or "none").inc()
        if decision.action != ALLOW:
            self.services.events.emit(
                "guardrail",
                turn_index=self.state.turn_index,
                direction="input",
                action=decision.action,
                category=decision.category,
                score=decision.score,
                fail_closed=decision.fail_closed,
                agent=self.key,
            )
        return decision

    async def _refuse_input(self, verdict: InputDecision) -> AsyncIterator[str]:
        if verdict.action == ESCALATE:
            self.services.escalations.raise_(
                f"student message flagged ({verdict.category or 'unsafe'})", source="student"
            )
        line = verdict.safe_line or "Let's talk about something else. What would you like to learn?"
        async for out in self._release_trusted(line):
            yield out

    async def _release_trusted(self, text: str, *, continues: bool = False) -> AsyncIterator[str]:
        """Our own fixed lines: spoken as they are, still numbered and announced like any sentence."""
        self._on_sentence(SentenceDecision(text=text, action=ALLOW))
        yield " " + text if continues else text

    def _on_sentence(self, decision: SentenceDecision) -> None:
        index = self.state.next_sentence_index()
        if index == 0 and self.state.first_sentence_ms is not None:
            metrics.TURN_STAGE_SECONDS.labels("first_sentence", self.key).observe(
                self.state.first_sentence_ms / 1000
            )
        if decision.action != ALLOW:
            metrics.GUARDRAIL_ACTIONS.labels("output", decision.action, decision.category or "none").inc()
            self.services.events.emit(
                "guardrail",
                turn_index=self.state.turn_index,
                direction="output",
                action=decision.action,
                category=decision.category,
                score=decision.score,
                fail_closed=decision.fail_closed,
                agent=self.key,
            )
        else:
            metrics.GUARDRAIL_ACTIONS.labels("output", ALLOW, "none").inc()
        self.services.events.emit(
            "sentence",
            turn_index=self.state.turn_index,
            index=index,
            agent=self.key,
            text=decision.text,
            action=decision.action,
            latency_ms=round(self.state.first_sentence_ms, 1)
            if index == 0 and self.state.first_sentence_ms is not None
            else None,
        )
        if decision.action == ESCALATE:
            self.services.escalations.raise_(
                f"tutor answer stopped by the guardrail ({decision.category or 'unsafe'})", source="guardrail"
            )

    async def _guarded_model_reply(
        self,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        model_settings: ModelSettings,
        input_check: asyncio.Future[InputDecision] | None,
    ) -> AsyncIterator[llm.ChatChunk | str]:
        """The model's reply with every sentence checked; tool calls pass through after the input check."""
        outbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        text_in: asyncio.Queue[str | None] = asyncio.Queue()
        started = time.perf_counter()
        first_token_seen = False

        async def deltas() -> AsyncIterator[str]:
            while (delta := await text_in.get()) is not None:
                yield delta

        async def pump_model() -> None:
            nonlocal first_token_seen
            stream = Agent.default.llm_node(
                self, self.model_chat_ctx(chat_ctx), self.model_tools(tools), model_settings
            )
            try:
                async for chunk in stream:
                    content: str | None = None
                    if isinstance(chunk, str):
                        content = chunk
                    elif isinstance(chunk, llm.ChatChunk):
                        delta = chunk.delta
                        if delta is not None:
                            content = delta.content
                            if delta.tool_calls:
                                outbox.put_nowait(
                                    (
                                        "chunk",
                                        llm.ChatChunk(
                                            id=chunk.id,
                                            delta=llm.ChoiceDelta(
                                                role="assistant",
                                                tool_calls=delta.tool_calls,
                                                extra=delta.extra,
                                            ),
                                        ),
                                    )
                                )
                        if chunk.usage is not None:
                            outbox.put_nowait(("chunk", llm.ChatChunk(id=chunk.id, usage=chunk.usage)))
                    if content:
                        if not first_token_seen:
                            first_token_seen = True
                            metrics.TURN_STAGE_SECONDS.labels("llm_first_token", self.key).observe(
                                time.perf_counter() - started
                            )
                        text_in.put_nowait(content)
            finally:
                text_in.put_nowait(None)
                with contextlib.suppress(Exception):
                    await stream.aclose()

        async def pump_guard() -> None:
            try:
                async for decision in self.services.guard.guard_output(
                    deltas(), session_id=self.state.session_id, source=f"agent:{self.key}"
                ):
                    self.state.checked_sentences += 1
                    outbox.put_nowait(("sentence", decision))
                    if decision.stops_answer:
                        break
            finally:
                outbox.put_nowait(("done", None))

        model_task = asyncio.create_task(pump_model(), name=f"{self.key}.model")
        guard_task = asyncio.create_task(pump_guard(), name=f"{self.key}.guard")
        released = 0
        try:
            if input_check is not None:
                verdict = await input_check
                if not verdict.allowed:
                    model_task.cancel()
                    async for out in self._refuse_input(verdict):
                        yield out
                    return
            while True:
                kind, value = await outbox.get()
                if kind == "done":
                    break
                if kind == "chunk":
                    yield value
                    continue
                decision: SentenceDecision = value
                self._on_sentence(decision)
                if decision.text:  # empty: the safe line just said, repeated by this sentence
                    yield decision.text if released == 0 else " " + decision.text
                    released += 1
                if decision.stops_answer:
                    model_task.cancel()
                    break
            if (
                model_task.done()
                and not model_task.cancelled()
                and (exc := model_task.exception()) is not None
            ):
                raise exc
        except Exception as exc:
            # A failing model (after the SDK's retries) must not leave the student in silence.
            log.warning("model reply failed", extra={"agent": self.key, "error": repr(exc)})
            metrics.SESSION_ERRORS.labels(self.state.role, "model_error").inc()
            line = FALLBACK_BEFORE_ANSWER if released == 0 else FALLBACK_MID_ANSWER.strip()
            async for out in self._release_trusted(line, continues=released > 0):
                yield out
        finally:
            for task in (model_task, guard_task):
                if not task.done():
                    task.cancel()
            await asyncio.gather(model_task, guard_task, return_exceptions=True)

    # ------------------------------------------------------------------ tts_node

    async def tts_node(  # type: ignore[override]
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncGenerator[rtc.AudioFrame, None]:
        self.state.speaking_agent = self.speaker
        started = time.perf_counter()
        first = True
        with session_span("tts.speech", self.state, agent=self.key):
            async for frame in Agent.default.tts_node(self, self.tts_text(text), model_settings):
                if not isinstance(frame, rtc.AudioFrame):
                    log.error("tts produced a non-audio item; dropped", extra={"type": type(frame).__name__})
                    continue
                if first:
                    first = False
                    metrics.TURN_STAGE_SECONDS.labels("tts_first_audio", self.key).observe(
                        time.perf_counter() - started
                    )
                    self.services.events.state(speaking_agent=self.speaker.value, step="tts")
                metrics.TTS_FRAMES.labels(self.key).inc()
                yield frame

    def tts_text(self, text: AsyncIterable[str]) -> AsyncIterable[str]:
        """The text to synthesize: already guarded in ``llm_node`` for pipeline agents."""
        return text
