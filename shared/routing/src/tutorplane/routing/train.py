"""Train the stage-1 model on the training part of the labelled set and write the JSON weights.

    python -m tutorplane.routing.train [--data FILE] [--out FILE]

Steps (all deterministic, numpy only, a few seconds on one core):

1. features of every training utterance (``features.extract_features``); character n-grams and
   bigrams seen in fewer than two training utterances are dropped;
2. multinomial logistic regression with L2 and label smoothing, the L2 strength picked by 5-fold
   cross-validation (accuracy first, then log-loss);
3. two temperatures fitted on the out-of-fold logits (calibration), so the softmax probability of
   the chosen subject is an honest confidence: one for utterances whose words and cues point at
   one teaching subject, one for those pointing at several (``features.is_mixed``). Cross-subject
   questions are where the model is wrong most often; their own temperature keeps their
   confidence from borrowing the certainty of the clear cases, so they fall below the stage-2
   threshold instead of being confidently wrong;
4. the two context bonuses (follow-up / other utterance) fitted on the out-of-fold logits of the
   training examples that have context;
5. the held-out quarter (``dataset.heldout_ids``) and ``routing_set_fresh.jsonl`` are never read.

The design matrix is kept sparse (an utterance has a few dozen of the thousands of features), so a
training run is a few hundred sparse products rather than dense ones.
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
from tutorplane.routing.features import extract_features, is_mixed
from tutorplane.routing.local import LocalModel, default_model_path
from tutorplane.routing.rules import followup_cue
from tutorplane.routing.types import Subject, last_subject

log = logging.getLogger(__name__)

CLASSES: tuple[Subject, ...] = tuple(Subject)
L2_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
LABEL_SMOOTHING = 0.05
TEMPERATURE_GRID = tuple(round(0.2 + 0.05 * i, 2) for i in range(77))
FOLLOWUP_GRID = tuple(0.25 * i for i in range(33))
CARRY_GRID = tuple(0.25 * i for i in range(13))
FOLDS = 5
STEPS = 600


def _vocabulary(feature_rows: list[dict[str, float]]) -> list[str]:
    document_freq: Counter[str] = Counter()
    for row in feature_rows:
        document_freq.update(row.keys())
    return sorted(name for name, df in document_freq.items() if df >= 2 or not name.startswith(("c:", "b:")))


class SparseRows:
    """A row-sparse design matrix: ``dot(w)`` is X @ w and ``tdot(g)`` is X.T @ g."""

    def __init__(self, feature_rows: list[dict[str, float]], vocab: dict[str, int]) -> None:
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for i, row in enumerate(feature_rows):
            for name, value in row.items():
                j = vocab.get(name)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
                    vals.append(value)
        self.n_rows = len(feature_rows)
        self.n_cols = len(vocab)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.cols = np.asarray(cols, dtype=np.int64)
        self.vals = np.asarray(vals, dtype=np.float64)
        self._flat: dict[tuple[str, int], np.ndarray] = {}

    def __len__(self) -> int:
        return self.n_rows

    def take(self, index: np.ndarray) -> SparseRows:
        """The rows at ``index`` (in that order)."""
        new_id = np.full(self.n_rows, -1, dtype=np.int64)
        new_id[index] = np.arange(len(index))
        keep = new_id[self.rows] >= 0
        out = SparseRows.__new__(SparseRows)
        out.n_rows, out.n_cols = len(index), self.n_cols
        out.rows, out.cols, out.vals = new_id[self.rows[keep]], self.cols[keep], self.vals[keep]
        out._flat = {}
        return out

    def _flat_index(self, which: str, width: int) -> np.ndarray:
        key = (which, width)
        cached = self._flat.get(key)
        if cached is None:
            index = self.rows if which == "rows" else self.cols
            cached = self._flat[key] = (index[:, None] * width + np.arange(width)).ravel()
        return cached

    def dot(self, w: np.ndarray) -> np.ndarray:
        width = w.shape[1]
        contrib = np.take(w, self.cols, axis=0)
        contrib *= self.vals[:, None]
        flat = np.bincount(
            self._flat_index("rows", width), weights=contrib.ravel(), minlength=self.n_rows * width
        )
        return flat.reshape(self.n_rows, width)

    def tdot(self, g: np.ndarray) -> np.ndarray:
        width = g.shape[1]
        contrib = np.take(g, self.rows, axis=0)
        contrib *= self.vals[:, None]
        flat = np.bincount(
            self._flat_index("cols", width), weights=contrib.ravel(), minlength=self.n_cols * width
        )
        return flat.reshape(self.n_cols, width)


def _fit(x: SparseRows, y: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression by Adam on the mean cross-entropy + l2/2 * |W|^2 (bias unpenalised)."""
    n, d = len(x), x.n_cols
    k = y.shape[1]
    target = y * (1.0 - LABEL_SMOOTHING) + LABEL_SMOOTHING / k
    w = np.zeros((d, k))
    b = np.log(y.mean(axis=0) + 1e-6)
    mw, vw, mb, vb = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
    lr, beta1, beta2, eps = 0.05, 0.9, 0.999, 1e-8
    for step in range(1, STEPS + 1):
        z = x.dot(w) + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        grad_z = (p - target) / n
        gw = x.tdot(grad_z) + l2 * w
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


def _out_of_fold_logits(x: SparseRows, y: np.ndarray, l2: float) -> np.ndarray:
    logits = np.zeros_like(y)
    for held in _folds(len(x)):
        mask = np.ones(len(x), dtype=bool)
        mask[held] = False
        w, b = _fit(x.take(np.flatnonzero(mask)), y[mask], l2)
        logits[held] = x.take(held).dot(w) + b
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
    x = SparseRows(rows, vocab)
    y = np.zeros((len(examples), len(CLASSES)))
    for i, example in enumerate(examples):
        y[i, CLASSES.index(example.label)] = 1.0
    labels = y.argmax(axis=1)

    def nll(z: np.ndarray, target: np.ndarray) -> float:
        return float(-(_log_softmax(z) * target).sum(axis=1).mean()) if len(z) else 0.0

    scores = {}
    oof_by_l2 = {}
    for l2 in L2_GRID:
        oof = _out_of_fold_logits(x, y, l2)
        oof_by_l2[l2] = oof
        scores[l2] = float((oof.argmax(axis=1) == labels).mean()) - 1e-3 * nll(oof, y)
    l2 = max(L2_GRID, key=lambda value: scores[value])
    oof = oof_by_l2[l2]

    mixed = np.array([is_mixed(row) for row in rows], dtype=bool)
    temperature = min(TEMPERATURE_GRID, key=lambda t: nll(oof[~mixed] / t, y[~mixed]))
    temperature_mixed = (
        min(TEMPERATURE_GRID, key=lambda t: nll(oof[mixed] / t, y[mixed])) if mixed.any() else temperature
    )
    scale = np.where(mixed, 1.0 / temperature_mixed, 1.0 / temperature)[:, None]
    with_context = [i for i, e in enumerate(examples) if last_subject(e.context) is not None]
    ctx_examples = [examples[i] for i in with_context]
    ctx_y = y[with_context]
    ctx_z = (oof * scale)[with_context]
    best = (float("inf"), 0.0, 0.0)
    for followup in FOLLOWUP_GRID:
        for carry in CARRY_GRID:
            if carry > followup:
                continue
            z = ctx_z + _context_offsets(ctx_examples, followup, carry)
            loss = nll(z, ctx_y)
            best = min(best, (loss, followup, carry))
    _, followup_bonus, carry_bonus = best

    w, b = _fit(x, y, l2)
    weights = {
        name: tuple(float(v) for v in w[j]) for name, j in vocab.items() if float(np.abs(w[j]).max()) >= 1e-3
    }
    oof_calibrated = oof * scale + _context_offsets(examples, followup_bonus, carry_bonus)
    diagnostics = {
        "l2": l2,
        "label_smoothing": LABEL_SMOOTHING,
        "temperature": temperature,
        "temperature_mixed": temperature_mixed,
        "mixed_train_examples": int(mixed.sum()),
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
        temperature_mixed=temperature_mixed,
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
