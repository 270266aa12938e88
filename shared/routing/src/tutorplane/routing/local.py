"""Stage 1: a fast local subject classifier (rules + a small linear model), with context.

Why a linear model over word and character n-grams rather than an embedding model: it runs in
every gateway and agent image, on every student turn. The weights are a JSON file of about 150 KB
and inference is pure Python (a few hundred dictionary look-ups and a few dozen short regular
expressions: well under a millisecond of CPU per call, see ``tutorplane-routing-bench``). The PyPI packages that ship all-MiniLM-L6-v2 pull
in torch or onnxruntime (hundreds of megabytes per image), cost milliseconds of CPU per call and
still need a classifier head trained on the same few hundred examples. With a labelled set this
small an embedding would mostly buy robustness to unseen wording, which the subject word lists
(``lexicon.py``) and character n-grams give cheaply, and the stage-2 LLM covers whatever stays
uncertain.

The model is a multinomial logistic regression trained by ``python -m tutorplane.routing.train``
on the training part of ``data/routing_set.jsonl`` and shipped as ``data/local_model.json``;
nothing is downloaded at run time. Besides words and character n-grams it sees subject word lists
(``lexicon.py``) and question-intent cues (``cues.py``: "how do I spell", "what year did", an
arithmetic expression). Its probabilities are calibrated by temperatures fitted on out-of-fold
predictions, one for utterances whose evidence points at one teaching subject and one for
cross-subject utterances, so ``confidence`` can be compared with the stage-2 threshold and an
uncertain cross-subject question goes to stage 2 rather than being confidently wrong.

Context: the subject of the most recent turn in the history is a prior. An utterance that looks
elliptical ("and what about the year after?", a short reply to the tutor's question) gets a
large learned bonus towards that subject; any other utterance a small one. Strong evidence for
another subject ("ok, now 45 divided by 9") still wins.

Rules run first: distress/abuse/danger cues and requests for a person go to ``needs_teacher``
with high confidence whatever the context; a short answer naming one subject ("I think math")
goes to that subject.
"""

from __future__ import annotations

import heapq
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tutorplane.routing.features import extract_features, is_mixed
from tutorplane.routing.rules import RuleHit, first_rule_hit, followup_cue
from tutorplane.routing.types import (
    RoutingDecision,
    Stage,
    Strategy,
    Subject,
    Turn,
    last_subject,
)

MODEL_FORMAT = 2
DEFAULT_CONTEXT_TURNS = 4


class ModelFileError(ValueError):
    """The stage-1 model file is missing or malformed."""


@dataclass(frozen=True, slots=True)
class LocalModel:
    """Weights and calibration of the stage-1 model (the content of ``local_model.json``)."""

    classes: tuple[Subject, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]
    temperature: float
    temperature_mixed: float
    followup_bonus: float
    carry_bonus: float
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "classes": [c.value for c in self.classes],
            "bias": [round(b, 5) for b in self.bias],
            "temperature": round(self.temperature, 4),
            "temperature_mixed": round(self.temperature_mixed, 4),
            "followup_bonus": round(self.followup_bonus, 4),
            "carry_bonus": round(self.carry_bonus, 4),
            "meta": self.meta,
            "weights": {k: [round(w, 4) for w in v] for k, v in sorted(self.weights.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LocalModel:
        if data.get("format") != MODEL_FORMAT:
            raise ModelFileError(
                f"stage-1 model format {data.get('format')!r} is not {MODEL_FORMAT}; "
                "retrain with `python -m tutorplane.routing.train`"
            )
        classes = tuple(Subject(c) for c in data["classes"])
        width = len(classes)
        weights = {str(k): tuple(float(w) for w in v) for k, v in data["weights"].items()}
        if any(len(v) != width for v in weights.values()) or len(data["bias"]) != width:
            raise ModelFileError("stage-1 model weights do not match its classes; retrain the model")
        return cls(
            classes=classes,
            bias=tuple(float(b) for b in data["bias"]),
            weights=weights,
            temperature=float(data["temperature"]),
            temperature_mixed=float(data["temperature_mixed"]),
            followup_bonus=float(data["followup_bonus"]),
            carry_bonus=float(data["carry_bonus"]),
            meta=dict(data.get("meta", {})),
        )


def default_model_path() -> Path:
    return Path(str(resources.files("tutorplane.routing") / "data" / "local_model.json"))


def load_model(path: Path | None = None) -> LocalModel:
    source = path or default_model_path()
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelFileError(
            f"stage-1 model {source} not found; run `python -m tutorplane.routing.train`"
        ) from exc
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"stage-1 model {source} is not valid JSON ({exc}); retrain it") from exc
    return LocalModel.from_json(data)


def softmax(logits: Sequence[float]) -> list[float]:
    top = max(logits)
    exps = [math.exp(z - top) for z in logits]
    total = sum(exps)
    return [e / total for e in exps]


class LocalClassifier:
    """Stage-1 classifier: ``classify(text, history)`` -> a ``local`` RoutingDecision."""

    def __init__(self, model: LocalModel, *, context_turns: int = DEFAULT_CONTEXT_TURNS) -> None:
        if context_turns < 0:
            raise ValueError("context_turns must be >= 0")
        self.model = model
        self.context_turns = context_turns
        self._index = {subject: i for i, subject in enumerate(model.classes)}

    @classmethod
    def load(cls, path: Path | None = None, *, context_turns: int = DEFAULT_CONTEXT_TURNS) -> LocalClassifier:
        """The classifier with the shipped weights (or the model file at ``path``)."""
        return cls(load_model(path), context_turns=context_turns)

    def logits(self, text: str) -> list[float]:
        """Temperature-scaled logits of the text alone (no rules, no context)."""
        return self._logits(extract_features(text))

    def _logits(self, features: dict[str, float]) -> list[float]:
        model = self.model
        z = list(model.bias)
        width = len(z)
        weights = model.weights
        for name, value in features.items():
            row = weights.get(name)
            if row is not None:
                for k in range(width):
                    z[k] += row[k] * value
        inv_t = 1.0 / (model.temperature_mixed if is_mixed(features) else model.temperature)
        return [v * inv_t for v in z]

    def probabilities(self, text: str, history: Sequence[Turn] = ()) -> dict[Subject, float]:
        """Calibrated class probabilities from the model and the context prior (rules excluded)."""
        z, _ = self._contextual_logits(text, extract_features(text), history)
        return dict(zip(self.model.classes, softmax(z), strict=True))

    def _contextual_logits(
        self, text: str, features: dict[str, float], history: Sequence[Turn]
    ) -> tuple[list[float], str | None]:
        z = self._logits(features)
        recent = list(history[-self.context_turns :]) if self.context_turns else []
        previous = last_subject(recent)
        if previous is None or previous not in self._index:
            return z, None
        last_assistant = next((t.text for t in reversed(recent) if t.role == "assistant"), None)
        cue = followup_cue(text, last_assistant)
        z[self._index[previous]] += self.model.followup_bonus if cue else self.model.carry_bonus
        note = f"context: previous subject {previous.value}" + (f", follow-up ({cue})" if cue else "")
        return z, note

    def classify(self, text: str, history: Sequence[Turn] = ()) -> RoutingDecision:
        started = time.perf_counter()
        hit = first_rule_hit(text)
        if hit is not None:
            return self._rule_decision(hit, started)
        features = extract_features(text)
        z, context_note = self._contextual_logits(text, features, history)
        probs = softmax(z)
        best = max(range(len(probs)), key=probs.__getitem__)
        subject = self.model.classes[best]
        rationale = f"model: {subject.value} p={probs[best]:.2f}; " + self._top_features(features, best)
        if context_note:
            rationale += "; " + context_note
        return RoutingDecision(
            subject=subject,
            confidence=min(1.0, max(0.0, probs[best])),
            strategy=Strategy.two_stage,
            stage=Stage.local,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            rationale=rationale,
        )

    def _top_features(self, features: dict[str, float], klass: int, n: int = 3) -> str:
        weights = self.model.weights
        contributions = (
            (row[klass] * value, name)
            for name, value in features.items()
            if (row := weights.get(name)) is not None and row[klass] > 0
        )
        top = heapq.nlargest(n, contributions)
        return "features " + ", ".join(name for _, name in top) if top else "no known features"

    @staticmethod
    def _rule_decision(hit: RuleHit, started: float) -> RoutingDecision:
        return RoutingDecision(
            subject=hit.subject,
            confidence=hit.confidence,
            strategy=Strategy.two_stage,
            stage=Stage.local,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            rationale=f"rule: {hit.rule} ({hit.evidence!r})",
        )
