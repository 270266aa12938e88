"""English runs in its own Realtime session (own worker): dispatch out with the question, answer it
there, hand back with the question carried over, and fall back to the pipeline when Realtime is
unavailable."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from livekit import rtc
from tutorplane.agent.agents.english import EnglishFallbackAgent, EnglishRealtimeAgent
from tutorplane.agent.agents.math import MathAgent
from tutorplane.agent.handoff import TRANSITION_LINES
from tutorplane.agent.metadata import DispatchKind, JobMetadata
from tutorplane.agent.partner import PartnerWatch
from tutorplane.agent.testing import (
    AgentHarness,
    RecordingDispatcher,
    StandInParticipant,
    StandInRoom,
    emulator_agent_settings,
    script_hand_back,
    wait_until,
)
from tutorplane.agent.worker import watch_realtime_failure

pytestmark = pytest.mark.integration

QUESTION = "What rhymes with cat? | asked: in class"  # '|' and ':' must survive the trip


def closed(session) -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    session.on("close", lambda _ev: future.done() or future.set_result(None))
    return future


@pytest.mark.parametrize("strategy", ["two_stage", "function_tools"])
async def test_orchestrator_dispatches_english_with_the_question_and_closes_after_the_transition(
    emulator, strategy
) -> None:
    agent_settings = emulator_agent_settings(emulator, routing_strategy=strategy)
    dispatcher = RecordingDispatcher()
    async with AgentHarness(agent_settings, dispatcher=dispatcher) as h:
        session_closed = closed(h.session)
        r = await h.ask("How do you spell necessary in English?")
        [call] = dispatcher.calls
        assert call.agent_name == agent_settings.english_agent_name
        assert call.room == h.state.room_name
        meta = call.metadata
        assert meta.kind == DispatchKind.to_english
        assert str(meta.session_id) == h.state.session_id
        assert str(meta.student_id) == h.state.student_id
        assert meta.question == "How do you spell necessary in English?"
        assert meta.turn_index == h.state.turn_index
        assert call.raw.startswith("{")  # JSON, never key:value|key:value
        # the orchestrator speaks its transition in full, then this session ends (no interrupt)
        said = [e.item.text_content for e in r.events if e.type == "message"]
        assert said == [TRANSITION_LINES["english"]]
        await asyncio.wait_for(session_closed, 5)
        assert h.sink.events("handoff")[-1]["mode"] == "dispatch"


async def test_no_second_answer_while_handing_over(agent_settings) -> None:
    dispatcher = RecordingDispatcher()
    settings = agent_settings.model_copy(update={"handoff_close_timeout_s": 30.0})
    async with AgentHarness(settings, dispatcher=dispatcher) as h:
        h.state.handing_over = True
        r = await h.ask("What is 2 plus 2?")
        assert [e for e in r.events if e.type == "message"] == []


async def test_dispatch_failure_falls_back_to_the_pipeline(agent_settings) -> None:
    dispatcher = RecordingDispatcher(fail_with="no English worker registered")
    async with AgentHarness(agent_settings, dispatcher=dispatcher) as h:
        r = await h.ask("How do you spell necessary in English?")
        assert [type(e.new_agent) for e in r.events if e.type == "agent_handoff"] == [EnglishFallbackAgent]
        assert h.state.english_realtime_down
        assert h.transcript()[-1][0] == "english"


async def test_english_worker_answers_the_carried_question_then_hands_back(emulator) -> None:
    settings = emulator_agent_settings(emulator, agent_role="english")
    dispatcher = RecordingDispatcher()
    session_id, student_id = uuid.uuid4(), uuid.uuid4()
    metadata = JobMetadata.parse(
        JobMetadata(
            kind=DispatchKind.to_english,
            session_id=session_id,
            student_id=student_id,
            question=QUESTION,
            turn_index=3,
        ).to_json()
    )
    emulator.script.realtime("Bat, hat and mat all rhyme with cat.")
    async with AgentHarness(settings, metadata=metadata, dispatcher=dispatcher) as h:
        assert isinstance(h.session.current_agent, EnglishRealtimeAgent)
        await wait_until(lambda: any(m["speaker"] == "english" for m in h.recorder.published))
        english = [m for m in h.recorder.published if m["speaker"] == "english"]
        assert english[0]["content"] == "Bat, hat and mat all rhyme with cat."
        assert english[0]["turn"] == 3
        # the replayed question reached the Realtime model ...
        sent = str(emulator.script.requests("realtime"))
        assert "What rhymes with cat?" in sent
        # ... but is not a student turn in the transcript (skip counter)
        assert [m for m in h.recorder.published if m["speaker"] == "student"] == []
        assert h.state.skip_next_user_turns == 0

        # The student asks for math: the Realtime model hands back with the question.
        script_hand_back(emulator)
        session_closed = closed(h.session)
        await h.ask("Can you help me with 7 times 8?")
        await wait_until(lambda: dispatcher.calls)
        [call] = dispatcher.calls
        assert call.agent_name == settings.pipeline_agent_name
        assert call.metadata.kind == DispatchKind.return_from_english
        assert call.metadata.question == "What is 7 times 8?"
        assert call.metadata.reason == "other_subject"
        assert call.metadata.session_id == session_id and call.metadata.student_id == student_id
        assert "english" in call.metadata.subjects
        await asyncio.wait_for(session_closed, 5)


async def test_instructions_travel_on_the_agent_not_the_realtime_model(emulator) -> None:
    """RealtimeModel takes no instructions (an earlier system crashed passing them); ours reach
    the Realtime session through the Agent."""
    settings = emulator_agent_settings(emulator, agent_role="english")
    metadata = JobMetadata(kind=DispatchKind.to_english, session_id=uuid.uuid4(), question="What is a noun?")
    async with AgentHarness(settings, metadata=metadata, dispatcher=RecordingDispatcher()) as h:
        await wait_until(lambda: any(m["speaker"] == "english" for m in h.recorder.published))
        updates = [r for r in emulator.script.requests("realtime") if r.get("type") == "session.update"]
        instructions = [u["session"].get("instructions") for u in updates if u["session"].get("instructions")]
        assert instructions and "English tutor" in instructions[-1]
        assert "hand_back" in instructions[-1]
        assert "instructions" not in h.realtime_model._opts.__dict__


async def test_pipeline_takes_the_student_back_with_the_question(agent_settings) -> None:
    metadata = JobMetadata.parse(
        JobMetadata(
            kind=DispatchKind.return_from_english,
            session_id=uuid.uuid4(),
            student_id=uuid.uuid4(),
            question="What is 7 times 8?",
            reason="other_subject",
            turn_index=4,
            subjects=("english",),
        ).to_json()
    )
    async with AgentHarness(agent_settings, metadata=metadata) as h:
        await wait_until(lambda: isinstance(h.session.current_agent, MathAgent), timeout=10)
        await wait_until(lambda: any(m["speaker"] == "math" for m in h.recorder.published), timeout=10)
        speakers = [m["speaker"] for m in h.recorder.published]
        assert "student" not in speakers  # the carried question is not a new student turn
        assert all(m["turn"] == 4 for m in h.recorder.published)
        assert h.state.subjects[:2] == ["english", "math"]


async def test_realtime_unavailable_hands_back_for_pipeline_fallback(emulator) -> None:
    settings = emulator_agent_settings(emulator, agent_role="english")
    dispatcher = RecordingDispatcher()
    metadata = JobMetadata(kind=DispatchKind.to_english, session_id=uuid.uuid4(), question="What is a verb?")
    emulator.script.fail("realtime", status=500, times=10)
    async with AgentHarness(settings, metadata=metadata, dispatcher=dispatcher) as h:
        watch_realtime_failure(h.services, h.session, metadata)
        await wait_until(lambda: dispatcher.calls, timeout=15)
        [call] = dispatcher.calls
        assert call.metadata.kind == DispatchKind.return_from_english
        assert call.metadata.english_fallback is True
        assert call.metadata.question == "What is a verb?"

    # ... and the pipeline then answers English itself.
    async with AgentHarness(emulator_agent_settings(emulator), metadata=call.metadata) as p:
        await wait_until(lambda: isinstance(p.session.current_agent, EnglishFallbackAgent), timeout=10)


async def test_no_coroutine_is_left_unawaited_across_a_round_trip(emulator) -> None:
    """PLAN11: a missing ``await`` silently skipped the English greeting. Python reports an
    un-awaited coroutine as a RuntimeWarning when it is collected; a whole round trip leaves none."""
    import gc
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dispatcher = RecordingDispatcher()
        async with AgentHarness(emulator_agent_settings(emulator), dispatcher=dispatcher) as h:
            await h.ask("What is the past tense of swim in English?")
        english = emulator_agent_settings(emulator, agent_role="english")
        async with AgentHarness(
            english, metadata=dispatcher.calls[0].metadata, dispatcher=RecordingDispatcher()
        ) as e:
            await wait_until(lambda: any(m["speaker"] == "english" for m in e.recorder.published))
        gc.collect()
    never_awaited = [w for w in caught if "never awaited" in str(w.message)]
    assert never_awaited == []


@pytest.mark.parametrize("native_audio", [False, True])
async def test_realtime_text_is_guarded_before_it_is_shown(emulator, native_audio: bool) -> None:
    """The Realtime tutor's words pass the same sentence guardrail (here without audio output, so
    the check runs on the transcript; with audio it runs in tts_node, see test_guarded_speech)."""
    settings = emulator_agent_settings(emulator, agent_role="english", english_native_audio=native_audio)
    metadata = JobMetadata(kind=DispatchKind.to_english, session_id=uuid.uuid4(), question="Tell me a story")
    emulator.script.realtime("Once upon a time there was a knight. There was blood everywhere on the field.")
    async with AgentHarness(settings, metadata=metadata, dispatcher=RecordingDispatcher()) as h:
        await wait_until(lambda: any(m["speaker"] == "english" for m in h.recorder.published))
        said = next(m["content"] for m in h.recorder.published if m["speaker"] == "english")
        assert "knight" in said and "blood" not in said
        await h.settle()
        assert h.sink.events("guardrail")[-1]["action"] == "block"


# ------------------------------------------------------------------ the partner must come


def joined(room: StandInRoom, identity: str) -> None:
    room.emit(
        "participant_connected", StandInParticipant(identity, kind=rtc.ParticipantKind.PARTICIPANT_KIND_AGENT)
    )


@contextlib.asynccontextmanager
async def pipeline_in_a_room(
    agent_settings, join_timeout_s: float
) -> AsyncIterator[tuple[AgentHarness, StandInRoom, RecordingDispatcher, asyncio.Future[None]]]:
    """A pipeline session whose room shows who joins, with its dispatches recorded and a future
    that resolves when the session closes."""
    dispatcher = RecordingDispatcher()
    settings = agent_settings.model_copy(update={"handoff_join_timeout_s": join_timeout_s})
    async with AgentHarness(settings, dispatcher=dispatcher) as h:
        room = StandInRoom()
        h.services.partner = PartnerWatch(room)
        yield h, room, dispatcher, closed(h.session)


async def test_the_pipeline_leaves_only_once_the_english_worker_has_joined(agent_settings) -> None:
    async with pipeline_in_a_room(agent_settings, 5.0) as (h, room, dispatcher, session_closed):
        await h.ask("How do you spell necessary in English?")
        assert len(dispatcher.calls) == 1
        room.emit("participant_connected", StandInParticipant("teacher-2"))  # not an agent
        await asyncio.sleep(0.2)
        assert not session_closed.done()  # the transition was heard, but nobody has come yet
        joined(room, "agent-AJ_english")
        await asyncio.wait_for(session_closed, 5)
        assert dispatcher.withdrawn == []


async def test_no_english_worker_comes_so_the_pipeline_answers_itself(agent_settings) -> None:
    """Every English worker full or down: LiveKit holds the dispatch, nobody joins. The student is
    not left in a silent room: the dispatch is withdrawn and the pipeline answers in English."""
    async with pipeline_in_a_room(agent_settings, 0.3) as (h, _room, dispatcher, session_closed):
        await h.ask("How do you spell necessary in English?")
        [call] = dispatcher.calls
        await wait_until(lambda: dispatcher.withdrawn, timeout=5)
        assert dispatcher.withdrawn[0].agent_name == call.agent_name
        await wait_until(lambda: isinstance(h.session.current_agent, EnglishFallbackAgent), timeout=5)
        await wait_until(lambda: h.transcript() and h.transcript()[-1][0] == "english", timeout=10)
        assert not session_closed.done()
        assert h.state.english_realtime_down and not h.state.handing_over


async def test_an_english_worker_that_joins_late_takes_over_after_all(agent_settings) -> None:
    """A worker that had taken the job before it was withdrawn turns up after all: one tutor at a
    time, so this session leaves."""
    async with pipeline_in_a_room(agent_settings, 1.0) as (h, room, dispatcher, session_closed):
        await h.ask("How do you spell necessary in English?")
        await wait_until(lambda: dispatcher.withdrawn, timeout=5)
        joined(room, "agent-AJ_late")
        await asyncio.wait_for(session_closed, 5)


async def test_no_pipeline_worker_comes_so_the_english_tutor_stays(emulator) -> None:
    settings = emulator_agent_settings(emulator, agent_role="english", handoff_join_timeout_s=0.3)
    dispatcher = RecordingDispatcher()
    metadata = JobMetadata(kind=DispatchKind.to_english, session_id=uuid.uuid4(), question="What is a noun?")
    emulator.script.realtime("A noun names a person, place or thing.")
    async with AgentHarness(settings, metadata=metadata, dispatcher=dispatcher) as h:
        h.services.partner = PartnerWatch(StandInRoom())
        await wait_until(lambda: any(m["speaker"] == "english" for m in h.recorder.published))
        script_hand_back(emulator)
        emulator.script.realtime("I'm staying with you. Ask me that again in a moment.")
        session_closed = closed(h.session)
        await h.ask("Can you help me with 7 times 8?")
        await wait_until(lambda: dispatcher.withdrawn, timeout=10)
        await wait_until(
            lambda: any("staying with you" in m["content"] for m in h.recorder.published), timeout=10
        )
        sent = str(emulator.script.requests("realtime"))
        assert "did not join after all" in sent  # the instruction reached the Realtime model
        assert not session_closed.done() and not h.state.handing_over
