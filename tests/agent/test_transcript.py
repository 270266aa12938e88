"""Live transcript rules: unwrap the event, no phantom turns (counter + marker, never text
matching), the speaker is the agent that spoke, rows unique per (turn, speaker)."""

from __future__ import annotations

import uuid

import pytest
from livekit.agents import llm
from livekit.agents.voice.events import ConversationItemAddedEvent
from tutorplane.agent.audit import LogOnlyAudit
from tutorplane.agent.events import EventBus
from tutorplane.agent.state import SessionState, Speaker
from tutorplane.agent.testing import RecordingSink
from tutorplane.agent.transcript import TranscriptRecorder, injected_message

pytestmark = pytest.mark.unit


class Rows(LogOnlyAudit):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, dict]] = []

    def submit(self, table: str, row: dict) -> None:  # type: ignore[override]
        super().submit(table, row)
        self.rows.append((table, dict(row)))


@pytest.fixture
def recorder() -> TranscriptRecorder:
    state = SessionState(session_id=str(uuid.uuid4()), room_name="room")
    return TranscriptRecorder(state, EventBus(state.session_id, RecordingSink()), Rows(), lambda t: t)


def added(item: llm.ChatItem) -> ConversationItemAddedEvent:
    return ConversationItemAddedEvent(item=item)


def user(text: str) -> llm.ChatMessage:
    return llm.ChatMessage(role="user", content=[text])


def assistant(text: str) -> llm.ChatMessage:
    return llm.ChatMessage(role="assistant", content=[text])


async def test_event_is_unwrapped_and_text_comes_from_text_content(recorder: TranscriptRecorder) -> None:
    recorder.on_conversation_item_added(added(user("What is 2 plus 2?")))
    assert [(m["speaker"], m["content"]) for m in recorder.published] == [("student", "What is 2 plus 2?")]


async def test_handoff_items_and_empty_replies_are_not_turns(recorder: TranscriptRecorder) -> None:
    recorder.on_conversation_item_added(
        added(llm.AgentHandoff(old_agent_id="orchestrator", new_agent_id="math"))
    )
    recorder.on_conversation_item_added(added(assistant("")))
    recorder.on_conversation_item_added(added(llm.ChatMessage(role="system", content=["rules"])))
    assert recorder.published == []


async def test_replayed_question_is_skipped_by_the_counter_not_by_its_text(
    recorder: TranscriptRecorder,
) -> None:
    state = recorder.state
    recorder.on_conversation_item_added(added(user("What is 7 times 8?")))
    state.skip_next_user_turns += 1  # the new specialist is about to receive the question again
    recorder.on_conversation_item_added(added(injected_message("What is 7 times 8?")))
    assert state.skip_next_user_turns == 0
    # the student really asks the same words again later: a new turn, not swallowed
    recorder.on_conversation_item_added(added(user("What is 7 times 8?")))
    students = [m for m in recorder.published if m["speaker"] == "student"]
    assert [m["turn"] for m in students] == [1, 2]


async def test_a_real_student_turn_during_a_pending_skip_is_kept(recorder: TranscriptRecorder) -> None:
    """A pure counter would swallow whatever user item came next; the marker keeps them apart."""
    state = recorder.state
    state.skip_next_user_turns = 1
    recorder.on_conversation_item_added(added(user("wait, one more thing")))
    assert [m["content"] for m in recorder.published] == ["wait, one more thing"]
    assert state.skip_next_user_turns == 1
    recorder.on_conversation_item_added(added(injected_message("the handed-over question")))
    assert state.skip_next_user_turns == 0
    assert len(recorder.published) == 1


async def test_realtime_sessions_skip_by_counter(recorder: TranscriptRecorder) -> None:
    recorder.counter_only = True
    recorder.state.skip_next_user_turns = 1
    recorder.on_conversation_item_added(added(user("question replayed by the server")))  # no marker survives
    recorder.on_conversation_item_added(added(user("the student's next question")))
    assert [m["content"] for m in recorder.published] == ["the student's next question"]


async def test_speaker_is_the_agent_that_produced_the_speech(recorder: TranscriptRecorder) -> None:
    state = recorder.state
    recorder.on_conversation_item_added(added(user("Who was Napoleon?")))
    state.speaking_agent = Speaker.orchestrator  # the orchestrator speaks its transition ...
    recorder.on_conversation_item_added(added(assistant("Let me bring in our history tutor.")))
    state.speaking_agent = Speaker.history  # ... then the history tutor answers
    state.note_subject("history")
    recorder.on_conversation_item_added(added(assistant("Napoleon was a French emperor.")))
    assert [(m["speaker"], m["subject"]) for m in recorder.published[1:]] == [
        ("orchestrator", None),
        ("history", "history"),
    ]


async def test_rows_are_unique_per_turn_and_speaker(recorder: TranscriptRecorder) -> None:
    state = recorder.state
    rows: Rows = recorder.audit  # type: ignore[assignment]
    recorder.on_conversation_item_added(added(user("What is 7 times 8?")))
    state.speaking_agent = Speaker.math
    recorder.on_conversation_item_added(added(assistant("Let's see.")))
    recorder.on_conversation_item_added(added(assistant("It is 56.")))  # same speaker, same turn
    recorder.flush()
    turns = [(r["turn_index"], r["speaker"], r["content"]) for t, r in rows.rows if t == "transcript_turns"]
    assert turns == [(1, "student", "What is 7 times 8?"), (1, "math", "Let's see. It is 56.")]
