"""Train the stage-1 model on the training part of the labelled set and write the JSON weights.

    python -m tutorplane.routing.train [--data FILE] [--out FILE]

Steps (all deterministic, numpy only, a few seconds on one core):

1. features of every training utterance (``features.extract_features``); character n-grams and
   bigrams seen in fewer than two training utterances are dropped;
2. multinomial logistic regression with L2, the strength picked by 5-fold cross-validation;
3. a temperature fitted on the out-of-fold logits (calibration), so the softmax probability of
   the chosen subject is an honest confidence;
4. the two context bonuses (follow-up / other utterance) fitted on the out-of-fold logits of the
   training examples that have context;
5. the held-out quarter (``dataset.heldout_ids``) is never read here.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tutorplane.routing.dataset import Example, dataset_digest, default_path, load_examples, split
from tutorplane.routing.features import extract_features
from tutorplane.routing.local import LocalModel, default_model_path
from tutorplane.routing.rules import followup_cue
from tutorplane.routing.types import Subject, last_subject

log = logging.getLogger(__name__)

CLASSES: tuple[Subject, ...] = tuple(Subject)
L2_GRID = (1e-4, 3e-4, 1e-3, 3e-3)
TEMPERATURE_GRID = tuple(round(0.2 + 0.05 * i, 2) for i in range(57))
FOLLOWUP_GRID = tuple(0.25 * i for i in range(33))
CARRY_GRID = tuple(0.25 * i for i in range(13))
FOLDS = 5
STEPS = 600


def _vocabulary(feature_rows: list[dict[str, float]]) -> list[str]:
    document_freq: Counter[str] = Counter()
    for row in feature_rows:
        document_freq.update(row.keys())
    return sorted(name for name, df in document_freq.items() if df >= 2 or not name.startswith(("c:", "b:")))


def _matrix(feature_rows: list[dict[str, float]], vocab: dict[str, int]) -> np.ndarray:
    x = np.zeros((len(feature_rows), len(vocab)))
    for i, row in enumerate(feature_rows):
        for name, value in row.items():
            j = vocab.get(name)
            if j is not None:
                x[i, j] = value
    return x


def _fit(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression by Adam on the mean cross-entropy + l2/2 * |W|^2 (bias unpenalised)."""
    n, d = x.shape
    k = y.shape[1]
    w = np.zeros((d, k))
    b = np.log(y.mean(axis=0) + 1e-6)
    mw, vw, mb, vb = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
    lr, beta1, beta2, eps = 0.05, 0.9, 0.999, 1e-8
    for step in range(1, STEPS + 1):
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        grad_z = (p - y) / n
        gw = x.T @ grad_z + l2 * w
        gb = grad_z.sum(axis=0)
        mw = beta1 * mw + (1 - beta1) * gw
        vw = beta2 * vw + (1 - beta2) * gw * gw
        mb = beta1 * mb + (1 - beta1) * gb
        vb = beta2 * vb + (1 - beta2) * gb * gb
        corr1, corr2 = 1 - beta1**step, 1 - beta2**step
        w -= lr * (mw / corr1) / (np.sqrt(vw / corr2) + eps)
        b -= lr * (mb / corr1) / (np.sqrt(vb / corr2) + eps)
    return w, b


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _folds(n: int) -> list[np.ndarray]:
    order = np.random.default_rng(7).permutation(n)
    return [order[i::FOLDS] for i in range(FOLDS)]


def _out_of_fold_logits(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    logits = np.zeros_like(y)
    for held in _folds(len(x)):
        mask = np.ones(len(x), dtype=bool)
        mask[held] = False
        w, b = _fit(x[mask], y[mask], l2)
        logits[held] = x[held] @ w + b
    return logits


def _context_offsets(examples: Sequence[Example], followup: float, carry: float) -> np.ndarray:
    offsets = np.zeros((len(examples), len(CLASSES)))
    for i, example in enumerate(examples):
        previous = last_subject(example.context)
        if previous is None:
            continue
        last_assistant = next((t.text for t in reversed(example.context) if t.role == "assistant"), None)
        offsets[i, CLASSES.index(previous)] = (
            followup if followup_cue(example.text, last_assistant) else carry
        )
    return offsets


def train(examples: list[Example]) -> tuple[LocalModel, dict[str, Any]]:
    """Fit the model on ``examples`` (the training split) and return it with fit diagnostics."""
    rows = [extract_features(e.text) for e in examples]
    vocab_list = _vocabulary(rows)
    vocab = {name: j for j, name in enumerate(vocab_list)}
    x = _matrix(rows, vocab)
    y = np.zeros((len(examples), len(CLASSES)))
    for i, example in enumerate(examples):
        y[i, CLASSES.index(example.label)] = 1.0
    labels = y.argmax(axis=1)

    scores = {}
    oof_by_l2 = {}
    for l2 in L2_GRID:
        oof = _out_of_fold_logits(x, y, l2)
        oof_by_l2[l2] = oof
        scores[l2] = float((oof.argmax(axis=1) == labels).mean()) - 1e-3 * float(
            -(_log_softmax(oof) * y).sum(axis=1).mean()
        )
    l2 = max(L2_GRID, key=lambda value: scores[value])
    oof = oof_by_l2[l2]

    def nll(z: np.ndarray) -> float:
        return float(-(_log_softmax(z) * y).sum(axis=1).mean())

    temperature = min(TEMPERATURE_GRID, key=lambda t: nll(oof / t))
    with_context = [i for i, e in enumerate(examples) if last_subject(e.context) is not None]
    ctx_examples = [examples[i] for i in with_context]
    ctx_y = y[with_context]
    ctx_z = oof[with_context] / temperature
    best = (float("inf"), 0.0, 0.0)
    for followup in FOLLOWUP_GRID:
        for carry in CARRY_GRID:
            if carry > followup:
                continue
            z = ctx_z + _context_offsets(ctx_examples, followup, carry)
            loss = float(-(_log_softmax(z) * ctx_y).sum(axis=1).mean()) if with_context else 0.0
            best = min(best, (loss, followup, carry))
    _, followup_bonus, carry_bonus = best

    w, b = _fit(x, y, l2)
    weights = {
        name: tuple(float(v) for v in w[j]) for name, j in vocab.items() if float(np.abs(w[j]).max()) >= 1e-3
    }
    oof_calibrated = oof / temperature + _context_offsets(examples, followup_bonus, carry_bonus)
    diagnostics = {
        "l2": l2,
        "temperature": temperature,
        "followup_bonus": followup_bonus,
        "carry_bonus": carry_bonus,
        "cv_accuracy_model_only": round(float((oof_calibrated.argmax(axis=1) == labels).mean()), 4),
        "features": len(weights),
        "train_examples": len(examples),
    }
    model = LocalModel(
        classes=CLASSES,
        bias=tuple(float(v) for v in b),
        weights=weights,
        temperature=temperature,
        followup_bonus=followup_bonus,
        carry_bonus=carry_bonus,
        meta=diagnostics,
    )
    return model, diagnostics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the stage-1 routing model from the labelled set.")
    parser.add_argument("--data", type=Path, default=None, help="labelled JSONL (default: the shipped set)")
    parser.add_argument("--out", type=Path, default=None, help="model JSON (default: the packaged file)")
    args = parser.parse_args(argv)
    data_path = args.data or default_path()
    examples = load_examples(data_path)
    train_set, heldout = split(examples)
    model, diagnostics = train(train_set)
    model.meta["dataset_sha256"] = dataset_digest(data_path)
    model.meta["heldout_examples"] = len(heldout)
    out = args.out or default_model_path()
    import json

    out.write_text(json.dumps(model.to_json(), separators=(",", ":")) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {out.name}: {json.dumps(diagnostics)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
