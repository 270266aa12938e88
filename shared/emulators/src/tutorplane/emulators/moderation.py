"""Moderation scores in the omni-moderation shape: a small built-in lexicon plus scripted rules.

Unflagged text gets low scores that are deterministic per (text, category), so the offline demo
and the tests see the same numbers every run. A category is flagged at a score of 0.5 or more.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from .offline import stable_hash

CATEGORIES: tuple[str, ...] = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
# Categories the omni model also scores for images.
_IMAGE_CATEGORIES = frozenset(
    {"self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "violence", "violence/graphic"}
)
FLAG_THRESHOLD = 0.5

# Explicit phrasings only: a student saying "I feel stupid at fractions" must not be flagged.
_LEXICON: tuple[tuple[re.Pattern[str], dict[str, float]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), scores)
    for pattern, scores in (
        (
            r"\b(kill|hurt|harm|cut)\s+myself\b|\bwant to die\b|\bend (it all|my life)\b|\bsuicid",
            {"self-harm": 0.93, "self-harm/intent": 0.91},
        ),
        (
            r"\bhow (do i|to|can i|should i) (kill|hurt|cut|harm) (myself|yourself)\b",
            {"self-harm": 0.9, "self-harm/instructions": 0.88, "self-harm/intent": 0.7},
        ),
        (
            r"\b(i will|i'll|i'm going to|im going to|gonna) (kill|hurt|shoot|stab|beat up) "
            r"(you|him|her|them|everyone)\b",
            {"violence": 0.88, "harassment/threatening": 0.86, "harassment": 0.72},
        ),
        (r"\byou('re| are) (so )?(stupid|an idiot|a loser|dumb|worthless)\b", {"harassment": 0.74}),
        (r"\b(porn\w*|nude|nudes|naked|sexy|sex)\b", {"sexual": 0.86}),
        (
            r"\b(make|build|making|building) (a |an )?(bomb|explosive|pipe bomb)",
            {"illicit/violent": 0.9, "illicit": 0.88, "violence": 0.6},
        ),
        (r"\b(buy|sell|get) (drugs|weed|cocaine|meth)\b", {"illicit": 0.82}),
        (r"\b(blood|gore|guts) (everywhere|all over)\b", {"violence/graphic": 0.72, "violence": 0.6}),
    )
)


def validate_categories(categories: dict[str, float]) -> dict[str, float]:
    """Scripted categories must be known names with scores in [0, 1]."""
    if not isinstance(categories, dict) or not categories:
        raise ValueError("moderation categories must be a non-empty {category: score} mapping")
    clean: dict[str, float] = {}
    for name, score in categories.items():
        if name not in CATEGORIES:
            raise ValueError(f"unknown moderation category {name!r}; valid categories: {list(CATEGORIES)}")
        value = float(score)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"moderation score for {name!r} must be between 0 and 1, got {score!r}")
        clean[name] = value
    return clean


def baseline_scores(text: str) -> dict[str, float]:
    """Low, deterministic scores (< 0.001) for text the lexicon does not match."""
    return {c: round((stable_hash(f"{c}|{text}") % 997 + 1) / 1_000_000, 6) for c in CATEGORIES}


def lexicon_scores(text: str) -> dict[str, float]:
    scores: dict[str, float] = {}
    for pattern, categories in _LEXICON:
        if pattern.search(text):
            for name, value in categories.items():
                scores[name] = max(scores.get(name, 0.0), value)
    return scores


@functools.lru_cache(maxsize=4096)
def _text_scores(text: str) -> tuple[tuple[str, float], ...]:
    """Baseline and lexicon scores of ``text``; deterministic, so a load test's repeated sentences
    are scored once (thirteen hashes and the lexicon per sentence were a fifth of the emulator)."""
    scores = baseline_scores(text)
    scores.update(lexicon_scores(text))
    return tuple(scores.items())


def moderation_result(text: str, overrides: dict[str, float], *, has_image: bool = False) -> dict[str, Any]:
    """One entry of `results[]`: built-in lexicon first, scripted scores override it."""
    scores = dict(_text_scores(text))
    scores.update(overrides)
    categories = {c: scores[c] >= FLAG_THRESHOLD for c in CATEGORIES}
    applied = {
        c: (["text", "image"] if has_image and c in _IMAGE_CATEGORIES else ["text"]) for c in CATEGORIES
    }
    return {
        "flagged": any(categories.values()),
        "categories": categories,
        "category_scores": {c: scores[c] for c in CATEGORIES},
        "category_applied_input_types": applied,
    }


def is_flagged(text: str) -> bool:
    return any(score >= FLAG_THRESHOLD for score in lexicon_scores(text).values())
