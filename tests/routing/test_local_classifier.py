"""Stage 1: rules, model, calibration and context carry-over on the shipped weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tutorplane.routing.dataset import dataset_digest, fresh_path, heldout_ids, load_examples, split
from tutorplane.routing.local import LocalClassifier, ModelFileError, load_model
from tutorplane.routing.rules import DISTRESS_CONFIDENCE, first_rule_hit
from tutorplane.routing.settings import RoutingSettings
from tutorplane.routing.types import Stage, Strategy, Subject, Turn

pytestmark = pytest.mark.unit

FIRE_OF_LONDON = (
    Turn("user", "when did the great fire of london happen", Subject.history),
    Turn("assistant", "The Great Fire of London happened in 1666.", Subject.history),
)
TIMES_TABLES = (
    Turn("user", "what is 12 times 12", Subject.math),
    Turn("assistant", "12 times 12 is 144.", Subject.math),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what is 7 times 8", Subject.math),
        ("how do I add fractions with different denominators", Subject.math),
        ("who was the first president of the united states", Subject.history),
        ("why did world war one start", Subject.history),
        ("what is a metaphor", Subject.english),
        ("can you help me with my essay introduction", Subject.english),
        ("tell me a joke", Subject.off_topic),
        ("what's your favourite colour", Subject.off_topic),
        ("i want to kill myself", Subject.needs_teacher),
        ("some kids at school keep bullying me", Subject.needs_teacher),
        ("can i talk to my teacher please", Subject.needs_teacher),
    ],
)
def test_stage1_decisions(routing_local: LocalClassifier, text: str, expected: Subject) -> None:
    decision = routing_local.classify(text)
    assert decision.subject is expected, decision.rationale
    assert decision.stage is Stage.local and decision.strategy is Strategy.two_stage
    assert 0.0 <= decision.confidence <= 1.0
    assert decision.latency_ms >= 0 and decision.rationale


@pytest.mark.parametrize("text", ["I think math", "i think it's maths", "math", "It's a MATH question."])
def test_i_think_math_routes_to_math(routing_local: LocalClassifier, text: str) -> None:
    """Regression: the earlier classifier sent "I think math" to english with confidence 0.8."""
    decision = routing_local.classify(text)
    assert decision.subject is Subject.math
    assert decision.confidence >= 0.9


@pytest.mark.parametrize(
    ("text", "expected"),
    [("I think english", Subject.english), ("history please", Subject.history), ("not math, history", None)],
)
def test_declared_subject_rule(text: str, expected: Subject | None) -> None:
    hit = first_rule_hit(text)
    assert (hit.subject if hit else None) is expected


@pytest.mark.parametrize(
    "text",
    [
        "i want to kill myself",
        "I don't want to be alive anymore",
        "sometimes i hurt myself on purpose",
        "someone at home hits me",
        "i'm scared to go home",
    ],
)
def test_distress_goes_to_teacher_with_high_confidence_whatever_the_context(
    routing_local: LocalClassifier, text: str
) -> None:
    for history in ((), TIMES_TABLES, FIRE_OF_LONDON):
        decision = routing_local.classify(text, history)
        assert decision.subject is Subject.needs_teacher
        assert decision.confidence == DISTRESS_CONFIDENCE


@pytest.mark.parametrize(
    "text",
    ["why does juliet kill herself in romeo and juliet", "how did hitler die", "who killed julius caesar"],
)
def test_third_person_deaths_are_not_distress(text: str) -> None:
    assert first_rule_hit(text) is None


def test_elliptical_follow_up_stays_on_history(routing_local: LocalClassifier) -> None:
    text = "and what about the year after?"
    with_context = routing_local.classify(text, FIRE_OF_LONDON)
    assert with_context.subject is Subject.history
    assert with_context.confidence >= 0.7
    assert "follow-up" in with_context.rationale
    without = routing_local.probabilities(text)
    assert with_context.confidence > without[Subject.history]


@pytest.mark.parametrize(
    ("history", "text", "expected"),
    [
        (TIMES_TABLES, "and what about 13 times 13", Subject.math),
        (TIMES_TABLES, "why is that", Subject.math),
        (FIRE_OF_LONDON, "who was the king then", Subject.history),
        (FIRE_OF_LONDON, "what is 9 times 7", Subject.math),
        (TIMES_TABLES, "what is a metaphor", Subject.english),
        (TIMES_TABLES, "what's your favourite food", Subject.off_topic),
    ],
)
def test_context_carries_over_but_strong_evidence_switches(
    routing_local: LocalClassifier, history: tuple[Turn, ...], text: str, expected: Subject
) -> None:
    assert routing_local.classify(text, history).subject is expected


def test_context_window_is_limited(routing_local: LocalClassifier) -> None:
    old = (*FIRE_OF_LONDON, *[Turn("user", "ok", None), Turn("assistant", "Sure.", None)] * 3)
    clf = LocalClassifier(routing_local.model, context_turns=2)
    assert "context" not in clf.classify("why is that", old).rationale


def test_off_topic_and_needs_teacher_do_not_carry_over(routing_local: LocalClassifier) -> None:
    history = (Turn("user", "tell me a joke", Subject.off_topic), Turn("assistant", "Ha!", Subject.off_topic))
    assert "context" not in routing_local.classify("why is that", history).rationale


def test_shipped_model_was_trained_on_the_shipped_set() -> None:
    """Editing routing_set.jsonl without retraining (python -m tutorplane.routing.train) fails here."""
    assert load_model().meta["dataset_sha256"] == dataset_digest()


def test_labelled_set_shape() -> None:
    examples = load_examples()
    assert len(examples) >= 80
    kinds = {e.kind for e in examples}
    assert {"followup", "ambiguous", "off_topic", "distress", "declared"} <= kinds
    assert all(e.context for e in examples if e.kind == "followup")
    train, heldout = split(examples)
    assert not {e.id for e in train} & {e.id for e in heldout}
    unpinned = [e for e in examples if e.split is None]
    assert 0.2 <= len(heldout) / len(unpinned) <= 0.3
    assert len(heldout) >= 60
    assert {e.label for e in heldout} == set(Subject)
    assert heldout_ids(examples) == heldout_ids(list(reversed(examples)))


def test_training_only_lines_never_move_the_heldout_part() -> None:
    """Lines pinned to ``split: train`` are never held out and leave the held-out choice unchanged."""
    examples = load_examples()
    pinned = [e for e in examples if e.split == "train"]
    assert pinned, "the shipped set has training-only lines"
    unpinned = [e for e in examples if e.split is None]
    assert heldout_ids(examples) == heldout_ids(unpinned)
    assert not {e.id for e in pinned} & heldout_ids(examples)


def test_fresh_set_is_separate_from_the_labelled_set() -> None:
    """The second held-out set shares no id and no utterance with the training lines of the main set."""
    fresh = load_examples(fresh_path())
    assert len(fresh) >= 40
    assert {e.label for e in fresh} == set(Subject)
    examples = load_examples()
    assert not {e.id for e in fresh} & {e.id for e in examples}
    train, _ = split(examples)
    pinned_texts = {e.text.lower() for e in train if e.split == "train"}
    assert not pinned_texts & {e.text.lower() for e in fresh}


def test_heldout_accuracy_floor(routing_local: LocalClassifier) -> None:
    """A guard against a bad retrain; the measured figure is printed by tutorplane-routing-eval."""
    _, heldout = split(load_examples())
    right = sum(routing_local.classify(e.text, e.context).subject is e.label for e in heldout)
    assert right / len(heldout) >= 0.93


def test_confident_stage1_decisions_are_right_on_the_heldout_part(routing_local: LocalClassifier) -> None:
    """Calibration guard: what stage 1 decides alone (confidence >= the stage-2 threshold) is right."""
    _, heldout = split(load_examples())
    confident = [
        (e, d)
        for e in heldout
        if (d := routing_local.classify(e.text, e.context)).confidence >= RoutingSettings().routing_threshold
    ]
    wrong = [(e.id, d.subject.value) for e, d in confident if d.subject is not e.label]
    assert len(wrong) <= 1, wrong
    assert len(confident) >= 0.8 * len(heldout)


def test_cross_subject_evidence_gets_its_own_temperature(routing_local: LocalClassifier) -> None:
    model = routing_local.model
    assert model.temperature > 0 and model.temperature_mixed > 0
    assert model.meta["mixed_train_examples"] > 0


def test_rules_are_never_wrong_on_the_labelled_set() -> None:
    for example in load_examples():
        hit = first_rule_hit(example.text)
        assert hit is None or hit.subject is example.label, (example.id, hit)


def test_empty_and_odd_input(routing_local: LocalClassifier) -> None:
    for text in ("", "   ", "???", "1234", "😀"):
        decision = routing_local.classify(text)
        assert 0.0 <= decision.confidence <= 1.0


def test_model_file_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"tutorplane\.routing\.train"):
        load_model(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": 99}))
    with pytest.raises(ModelFileError, match="retrain"):
        load_model(bad)


def test_bad_dataset_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": "a", "text": "hi", "label": "science", "kind": "direct"}\n')
    with pytest.raises(ValueError, match=r"set\.jsonl:1"):
        load_examples(path)
