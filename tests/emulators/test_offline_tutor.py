"""The offline tutor's heuristics, the moderation lexicon, the audio synthesis and the VAD."""

from __future__ import annotations

import struct

import pytest
from tutorplane.emulators import Script, audio, moderation, offline
from tutorplane.emulators.vad import EnergyVad

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("What is 7 times 8?", "math"),
        ("Can you help me with fractions and decimals?", "math"),
        ("Who was Napoleon?", "history"),
        ("When did the Second World War end?", "history"),
        ("What is a noun?", "english"),
        ("How do I spell 'necessary'?", "english"),
        ("Tell me a joke", "general"),
    ],
)
def test_subject_guess_is_keyword_based(question: str, subject: str) -> None:
    guess = offline.guess_subject(question)
    assert guess.subject == subject
    assert 0.0 < guess.confidence <= 1.0
    assert guess.rationale.startswith("offline keyword guess")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is 7 times 8?", ("7", "times", "8", "56")),
        ("what is seven times eight", ("7", "times", "8", "56")),
        ("12 + 5", ("12", "plus", "5", "17")),
        ("What's 10 divided by 4?", ("10", "divided by", "4", "2.5")),
        ("20 minus 25", ("20", "minus", "25", "-5")),
        ("3 / 0", None),
        ("what is 3/4 plus 1/8?", ("3/4", "plus", "1/8", "7/8")),
        ("1/2 times 4", ("1/2", "times", "4", "2")),
        ("two minus 1/3", ("2", "minus", "1/3", "5/3")),
        ("6/3", ("6", "divided by", "3", "2")),
        ("1/0 plus 2", None),
        ("3/4 plus 0", ("3/4", "plus", "0", "3/4")),
    ],
)
def test_simple_arithmetic_is_solved(question: str, expected: tuple[str, ...] | None) -> None:
    assert offline.solve_arithmetic(question) == expected


def test_answers_are_short_deterministic_and_say_they_are_offline() -> None:
    for question in ("What is 7 times 8?", "Who was Napoleon?", "What is a noun?", "Tell me a joke", ""):
        first, second = offline.answer(question), offline.answer(question)
        assert first == second
        assert "offline" in first.lower()
        sentences = [s for s in first.replace("!", ".").replace("?", ".").split(". ") if s.strip()]
        assert 2 <= len(sentences) <= 4, first
    assert "56" in offline.answer("What is 7 times 8?")


@pytest.mark.parametrize(
    ("question", "subject", "expected"),
    [
        # The specialist's subject wins over the guess, and its answer is on that subject.
        ("What's 15% of 80?", "math", "15% of 80 is 12."),
        ("What is 12 divided by 0?", "math", "Dividing by zero has no answer"),
        # A follow-up names no topic ("a good math question about more" before).
        ("tell me more", "math", "Let's keep going with math."),
        ("tell me more", "history", "Let's keep exploring history!"),
        ("Who built the pyramids?", None, "Good history question about the pyramids!"),
        ("Who invented the telephone?", None, "Good history question about the telephone!"),
        ("What does ubiquitous mean?", None, "Nice English question about the word 'ubiquitous'."),
        ('What does "simile" mean?', None, "about the word 'simile'. A simile compares"),
    ],
)
def test_answers_fit_the_question(question: str, subject: str | None, expected: str) -> None:
    assert expected in offline.answer(question, subject=subject)


def test_the_specialist_subject_comes_from_its_instructions() -> None:
    assert offline.tutor_subject("You are the math tutor in Tutorplane, ...") == "math"
    assert offline.tutor_subject("You are the History tutor.") == "history"
    assert offline.tutor_subject("You are the friendly front desk: math, history and English.") is None


def test_a_router_request_is_classified_by_its_latest_message_then_by_context() -> None:
    block = "<conversation>\nStudent [math]: What is 12 divided by 0?\nTutor [math]: Undefined.\n{}\n</conversation>"
    latest = offline.guess_in_context(block.format("Student (LATEST): What does ubiquitous mean?"))
    assert latest.subject == "english"  # the whole block says math; the new question does not
    follow_up = offline.guess_in_context(block.format("Student (LATEST): tell me more"))
    assert follow_up.subject == "math"  # nothing in the new message: the conversation decides


def test_a_question_of_no_subject_is_classified_off_topic_by_the_router() -> None:
    # The router's enum has no "general": it must not fall to its first value ("math").
    router_enum = ["math", "history", "english", "off_topic", "needs_teacher"]
    assert offline.map_subject("general", router_enum) == "off_topic"


CLASSIFY = offline.ToolSpec(
    "classify_subject",
    "",
    {
        "type": "object",
        "properties": {
            "subject": {"type": "string", "enum": ["Math", "History", "English", "Other"]},
            "confidence": {"type": "number"},
            "rationale": {"type": "string"},
        },
        "required": ["subject", "confidence", "rationale"],
    },
)


def test_classify_subject_maps_the_guess_into_the_tool_enum() -> None:
    decision = offline.choose_tool([CLASSIFY], None, "Who was Napoleon?", after_tool_result=False)
    assert decision is not None
    assert decision.name == "classify_subject"
    assert decision.arguments["subject"] == "History"
    assert isinstance(decision.arguments["confidence"], float)
    unknown = offline.choose_tool([CLASSIFY], None, "Tell me a joke", after_tool_result=False)
    assert unknown is not None and unknown.arguments["subject"] == "Other"


def test_a_classification_tool_without_a_schema_still_gets_subject_confidence_rationale() -> None:
    bare = offline.ToolSpec("classify_subject", "", {})
    decision = offline.choose_tool([bare], None, "What is 7 times 8?", after_tool_result=False)
    assert decision is not None
    assert set(decision.arguments) == {"subject", "confidence", "rationale"}
    assert decision.arguments["subject"] == "math"


def test_route_tools_are_called_only_for_a_matching_subject_and_never_after_a_tool_result() -> None:
    tools = [
        offline.ToolSpec(
            "transfer_to_math", "", {"type": "object", "properties": {"question": {"type": "string"}}}
        ),
        offline.ToolSpec("route_to_history", "", {}),
    ]
    math = offline.choose_tool(tools, None, "What is 9 plus 3?", after_tool_result=False)
    assert math == offline.ToolDecision("transfer_to_math", {"question": "What is 9 plus 3?"})
    assert (
        offline.choose_tool(tools, None, "Who was Napoleon?", after_tool_result=False).name
        == "route_to_history"
    )  # type: ignore[union-attr]
    assert offline.choose_tool(tools, None, "Tell me a joke", after_tool_result=False) is None
    assert offline.choose_tool(tools, None, "What is 9 plus 3?", after_tool_result=True) is None
    assert offline.choose_tool(tools, "none", "What is 9 plus 3?", after_tool_result=False) is None


def test_a_forced_tool_is_always_called() -> None:
    tool = offline.ToolSpec("lookup", "", {"type": "object", "properties": {"query": {"type": "string"}}})
    decision = offline.choose_tool([tool], "name:lookup", "Who was Napoleon?", after_tool_result=True)
    assert decision == offline.ToolDecision("lookup", {"query": "Who was Napoleon?"})
    assert offline.choose_tool([tool], "required", "hello", after_tool_result=False) is not None


def test_moderation_lexicon_flags_explicit_phrasing_only() -> None:
    harmful = moderation.moderation_result("I want to kill myself", {})
    assert harmful["flagged"] is True
    assert harmful["categories"]["self-harm/intent"] is True
    assert harmful["category_scores"]["self-harm/intent"] >= 0.5
    kid = moderation.moderation_result("I feel stupid at fractions", {})
    assert kid["flagged"] is False
    assert max(kid["category_scores"].values()) < 0.01
    assert kid == moderation.moderation_result("I feel stupid at fractions", {})
    assert set(kid["category_applied_input_types"]) == set(moderation.CATEGORIES)


def test_scripted_moderation_validates_category_names() -> None:
    script = Script()
    with pytest.raises(ValueError, match="unknown moderation category 'selfharm'"):
        script.moderation("x", {"selfharm": 0.9})
    with pytest.raises(ValueError, match="between 0 and 1"):
        script.moderation("x", {"violence": 2})


def test_speech_duration_follows_the_text() -> None:
    short = audio.synthesize("one two")
    long = audio.synthesize("one two three four five six seven eight")
    per_word = audio.samples_per_word() * audio.BYTES_PER_SAMPLE
    assert len(short) == 2 * per_word
    assert len(long) == 8 * per_word
    assert audio.duration_s(len(long)) == pytest.approx(8 * audio.MS_PER_WORD / 1000)
    assert audio.rms(long) > 0.05
    assert audio.synthesize("same text") == audio.synthesize("same text")


def test_wav_header_is_a_valid_riff_header() -> None:
    pcm = audio.synthesize("hello")
    wav = audio.to_wav(pcm)
    riff, size, wave_, fmt, _, fmt_tag, channels, rate, _, _, bits, data, data_size = struct.unpack(
        "<4sI4s4sIHHIIHH4sI", wav[:44]
    )
    assert (riff, wave_, fmt, data) == (b"RIFF", b"WAVE", b"fmt ", b"data")
    assert (fmt_tag, channels, rate, bits) == (1, 1, 24_000, 16)
    assert size == len(wav) - 8 and data_size == len(pcm)
    assert audio.decode_upload(wav) == (pcm, 24_000)


def test_energy_vad_finds_start_and_end_of_speech() -> None:
    vad = EnergyVad(silence_duration_ms=200, prefix_padding_ms=0)
    silence = bytes(24_000 * 2 // 2)  # 500 ms
    events = vad.push(silence) + vad.push(audio.synthesize("what is seven times eight")) + vad.push(silence)
    assert [e.kind for e in events] == ["started", "stopped"]
    assert 480 <= events[0].at_ms <= 520
    assert events[1].at_ms > events[0].at_ms


def test_script_rejects_bad_input_with_what_to_fix() -> None:
    script = Script()
    with pytest.raises(ValueError, match="unknown route 'chats'"):
        script.fail("chats")
    with pytest.raises(ValueError, match="fail status must be 0"):
        script.fail("chat", status=200)
    with pytest.raises(ValueError, match="tool_calls entries"):
        script.chat(tool_calls=[{"arguments": {}}])
    with pytest.raises(ValueError, match="unknown op 'chatt'"):
        script.apply("chatt", {})
    with pytest.raises(ValueError, match="bad arguments for op 'chat'"):
        script.apply("chat", {"txt": "hi"})


def test_queued_replies_are_fifo_and_respect_match() -> None:
    script = Script()
    script.chat("for napoleon", match="NAPOLEON")
    script.chat("first")
    script.chat("second")
    assert script.take_reply("chat", "what is 2+2").text == "first"  # type: ignore[union-attr]
    assert script.take_reply("chat", "who was napoleon").text == "for napoleon"  # type: ignore[union-attr]
    assert script.take_reply("chat", "anything").text == "second"  # type: ignore[union-attr]
    assert script.take_reply("chat", "anything") is None
