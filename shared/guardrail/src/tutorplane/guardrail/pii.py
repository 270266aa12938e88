"""PII masking for student input, audit excerpts and logs (regex, no model, microseconds per call).

Masks e-mail addresses, phone numbers (international and national formats), street addresses and
postcodes, and personal names where a cue makes them detectable ("my name is Sam Lee", "I'm Sam
Lee", "call me Sam", "my teacher is Ana Ruiz"). Historical names in questions ("Who was George
Washington?") are deliberately left alone: without a personal cue they are lesson content.

Findings carry the kind and the span in the *original* text, never the matched value, so they can
be logged safely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
ADDRESS = "[ADDRESS]"
POSTCODE = "[POSTCODE]"
NAME = "[NAME]"


@dataclass(frozen=True, slots=True)
class PiiFinding:
    kind: str  # email | phone | address | postcode | name
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class PiiResult:
    text: str
    findings: tuple[PiiFinding, ...]

    @property
    def kinds(self) -> list[str]:
        return sorted({f.kind for f in self.findings})


_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")

# Phone numbers: "+44 20 7946 0958", "(555) 123-4567", "555-123-4567", "0791 123 4567", "+1.555.123.4567".
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d{1,5}(?:[\s.-]\d{2,6}){1,5}(?![\w-])"
    r"|(?<![\w+])\+\d{7,15}(?!\w)"
    r"|(?<!\w)0\d{9,13}(?!\w)"
)
_PHONE_CUE = re.compile(
    r"\b(?:phone|number|call|text|cell|mobile|tel|whatsapp|ring)\b[^.!?\n\d+(]{0,24}?"
    r"(?<![\d+])(\+?[\d(][\d\s().-]{5,22}\d)(?!\d)",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_YEAR_RANGE = re.compile(r"(?:1\d{3}|20\d{2})\s*[-–]\s*(?:1\d{3}|20\d{2}|\d{2})")
_GROUPS = re.compile(r"\d+")

_STREET_SUFFIX = (
    r"(?i:street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|court|ct|way|place|pl|terrace|"
    r"close|crescent|circle|cir|highway|hwy|parkway|pkwy|square|sq|gardens|grove|row|walk)"
)
_ADDRESS = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][\w'-]*\.?\s+){{1,3}}{_STREET_SUFFIX}\b\.?"
    rf"|\b(?:[A-ZÄÖÜ][\wäöüß-]*?)(?:straße|strasse|weg|platz|gasse|allee)\s+\d{{1,4}}[a-z]?\b",
)
_LIVE_AT = re.compile(
    rf"\b(?:i\s+live\s+(?:at|on)|my\s+address\s+is|address:)\s+(\d{{1,5}}[A-Za-z]?\s+(?:[\w'-]+\s+){{0,3}}"
    rf"{_STREET_SUFFIX}\b\.?|[\w' -]{{3,40}}?)(?=[,.!?\n]|$)",
    re.IGNORECASE,
)
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}\b")
_US_ZIP_AFTER_STATE = re.compile(r"\b(?:[A-Z]{2})\s+(\d{5}(?:-\d{4})?)\b")

_NAME_WORD = r"[^\W\d_][^\W\d_'’-]*(?:[-'’][^\W\d_]+)?"
_CAP_WORD = r"[A-ZÀ-ÖØ-ÞĀ-Ž][^\W\d_'’-]*(?:[-'’][A-Za-z][^\W\d_]*)?"
# Explicit cues: whatever follows is a name, even in lower case ("my name is sam lee").
_NAME_EXPLICIT = re.compile(
    rf"\b(?:my\s+(?:full\s+|real\s+|last\s+|first\s+|sur)?name\s+is|my\s+name's|call\s+me|"
    rf"name\s*:|this\s+is)\s+({_NAME_WORD}(?:\s+{_NAME_WORD})?)",
    re.IGNORECASE,
)
_TITLE = r"(?:(?:Mrs?|Ms|Miss|Dr|Prof)\.?\s+)"
# Weaker cues: only capitalised words count ("I'm Sam Lee", "my mom is Ana Ruiz").
_NAME_CAPITALISED = re.compile(
    rf"\b(?:[Ii]\s*['’]?\s*[Aa]m|[Ii]['’]m|[Mm]y\s+(?:mom|mum|dad|mother|father|brother|sister|friend|"
    rf"teacher|cousin|aunt|uncle|grandma|grandpa|grandmother|grandfather)(?:['’]s\s+name)?\s+is|"
    rf"(?:[Mm]rs?|[Mm]s|[Mm]iss|[Dd]r)\.?)\s+({_TITLE}?{_CAP_WORD}(?:\s+{_CAP_WORD})?)"
)
# Words a cue may be followed by that are not names ("this is hard", "I'm Not sure", "call me back").
_NOT_NAMES = frozenset(
    ["a", "an", "the", "and", "or", "but", "so", "not", "very", "really", "just", "also", "too", "here", "there", "this", "that", "it", "is", "was", "what", "why", "how", "when", "where", "who", "back", "later", "now", "soon", "today", "tomorrow", "tonight", "sorry", "sure", "fine", "good", "ok", "okay", "great", "happy", "sad", "tired", "bored", "confused", "stuck", "done", "ready", "hungry", "scared", "worried", "excited", "learning", "trying", "going", "doing", "looking", "working", "asking", "wondering", "thinking", "in", "on", "at", "from", "with", "for", "to", "of", "my", "your", "his", "her", "our", "their", "hard", "easy", "fun", "boring", "difficult", "interesting", "weird", "wrong", "right", "correct", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "years", "new", "home"]
)  # fmt: skip
_WORD_SPLIT = re.compile(r"\s+")
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof"})


def _name_span(match: re.Match[str]) -> tuple[int, int] | None:
    words = _WORD_SPLIT.split(match.group(1))
    kept: list[str] = []
    for word in words:
        if not kept and word.rstrip(".").lower() in _TITLES:
            kept.append(word)
            continue
        if word.lower() in _NOT_NAMES or (word.upper() == word and len(word) > 1):
            break
        kept.append(word)
    if not kept or kept[-1].rstrip(".").lower() in _TITLES:
        return None
    start = match.start(1)
    end = start + len(" ".join(kept))
    return start, end


def _phone_ok(value: str, *, cued: bool = False) -> bool:
    digits = sum(ch.isdigit() for ch in value)
    if not 7 <= digits <= 15:
        return False
    if _ISO_DATE.fullmatch(value) or _YEAR_RANGE.fullmatch(value):
        return False
    if cued or "+" in value or "(" in value:
        return True
    # Decimal numbers ("3.14159", "1.5 2.5") are not phone numbers: dots need three groups.
    if "." in value and value.count(".") < 2:
        return False
    # Space-grouped numbers are also how big numbers are written ("123 456 789"): only national
    # formats (leading 0) and the North American 3-3-4 grouping count without a cue.
    if "-" not in value and "." not in value:
        groups = [len(g) for g in _GROUPS.findall(value)]
        return value.startswith("0") or groups == [3, 3, 4]
    return True


def find_pii(text: str) -> list[PiiFinding]:
    """All PII spans, non-overlapping, in text order (earlier and longer spans win)."""
    spans: list[PiiFinding] = []
    for m in _EMAIL.finditer(text):
        spans.append(PiiFinding("email", m.start(), m.end()))
    for m in _LIVE_AT.finditer(text):
        spans.append(PiiFinding("address", m.start(1), m.end(1)))
    for m in _ADDRESS.finditer(text):
        spans.append(PiiFinding("address", m.start(), m.end()))
    for m in _UK_POSTCODE.finditer(text):
        spans.append(PiiFinding("postcode", m.start(), m.end()))
    for m in _US_ZIP_AFTER_STATE.finditer(text):
        spans.append(PiiFinding("postcode", m.start(1), m.end(1)))
    for m in _PHONE.finditer(text):
        if _phone_ok(m.group(0)):
            spans.append(PiiFinding("phone", m.start(), m.end()))
    for m in _PHONE_CUE.finditer(text):
        if _phone_ok(m.group(1), cued=True):
            spans.append(PiiFinding("phone", m.start(1), m.end(1)))
    for pattern in (_NAME_EXPLICIT, _NAME_CAPITALISED):
        for m in pattern.finditer(text):
            span = _name_span(m)
            if span is not None:
                spans.append(PiiFinding("name", *span))
    spans.sort(key=lambda f: (f.start, -(f.end - f.start)))
    result: list[PiiFinding] = []
    last_end = -1
    for finding in spans:
        if finding.start >= last_end and finding.end > finding.start:
            result.append(finding)
            last_end = finding.end
    return result


_TOKENS = {"email": EMAIL, "phone": PHONE, "address": ADDRESS, "postcode": POSTCODE, "name": NAME}


def mask_pii(text: str) -> PiiResult:
    """Replace every finding with a placeholder (``[EMAIL]``, ``[PHONE]``, ``[ADDRESS]``, ...)."""
    findings = find_pii(text)
    if not findings:
        return PiiResult(text, ())
    parts: list[str] = []
    pos = 0
    for finding in findings:
        parts.append(text[pos : finding.start])
        parts.append(_TOKENS[finding.kind])
        pos = finding.end
    parts.append(text[pos:])
    return PiiResult("".join(parts), tuple(findings))


def masked_excerpt(text: str, limit: int = 200) -> str:
    """A PII-masked excerpt of at most ``limit`` characters, for audit rows and logs."""
    masked = mask_pii(text).text
    if len(masked) <= limit:
        return masked
    return masked[: limit - 1].rstrip() + "…"
