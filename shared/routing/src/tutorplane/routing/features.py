"""Text normalisation and the sparse features of the stage-1 model.

One function, :func:`extract_features`, is used both when training and when classifying, so
the shipped weights always meet the features they were trained on. Feature names are prefixed by
kind: ``w:`` word, ``b:`` word bigram, ``c:`` character n-gram, ``lex:`` subject word list hit,
``cue:`` question-intent cue (``cues.py``), ``shape:`` surface shape (numbers, operators, years,
length, and whether the subject evidence points at more than one teaching subject).

The n-gram block is scaled to unit length; lexicon, cue and shape features keep a fixed strength
so a long sentence does not dilute a subject word or an intent.
"""

from __future__ import annotations

import itertools
import re

from tutorplane.routing.cues import cue_hits
from tutorplane.routing.lexicon import LEXICONS, words

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)?|[+\-*/=×÷^%]")
_OPERATORS = frozenset("+-*/=×÷^%")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})
CHAR_NGRAM_SIZES = (3, 4, 5)
# Function words carry no subject; their character n-grams would only add noise.
STOPWORDS = words(
    """
    a an the is are was were be to of in on at for and or but it its this that these those i me my
    you your we he she they them his her do does did can could would should will what who whom how
    why when where which with about from by as so if then there their than just please um uh like
    have has had im i'm it's whats what's
    """
)


# Fixed strengths of the word-list and cue features next to the unit-length n-gram block, picked by
# cross-validation on the training part (higher values made cross-subject questions overconfident).
LEXICON_VALUE = 0.6
CUE_VALUE = 0.6
TEACHING = ("math", "history", "english")
MIXED = "shape:mixed"


def normalise(text: str) -> str:
    return text.translate(_APOSTROPHES).lower().strip()


def tokens(text: str) -> list[str]:
    """Lower-case word, number and operator tokens of ``text``."""
    return _TOKEN.findall(normalise(text))


def _number_token(token: str) -> str:
    if len(token) == 4 and token.isdigit() and 1000 <= int(token) <= 2099:
        return "<year>"
    return "<num>"


def extract_features(text: str) -> dict[str, float]:
    """Sparse feature vector of one utterance, L2-normalised (values sum of squares = 1)."""
    toks = tokens(text)
    feats: dict[str, float] = {}
    normed: list[str] = []
    lex_hits = dict.fromkeys(LEXICONS, 0)
    for tok in toks:
        if tok[0].isdigit():
            norm = _number_token(tok)
            feats["shape:" + norm] = 1.0
        elif tok in _OPERATORS:
            norm = "<op>"
            feats["shape:op"] = 1.0
        else:
            norm = tok
            if tok not in STOPWORDS:
                padded = f" {tok} "
                for n in CHAR_NGRAM_SIZES:
                    for i in range(len(padded) - n + 1):
                        feats["c:" + padded[i : i + n]] = 1.0
            for name, words_of in LEXICONS.items():
                if tok in words_of:
                    lex_hits[name] += 1
        normed.append(norm)
        feats["w:" + norm] = 1.0
    for first, second in itertools.pairwise(normed):
        feats["b:" + first + "_" + second] = 1.0
    norm_sq = float(len(feats) - sum(1 for key in feats if key.startswith("shape:")))
    if norm_sq:
        scale = norm_sq**-0.5
        for key in feats:
            if not key.startswith("shape:"):
                feats[key] = scale
    evidence: set[str] = set()
    for name, hits in lex_hits.items():
        if hits:
            feats["lex:" + name] = LEXICON_VALUE if hits == 1 else LEXICON_VALUE * 1.5
            evidence.add(name)
    cue_count: dict[str, int] = {}
    for subject, cue in cue_hits(normalise(text), toks):
        feats[f"cue:{subject}:{cue}"] = CUE_VALUE
        cue_count[subject] = cue_count.get(subject, 0) + 1
    for subject, hits in cue_count.items():
        feats["cue:" + subject] = CUE_VALUE if hits == 1 else CUE_VALUE * 1.5
        evidence.add(subject)
    teaching = evidence.intersection(TEACHING)
    if len(teaching) >= 2:
        feats[MIXED] = 1.0
    if len(toks) <= 3:
        feats["shape:short"] = 1.0
    if not toks:
        feats["shape:empty"] = 1.0
    return feats


def is_mixed(features: dict[str, float]) -> bool:
    """True when the words and cues point at more than one teaching subject."""
    return MIXED in features
