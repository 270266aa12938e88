"""The training command: deterministic, calibrated, and round-trips through the JSON format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tutorplane.routing import train as training
from tutorplane.routing.dataset import load_examples, split
from tutorplane.routing.local import LocalClassifier, LocalModel
from tutorplane.routing.types import Subject

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def small_model() -> LocalModel:
    train_set, _ = split(load_examples())
    subset = [e for i, e in enumerate(train_set) if i % 2 == 0]
    model, _ = training.train(subset)
    return model


def test_trained_model_learns_its_training_examples(small_model: LocalModel) -> None:
    train_set, _ = split(load_examples())
    subset = [e for i, e in enumerate(train_set) if i % 2 == 0]
    clf = LocalClassifier(small_model)
    right = sum(clf.classify(e.text, e.context).subject is e.label for e in subset)
    assert right / len(subset) >= 0.95
    assert small_model.classes == tuple(Subject)
    assert small_model.temperature > 0
    assert small_model.followup_bonus >= small_model.carry_bonus >= 0


def test_model_json_round_trip(small_model: LocalModel, tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(small_model.to_json()))
    again = LocalClassifier.load(path)
    original = LocalClassifier(small_model)
    for text in ("what is 7 times 8", "who was napoleon", "what is a noun"):
        a, b = original.probabilities(text), again.probabilities(text)
        assert all(abs(a[s] - b[s]) < 1e-3 for s in Subject)


def test_train_command_writes_a_loadable_model(tmp_path: Path) -> None:
    data = tmp_path / "set.jsonl"
    lines = [
        {"id": f"x{i}", "text": text, "label": label, "kind": "direct"}
        for i, (text, label) in enumerate(
            [
                ("what is 2 plus 2", "math"),
                ("what is 3 times 4", "math"),
                ("how do i add numbers", "math"),
                ("who was napoleon", "history"),
                ("when did the war end", "history"),
                ("who was the king", "history"),
                ("what is a noun", "english"),
                ("how do i spell cat", "english"),
                ("what is a verb", "english"),
                ("tell me a joke", "off_topic"),
                ("hello there", "off_topic"),
                ("i like games", "off_topic"),
                ("i feel so alone", "needs_teacher"),
                ("get my teacher", "needs_teacher"),
                ("i want to die", "needs_teacher"),
            ]
            * 2
        )
    ]
    data.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    out = tmp_path / "model.json"
    assert training.main(["--data", str(data), "--out", str(out)]) == 0
    assert LocalClassifier.load(out).classify("what is 5 plus 5").subject is Subject.math
