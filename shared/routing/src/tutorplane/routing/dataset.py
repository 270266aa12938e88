"""The labelled routing set shipped with the package, and its fixed train / held-out split.

Each line of ``data/routing_set.jsonl`` is one student utterance::

    {"id": "h064", "label": "history", "kind": "followup", "text": "and what about the year after?",
     "context": [{"role": "user", "text": "...", "subject": "history"}, ...]}

``kind`` is one of direct, declared, ambiguous, followup, off_topic, distress. The held-out
quarter is chosen per label by a hash of the id among the lines without a ``split`` field, so the
training command never sees it. A line with ``"split": "train"`` is training data only: lines
written after the held-out quarter was fixed carry it, so adding training data never moves an
utterance into or out of the held-out part (whose figures are compared across model versions).

``routing_set_fresh.jsonl`` beside it has the same format and is never trained on or tuned
against: it is a second held-out check, written before a model change and read only to report
(``tutorplane-routing-eval --fresh``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tutorplane.routing.types import Subject, Turn

KINDS = frozenset({"direct", "declared", "ambiguous", "followup", "off_topic", "distress"})
SPLITS = frozenset({"train"})
HELDOUT_SHARE = 0.25
FRESH_FILE = "routing_set_fresh.jsonl"


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    text: str
    label: Subject
    kind: str
    context: tuple[Turn, ...] = ()
    split: str | None = None


def default_path() -> Path:
    return Path(str(resources.files("tutorplane.routing") / "data" / "routing_set.jsonl"))


def fresh_path() -> Path:
    """The second held-out set (never trained on, never tuned against)."""
    return Path(str(resources.files("tutorplane.routing") / "data" / FRESH_FILE))


def load_examples(path: Path | None = None) -> list[Example]:
    """Parse the labelled set; a malformed line raises ValueError naming the file and line."""
    source = path or default_path()
    examples: list[Example] = []
    seen: set[str] = set()
    with source.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                example = Example(
                    id=str(data["id"]),
                    text=str(data["text"]),
                    label=Subject(data["label"]),
                    kind=str(data["kind"]),
                    context=tuple(Turn.from_dict(turn) for turn in data.get("context", [])),
                    split=data.get("split"),
                )
                if example.kind not in KINDS:
                    raise ValueError(f"kind must be one of {sorted(KINDS)}, got {example.kind!r}")
                if example.split is not None and example.split not in SPLITS:
                    raise ValueError(
                        f"split must be one of {sorted(SPLITS)} or absent, got {example.split!r}"
                    )
                if example.id in seen:
                    raise ValueError(f"duplicate id {example.id!r}")
            except (KeyError, ValueError, TypeError) as exc:
                raise ValueError(f"{source}:{number}: bad labelled example ({exc}); fix the line") from exc
            seen.add(example.id)
            examples.append(example)
    return examples


def _rank(example_id: str) -> str:
    return hashlib.sha256(example_id.encode()).hexdigest()


def heldout_ids(examples: Iterable[Example], share: float = HELDOUT_SHARE) -> frozenset[str]:
    """A stratified, stable held-out subset: per label, the ``share`` with the smallest id hash.

    Lines pinned to ``split: train`` take no part, so they never shift the held-out choice.
    """
    by_label: dict[Subject, list[str]] = {}
    for example in examples:
        if example.split is None:
            by_label.setdefault(example.label, []).append(example.id)
    chosen: set[str] = set()
    for ids in by_label.values():
        ids.sort(key=_rank)
        chosen.update(ids[: round(len(ids) * share)])
    return frozenset(chosen)


def split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """(train, heldout)."""
    held = heldout_ids(examples)
    return [e for e in examples if e.id not in held], [e for e in examples if e.id in held]


def dataset_digest(path: Path | None = None) -> str:
    return hashlib.sha256((path or default_path()).read_bytes()).hexdigest()
