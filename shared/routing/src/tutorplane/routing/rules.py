"""Hand-written stage-1 rules: the cases that must never wait for, or depend on, a model.

* Distress, abuse and danger cues go to ``needs_teacher`` with high confidence, before anything
  else and whatever the context. The patterns are first-person ("I want to die", "they hit me")
  so a question about a character or a king who died is not escalated.
* A student asking for a person ("can I talk to my teacher") goes to ``needs_teacher`` too.
* A short answer that names one subject ("I think math", "history please") goes to that subject.
  The earlier classifier sent "I think math" to english; this rule makes that impossible.
* Follow-up cues ("and what about…", "why did they…") mark an utterance as elliptical, so the
  model's context prior can keep it on the previous subject.

Rule confidences are fixed constants, not learned; ``tutorplane-routing-eval`` prints how often
each rule fired on the labelled set and how often it was right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutorplane.routing.features import normalise, tokens
from tutorplane.routing.types import Subject

DISTRESS_CONFIDENCE = 0.97
TEACHER_REQUEST_CONFIDENCE = 0.95
DECLARED_SUBJECT_CONFIDENCE = 0.95
DECLARED_MAX_TOKENS = 7

_DISTRESS_PATTERNS: tuple[tuple[str, str], ...] = (
    ("self-harm", r"\b(kill|hurt|harm|cut|cutting|hurting|harming|killing)\s+my ?self\b"),
    ("self-harm", r"\bself[- ]?harm"),
    ("self-harm", r"\bsuicid"),
    ("self-harm", r"\b(want|wanna|going|gonna)\s+(to\s+)?die\b"),
    ("self-harm", r"\bwants? to die\b"),
    ("self-harm", r"\b(don'?t|do not|dont)\s+want\s+to\s+(be\s+alive|live|exist)"),
    ("self-harm", r"\bend (it all|my life)\b"),
    ("self-harm", r"\b(better off without me|if i (disappeared|was gone|wasn'?t here))"),
    ("self-harm", r"\bi('?ve| have) been cutting\b"),
    ("distress", r"\bi hate (my ?self|my life)\b"),
    ("distress", r"\bi (feel|am|'m|m) (so |really |very )?(alone|lonely|hopeless|worthless)\b"),
    ("distress", r"\bi (feel|am|'m|m) (so |really |very )?sad (all the time|every day)"),
    ("distress", r"\bnobody (cares|likes me|loves me)\b"),
    ("distress", r"\bcan'?t stop crying\b"),
    ("safety", r"\b(bully|bullies|bullying)\s+me\b|\b(being|been|get|got|getting|am|was|i'm|im) bullied\b"),
    ("safety", r"\b(hits?|hitting|hurts?|hurting|kicks?|kicking|punch(es)?|touch(es|ed|ing)?)\s+me\b"),
    ("safety", r"\b(scared|afraid|frightened) to go home\b"),
    ("safety", r"\bi (don'?t|do not) feel safe\b"),
    ("safety", r"\brun away from home\b"),
    ("safety", r"\b(send|sent) (him |her |them )?(pictures|photos|pics)\b"),
    ("safety", r"\b(abuses?|abused|abusing)\s+me\b|\bi('m| am| was| get| got) abused\b"),
    ("danger", r"\bhow (do|can|to) (i |you )?(make|build) (a )?(bomb|weapon|gun|explosive)"),
)
_DISTRESS = tuple((cat, re.compile(pat)) for cat, pat in _DISTRESS_PATTERNS)

_TEACHER_REQUEST = re.compile(
    r"\b(talk|speak) to (my|a|the) (teacher|grown ?up|adult)\b"
    r"|\b(get|call|want|need) (my|a|the) (teacher|grown ?up)\b"
    r"|\b(real|actual) (person|human|teacher)\b"
)

SUBJECT_NAMES: dict[str, Subject] = {
    "math": Subject.math,
    "maths": Subject.math,
    "mathematics": Subject.math,
    "history": Subject.history,
    "english": Subject.english,
}
_NEGATIONS = frozenset({"not", "no", "isn't", "isnt", "never"})

_FOLLOWUP_OPENERS: tuple[tuple[str, ...], ...] = (
    ("and",),
    ("but",),
    ("so",),
    ("then",),
    ("also",),
    ("what", "about"),
    ("how", "about"),
    ("what", "happened"),
    ("what", "else"),
    ("why",),
    ("how", "come"),
    ("another",),
    ("more",),
    ("is", "there"),
    ("ok", "and"),
    ("okay", "and"),
    ("what", "if"),
    ("did",),
    ("is",),
    ("can", "you", "give"),
    ("how", "did"),
    ("how", "do", "i", "use"),
)
_ANAPHORA = frozenset(
    [
        "it",
        "its",
        "that",
        "this",
        "they",
        "them",
        "their",
        "he",
        "him",
        "his",
        "she",
        "her",
        "those",
        "these",
        "there",
        "then",
        "one",
        "ones",
        "again",
        "after",
        "before",
        "next",
        "example",
        "another",
        "more",
    ]
)
FOLLOWUP_MAX_TOKENS = 8


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule that decided the subject on its own."""

    subject: Subject
    confidence: float
    rule: str
    evidence: str


def distress_hit(text: str) -> RuleHit | None:
    """First-person distress, abuse or danger cue -> needs_teacher."""
    norm = normalise(text)
    for category, pattern in _DISTRESS:
        match = pattern.search(norm)
        if match:
            return RuleHit(Subject.needs_teacher, DISTRESS_CONFIDENCE, f"{category} cue", match.group(0))
    match = _TEACHER_REQUEST.search(norm)
    if match:
        return RuleHit(Subject.needs_teacher, TEACHER_REQUEST_CONFIDENCE, "asks for a person", match.group(0))
    return None


def declared_subject_hit(text: str) -> RuleHit | None:
    """A short utterance naming exactly one subject (not negated) -> that subject."""
    toks = tokens(text)
    if not toks or len(toks) > DECLARED_MAX_TOKENS:
        return None
    named: set[Subject] = set()
    for i, tok in enumerate(toks):
        subject = SUBJECT_NAMES.get(tok)
        if subject is None:
            continue
        if i > 0 and toks[i - 1] in _NEGATIONS:
            return None
        named.add(subject)
    if len(named) != 1:
        return None
    subject = named.pop()
    return RuleHit(subject, DECLARED_SUBJECT_CONFIDENCE, "names one subject", subject.value)


def first_rule_hit(text: str) -> RuleHit | None:
    """Distress first (safety wins over everything), then a declared subject."""
    return distress_hit(text) or declared_subject_hit(text)


def followup_cue(text: str, previous_assistant_text: str | None) -> str | None:
    """Why ``text`` looks elliptical (a continuation of the previous subject), or None.

    A short utterance that opens like a continuation or leans on a pronoun, or any short reply to
    a question the tutor just asked, is a follow-up.
    """
    toks = tokens(text)
    if not toks or len(toks) > FOLLOWUP_MAX_TOKENS:
        return None
    if previous_assistant_text is not None and previous_assistant_text.rstrip().endswith("?"):
        return "answers the tutor's question"
    for opener in _FOLLOWUP_OPENERS:
        if tuple(toks[: len(opener)]) == opener:
            return f"opens with '{' '.join(opener)}'"
    for tok in toks:
        if tok in _ANAPHORA:
            return f"refers back ('{tok}')"
    return None
