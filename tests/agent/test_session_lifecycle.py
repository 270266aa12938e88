"""Around the conversation: teacher presence, the session cap, moderation of what the student says
to the Realtime English tutor, and OTEL spans grouped by session."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tutorplane.agent.metadata import DispatchKind, JobMetadata
from tutorplane.agent.session import SESSION_CAP_LINE, TEACHER_JOINED_LINE, start_session_cap, watch_teachers
from tutorplane.agent.testing import (
    AgentHarness,
    RecordingDispatcher,
    StandInParticipant,
    StandInRoom,
    emulator_agent_settings,
    wait_until,
)
from tutorplane.common.telemetry import SESSION_ID_ATTR, USER_ID_ATTR
from tutorplane.guardrail.policy import SafeLines

pytestmark = pytest.mark.integration


async def test_teacher_joining_is_announced_and_shown(agent_settings) -> None:
    async with AgentHarness(agent_settings) as h:
        room = StandInRoom()
        watch_teachers(room, h.services, h.session)
        room.emit("participant_connected", StandInParticipant("student-7"))
        assert not h.state.teacher_present
        room.emit("participant_connected", StandInParticipant("t-1", {"role": "teacher"}))
        await wait_until(lambda: any(c == TEACHER_JOINED_LINE for _, c in h.transcript()))
        await h.settle()
        presence = [e for e in h.sink.events("state") if "teacher_present" in e]
        assert presence[-1]["teacher_present"] is True
        room.emit("participant_disconnected", StandInParticipant("t-1", {"role": "teacher"}))
        await h.settle()
        assert [e for e in h.sink.events("state") if "teacher_present" in e][-1]["teacher_present"] is False


async def test_session_cap_says_goodbye_and_closes(agent_settings) -> None:
    async with AgentHarness(agent_settings) as h:
        closed = asyncio.get_running_loop().create_future()
        h.session.on("close", lambda _ev: closed.done() or closed.set_result(True))
        start_session_cap(h.services, h.session, 0.05)
        await asyncio.wait_for(closed, 10)
        assert h.transcript()[-1] == ("orchestrator", SESSION_CAP_LINE)


async def test_what_the_student_tells_the_realtime_tutor_is_moderated(emulator) -> None:
    settings = emulator_agent_settings(emulator, agent_role="english")
    metadata = JobMetadata(kind=DispatchKind.to_english, session_id=uuid.uuid4(), question="What is a noun?")
    async with AgentHarness(settings, metadata=metadata, dispatcher=RecordingDispatcher()) as h:
        await wait_until(lambda: any(m["speaker"] == "english" for m in h.recorder.published))
        await h.ask("I want to hurt myself")
        await wait_until(lambda: h.sink.events("escalation"), timeout=10)
        assert h.sink.events("escalation")[0]["source"] == "student"
        await wait_until(lambda: any(SafeLines().self_harm in c for _, c in h.transcript()), timeout=10)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
        provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # later tests' spans are not kept


async def test_spans_are_grouped_by_learning_session(agent_settings, spans: InMemorySpanExporter) -> None:
    async with AgentHarness(agent_settings) as h:
        await h.ask("What is 7 times 8?")
    ours = [s for s in spans.get_finished_spans() if s.attributes and s.attributes.get(SESSION_ID_ATTR)]
    names = {s.name for s in ours}
    assert {"session.start", "agent.activated", "agent.handoff", "conversation.item"} <= names
    assert {s.attributes[SESSION_ID_ATTR] for s in ours} == {h.state.session_id}
    assert {s.attributes[USER_ID_ATTR] for s in ours} == {h.state.student_id}
