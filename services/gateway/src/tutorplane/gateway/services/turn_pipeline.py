"""One guarded turn: input check (+PII mask) and routing -> specialist stream -> sentence guardrail
-> TTS, streamed as Server-Sent Events in order.

Events: ``turn``, ``routing``, ``guardrail`` (each non-allow action), ``sentence``, ``audio``,
``escalation``, ``done`` (stage latencies, usage), ``error`` (a friendly message). A sentence is
sent as soon as it passed the guardrail; its audio follows (``audio.index``..``audio.through`` name
the sentences a chunk speaks), so text may run ahead of speech but never the other way round.

The work runs in its own task feeding a queue, so a barge-in (a cancel from any replica, or the
client closing the stream) cancels generation, checks and TTS at whatever they are awaiting.
Audit rows go to the fire-and-forget writer; nothing here waits on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from tutorplane.common.telemetry import SESSION_ID_ATTR, USER_ID_ATTR
from tutorplane.db.audit import AuditWriter
from tutorplane.gateway.core.metrics import TURN_STAGE_SECONDS, TURNS, record_guardrail_decision
from tutorplane.gateway.services.cancellation import CancelRegistry
from tutorplane.gateway.services.coalesce import coalesce_ready
from tutorplane.gateway.services.session_directory import SessionDirectory, SessionInfo
from tutorplane.gateway.services.speaker import SentenceSpeaker
from tutorplane.gateway.services.speech import SpeechSynthesizer
from tutorplane.gateway.services.sse import sse_event
from tutorplane.guardrail.decision import CheckContext
from tutorplane.guardrail.guard import Guardrail
from tutorplane.guardrail.pii import mask_pii
from tutorplane.guardrail.pipeline import GuardrailEvent
from tutorplane.guardrail.policy import Action
from tutorplane.routing.router import Router
from tutorplane.routing.specialists import NeedsTeacherHandler, Specialists
from tutorplane.routing.types import RoutingDecision, Subject

log = logging.getLogger(__name__)
tracer = trace.get_tracer("tutorplane.gateway.turns")

FRIENDLY_ERROR = "Sorry, something went wrong on my side. Please ask again in a moment."
_END = object()

SPEAKERS = {
    Subject.math: "math",
    Subject.history: "history",
    Subject.english: "english",
    Subject.off_topic: "orchestrator",
    Subject.needs_teacher: "orchestrator",
}


@dataclass(frozen=True)
class Voices:
    math: str
    history: str
    english: str
    orchestrator: str

    def for_subject(self, subject: Subject | None) -> str:
        if subject == Subject.math:
            return self.math
        if subject == Subject.history:
            return self.history
        if subject == Subject.english:
            return self.english
        return self.orchestrator


@dataclass
class TurnRequest:
    session: SessionInfo
    user_id: str
    text: str
    speak: bool
    turn_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    subject_hint: Subject | None = None


@dataclass
class _TurnState:
    started: float
    turn_index: int = -1
    subject: Subject | None = None
    latencies: dict[str, float] = field(default_factory=dict)
    spoken: list[str] = field(default_factory=list)
    checked: int = 0  # every sentence the output guardrail decided on (the block-rate denominator)
    usage: list[dict[str, Any]] = field(default_factory=list)
    first_sentence_ms: float | None = None
    escalated: bool = False
    outcome: str = "completed"
    error_reason: str | None = None  # why the model failed, when the student heard the apology

    def mark(self, stage: str) -> float:
        ms = (time.perf_counter() - self.started) * 1000.0
        self.latencies.setdefault(stage, round(ms, 2))
        return ms


class TurnPipeline:
    def __init__(
        self,
        *,
        guardrail: Guardrail,
        router: Router,
        specialists: Specialists,
        speech: SpeechSynthesizer | None,
        voices: Voices,
        sessions: SessionDirectory,
        cancels: CancelRegistry,
        audit: AuditWriter,
        history_turns: int,
        timeout_s: float,
        escalate: Any,
    ) -> None:
        self.guardrail = guardrail
        self.router = router
        self.specialists = specialists
        self.speech = speech
        self.voices = voices
        self.sessions = sessions
        self.cancels = cancels
        self.audit = audit
        self.history_turns = history_turns
        self.timeout_s = timeout_s
        self._escalate = escalate  # (SessionInfo, reason, source) -> None, fire-and-forget

    @staticmethod
    def cancel_key(session_id: str, turn_id: str) -> str:
        return f"{session_id}/{turn_id}"

    async def stream(self, request: TurnRequest) -> AsyncIterator[bytes]:
        """SSE bytes of one turn. Closing this iterator (client gone) cancels the work."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        state = _TurnState(started=time.perf_counter())
        worker = asyncio.create_task(self._run(request, state, queue), name=f"turn-{request.turn_id}")
        key = self.cancel_key(request.session.id, request.turn_id)
        self.cancels.register(key, lambda: _cancel(worker))
        try:
            while True:
                # Everything already queued goes out as one write: a burst of events (a sentence, its
                # check, its audio) costs one pass through the middleware and one socket write.
                item = await queue.get()
                ready: list[bytes] = []
                while item is not _END:
                    ready.append(item)
                    if queue.empty():
                        break
                    item = queue.get_nowait()
                if ready:
                    yield b"".join(ready)
                if item is _END:
                    return
        finally:
            self.cancels.unregister(key)
            if not worker.done():
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await worker

    async def _run(self, request: TurnRequest, state: _TurnState, queue: asyncio.Queue[Any]) -> None:
        info = request.session
        emit = queue.put_nowait
        span = tracer.start_span(
            "tutor.turn",
            attributes={
                SESSION_ID_ATTR: info.id,
                USER_ID_ATTR: request.user_id,
                "session.id": info.id,
                "tutorplane.variant": info.variant,
                "tutorplane.turn_id": request.turn_id,
            },
        )
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._turn(request, state, emit)
        except asyncio.CancelledError:
            state.outcome = "cancelled"
            # Swallowed on purpose (barge-in): the turn still ends with a `done` event.
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
        except TimeoutError:
            state.outcome = "error"
            log.warning("turn timed out", extra={"turn_id": request.turn_id})
            emit(sse_event("error", {"message": "That took too long. Please ask again."}))
        except Exception:
            state.outcome = "error"
            log.exception("turn failed", extra={"turn_id": request.turn_id})
            emit(sse_event("error", {"message": FRIENDLY_ERROR}))
        finally:
            total = state.mark("total")
            TURNS.labels(outcome=state.outcome).inc()
            for stage, ms in state.latencies.items():
                TURN_STAGE_SECONDS.labels(stage=stage).observe(ms / 1000.0)
            self._record_answer(request, state)
            e2e = state.latencies.get("first_audio", state.first_sentence_ms)
            span.set_attribute("tutorplane.turn_index", state.turn_index)
            span.set_attribute("tutorplane.outcome", state.outcome)
            if state.error_reason is not None:
                span.set_attribute("tutorplane.error_reason", state.error_reason)
            span.set_attribute("tutorplane.total_ms", total)
            if state.subject is not None:
                span.set_attribute("tutorplane.subject", state.subject.value)
            if e2e is not None:
                span.set_attribute("e2e_response_ms", e2e)
                span.set_attribute("tutorplane.e2e_latency_ms", e2e)
            span.end()
            emit(
                sse_event(
                    "done",
                    {
                        "turn_id": request.turn_id,
                        "turn_index": state.turn_index,
                        "outcome": state.outcome,
                        "cancelled": state.outcome == "cancelled",
                        "latency_ms": state.latencies,
                        "usage": state.usage,
                        "sentences": len(state.spoken),
                        "checked": state.checked,
                    },
                )
            )
            emit(_END)

    async def _turn(self, request: TurnRequest, state: _TurnState, emit: Any) -> None:
        info = request.session
        state.turn_index, history = await self.sessions.begin_turn(info.id, self.history_turns)
        emit(
            sse_event(
                "turn", {"turn_id": request.turn_id, "turn_index": state.turn_index, "session_id": info.id}
            )
        )
        context = CheckContext(session_id=info.id, source="gateway")
        masked = mask_pii(request.text).text
        # Input moderation and routing run together; only masked text can reach a model.
        routing = asyncio.ensure_future(
            self.router.route(masked, history, session_id=uuid.UUID(info.id), turn_index=state.turn_index)
        )
        try:
            decision = await self.guardrail.check_input(request.text, context=context)
        except BaseException:
            routing.cancel()
            raise
        state.mark("input_check")
        record_guardrail_decision("input", decision.action.value)
        self.audit.submit(
            "transcript_turns",
            {
                "session_id": uuid.UUID(info.id),
                "turn_index": state.turn_index,
                "speaker": "student",
                "role": "user",
                "content": decision.text or masked,
            },
        )
        if decision.action != Action.allow:
            routing.cancel()
            emit(sse_event("guardrail", _input_event(decision)))
            if decision.escalate:
                self._raise(info, state, emit, f"student message flagged ({decision.category})", "guardrail")
            line = decision.safe_line or "Let's talk about something else. What would you like to learn?"
            await self._speak_lines(request, state, emit, [line], Subject.off_topic)
            return
        route = await routing
        state.mark("routing")
        subject = route.subject
        if request.subject_hint is not None and subject in (Subject.off_topic, Subject.english):
            subject = request.subject_hint  # the Realtime session already decided math/history
        state.subject = subject
        emit(sse_event("routing", _routing_event(route, subject)))
        if subject == Subject.needs_teacher:
            escalation = NeedsTeacherHandler.escalation(route, masked)
            self._raise(info, state, emit, escalation.reason, escalation.source)
        specialist = self.specialists.for_subject(subject)
        reply = specialist.stream(decision.text, history)
        await self._speak_stream(request, state, emit, reply, subject, context)
        if reply.error is not None:
            # The student heard an apology instead of an answer: a failed turn for the error-rate
            # alert and the rollout analysis, as a failed model reply is in the agent pool.
            state.outcome = "error"
            state.error_reason = reply.error
        if reply.usage is not None:
            row = reply.usage.to_row(uuid.UUID(info.id), state.turn_index)
            self.audit.submit("provider_usage", row)
            state.usage.append({k: v for k, v in row.items() if k not in ("session_id", "turn_index")})

    async def _speak_stream(
        self,
        request: TurnRequest,
        state: _TurnState,
        emit: Any,
        deltas: AsyncIterator[str],
        subject: Subject,
        context: CheckContext,
    ) -> None:
        info = request.session

        def on_event(event: GuardrailEvent) -> None:
            if event.kind == "sentence" and event.sentence is not None:
                s = event.sentence
                emit(
                    sse_event(
                        "guardrail",
                        {
                            "direction": "output",
                            "index": s.index,
                            "action": s.action.value,
                            "category": s.category,
                            "score": round(s.score, 4),
                            "fail_closed": s.fail_closed,
                            "reason": s.reason,
                        },
                    )
                )
            elif event.kind == "escalation" and event.decision is not None:
                self._raise(
                    info, state, emit, f"tutor answer flagged ({event.decision.category})", "guardrail"
                )

        first_token = True

        async def timed(source: AsyncIterator[str]) -> AsyncIterator[str]:
            nonlocal first_token
            async for delta in source:
                if first_token:
                    first_token = False
                    state.mark("first_token")
                yield delta

        speaker = self._speaker(request, state, emit, subject)
        try:
            stream = self.guardrail.stream(coalesce_ready(timed(deltas)), context=context, on_event=on_event)
            async with stream as sentences:
                async for sentence in sentences:
                    record_guardrail_decision("output", sentence.action.value)
                    state.checked += 1
                    if sentence.text.strip():
                        self._announce(
                            state, emit, sentence.index, sentence.text, sentence.action.value, speaker
                        )
            if speaker is not None:
                await speaker.finish()
        finally:
            if speaker is not None:
                await speaker.aclose()

    async def _speak_lines(
        self, request: TurnRequest, state: _TurnState, emit: Any, lines: list[str], subject: Subject
    ) -> None:
        speaker = self._speaker(request, state, emit, subject)
        try:
            for index, line in enumerate(lines):
                self._announce(state, emit, index, line, "allow", speaker)
            if speaker is not None:
                await speaker.finish()
        finally:
            if speaker is not None:
                await speaker.aclose()

    def _speaker(
        self, request: TurnRequest, state: _TurnState, emit: Any, subject: Subject
    ) -> SentenceSpeaker | None:
        if not request.speak or self.speech is None:
            return None
        speech = self.speech
        session_id = uuid.UUID(request.session.id)

        def on_usage(seconds: float) -> None:
            row = {
                "session_id": session_id,
                "turn_index": state.turn_index,
                "provider": "openai",
                "model": speech.model,
                "input_tokens": 0,
                "output_tokens": 0,
                "audio_seconds": round(seconds, 3),
                "kind": "tts",
            }
            self.audit.submit("provider_usage", row)
            state.usage.append({k: v for k, v in row.items() if k not in ("session_id", "turn_index")})

        return SentenceSpeaker(
            speech,
            self.voices.for_subject(subject),
            emit,
            on_first_audio=lambda: state.mark("first_audio"),
            on_usage=on_usage,
        )

    @staticmethod
    def _announce(
        state: _TurnState, emit: Any, index: int, text: str, action: str, speaker: SentenceSpeaker | None
    ) -> None:
        """A checked sentence: shown at once, spoken in order."""
        if state.first_sentence_ms is None:
            state.first_sentence_ms = state.mark("first_sentence")
        state.spoken.append(text)
        emit(sse_event("sentence", {"index": index, "text": text, "action": action}))
        if speaker is not None:
            speaker.say(index, text)

    def _raise(self, info: SessionInfo, state: _TurnState, emit: Any, reason: str, source: str) -> None:
        if state.escalated:
            return
        state.escalated = True
        self._escalate(info, reason, source)
        emit(sse_event("escalation", {"source": source, "message": "A teacher has been asked to help you."}))

    def _record_answer(self, request: TurnRequest, state: _TurnState) -> None:
        if state.turn_index < 0 or not state.spoken:
            return
        subject = state.subject or Subject.off_topic
        answer = " ".join(state.spoken)
        self.audit.submit(
            "transcript_turns",
            {
                "session_id": uuid.UUID(request.session.id),
                "turn_index": state.turn_index,
                "speaker": SPEAKERS.get(subject, "orchestrator"),
                "role": "assistant",
                "content": answer,
                "subject": subject.value,
                "latency_ms": state.first_sentence_ms,
                "checked_sentences": state.checked,
            },
        )
        task = asyncio.ensure_future(
            self.sessions.remember_turns(
                request.session.id,
                [
                    {"role": "user", "text": mask_pii(request.text).text, "subject": subject.value},
                    {"role": "assistant", "text": answer[:2000], "subject": subject.value},
                ],
            )
        )
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)


_BACKGROUND: set[asyncio.Task[Any]] = set()


def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()


def _routing_event(route: RoutingDecision, subject: Subject) -> dict[str, Any]:
    return {
        "subject": subject.value,
        "routed_subject": route.subject.value,
        "confidence": round(route.confidence, 4),
        "stage": route.stage.value,
        "strategy": route.strategy.value,
        "latency_ms": round(route.latency_ms, 3),
        "rationale": route.rationale[:300],
    }


def _input_event(decision: Any) -> dict[str, Any]:
    return {
        "direction": "input",
        "action": decision.action.value,
        "category": decision.category,
        "score": round(decision.score, 4),
        "fail_closed": decision.fail_closed,
        "reason": decision.reason,
        "pii": list(decision.pii),
    }
