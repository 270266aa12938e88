"""Text normalisation and the sparse features of the stage-1 model.

One function, :func:`extract_features`, is used both when training and when classifying, so
the shipped weights always meet the features they were trained on. Feature names are prefixed by
kind: ``w:`` word, ``b:`` word bigram, ``c:`` character n-gram, ``lex:`` subject word list hit,
``shape:`` surface shape (numbers, operators, years, length).
"""

from __future__ import annotations

import itertools
import re

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


LEXICON_VALUE = 1.0


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
    # n-gram block scaled to unit length; lexicon and shape features keep a fixed strength so a
    # long sentence does not dilute a subject word.
    norm_sq = float(len(feats) - sum(1 for key in feats if key.startswith("shape:")))
    if norm_sq:
        scale = norm_sq**-0.5
        for key in feats:
            if not key.startswith("shape:"):
                feats[key] = scale
    for name, hits in lex_hits.items():
        if hits:
            feats["lex:" + name] = LEXICON_VALUE if hits == 1 else LEXICON_VALUE * 1.5
    if len(toks) <= 3:
        feats["shape:short"] = 1.0
    if not toks:
        feats["shape:empty"] = 1.0
    return feats
