"""Question-intent cues: what the student asks for, as features next to the subject words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tutorplane.routing.cues import cue_hits
from tutorplane.routing.dataset import load_examples
from tutorplane.routing.features import extract_features, is_mixed, normalise, tokens
from tutorplane.routing.local import LocalClassifier
from tutorplane.routing.settings import RoutingSettings
from tutorplane.routing.types import Subject

pytestmark = pytest.mark.unit


def _cues(text: str) -> set[tuple[str, str]]:
    return set(cue_hits(normalise(text), tokens(text)))


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("how do you spell parallelogram", ("english", "spelling")),
        ("is necessary spelt with two s", ("english", "spelling")),
        ("what does the word treaty mean", ("english", "meaning")),
        ("give me a synonym for quick", ("english", "word_relation")),
        ("what year was the painter van gogh born", ("history", "when")),
        ("what year was the painter van gogh born", ("history", "life_event")),
        ("what did people eat in stone age times", ("history", "past_era")),
        ("how did the normans build castles so fast", ("history", "how_people_lived")),
        ("what is 14 plus 9", ("math", "expression")),
        ("twelve divided by four", ("math", "expression")),
        ("if a bus holds 40 people how many buses for 130", ("math", "word_problem")),
        ("what's 3/8 as a decimal", ("math", "fraction_percent")),
        ("do you like football", ("off_topic", "about_you")),
        ("hello", ("off_topic", "greeting")),
    ],
)
def test_cue_fires(text: str, cue: tuple[str, str]) -> None:
    assert cue in _cues(text)


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("can you practise the 7 times table with me", ("history", "past_era")),
        ("thanks, now can you check my essay", ("off_topic", "greeting")),
        ("can you explain long multiplication", ("off_topic", "about_you")),
        ("how do you find the area of a kite", ("off_topic", "about_you")),
        ("how many years did the war of the roses last", ("math", "quantity_with_numbers")),
        ("when do i use a colon", ("history", "when")),
    ],
)
def test_cue_does_not_fire(text: str, cue: tuple[str, str]) -> None:
    assert cue not in _cues(text)


def test_cue_features_and_mixed_evidence() -> None:
    feats = extract_features("how do you spell isosceles triangle")
    assert "cue:english:spelling" in feats and "cue:english" in feats and "lex:math" in feats
    assert is_mixed(feats)
    assert not is_mixed(extract_features("what is 14 plus 9"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("how do you spell isosceles", Subject.english),
        ("when did the writer george orwell die", Subject.history),
        ("a knight rides 12 miles each day, how far in 5 days", Subject.math),
        ("what does the word dynasty mean", Subject.english),
    ],
)
def test_cross_subject_questions_are_right_or_left_to_stage_2(
    routing_local: LocalClassifier, text: str, expected: Subject
) -> None:
    """The intent decides; if the model is not sure, its confidence is below the stage-2 threshold."""
    decision = routing_local.classify(text)
    threshold = RoutingSettings().routing_threshold
    assert decision.subject is expected or decision.confidence < threshold, decision.rationale


def test_training_only_split_value_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    line = {"id": "a", "text": "hi", "label": "off_topic", "kind": "off_topic", "split": "heldout"}
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(ValueError, match=r"set\.jsonl:1.*split"):
        load_examples(path)
