"""The LiveKit worker: registration, capacity, job entrypoint, graceful drain.

* Registers under ``agent_name`` (explicit dispatch only: LiveKit never assigns it to rooms on its
  own; the gateway's token or another worker's dispatch names it).
* ``prewarm`` loads Silero VAD from its wheel and the routing model once per job process.
* ``load_fnc`` reports ``max(active sessions / max_concurrent_sessions, CPU)``; above
  ``load_threshold`` LiveKit stops sending jobs, so the pool reports its capacity honestly and the
  autoscaler adds pods instead.
* SIGTERM: the worker keeps taking jobs for ``drain_settle_s`` (dispatches that still name this
  revision land somewhere), then ``/readyz`` turns 503, the worker tells LiveKit it is full, running
  sessions continue for up to ``drain_grace_s``, then the process exits.
* The SDK's own HTTP server is bound to a random loopback port; probes and metrics are served by
  :mod:`tutorplane.agent.health` on ``health_port``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import uuid
from typing import Any

from livekit.agents import AgentServer, JobContext, JobExecutorType, JobProcess, JobRequest

# Plugins must be imported on the main thread (they register with the SDK on import); the
# job processes and threads use them from here.
from livekit.plugins import silero  # noqa: F401
from tutorplane.agent import metrics
from tutorplane.agent.config import AgentRole, AgentSettings, JobExecutor
from tutorplane.agent.events import LocalParticipantSink
from tutorplane.agent.health import HealthServer, WorkerReadiness
from tutorplane.agent.metadata import JobMetadata, MetadataError
from tutorplane.agent.partner import PartnerWatch
from tutorplane.agent.session import (
    build_services,
    english_session,
    new_state,
    open_resources,
    pipeline_session,
    prewarm_resources,
    start_english_session,
    start_pipeline_session,
    start_session_cap,
    watch_teachers,
)
from tutorplane.agent.telemetry import event_span

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# capacity
# --------------------------------------------------------------------------------------------


def session_load(active_sessions: int, capacity: int, cpu: float) -> float:
    """The load reported to LiveKit: the busier of session slots and CPU, clamped to [0, 1]."""
    if capacity < 1:
        raise ValueError("capacity must be >= 1")
    return min(1.0, max(active_sessions / capacity, cpu, 0.0))


class CapacityLoad:
    """``load_fnc`` for the AgentServer (called in the worker process, off the event loop)."""

    def __init__(self, capacity: int, *, cpu: Any = None) -> None:
        self.capacity = capacity
        self._cpu = cpu
        self.last = 0.0

    def cpu(self, server: Any) -> float:
        if self._cpu is not None:
            return float(self._cpu())
        from livekit.agents.worker import _DefaultLoadCalc

        return float(_DefaultLoadCalc.get_load(server))

    def __call__(self, server: Any) -> float:
        self.last = session_load(len(server.active_jobs), self.capacity, self.cpu(server))
        return self.last


# --------------------------------------------------------------------------------------------
# job process
# --------------------------------------------------------------------------------------------


def prewarm(proc: JobProcess) -> None:
    """Runs once per job process before any job: load the models and SDK clients a session needs
    (Silero VAD from its wheel, the routing model), off the session's event loop."""
    settings = AgentSettings()
    started = time.perf_counter()
    proc.userdata["prewarmed"] = prewarm_resources(settings)
    log.info("job process prewarmed", extra={"seconds": round(time.perf_counter() - started, 3)})


async def accept_request(request: JobRequest) -> None:
    """Accept only dispatches whose metadata we can read; a bad one is rejected with the reason logged."""
    try:
        JobMetadata.parse(request.job.metadata)
    except MetadataError as exc:
        log.error("job rejected", extra={"job_id": request.job.id, "reason": str(exc)})
        metrics.SESSION_ERRORS.labels("unknown", "bad_metadata").inc()
        await request.reject()
        return
    await request.accept()


async def entrypoint(ctx: JobContext) -> None:
    """One job = one student's session on this worker (pipeline or English)."""
    settings = AgentSettings()
    from tutorplane.common.logging import configure_logging
    from tutorplane.common.telemetry import setup_tracing

    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    setup_tracing(settings)
    role = settings.agent_role.value
    console = False
    metadata: JobMetadata | None
    try:
        metadata = JobMetadata.parse(ctx.job.metadata)
    except MetadataError as exc:
        if ctx.is_fake_job() and not ctx.job.metadata:
            console = True
            # `console` mode: a local session nobody dispatched (nothing is stored for it).
            metadata = JobMetadata(session_id=uuid.uuid4())
            log.info("console session", extra={"session_id": str(metadata.session_id)})
        else:
            metadata = None
            log.error("cannot start the session", extra={"reason": str(exc)})
    if metadata is None:
        metrics.SESSION_ERRORS.labels(role, "bad_metadata").inc()
        ctx.shutdown(reason="unreadable job metadata")
        return

    resources = await open_resources(settings, prewarmed=ctx.proc.userdata.get("prewarmed"))
    await ctx.connect()

    state = new_state(settings, metadata, ctx.room.name)
    services = build_services(settings, resources, state, LocalParticipantSink(ctx.room))
    services.store_rows = not console
    services.partner = PartnerWatch(ctx.room)

    realtime: Any = None
    if settings.agent_role == AgentRole.english:
        audience_ready = asyncio.Event()
        ctx.room.on("local_track_subscribed", lambda *_: audience_ready.set())
        session = english_session(services)
        realtime = services.providers.realtime_model(text_only=not settings.english_native_audio)  # type: ignore[union-attr]
        watch_realtime_failure(services, session, metadata)
        recorder = await start_english_session(
            services, metadata, session, realtime_model=realtime, room=ctx.room, audience_ready=audience_ready
        )
    else:
        session = pipeline_session(services, vad=resources.vad)
        recorder = await start_pipeline_session(services, metadata, session, room=ctx.room)

    async def on_shutdown(reason: str = "") -> None:
        # Shutdown callbacks receive the reason; everything here closes in dependency order.
        recorder.flush()
        event_span("session.end", state, escalated=state.escalated, turns=state.turn_index, reason=reason)
        await services.tasks.aclose()
        await services.events.aclose()
        if realtime is not None:
            await realtime.aclose()
        await resources.aclose()

    ctx.add_shutdown_callback(on_shutdown)

    watch_teachers(ctx.room, services, session)
    # The session closes when the student leaves, at the session cap, or after a handover to the
    # other worker; the job ends with it.
    session.on("close", lambda ev: ctx.shutdown(reason=f"session closed: {ev.reason}"))
    start_session_cap(services, session, settings.session_max_duration_s)


def watch_realtime_failure(services: Any, session: Any, metadata: JobMetadata) -> None:
    """Realtime unusable (connection refused, fatal error): hand the student back to the pipeline,
    which answers English itself (``english_fallback``), carrying the question over."""
    from livekit.agents.llm import RealtimeModelError
    from tutorplane.agent.metadata import DispatchKind

    async def hand_back_for_fallback() -> None:
        state = services.state
        if state.handing_over or services.dispatcher is None:
            return
        state.handing_over = True
        fallback = JobMetadata(
            kind=DispatchKind.return_from_english,
            session_id=metadata.session_id,
            student_id=metadata.student_id,
            question=state.last_student_text or metadata.question,
            reason="realtime_unavailable",
            turn_index=state.turn_index,
            subjects=tuple(state.subjects),
            english_fallback=True,
        )
        try:
            await services.dispatcher.dispatch(
                agent_name=services.targets.pipeline(), room=state.room_name, metadata=fallback
            )
            metrics.HANDOFFS.labels("english", "orchestrator", "fallback").inc()
        finally:
            await session.aclose()

    def on_error(event: Any) -> None:
        error = getattr(event, "error", None)
        if isinstance(error, RealtimeModelError) and not error.recoverable:
            log.error(
                "Realtime session failed; handing back to the pipeline", extra={"error": repr(error.error)}
            )
            services.tasks.spawn(hand_back_for_fallback(), name="realtime-fallback")

    session.on("error", on_error)


# --------------------------------------------------------------------------------------------
# server
# --------------------------------------------------------------------------------------------


def build_server(settings: AgentSettings, *, entry: Any = entrypoint, load_fnc: Any = None) -> AgentServer:
    """The AgentServer for this worker (``PROMETHEUS_MULTIPROC_DIR`` is exported by the CLI)."""
    executor = (
        JobExecutorType.PROCESS if settings.job_executor == JobExecutor.process else JobExecutorType.THREAD
    )
    server = AgentServer(
        job_executor_type=executor,
        load_threshold=settings.load_threshold,
        drain_timeout=settings.drain_grace_s,
        num_idle_processes=settings.num_idle_processes,
        ws_url=settings.livekit_url,
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret.get_secret_value() if settings.livekit_api_secret else None,
        host="127.0.0.1",
        port=0,
        setup_fnc=prewarm,
        load_fnc=load_fnc or CapacityLoad(settings.max_concurrent_sessions),
        log_level=settings.log_level.upper(),
    )
    server.rtc_session(entry, agent_name=settings.agent_name, on_request=accept_request)
    return server


async def run_worker(
    settings: AgentSettings,
    *,
    server: AgentServer | None = None,
    stop: asyncio.Event | None = None,
    readiness: WorkerReadiness | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or ``stop``), then drain. Returns the process exit code."""
    server = server or build_server(settings)
    readiness = readiness or WorkerReadiness()
    readiness.attach(server)
    load = server.load_fnc
    collector = metrics.WorkerCollector(
        role=settings.agent_role.value,
        ready=lambda: readiness.ready,
        active_sessions=lambda: len(server.active_jobs) if not server._closed else 0,
        load=lambda: load.last if isinstance(load, CapacityLoad) else 0.0,
        deployment=settings.deployment,
        multiproc_dir=settings.metrics_multiproc_dir,
    )
    health = HealthServer(
        readiness,
        host=settings.health_host,
        port=settings.health_port,
        multiproc_dir=settings.metrics_multiproc_dir,
        worker=collector,
    )
    await health.start()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    run_task = asyncio.create_task(server.run(devmode=False), name="agent-server")
    stop_task = asyncio.create_task(stop.wait(), name="stop-signal")
    exit_code = 0
    try:
        done, _ = await asyncio.wait({run_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        if run_task in done:
            exc = run_task.exception()
            readiness.mark_failed(str(exc) if exc else "worker stopped")
            log.error("worker stopped", extra={"error": repr(exc)})
            exit_code = 1
        elif not await _settle(run_task, settings.drain_settle_s):
            readiness.mark_failed("worker stopped while settling")
            exit_code = 1
        else:
            readiness.mark_draining()
            log.info(
                "draining: no new sessions; running sessions may continue",
                extra={"active": len(server.active_jobs), "grace_s": settings.drain_grace_s},
            )
            try:
                await server.drain(timeout=settings.drain_grace_s)
            except TimeoutError:
                log.warning("drain grace elapsed with sessions still running; closing them")
            await _flush_worker_messages(server)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        stop_task.cancel()
        await server.aclose()
        if not run_task.done():
            run_task.cancel()
        await asyncio.gather(run_task, stop_task, return_exceptions=True)
        await health.aclose()
    return exit_code


async def _settle(run_task: asyncio.Task[Any], seconds: float) -> bool:
    """Keep taking jobs for ``seconds`` after SIGTERM (``drain_settle_s``); False if the worker
    stopped meanwhile.

    A rollout stops the old revision's workers once the new ones are ready, but the gateway and the
    other revision's workers see the new agent names only when the published ConfigMap reaches
    them; what they dispatch meanwhile names this worker's revision and must find someone to take it.
    """
    if seconds <= 0:
        return True
    log.info(
        "stopping: still taking new jobs while the new agent names propagate", extra={"settle_s": seconds}
    )
    done, _ = await asyncio.wait({run_task}, timeout=seconds)
    if done:
        log.error("worker stopped while settling", extra={"error": repr(run_task.exception())})
        return False
    return True


async def _flush_worker_messages(server: AgentServer, timeout_s: float = 2.0) -> None:
    """Let the queued "full" status reach LiveKit before the connection closes.

    ``drain()`` only queues the status update; ``aclose()`` cancels the connection task that sends
    it, so without this an idle worker can disconnect before LiveKit hears it takes no new jobs.
    """
    chan = getattr(server, "_msg_chan", None)
    if chan is None:
        return
    for _ in range(int(timeout_s / 0.01)):  # the channel has no "emptied" signal to wait on
        if chan.empty():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # the send task has taken the last message; let its write finish
