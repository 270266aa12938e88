"""The worker process around the sessions: capacity, prewarm, registration-driven readiness, drain
on SIGTERM, metrics, and dispatch through the LiveKit server API (against local stand-ins for the
two LiveKit endpoints the worker uses; no rooms or media)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from livekit import api
from livekit.agents import JobExecutorType, JobProcess, JobRequest
from livekit.protocol import agent as agent_proto
from prometheus_client import REGISTRY
from tutorplane.agent.dispatch import DispatchError, LiveKitDispatcher
from tutorplane.agent.health import WorkerReadiness
from tutorplane.agent.metadata import DispatchKind, JobMetadata
from tutorplane.agent.testing import AgentHarness, FakeLiveKitServer, emulator_agent_settings, wait_until
from tutorplane.agent.worker import (
    CapacityLoad,
    accept_request,
    build_server,
    prewarm,
    run_worker,
    session_load,
)

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get(port: int, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}{path}") as resp:
        return resp.status, await resp.text()


# ------------------------------------------------------------------------------------ capacity


@pytest.mark.unit
@pytest.mark.parametrize(
    ("sessions", "cpu", "load"),
    [(0, 0.0, 0.0), (2, 0.1, 0.25), (4, 0.9, 0.9), (8, 0.1, 1.0), (20, 0.0, 1.0)],
)
def test_load_is_the_busier_of_session_slots_and_cpu(sessions: int, cpu: float, load: float) -> None:
    assert session_load(sessions, 8, cpu) == pytest.approx(load)


@pytest.mark.unit
def test_capacity_load_reads_active_jobs() -> None:
    class Server:
        active_jobs = [object()] * 3

    load = CapacityLoad(4, cpu=lambda: 0.2)
    assert load(Server()) == pytest.approx(0.75)
    assert load.last == pytest.approx(0.75)


@pytest.mark.unit
def test_server_registers_for_explicit_dispatch_only() -> None:
    settings = emulator_settings_offline(
        pipeline_agent_name="tutor-a-rev7", load_threshold=0.6, drain_grace_s=4000
    )
    server = build_server(settings)
    assert server._agent_name == "tutor-a-rev7"  # a name: LiveKit only dispatches it explicitly
    assert server._load_threshold == 0.6
    assert server._drain_timeout == 4000
    assert server._port == 0 and server._host == "127.0.0.1"  # the SDK's server stays off our port
    assert server._job_executor_type == JobExecutorType.THREAD


def emulator_settings_offline(**overrides: Any) -> Any:
    from tutorplane.agent.config import AgentSettings

    values: dict[str, Any] = {"openai_api_key": "k", "anthropic_api_key": "k", "job_executor": "thread"}
    values.update(overrides)
    return AgentSettings(**values)


@pytest.mark.unit
def test_prewarm_loads_silero_vad_from_its_wheel_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    from livekit.plugins import silero
    from tutorplane.routing.local import LocalClassifier

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TUTOR_OPENAI_API_KEY", "unit-key")
    monkeypatch.setenv("TUTOR_ANTHROPIC_API_KEY", "unit-key")
    proc = JobProcess(executor_type=JobExecutorType.THREAD, user_arguments=None, http_proxy=None)
    prewarm(proc)
    warm = proc.userdata["prewarmed"]
    assert isinstance(warm.vad, silero.VAD)
    assert isinstance(warm.local_classifier, LocalClassifier)
    assert warm.providers.openai_client() is warm.providers.openai_client()  # one shared client
    assert warm.checker is not None


@pytest.mark.unit
@pytest.mark.parametrize(
    ("metadata", "accepted"),
    [
        ('{"kind": "start", "session_id": "8e3c2b1a-0000-4000-8000-000000000001"}', True),
        ("session:8e3c2b1a-0000-4000-8000-000000000001|question:hi", False),  # the old format
        ("", False),
    ],
)
async def test_job_requests_need_readable_json_metadata(metadata: str, accepted: bool) -> None:
    """Job metadata is read from the dispatch (``ctx.job.metadata``), never from room metadata."""
    outcome: list[str] = []

    async def on_reject(_terminate: bool) -> None:
        outcome.append("rejected")

    async def on_accept(_args: Any) -> None:
        outcome.append("accepted")

    job = agent_proto.Job(id="AJ_1", metadata=metadata)
    await accept_request(JobRequest(job=job, on_reject=on_reject, on_accept=on_accept))
    assert outcome == ["accepted" if accepted else "rejected"]


# ------------------------------------------------------------------------------------ readiness


@pytest.mark.integration
async def test_ready_only_after_registration_and_not_while_draining(fake_livekit: FakeLiveKitServer) -> None:
    port = free_port()
    settings = emulator_settings_offline(
        livekit_url=fake_livekit.url,
        livekit_api_key=fake_livekit.api_key,
        livekit_api_secret=fake_livekit.api_secret,
        health_host="127.0.0.1",
        health_port=port,
        num_idle_processes=0,
        pipeline_agent_name="tutor-a-rev1",
    )
    readiness = WorkerReadiness()
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, stop=stop, readiness=readiness))
    try:
        await wait_until(lambda: readiness.registered, timeout=15)
        assert readiness.worker_id == "AW_fake1"
        [registration] = fake_livekit.registrations
        assert registration.agent_name == "tutor-a-rev1"
        assert (await get(port, "/healthz"))[0] == 200
        status, body = await get(port, "/readyz")
        assert status == 200, body
        status, text = await get(port, "/metrics")
        assert status == 200
        assert "tutorplane_agent_active_sessions" in text
        assert "tutorplane_agent_worker_load_ratio" in text
        assert "tutorplane_agent_ready 1.0" in text
        stop.set()  # what SIGTERM does
        assert await asyncio.wait_for(worker, 15) == 0
        assert readiness.draining and not readiness.ready
        assert "draining" in " ".join(readiness.reasons())
        # told LiveKit: no new jobs (the fake server records it on its own thread)
        await wait_until(lambda: agent_proto.WorkerStatus.WS_FULL in fake_livekit.statuses(), timeout=5)
    finally:
        stop.set()
        if not worker.done():
            worker.cancel()


@pytest.mark.integration
async def test_after_sigterm_jobs_are_taken_until_the_settle_ends_then_refused(
    fake_livekit: FakeLiveKitServer,
) -> None:
    """During a pool rollout the old workers are stopped while the gateway and the other workers
    still dispatch to their revision's name (the new names reach them with the ConfigMap refresh):
    for ``drain_settle_s`` a stopped worker still takes jobs, then it drains and refuses them."""
    settings = emulator_settings_offline(
        livekit_url=fake_livekit.url,
        livekit_api_key=fake_livekit.api_key,
        livekit_api_secret=fake_livekit.api_secret,
        health_host="127.0.0.1",
        health_port=free_port(),
        num_idle_processes=0,
        job_executor="thread",
        drain_settle_s=1.5,
    )
    readiness = WorkerReadiness()
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, stop=stop, readiness=readiness))
    metadata = JobMetadata(session_id=uuid.uuid4(), student_id=uuid.uuid4()).to_json()
    try:
        await wait_until(lambda: readiness.registered, timeout=15)
        stop.set()  # what SIGTERM does
        await asyncio.sleep(0.2)
        assert not worker.done()
        assert await fake_livekit.offer_job("AJ_settling", metadata), (
            "a job offered while settling was refused"
        )
        assert readiness.ready and agent_proto.WorkerStatus.WS_FULL not in fake_livekit.statuses()
        await wait_until(lambda: readiness.draining, timeout=5)
        assert not await fake_livekit.offer_job("AJ_draining", metadata)
        assert await asyncio.wait_for(worker, 15) == 0
    finally:
        stop.set()
        if not worker.done():
            worker.cancel()


@pytest.mark.unit
async def test_not_ready_before_registration_and_after_a_failure() -> None:
    from tutorplane.agent.health import HealthServer

    readiness = WorkerReadiness()
    health = HealthServer(readiness, host="127.0.0.1", port=0)
    await health.start()
    try:
        assert health.port
        status, body = await get(health.port, "/readyz")
        assert status == 503 and "not registered" in body
        readiness.mark_registered("AW_1")
        assert (await get(health.port, "/readyz"))[0] == 200
        readiness.mark_failed("could not reach the LiveKit server after all retries")
        assert (await get(health.port, "/healthz"))[0] == 503
        assert (await get(health.port, "/readyz"))[0] == 503
    finally:
        await health.aclose()


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_sigterm_drains_and_exits(fake_livekit: FakeLiveKitServer, tmp_path: Path) -> None:
    """The real CLI in a subprocess: ready after registration, SIGTERM -> full -> exit 0."""
    port = free_port()
    env = {
        **os.environ,
        "LIVEKIT_URL": fake_livekit.url,
        "LIVEKIT_API_KEY": fake_livekit.api_key,
        "LIVEKIT_API_SECRET": fake_livekit.api_secret,
        "TUTOR_HEALTH_HOST": "127.0.0.1",
        "TUTOR_HEALTH_PORT": str(port),
        "TUTOR_NUM_IDLE_PROCESSES": "0",
        "TUTOR_JOB_EXECUTOR": "thread",
        "TUTOR_OPENAI_API_KEY": "k",
        "TUTOR_ANTHROPIC_API_KEY": "k",
        "TUTOR_METRICS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    log_path = tmp_path / "worker.log"
    log_file = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tutorplane.agent", "start"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    try:

        async def until_ready() -> str:
            deadline = asyncio.get_running_loop().time() + 90  # imports alone take seconds on CI
            while asyncio.get_running_loop().time() < deadline and proc.poll() is None:
                try:
                    status, _ = await get(port, "/readyz")
                    if status == 200:
                        return (await get(port, "/metrics"))[1]
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            proc.kill()
            raise AssertionError(f"worker never became ready: {log_path.read_text()[-2000:]}")

        metrics_text = asyncio.run(until_ready())
        assert "tutorplane_agent_ready 1.0" in metrics_text
        assert 'tutorplane_agent_active_sessions{role="pipeline"} 0.0' in metrics_text
        assert "lk_agents_worker_load" in metrics_text  # aggregated from the multi-process directory
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert agent_proto.WorkerStatus.WS_FULL in fake_livekit.statuses()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log_file.close()


@pytest.mark.integration
def test_start_without_livekit_explains_what_to_set() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "TUTOR_LIVEKIT"))}
    result = subprocess.run(
        [sys.executable, "-m", "tutorplane.agent", "start"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "TUTOR_LIVEKIT_URL" in result.stderr and "console --text" in result.stderr


# ------------------------------------------------------------------------------------ dispatch


@pytest.mark.integration
async def test_livekit_dispatcher_sends_the_request_message_with_json_metadata(
    fake_livekit: FakeLiveKitServer,
) -> None:
    dispatcher = LiveKitDispatcher(fake_livekit.url, fake_livekit.api_key, fake_livekit.api_secret)
    metadata = JobMetadata(kind=DispatchKind.to_english, session_id=uuid.uuid4(), question="a|b: c")
    try:
        receipt = await dispatcher.dispatch(agent_name="tutor-a-english", room="room-9", metadata=metadata)
        assert receipt.dispatch_id == "AD_1"
        [request] = fake_livekit.dispatches
        assert isinstance(request, api.CreateAgentDispatchRequest)
        assert (request.agent_name, request.room) == ("tutor-a-english", "room-9")
        assert JobMetadata.parse(request.metadata) == metadata
        # A dispatch no worker took is withdrawn (the handing-over session keeps the student).
        await dispatcher.withdraw(receipt)
        [deleted] = fake_livekit.deleted
        assert (deleted.dispatch_id, deleted.room) == ("AD_1", "room-9")

        fake_livekit.dispatch_status = 500
        with pytest.raises(DispatchError, match="could not dispatch 'tutor-a-english'"):
            await dispatcher.dispatch(agent_name="tutor-a-english", room="room-9", metadata=metadata)
    finally:
        await dispatcher.aclose()


@pytest.mark.integration
async def test_dispatcher_credentials_are_checked_by_the_server(fake_livekit: FakeLiveKitServer) -> None:
    dispatcher = LiveKitDispatcher(
        fake_livekit.url, fake_livekit.api_key, "a-different-secret-value-8e2c4a6f1b3d"
    )
    try:
        with pytest.raises(DispatchError):
            await dispatcher.dispatch(agent_name="x", room="r", metadata=JobMetadata(session_id=uuid.uuid4()))
    finally:
        await dispatcher.aclose()


# ------------------------------------------------------------------------------------ metrics


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.integration
async def test_metrics_move_with_a_session(emulator) -> None:
    before = {
        "first_sentence": sample(
            "tutorplane_agent_turn_stage_seconds_count", stage="first_sentence", agent="orchestrator"
        ),
        "routing": sample("tutorplane_agent_turn_stage_seconds_count", stage="routing", agent="orchestrator"),
        "input": sample(
            "tutorplane_agent_guardrail_actions_total", direction="input", action="allow", category="none"
        ),
        "handoff": sample(
            "tutorplane_agent_handoffs_total", from_agent="orchestrator", to_agent="math", mode="in_session"
        ),
        "sessions": sample("tutorplane_agent_sessions_total", role="pipeline", kind="start"),
    }
    async with AgentHarness(emulator_agent_settings(emulator)) as h:
        await h.ask("What is 7 times 8?")
    after = {
        "first_sentence": sample(
            "tutorplane_agent_turn_stage_seconds_count", stage="first_sentence", agent="orchestrator"
        ),
        "routing": sample("tutorplane_agent_turn_stage_seconds_count", stage="routing", agent="orchestrator"),
        "input": sample(
            "tutorplane_agent_guardrail_actions_total", direction="input", action="allow", category="none"
        ),
        "handoff": sample(
            "tutorplane_agent_handoffs_total", from_agent="orchestrator", to_agent="math", mode="in_session"
        ),
        "sessions": sample("tutorplane_agent_sessions_total", role="pipeline", kind="start"),
    }
    for key in before:
        assert after[key] == before[key] + 1, key
