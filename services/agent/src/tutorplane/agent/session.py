"""Starting one student's session in a job: shared resources, the services, the ``AgentSession``.

The functions here take an ``AgentSession`` and an optional room, so tests drive exactly the code
the worker runs, in text mode, without a LiveKit server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import AgentSession, llm
from tutorplane.agent import metrics
from tutorplane.agent.agents.english import EnglishRealtimeAgent
from tutorplane.agent.agents.orchestrator import OrchestratorAgent
from tutorplane.agent.audit import AuditSink, LogOnlyAudit
from tutorplane.agent.config import AgentRole, AgentSettings
from tutorplane.agent.dispatch import AgentDispatcher, LiveKitDispatcher
from tutorplane.agent.events import EventBus, RoomSink
from tutorplane.agent.metadata import DispatchKind, JobMetadata
from tutorplane.agent.providers import ProviderFactory
from tutorplane.agent.services import SessionServices
from tutorplane.agent.speech_guard import ESCALATE, GuardrailSpeechGuard, SpeechGuard
from tutorplane.agent.state import SessionState
from tutorplane.agent.telemetry import event_span
from tutorplane.agent.transcript import TranscriptRecorder, is_injected
from tutorplane.agent.usage import UsageRecorder
from tutorplane.routing.clients import OFFLINE_KEY
from tutorplane.routing.router import Router

log = logging.getLogger(__name__)

SESSION_CAP_LINE = "We've reached the end of our time together today. Great work, and see you next time!"
TEACHER_JOINED_LINE = "Your teacher has joined us."
INPUT_BLOCKED_LINE = "Let's talk about something else. What would you like to learn about?"


@dataclass
class Prewarmed:
    """What a job process builds before its job arrives (``prewarm``): models and SDK clients whose
    construction would otherwise block the session's event loop."""

    providers: ProviderFactory
    checker: Any = None  # tutorplane.guardrail.GuardrailChecker
    routing_clients: Any = None  # tutorplane.routing.clients.ProviderClients
    local_classifier: Any = None
    vad: Any = None


def prewarm_resources(settings: AgentSettings) -> Prewarmed:
    from tutorplane.routing.clients import build_clients
    from tutorplane.routing.local import LocalClassifier

    warm = Prewarmed(providers=ProviderFactory(settings).warm(), checker=build_checker_from(settings))
    if settings.agent_role == AgentRole.pipeline:
        from livekit.plugins import silero  # imported on the main thread by the worker module

        warm.vad = silero.VAD.load()
        if settings.routing_strategy == "two_stage":
            warm.local_classifier = LocalClassifier.load(context_turns=settings.routing_context_turns)
            warm.routing_clients = build_clients(settings)
    return warm


@dataclass
class JobResources:
    """Long-lived clients of one job: audit writer, guardrail, router, dispatcher, model clients."""

    audit: AuditSink
    guard: SpeechGuard
    router: Router | None
    dispatcher: AgentDispatcher | None
    providers: ProviderFactory
    vad: Any = None
    _closers: list[Any] = field(default_factory=list)

    async def aclose(self) -> None:
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                await closer()
        self._closers.clear()


def build_checker_from(settings: AgentSettings) -> Any:
    """The guardrail checker: the guardrail service when configured, else moderation in-process."""
    from tutorplane.guardrail import build_checker

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    if not key and settings.offline:
        key = OFFLINE_KEY
    return build_checker(
        policy=settings.guardrail_policy(),
        service_url=settings.guardrail_service_url,
        service_timeout_s=settings.guardrail_service_timeout_s,
        openai_api_key=key,
        openai_base_url=settings.openai_base_url,
        moderation_model=settings.moderation_model,
        rewrite_model=settings.rewrite_model,
        moderation_timeout_s=settings.moderation_timeout_s,
        rewrite_timeout_s=settings.rewrite_timeout_s,
    )


def build_guard(settings: AgentSettings, audit: AuditSink, checker: Any = None) -> SpeechGuard:
    from tutorplane.guardrail import Guardrail

    guardrail = Guardrail(
        checker or build_checker_from(settings),
        config=settings.pipeline_config(),
        audit=audit,
        hash_key=settings.hash_key(),
    )
    return GuardrailSpeechGuard(guardrail)


async def open_resources(
    settings: AgentSettings,
    *,
    audit: AuditSink | None = None,
    guard: SpeechGuard | None = None,
    router: Router | None = None,
    dispatcher: AgentDispatcher | None = None,
    prewarmed: Prewarmed | None = None,
) -> JobResources:
    """Create what a job needs from settings; anything passed in is used as is (tests, prewarm)."""
    closers: list[Any] = []
    warm = prewarmed or Prewarmed(providers=ProviderFactory(settings))
    closers.append(warm.providers.aclose)
    if audit is None:
        if settings.database_url is not None:
            from tutorplane.db.audit import SERVICE_LINGER_S, AuditWriter
            from tutorplane.db.pool import create_pool

            pool = await create_pool(
                settings.database_url.get_secret_value(),
                min_size=1,
                max_size=2,
                application_name=settings.service_name,
            )
            writer = AuditWriter(
                pool,
                max_retries=settings.audit_max_retries,
                queue_size=settings.audit_queue_size,
                linger_s=SERVICE_LINGER_S,
            )
            writer.start()
            audit = writer
            closers.append(pool.close)
            closers.append(writer.aclose)
        else:
            log.warning("no database configured: audit rows are logged, not stored (console/dev mode)")
            audit = LogOnlyAudit()
    if guard is None:
        guard = build_guard(settings, audit, warm.checker)
        closers.append(guard.aclose)
    if (
        router is None
        and settings.routing_strategy == "two_stage"
        and settings.agent_role == AgentRole.pipeline
    ):
        from tutorplane.routing.clients import build_clients
        from tutorplane.routing.wiring import build_router

        clients = warm.routing_clients or build_clients(settings)
        closers.append(clients.aclose)
        router = build_router(clients, settings, settings, audit=audit, local=warm.local_classifier)
    if dispatcher is None and settings.livekit_configured():
        assert settings.livekit_url and settings.livekit_api_key and settings.livekit_api_secret
        lk = LiveKitDispatcher(
            settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret.get_secret_value()
        )
        closers.append(lk.aclose)
        dispatcher = lk
    return JobResources(
        audit=audit,
        guard=guard,
        router=router,
        dispatcher=dispatcher,
        providers=warm.providers,
        vad=warm.vad,
        _closers=closers,
    )


def new_state(settings: AgentSettings, metadata: JobMetadata, room_name: str) -> SessionState:
    state = SessionState(
        session_id=str(metadata.session_id),
        room_name=room_name,
        student_id=str(metadata.student_id) if metadata.student_id else None,
        role=settings.agent_role.value,
        turn_index=metadata.turn_index,
        subjects=list(metadata.subjects),
        english_realtime_down=metadata.english_fallback,
    )
    return state


def build_services(
    settings: AgentSettings,
    resources: JobResources,
    state: SessionState,
    sink: RoomSink,
    *,
    llm_overrides: dict[str, llm.LLM] | None = None,
) -> SessionServices:
    return SessionServices(
        settings=settings,
        state=state,
        guard=resources.guard,
        audit=resources.audit,
        events=EventBus(state.session_id, sink),
        router=resources.router,
        dispatcher=resources.dispatcher,
        providers=resources.providers,
        llm_overrides=dict(llm_overrides or {}),
    )


def pipeline_session(services: SessionServices, *, vad: Any = None, with_audio: bool = True) -> AgentSession:
    """The STT/LLM/TTS session of the pipeline worker (each agent brings its own LLM and voice)."""
    settings = services.settings
    assert services.providers is not None
    kwargs: dict[str, Any] = {}
    if with_audio:
        kwargs["stt"] = services.providers.stt()
        kwargs["vad"] = vad
    return AgentSession(
        userdata=services.state,
        turn_handling={
            "endpointing": {
                "min_delay": settings.min_endpointing_delay_s,
                "max_delay": settings.max_endpointing_delay_s,
            },
            # Input checks and routing run once per student turn; a speculative generation on a
            # partial transcript would route (and audit) a turn that never happened.
            "preemptive_generation": {"enabled": False},
        },
        conn_options=_session_conn_options(services),
        **kwargs,
    )


def english_session(services: SessionServices) -> AgentSession:
    """The English worker's session: the Realtime model lives on the agent (server-side turn taking)."""
    return AgentSession(userdata=services.state, conn_options=_session_conn_options(services))


def _session_conn_options(services: SessionServices) -> Any:
    from livekit.agents.voice.agent_session import SessionConnectOptions

    assert services.providers is not None
    options = services.providers.conn_options()
    return SessionConnectOptions(stt_conn_options=options, llm_conn_options=options, tts_conn_options=options)


def follow_agent_state(services: SessionServices, session: AgentSession) -> None:
    """Publish the agent's listening/thinking/speaking state for the flow view (sync handler)."""

    def on_state(event: Any) -> None:
        services.events.state(
            agent_state=str(event.new_state), speaking_agent=services.state.speaking_agent.value
        )

    session.on("agent_state_changed", on_state)


async def start_pipeline_session(
    services: SessionServices,
    metadata: JobMetadata,
    session: AgentSession,
    *,
    room: Any = None,
    room_options: Any = None,
) -> TranscriptRecorder:
    """Start the orchestrator for a new session, or for a student coming back from English."""
    recorder = TranscriptRecorder(
        services.state, services.events, services.audit, services.guard.mask, persist=services.persistable
    )
    recorder.attach(session)
    UsageRecorder(services.state, services.audit, persist=services.persistable).attach(session)
    follow_agent_state(services, session)
    kind = metadata.kind
    question = metadata.question if kind == DispatchKind.return_from_english else None
    orchestrator = OrchestratorAgent(
        services, pending_question=question, pending_checked=False, returning=kind != DispatchKind.start
    )
    if kind == DispatchKind.return_from_english and metadata.reason == "goodbye" and not question:
        orchestrator.farewell = True
    metrics.SESSIONS.labels(services.state.role, kind.value).inc()
    event_span("session.start", services.state, kind=kind.value)
    kwargs: dict[str, Any] = {}
    if room is not None:
        kwargs["room"] = room
        if room_options is not None:
            kwargs["room_options"] = room_options
    await session.start(orchestrator, **kwargs)
    return recorder


async def start_english_session(
    services: SessionServices,
    metadata: JobMetadata,
    session: AgentSession,
    *,
    realtime_model: llm.RealtimeModel,
    room: Any = None,
    audience_ready: asyncio.Event | None = None,
) -> TranscriptRecorder:
    """Start the Realtime English tutor with the question the orchestrator handed over."""
    if metadata.kind != DispatchKind.to_english:
        raise ValueError(f"the English worker takes to_english dispatches, got {metadata.kind.value}")
    recorder = TranscriptRecorder(
        services.state,
        services.events,
        services.audit,
        services.guard.mask,
        persist=services.persistable,
        counter_only=True,
    )
    recorder.attach(session)
    UsageRecorder(services.state, services.audit, persist=services.persistable, realtime=True).attach(session)
    follow_agent_state(services, session)
    watch_english_input(services, session)
    services.state.note_subject("english")
    agent = EnglishRealtimeAgent(
        services,
        realtime_model=realtime_model,
        pending_question=metadata.question,
        audience_ready=audience_ready,
    )
    metrics.SESSIONS.labels(services.state.role, metadata.kind.value).inc()
    event_span("session.start", services.state, kind=metadata.kind.value)
    kwargs: dict[str, Any] = {"room": room} if room is not None else {}
    await session.start(agent, **kwargs)
    return recorder


def watch_english_input(services: SessionServices, session: AgentSession) -> None:
    """Moderate what the student says to the Realtime tutor (audio goes to the model directly, so
    the check runs as soon as the transcript exists): a block or escalation stops the reply and the
    student hears the safe line."""

    async def check(text: str) -> None:
        decision = await services.guard.check_input(text, session_id=services.state.session_id)
        metrics.GUARDRAIL_ACTIONS.labels("input", decision.action, decision.category or "none").inc()
        if decision.allowed:
            return
        services.events.emit(
            "guardrail",
            turn_index=services.state.turn_index,
            direction="input",
            action=decision.action,
            category=decision.category,
            score=decision.score,
            fail_closed=decision.fail_closed,
            agent="english",
        )
        if decision.action == ESCALATE:
            services.escalations.raise_(
                f"student message flagged ({decision.category or 'unsafe'})", source="student"
            )
        with contextlib.suppress(RuntimeError):
            await session.interrupt(force=True)
        session.say(decision.safe_line or INPUT_BLOCKED_LINE)

    def on_item(event: Any) -> None:
        item = getattr(event, "item", event)
        if isinstance(item, llm.ChatMessage) and item.role == "user" and not is_injected(item):
            text = (item.text_content or "").strip()
            if text:
                services.tasks.spawn(check(services.guard.mask(text)), name="english-input-check")

    session.on("conversation_item_added", on_item)


def is_teacher(participant: Any) -> bool:
    """Teachers join with the ``role=teacher`` participant attribute (set in the gateway's token)."""
    attributes = getattr(participant, "attributes", None) or {}
    return attributes.get("role") == "teacher" or str(participant.identity).startswith("teacher")


def watch_teachers(room: Any, services: SessionServices, session: AgentSession) -> None:
    """Teacher presence: shown in the flow view and said to the student when a teacher joins."""

    def on_participant(participant: Any) -> None:
        state = services.state
        if is_teacher(participant) and not state.teacher_present:
            state.teacher_present = True
            services.events.state(teacher_present=True, speaking_agent=state.speaking_agent.value)
            with contextlib.suppress(RuntimeError):
                session.say(TEACHER_JOINED_LINE)

    def on_left(participant: Any) -> None:
        if is_teacher(participant) and services.state.teacher_present:
            services.state.teacher_present = False
            services.events.state(teacher_present=False, speaking_agent=services.state.speaking_agent.value)

    room.on("participant_connected", on_participant)
    room.on("participant_disconnected", on_left)
    for participant in list(room.remote_participants.values()):
        on_participant(participant)


def start_session_cap(services: SessionServices, session: AgentSession, cap_s: float) -> None:
    """After ``cap_s`` the tutor says goodbye (uninterruptible) and the session ends."""

    async def cap() -> None:
        await asyncio.sleep(cap_s)
        with contextlib.suppress(RuntimeError):
            handle = session.say(SESSION_CAP_LINE, allow_interruptions=False)
            await handle.wait_for_playout()
        event_span("session.cap", services.state, cap_s=cap_s)
        await session.aclose()

    services.tasks.spawn(cap(), name="session-cap")
