"""The deterministic offline tutor: what the emulators answer when no test scripted a reply.

Everything here is a pure function of its input (no randomness, no clock), so the demo and the
tests see the same answer for the same question. Answers are short (2–4 sentences), written for
students aged 8–16, and say plainly that they come from the offline practice tutor.
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

SUBJECTS = ("math", "history", "english")
GENERAL = "general"

OFFLINE_NOTE = "I'm the offline practice tutor, so my answers are short."
# What the emulated speech-to-text hears in non-silent audio unless a test scripted a transcript:
# a question the offline tutor can answer, so a voice round trip shows a real answer.
DEFAULT_TRANSCRIPT = "What is seven times eight?"
GREETING = (
    "Hi! I'm your offline practice tutor. You can ask me about math, history or English, "
    "and I'll give you a short answer."
)

# Whole-word keywords per subject; multi-word phrases count double.
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "math": (
        "math",
        "maths",
        "plus",
        "minus",
        "times",
        "multiply",
        "multiplied",
        "multiplication",
        "divide",
        "divided",
        "division",
        "fraction",
        "fractions",
        "equation",
        "equations",
        "algebra",
        "geometry",
        "triangle",
        "angle",
        "angles",
        "percent",
        "percentage",
        "sum",
        "add",
        "adding",
        "subtract",
        "subtraction",
        "calculate",
        "solve",
        "decimal",
        "decimals",
        "area",
        "perimeter",
        "prime",
        "square root",
        "number",
        "numbers",
        "denominator",
        "numerator",
        "graph",
        "ratio",
        "average",
        "circle",
        "radius",
        "volume",
        "equals",
    ),
    "history": (
        "history",
        "historical",
        "war",
        "wars",
        "king",
        "queen",
        "empire",
        "century",
        "ancient",
        "revolution",
        "president",
        "napoleon",
        "rome",
        "roman",
        "romans",
        "egypt",
        "egyptian",
        "pharaoh",
        "pyramids",
        "battle",
        "medieval",
        "civilization",
        "colonial",
        "independence",
        "dynasty",
        "viking",
        "vikings",
        "castle",
        "knight",
        "knights",
        "world war",
        "cold war",
        "civil war",
        "emperor",
        "explorer",
        "columbus",
        "greeks",
        "aztec",
        "aztecs",
        "tudor",
        "tudors",
        "magna carta",
        "renaissance",
        "invented",
    ),
    "english": (
        "english",
        "grammar",
        "spell",
        "spelling",
        "word",
        "words",
        "verb",
        "verbs",
        "noun",
        "nouns",
        "adjective",
        "adjectives",
        "adverb",
        "adverbs",
        "sentence",
        "sentences",
        "punctuation",
        "poem",
        "poetry",
        "essay",
        "synonym",
        "antonym",
        "vocabulary",
        "pronounce",
        "pronunciation",
        "story",
        "metaphor",
        "simile",
        "rhyme",
        "comma",
        "tense",
        "meaning of",
        "paragraph",
        "apostrophe",
        "pronoun",
        "preposition",
        "plural",
    ),
}

_ARITHMETIC = re.compile(r"\d+(?:\.\d+)?\s*(?:[-+*/x×÷])\s*\d+")
# "What does 'ubiquitous' mean?", "define brave", "the meaning of the word kind": a vocabulary question.
_WORD_QUESTION = re.compile(
    r"\bwhat does ['\"‘“]?([a-z][a-z-]+)['\"’”]? mean\b"
    r"|\b(?:meaning|definition) of (?:the word )?['\"‘“]?([a-z][a-z-]+)"
    r"|\bdefine ['\"‘“]?([a-z][a-z-]+)",
    re.IGNORECASE,
)


def asked_word(question: str) -> str | None:
    """The word a vocabulary question asks about, if it is one."""
    match = _WORD_QUESTION.search(question)
    return next((g for g in match.groups() if g), None) if match else None


_NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
}
_NUMBER = r"(\d+(?:\.\d+)?|" + "|".join(_NUMBER_WORDS) + r")"
_OPERATORS = {
    "plus": "+",
    "+": "+",
    "minus": "-",
    "-": "-",
    "take away": "-",
    "times": "*",
    "x": "*",
    "*": "*",
    "×": "*",
    "multiplied by": "*",
    "divided by": "/",
    "/": "/",
    "÷": "/",
    "over": "/",
}
_OPERATOR = r"(multiplied by|divided by|take away|plus|minus|times|over|[-+*/x×÷])"
_EXPRESSION = re.compile(rf"\b{_NUMBER}\s*{_OPERATOR}\s*{_NUMBER}\b", re.IGNORECASE)
# What the tutor solves: operands may be fractions ("3/4 plus 1/8"); "6/3" alone is a division.
_OPERAND = r"(\d+/\d+|\d+(?:\.\d+)?|" + "|".join(_NUMBER_WORDS) + r")"
_FRACTION_EXPRESSION = re.compile(rf"\b{_OPERAND}\s*{_OPERATOR}\s*{_OPERAND}\b", re.IGNORECASE)

_LEADING_FILLER = re.compile(
    r"^(?:(?:hi|hello|hey|please|so|ok|okay|um|can|could|would|you|tell|me|explain|help|with|"
    r"understand|what|who|when|where|why|how|which|is|are|was|were|did|do|does|about|"
    r"i|want|to|know|learn|question)\b[\s,]*)+",
    re.IGNORECASE,
)

_WORD_FACTS = {
    "noun": "A noun is a word that names a person, place or thing, like 'teacher' or 'city'.",
    "verb": "A verb is an action or doing word, like 'run', 'think' or 'is'.",
    "adjective": "An adjective describes a noun, like 'tall' in 'a tall tree'.",
    "adverb": "An adverb tells us how something happens, like 'quickly' in 'she ran quickly'.",
    "pronoun": "A pronoun stands in for a noun, like 'she', 'they' or 'it'.",
    "simile": "A simile compares two things using 'like' or 'as', such as 'as brave as a lion'.",
    "metaphor": "A metaphor says one thing is another, such as 'the classroom was a zoo'.",
    "synonym": "Synonyms are words with the same or similar meaning, like 'big' and 'large'.",
    "antonym": "Antonyms are words with opposite meanings, like 'hot' and 'cold'.",
    "comma": "A comma marks a short pause and separates items in a list.",
    "apostrophe": "An apostrophe shows that letters are missing, as in 'don't', or that "
    "something belongs to someone, as in 'Sam's book'.",
}

_HISTORY_FACTS = {
    "napoleon": "Napoleon Bonaparte was a French military leader who became emperor of France in 1804.",
    "rome": "Ancient Rome grew from a small city into a huge empire around the Mediterranean Sea.",
    "roman": "The Romans built roads, aqueducts and cities across a huge empire.",
    "egypt": "Ancient Egyptians built the pyramids as tombs for their pharaohs.",
    "pyramids": "The Great Pyramid of Giza was built about 4,500 years ago.",
    "world war": "The Second World War lasted from 1939 to 1945 and involved most of the world.",
    "viking": "The Vikings were seafarers from Scandinavia who travelled, traded and raided across Europe.",
    "magna carta": "The Magna Carta was signed in 1215 and limited the power of the English king.",
}


@dataclass(frozen=True)
class SubjectGuess:
    subject: str
    confidence: float
    rationale: str


@dataclass(frozen=True)
class ToolSpec:
    """A tool the client offered, in provider-neutral form."""

    name: str
    description: str
    schema: dict[str, Any]


@dataclass(frozen=True)
class ToolDecision:
    name: str
    arguments: dict[str, Any]


def stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def guess_subject(text: str) -> SubjectGuess:
    """Keyword vote over the three subjects; `general` when nothing matches."""
    lowered = text.lower()
    scores: dict[str, int] = {}
    hits: dict[str, list[str]] = {}
    for subject, words in _KEYWORDS.items():
        for word in words:
            if re.search(rf"\b{re.escape(word)}\b", lowered):
                scores[subject] = scores.get(subject, 0) + (2 if " " in word else 1)
                hits.setdefault(subject, []).append(word)
    if _ARITHMETIC.search(lowered) or _EXPRESSION.search(lowered):
        scores["math"] = scores.get("math", 0) + 3
        hits.setdefault("math", []).append("arithmetic expression")
    if asked_word(lowered):
        scores["english"] = scores.get("english", 0) + 3
        hits.setdefault("english", []).append("meaning of a word")
    if not scores:
        return SubjectGuess(GENERAL, 0.3, "offline keyword guess: no subject keywords found")
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], SUBJECTS.index(kv[0])))
    best, best_score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    confidence = min(0.97, max(0.4, 0.55 + 0.12 * best_score - 0.15 * runner_up))
    matched = ", ".join(f"'{w}'" for w in hits[best][:4])
    return SubjectGuess(best, round(confidence, 2), f"offline keyword guess: matched {matched}")


_LATEST_LINE = re.compile(r"^Student(?: \[\w+\])? \(LATEST\):[ \t]*(.*)$", re.MULTILINE)


def guess_in_context(text: str) -> SubjectGuess:
    """The subject of a router's request: its latest student line (the router's conversation block
    marks it ``Student (LATEST):``) decides; earlier turns only when it names no subject (a
    follow-up like "tell me more"), as a classifier reading the whole conversation would."""
    latest = _LATEST_LINE.findall(text)
    if latest:
        guess = guess_subject(latest[-1])
        if guess.subject != GENERAL:
            return guess
    return guess_subject(text)


_TUTOR_ROLE = re.compile(r"\bthe (math|maths|history|english) tutor\b", re.IGNORECASE)


def tutor_subject(instructions: str) -> str | None:
    """The subject a specialist's instructions give it ("You are the math tutor ..."), if any."""
    match = _TUTOR_ROLE.search(instructions)
    if match is None:
        return None
    subject = match.group(1).lower()
    return "math" if subject == "maths" else subject


_STUDENT_FENCE = re.compile(r"<student>(.*?)</student>", re.DOTALL)


def student_words(message: str) -> str:
    """What the student said, out of the ``<student>...</student>`` fence the specialists put
    around it (the last one); other text is returned as it is. Read fenced, the offline tutor
    echoed the tags back ("Good history question about <student>Who was...")."""
    fenced = _STUDENT_FENCE.findall(message)
    return str(fenced[-1]).strip() if fenced else message


_LEADING_VERBS = frozenset(
    [
        "built",
        "made",
        "wrote",
        "won",
        "began",
        "fought",
        "led",
        "found",
        "ran",
        "took",
        "gave",
        "came",
        "went",
        "became",
        "invented",
        "discovered",
        "started",
        "ended",
        "painted",
        "ruled",
        "lived",
        "died",
        "happened",
        "caused",
        "designed",
    ]
)


def topic_of(question: str) -> str:
    """A short noun phrase for the question ('Who was Napoleon?' -> 'Napoleon', 'Who built the
    pyramids?' -> 'the pyramids')."""
    text = question.strip().rstrip("?!. ")
    text = _LEADING_FILLER.sub("", text).strip(" ,")
    words = text.split()
    if len(words) > 1 and words[0].lower() in _LEADING_VERBS:
        words = words[1:]
    if not words:
        return "that"
    return " ".join(words[:8])


def _number(token: str) -> float:
    token = token.lower()
    return float(_NUMBER_WORDS[token]) if token in _NUMBER_WORDS else float(token)


def _format_number(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _format_fraction(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


_PERCENT_OF = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent)\s+of\s+(\d+(?:\.\d+)?)", re.IGNORECASE)


def solve_percent(question: str) -> tuple[str, str, str] | None:
    """(p, n, result) for 'p% of n', or None."""
    match = _PERCENT_OF.search(question)
    if match is None:
        return None
    p, n = float(match.group(1)), float(match.group(2))
    return _format_number(p), _format_number(n), _format_number(p * n / 100)


def divides_by_zero(question: str) -> str | None:
    """The number divided when the question divides by zero ('12 divided by 0' -> '12')."""
    match = _EXPRESSION.search(question)
    if match is None or _OPERATORS.get(match.group(2).lower()) != "/" or _number(match.group(3)) != 0:
        return None
    return _format_number(_number(match.group(1)))


_APPLY: dict[str, tuple[Callable[[Fraction, Fraction], Fraction], str]] = {
    "+": (operator.add, "plus"),
    "-": (operator.sub, "minus"),
    "*": (operator.mul, "times"),
    "/": (operator.truediv, "divided by"),
}


def solve_arithmetic(question: str) -> tuple[str, str, str, str] | None:
    """(a, operator word, b, result) for a simple 'A op B' question, or None. Exact arithmetic;
    fractions stay fractions: '3/4 plus 1/8' is 7/8, not '3 divided by 4'."""
    match = _FRACTION_EXPRESSION.search(question)
    if match is None:
        return None
    op = _OPERATORS.get(match.group(2).lower())
    tokens = (match.group(1), match.group(3))
    try:
        a, b = (Fraction(t) if "/" in t else Fraction(str(_number(t))) for t in tokens)
    except ZeroDivisionError:
        return None
    if op is None or (op == "/" and b == 0):
        return None
    apply, word = _APPLY[op]
    fractions = any("/" in t for t in tokens)

    def show(value: Fraction) -> str:
        return _format_fraction(value) if fractions else _format_number(float(value))

    return show(a), word, show(b), show(apply(a, b))


_FRACTION_TIPS = {
    "plus": "With fractions, first give both the same bottom number (the denominator).",
    "minus": "With fractions, first give both the same bottom number (the denominator).",
    "times": "Multiply the top numbers together, then the bottom numbers.",
}
_CHECK_TIPS = {
    "plus": "You can check it by counting on from the bigger number.",
    "minus": "You can check it by adding the answer back to {b} to get {a}.",
    "times": "A quick check is to add {b} together {a} times.",
    "divided by": "You can check it by multiplying the answer by {b}.",
}


def answer(question: str, *, subject: str | None = None) -> str:
    """The offline tutor's reply to the student's last question; ``subject`` is the specialist's
    (its instructions name it), else guessed from the question."""
    question = question.strip()
    if not question:
        return GREETING
    guess = guess_subject(question)
    subject = subject or guess.subject
    # A question naming none of its subject's words is a follow-up ("tell me more"): no topic.
    topic = topic_of(question) if guess.subject == subject else None
    lowered = question.lower()
    if subject == "math":
        solved = solve_arithmetic(question)
        if solved is not None:
            a, word, b, result = solved
            tips = _FRACTION_TIPS if "/" in a + b else _CHECK_TIPS
            tip = tips.get(word, _CHECK_TIPS[word]).format(a=a, b=b)
            return f"Let's work it out: {a} {word} {b} equals {result}. {tip} {OFFLINE_NOTE}"
        percent = solve_percent(question)
        if percent is not None:
            p, n, result = percent
            return (
                f"Let's work it out: {p}% of {n} is {result}. Percent means out of a hundred, so "
                f"find 1% of {n} first, then multiply by {p}. {OFFLINE_NOTE}"
            )
        zero = divides_by_zero(question)
        if zero is not None:
            return (
                f"Dividing by zero has no answer: you cannot share {zero} things into zero groups, "
                f"so mathematicians call it undefined. {OFFLINE_NOTE}"
            )
        about = f"That's a good math question about {topic}." if topic else "Let's keep going with math."
        return (
            f"{about} Try breaking the problem into small steps and write down what you already "
            f"know. {OFFLINE_NOTE}"
        )
    if subject == "history":
        fact = next((f for key, f in _HISTORY_FACTS.items() if key in lowered), None)
        middle = fact or "Historians learn about the past from clues like letters, maps and objects."
        about = f"Good history question about {topic}!" if topic else "Let's keep exploring history!"
        return f"{about} {middle} {OFFLINE_NOTE} Your textbook or teacher can tell you the full story."
    if subject == "english":
        word_fact = next((f for key, f in _WORD_FACTS.items() if re.search(rf"\b{key}", lowered)), None)
        asked = asked_word(question)
        if asked is not None:
            topic = f"the word '{asked.lower()}'"
            word_fact = word_fact or (
                "To learn a new word, read it in a sentence, guess its meaning from the words around "
                "it, then check in a dictionary."
            )
        middle = word_fact or "Reading an example sentence out loud helps you notice how the words work."
        about = f"Nice English question about {topic}." if topic else "Let's keep practising English."
        return f"{about} {middle} {OFFLINE_NOTE}"
    return (
        "Thanks for your question! I can help best with math, history or English. "
        f"{OFFLINE_NOTE} What would you like to practise?"
    )


def is_rewrite_request(system_text: str) -> bool:
    lowered = system_text.lower()
    return "rewrite" in lowered or "rephrase" in lowered


def rewrite(text: str, flagged: bool) -> str:
    """Age-appropriate rewrite: unsafe text is replaced, safe text passes through unchanged."""
    if flagged:
        return "Let's keep our conversation safe and kind, and talk about something else."
    return text.strip() or "Let's keep going with our lesson."


# ------------------------------------------------------------------------------------------
# Tools: which tool the offline tutor calls, and with what arguments.
# ------------------------------------------------------------------------------------------

_ROUTE_PREFIXES = ("route_to_", "transfer_to_", "handoff_to_")
_GENERAL_FALLBACKS = (
    "general",
    "off_topic",
    "other",
    "unknown",
    "smalltalk",
    "small_talk",
    "chitchat",
    "none",
)
_QUESTION_FIELDS = (
    "question",
    "query",
    "text",
    "input",
    "message",
    "user_question",
    "original_question",
    "student_question",
    "utterance",
    "request",
)
_RATIONALE_FIELDS = ("rationale", "reason", "reasoning", "explanation", "why")


def map_subject(subject: str, allowed: list[Any] | None) -> Any:
    """Pick the enum value that names `subject` (case-insensitive), else a general fallback."""
    if not allowed:
        return subject
    by_lower = {str(v).lower(): v for v in allowed}
    if subject in by_lower:
        return by_lower[subject]
    for value in allowed:
        if str(value).lower().startswith(subject):
            return value
    for fallback in _GENERAL_FALLBACKS:
        if fallback in by_lower:
            return by_lower[fallback]
    return allowed[0]


def fill_arguments(schema: dict[str, Any], question: str, guess: SubjectGuess) -> dict[str, Any]:
    """Arguments for a JSON-schema object, filled from the question and the subject guess."""
    properties = schema.get("properties") or {}
    if not isinstance(properties, dict):
        return {}
    return {name: _fill_value(name, prop or {}, question, guess) for name, prop in properties.items()}


def _fill_value(name: str, prop: dict[str, Any], question: str, guess: SubjectGuess) -> Any:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    enum = prop.get("enum")
    key = name.lower()
    if key in ("subject", "category", "topic_subject", "specialist", "route", "destination"):
        return map_subject(guess.subject, enum)
    if enum:
        return enum[0]
    if key in ("confidence", "score", "probability"):
        return guess.confidence if kind != "integer" else round(guess.confidence * 100)
    if key in _RATIONALE_FIELDS:
        return guess.rationale
    if key in _QUESTION_FIELDS:
        return question
    if key in ("topic", "subject_topic"):
        return topic_of(question)
    if kind == "number":
        return 0.5
    if kind == "integer":
        return 1
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return fill_arguments(prop, question, guess)
    return question if kind == "string" and key.endswith(("question", "text", "query")) else ""


def _route_subject(tool_name: str) -> str | None:
    lowered = tool_name.lower()
    for prefix in _ROUTE_PREFIXES:
        if lowered.startswith(prefix):
            rest = lowered[len(prefix) :]
            return next((s for s in SUBJECTS if rest.startswith(s)), None)
    return None


def choose_tool(
    tools: list[ToolSpec],
    tool_choice: str | None,
    question: str,
    *,
    after_tool_result: bool,
) -> ToolDecision | None:
    """The tool call the offline tutor makes, or None for a text answer.

    `tool_choice` is normalised by the caller: None/"auto", "none", "required" (any tool), or
    "name:<tool>" for a forced tool. A forced tool is always called (as the real APIs do); the
    other rules apply only when the last message came from the student, so a tool result is
    answered with text instead of looping.
    """
    if not tools or tool_choice == "none":
        return None
    guess = guess_in_context(question)
    by_name = {tool.name: tool for tool in tools}

    def decide(tool: ToolSpec, *, classify: bool) -> ToolDecision:
        arguments = fill_arguments(tool.schema, question, guess)
        if classify and not arguments:
            # A classification call whose schema names no fields still says what it found.
            arguments = {
                "subject": guess.subject,
                "confidence": guess.confidence,
                "rationale": guess.rationale,
            }
        return ToolDecision(tool.name, arguments)

    if tool_choice and tool_choice.startswith("name:"):
        forced = by_name.get(tool_choice[5:])
        return decide(forced, classify=True) if forced is not None else None
    if after_tool_result and tool_choice != "required":
        return None
    if "classify_subject" in by_name:
        return decide(by_name["classify_subject"], classify=True)
    if guess.subject != GENERAL:
        for tool in tools:
            if _route_subject(tool.name) == guess.subject:
                return decide(tool, classify=False)
    if tool_choice == "required":
        return decide(tools[0], classify=True)
    return None


def json_answer(schema: dict[str, Any] | None, question: str, text: str) -> dict[str, Any]:
    """A JSON object for structured-output requests: the schema filled, or {"answer": text}."""
    if not schema or not isinstance(schema.get("properties"), dict):
        return {"answer": text}
    filled = fill_arguments(schema, question, guess_in_context(question))
    for key in ("answer", "response", "reply", "text", "content", "rewrite", "rewritten"):
        if key in filled and isinstance(filled[key], str):
            filled[key] = text
    return filled
