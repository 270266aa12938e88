"""Question-intent cues: what the student is asking *for*, as features of the stage-1 model.

A subject word says what a question is *about*; the intent says which tutor should answer it. "How
do I spell triangle" is about a maths word and is an English question; "what year was the author
born" names a writer and is a history question; "a book has 240 pages and I read 30 a day" is a
maths word problem. With a few hundred labelled examples a linear model over words cannot learn
these patterns for words it has not seen, so they are written here once:

* english: spelling, meaning/definition, word relations (synonym, plural, tense, rhyme),
  pronunciation, grammar and punctuation, a piece of the student's own writing, a literary text;
* history: when-questions, life events (born, died), past eras ("in tudor times", "long ago"),
  questions about how people lived or did things, past-tense identity questions ("who was");
* math: an arithmetic expression (digits or number words with an operator), a quantity question
  with digits in it, a word problem ("if ... how many"), fractions and percentages;
* off_topic: questions about the tutor itself and bare greetings or fillers.

Each cue is a feature ``cue:<subject>:<name>`` plus a per-subject count ``cue:<subject>``. They
are features with learned weights, not rules: a cue shifts the probabilities, and a cue that
contradicts a subject word ("spell" + "triangle") makes the model less sure, which the calibration
(``train.py``) turns into a lower confidence so stage 2 is asked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

NUMBER_WORDS = frozenset(
    [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "thousand",
        "million",
        "half",
        "quarter",
        "third",
    ]
)
OPERATOR_WORDS = frozenset(
    [
        "plus",
        "minus",
        "times",
        "x",
        "multiplied",
        "divided",
        "over",
        "add",
        "subtract",
        "take",
        "minus",
        "squared",
        "cubed",
        "of",
    ]
)
_OPERATOR_SYMBOLS = frozenset("+-*/=×÷^%")

_CUE_PATTERNS: tuple[tuple[str, str, str], ...] = (
    # english
    ("english", "spelling", r"\bspel(l|ls|led|t|ling)\b"),
    (
        "english",
        "meaning",
        r"\bwhat (does|do) (the )?(word |phrase )?[a-z' -]{1,30} mean\b|\bmeaning of\b|\bdefin(e|ition)\b"
        r"|\ba word (for|that means)\b|\bthe word\b",
    ),
    (
        "english",
        "word_relation",
        r"\b(synonyms?|antonyms?|opposite of|rhymes? with|plural of|singular of|past tense|present tense"
        r"|future tense|homophones?|prefix|suffix|compound word|silent [a-z])\b",
    ),
    ("english", "pronounce", r"\bpronounc\w*|\bhow (do|would|should) (you|i|we) say\b"),
    (
        "english",
        "grammar",
        r"\b(grammar|grammatical|punctuation|full stops?|question marks?|exclamation marks?|speech marks"
        r"|inverted commas|capital letters?|commas?|apostrophes?|semi ?colons?|paragraphs?)\b",
    ),
    (
        "english",
        "own_writing",
        r"\bmy (story|stories|poem|essay|writing|sentences?|paragraph|book report|book review|diary"
        r"|letter|speech|report|description|ending|opening)\b"
        r"|\b(write|writing|draft|start|begin|end|improve|check|edit) (a|an|my|the|this|our)"
        r" (\w+ )?(story|poem|essay|letter|diary|speech|review|description|narrative|sentence)\b",
    ),
    (
        "english",
        "literature",
        r"\b(in|from) the (book|novel|poem|play|story)\b|\b(main )?characters?\b|\bnarrator\b"
        r"|\bthe author\b",
    ),
    # history
    (
        "history",
        "when",
        r"\bwhen (did|was|were|had)\b|\b(what|which) (year|century|decade|era)\b|\bhow long ago\b",
    ),
    ("history", "life_event", r"\b(born|died|die|death|lived|buried|killed|assassinated|executed)\b"),
    (
        "history",
        "past_deed",
        r"\b(invented|discovered|founded|built|conquered|ruled|reigned|invaded|explored|abolished)\b",
    ),
    (
        "history",
        "past_era",
        r"\bin (the )?[a-z]+ (times|era|period|ages?)\b(?! tables?)"
        r"|\b(olden|old|early|ancient|medieval|victorian|tudor|roman|viking|stone|bronze|iron|middle)"
        r" (days|times|ages?)\b"
        r"|\b(long ago|long time ago|back then|in the past|years ago|centuries ago|in history|back in the)\b"
        r"|\b\d{1,2}(st|nd|rd|th) century\b|\b1\d00s\b",
    ),
    (
        "history",
        "how_people_lived",
        r"\b(how|what|where|why) did (people|they|the ([a-z]+ )?[a-z]+s|children|kids|soldiers|sailors)\b"
        r"|\b(people|children|kids|soldiers|families) (used to|lived|had to|would)\b",
    ),
    ("history", "who_was", r"^(who|what) (was|were)\b|\bwho (was|were) (the )?(first|last)\b"),
    # math
    ("math", "word_problem", r"\bif\b.*\bhow (many|much|far|long|old)\b"),
    ("math", "fraction_percent", r"\b\d+ ?/ ?\d+\b|\d ?%|\bper ?cent\b"),
    ("math", "calculate", r"\b(work out|figure out|calculate|convert|solve|simplify|estimate)\b"),
    ("math", "what_is_number", r"^(what is|whats|what's|what are) \d"),
)
_COMPILED = tuple((subject, name, re.compile(pattern)) for subject, name, pattern in _CUE_PATTERNS)
# A bare greeting or filler; "thanks, now I need help with my essay" is not one.
_GREETING = re.compile(r"^(hi|hello|hey|bye|goodbye|thanks|thank you|ok|okay|cool|yay|lol|hmm+|um+|wait)\b")
GREETING_MAX_TOKENS = 4
# "you" in a question about the tutor; a request for help ("can you explain") is not one.
_ABOUT_YOU = re.compile(r"\b(you|your|yourself|you're|youre)\b")
_HELP_REQUEST = re.compile(
    r"\b(can|could|will|would) you (please )?(help|explain|tell me (how|what|why|when|who|about)|show|check"
    r"|teach|give|define|spell|read|go through)\b|\bhow (do|would|can|should) you\b|\bdo you (know|say|spell"
    r"|write|find|work|get|use|do|make|add|multiply|divide|pronounce|mean)\b"
)


def _is_number(token: str) -> bool:
    return token[0].isdigit() or token in NUMBER_WORDS


def cue_hits(norm_text: str, toks: Sequence[str]) -> list[tuple[str, str]]:
    """(subject, cue name) of every cue in the normalised text and its tokens."""
    hits = [(subject, name) for subject, name, pattern in _COMPILED if pattern.search(norm_text)]
    digits = any(tok[0].isdigit() for tok in toks)
    for i in range(1, len(toks) - 1):
        tok = toks[i]
        if (
            tok in OPERATOR_WORDS or tok in _OPERATOR_SYMBOLS or tok in ("divided", "multiplied", "away")
        ) and (_is_number(toks[i - 1]) and any(_is_number(t) for t in toks[i + 1 : i + 3])):
            hits.append(("math", "expression"))
            break
    if digits and ("how many" in norm_text or "how much" in norm_text):
        hits.append(("math", "quantity_with_numbers"))
    if len(toks) <= GREETING_MAX_TOKENS and _GREETING.search(norm_text):
        hits.append(("off_topic", "greeting"))
    if _ABOUT_YOU.search(norm_text) and not _HELP_REQUEST.search(norm_text):
        hits.append(("off_topic", "about_you"))
    return hits
