"""Per-session state shared by the agents of one ``AgentSession`` (the session's ``userdata``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum


class Speaker(StrEnum):
    """Transcript speakers (the ``transcript_turns.speaker`` CHECK values)."""

    student = "student"
    orchestrator = "orchestrator"
    math = "math"
    history = "history"
    english = "english"
    teacher = "teacher"
    system = "system"


@dataclass
class SessionState:
    """What the agents of one session know about it.

    Attributes:
        speaking_agent: the agent that produced the speech being generated now. It is set by the
            agent that runs ``llm_node``/``tts_node``/``on_enter``, never inferred from the session's
            current agent: during a handoff the old agent still speaks its transition line while
            the session already points at the new one.
        skip_next_user_turns: how many upcoming user items are injected by us (a handed-over
            question replayed to the new agent), not said by the student. The transcript skips
            exactly that many; no string matching on content.
        turn_index: index of the current student turn (``transcript_turns.turn_index``).
    """

    session_id: str
    room_name: str
    student_id: str | None = None
    role: str = "pipeline"
    speaking_agent: Speaker = Speaker.orchestrator
    current_subject: str | None = None
    skip_next_user_turns: int = 0
    turn_index: int = 0
    # 1: the current turn index is taken (a new session's opening line, or the turn a handover
    # continues), so the next student message starts turn_index + 1.
    turns_started: int = 1
    handoffs_this_turn: int = 0
    subjects: list[str] = field(default_factory=list)
    escalated: bool = False
    escalation_reasons: list[str] = field(default_factory=list)
    english_realtime_down: bool = False
    handing_over: bool = False
    teacher_present: bool = False
    # Epoch seconds when the student finished the current turn (the latency anchor).
    turn_input_at: float | None = None
    # Latency (ms) from the end of student input to the first released sentence of the turn.
    first_sentence_ms: float | None = None
    _sentences_in_turn: int = 0
    # Sentences the output guardrail decided on this turn (blocked ones too): the block-rate denominator.
    checked_sentences: int = 0
    checked_input_ids: set[str] = field(default_factory=set)
    # Routed subject of each student message (message id -> subject), the router's context.
    routed_subjects: dict[str, str] = field(default_factory=dict)
    # The latest student message (masked) and its id: what a handoff carries over.
    last_student_text: str | None = None
    last_student_message_id: str | None = None
    _turn_of_message: dict[str, int] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)

    def register_student_message(self, message_id: str, *, input_at: float | None = None) -> int:
        """The turn index of a student message; the first sighting of a new message starts a turn.

        Both the transcript handler and ``llm_node`` see each student message, in either order;
        whichever comes first starts the turn, the other gets the same index.
        """
        known = self._turn_of_message.get(message_id)
        if known is not None:
            return known
        if self.turns_started:
            self.turn_index += 1
        self.turns_started += 1
        self.turn_input_at = input_at if input_at is not None else time.time()
        self.first_sentence_ms = None
        self._sentences_in_turn = 0
        self.checked_sentences = 0
        self.handoffs_this_turn = 0
        self._turn_of_message[message_id] = self.turn_index
        return self.turn_index

    def next_sentence_index(self) -> int:
        index = self._sentences_in_turn
        self._sentences_in_turn += 1
        if index == 0 and self.turn_input_at is not None:
            self.first_sentence_ms = max(0.0, (time.time() - self.turn_input_at) * 1000.0)
        return index

    def note_subject(self, subject: str) -> None:
        self.current_subject = subject
        if subject not in self.subjects:
            self.subjects.append(subject)
