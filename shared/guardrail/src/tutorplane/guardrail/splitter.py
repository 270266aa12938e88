"""Incremental sentence splitter for streamed model output.

Feed text deltas with :meth:`SentenceSplitter.push`; complete chunks come back as soon as they are
known to be complete. :meth:`SentenceSplitter.flush` returns everything still buffered (end of
stream, or a stalled stream). The output never depends on how the text was cut into deltas, and no
visible character is ever dropped: only whitespace at chunk edges is trimmed.

Boundary rules (the earlier systems' ``[.!?]+\\s*`` regex split "2.5", "Dr." and "e.g."):

* ``. ! ? … ‼`` end a sentence only when followed by whitespace (or an emoji) and the next visible
  character is not lower case — so decimals (2.5, 3.14), URLs, "e.g. the" and "Wait... what" stay
  whole. CJK and other full stops (``。！？`` ``।`` ``؟`` …) need no following space.
* A single ``.`` after a title (Dr., Mr., Mrs., Prof., St.), "e.g.", "i.e.", "vs." or an initial
  ("J. K. Rowling") never ends a sentence; after "etc.", "U.S.", "a.m.", "No." or another dotted
  acronym it does only when a capitalised word follows.
* "1." / "a." / "IV." at the start of a line, after a colon or after a sentence are list markers.
* Closing quotes and brackets after the terminator stay with their sentence; a boundary inside an
  open quote or bracket is ignored; trailing emoji stay with the sentence they follow.
* A newline ends a chunk (list items, paragraphs).
* Chunks shorter than ``min_chars`` (CJK characters count 3) are merged with what follows. A run-on
  longer than ``max_chars`` is cut at the last sentence or clause boundary (``, ; : — 、 ，``), else
  at the last space, else (unspaced scripts) at ``max_chars``.
"""

from __future__ import annotations

import re
import unicodedata

# Terminators that need whitespace (or an emoji) after them and a non-lower-case next character.
_SPACED_TERMINATORS = frozenset(".!?…‼⁇⁈⁉")
# Terminators of scripts that do not put spaces between sentences (or do not use case).
_UNSPACED_TERMINATORS = frozenset("。！？｡।॥؟۔։።")
_TERMINATORS = _SPACED_TERMINATORS | _UNSPACED_TERMINATORS

_OPENERS = frozenset("([{“«「『（【〈《")
_CLOSERS = frozenset(")]}”»」』）】〉》")
# Characters that may follow a terminator and still belong to the sentence.
_TRAILING = _CLOSERS | frozenset("\"'’")

_SPECIAL = re.compile(r"[.!?…‼⁇⁈⁉。！？｡।॥؟۔։።\n\"“”«»「」『』（）【】〈〉《》()\[\]{}]")
_CLAUSE = re.compile(r"(?:[,;:](?=\s)|\s[—–-](?=\s)|[—、，；：])\s*")
_WIDE = re.compile(
    r"[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f"
    r"\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]"
)
_DOTTED_ACRONYM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_ROMAN = re.compile(r"[IVXLC]{1,5}|[ivxlc]{1,5}")

# Abbreviations (lower case, without the final dot) after which "." never ends a sentence.
NEVER_FINAL: frozenset[str] = frozenset(
    {
        "mr", "mrs", "ms", "mx", "dr", "prof", "st", "mt", "gen", "col", "capt", "cpt", "lt", "sgt",
        "cmdr", "adm", "rev", "hon", "gov", "sen", "rep", "pres", "supt", "messrs", "mme", "mlle",
        "sra", "srta", "e.g", "i.e", "cf", "vs", "viz", "approx", "ca", "z.b", "d.h", "u.a", "bzw",
    }
)  # fmt: skip
# Abbreviations that can also end a sentence: "." is a boundary only before a capitalised word.
MAYBE_FINAL: frozenset[str] = frozenset(
    {
        "etc", "inc", "ltd", "co", "corp", "jr", "sr", "bros", "al", "no", "nos", "p", "pp", "fig",
        "figs", "vol", "vols", "ch", "chap", "sec", "art", "eq", "dept", "est", "govt", "univ",
        "ave", "blvd", "rd", "ft", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
        "oct", "nov", "dec", "usw",
    }
)  # fmt: skip

# Bounded look-ahead keeps every push O(new text) even on degenerate output ("!!!!…", long blank runs).
_MAX_RUN = 16  # terminators / closing quotes examined after a candidate
_MAX_GAP = 64  # blanks and emoji examined before deciding on the next visible character

DEFAULT_MIN_CHARS = 12
DEFAULT_MAX_CHARS = 240


def is_emoji(ch: str) -> bool:
    """Emoji and their joiners, modifiers and variation selectors (attach to the previous sentence)."""
    cp = ord(ch)
    return cp >= 0x1F000 or 0x2600 <= cp <= 0x27BF or 0x2B00 <= cp <= 0x2BFF or cp in (0x200D, 0xFE0F, 0x20E3)


def weighted_len(text: str) -> int:
    """Length for the minimum-chunk rule: a CJK character carries about a word, so it counts 3."""
    return len(text) + 2 * len(_WIDE.findall(text))


class SentenceSplitter:
    """Incremental splitter: ``push(delta) -> [complete chunks]``, ``flush() -> [the rest]``."""

    __slots__ = ("_aq", "_buf", "_depth", "_pos", "_soft_end", "max_chars", "min_chars")

    def __init__(self, *, min_chars: int = DEFAULT_MIN_CHARS, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        if min_chars < 0:
            raise ValueError(f"min_chars must be >= 0 (got {min_chars})")
        if max_chars < max(20, 2 * min_chars):
            raise ValueError(
                f"max_chars must be >= max(20, 2 * min_chars) (got max_chars={max_chars}, "
                f"min_chars={min_chars}); raise max_chars or lower min_chars"
            )
        self.min_chars = min_chars
        self.max_chars = max_chars
        self._buf = ""
        self._pos = 0  # next index to examine
        self._depth = 0  # open brackets / curly quotes
        self._aq = False  # inside an ASCII double quote
        self._soft_end = -1  # last sentence end that was too short to emit on its own

    @property
    def pending(self) -> str:
        """Text received but not yet returned."""
        return self._buf

    def push(self, delta: str) -> list[str]:
        if not delta:
            return []
        self._buf += delta
        return self._scan(final=False)

    def flush(self) -> list[str]:
        """Return every buffered chunk, treating the buffer as the end of the text. Reusable after."""
        return self._scan(final=True)

    # ------------------------------------------------------------------------------------------

    def _scan(self, *, final: bool) -> list[str]:
        out: list[str] = []
        while True:
            buf = self._buf
            match = _SPECIAL.search(buf, self._pos)
            if match is None or match.start() >= self.max_chars:
                if len(buf) > self.max_chars:
                    self._emit(self._max_split_point(), out)
                    continue
                if match is None:
                    self._pos = len(buf)  # nothing special seen: the next push searches only new text
                break
            i = match.start()
            ch = buf[i]
            if ch == "\n":
                self._depth, self._aq = 0, False
                if not self._emit_if_long_enough(i + 1, out):
                    self._soft_end = self._pos = i + 1
                continue
            if ch not in _TERMINATORS:
                self._track_bracket(i, ch)
                self._pos = i + 1
                continue
            verdict = self._judge(i, final)
            if verdict is None:
                break
            is_boundary, end = verdict
            if is_boundary and self._emit_if_long_enough(end, out):
                continue
            if is_boundary:
                self._soft_end = end
            self._pos = end
        if final:
            tail = self._buf.strip()
            if tail:
                out.append(tail)
            self._reset("")
        return out

    def _track_bracket(self, i: int, ch: str) -> None:
        if ch == '"':
            prev = self._buf[i - 1] if i else " "
            if self._aq:
                self._aq = False
            elif prev.isspace() or prev in _OPENERS:
                self._aq = True
        elif ch in _OPENERS:
            prev = self._buf[i - 1] if i else " "
            if not (ch == "(" and prev in ":;-="):  # ":(" is an emoticon, not an opener
                self._depth += 1
        elif ch in _CLOSERS and self._depth > 0:
            self._depth -= 1

    def _judge(self, i: int, final: bool) -> tuple[bool, int] | None:
        """Decide whether the terminator run at ``i`` ends a sentence.

        Returns None when the answer depends on text not received yet, else ``(is_boundary, end)``
        where ``end`` is the index after the sentence (boundary) or where scanning resumes.
        """
        buf = self._buf
        n = len(buf)
        j = i
        while j < n and j - i < _MAX_RUN and buf[j] in _TERMINATORS:
            j += 1
        k, depth, aq = j, self._depth, self._aq
        while k < n and k - j < _MAX_RUN and buf[k] in _TRAILING:
            c = buf[k]
            if c == '"':
                if not aq:
                    break
                aq = False
            elif c in _CLOSERS and depth > 0:
                depth -= 1
            k += 1
        if k == n and not final:
            return None
        unspaced = any(c in _UNSPACED_TERMINATORS for c in buf[i:j])
        m, end, long_gap = k, k, False
        if k == n or buf[k].isspace() or is_emoji(buf[k]):
            while m < n and (buf[m].isspace() or is_emoji(buf[m])):
                if m - k >= _MAX_GAP:
                    long_gap = True  # decided from a bounded look-ahead, however the text was cut
                    break
                if not buf[m].isspace():
                    end = m + 1
                m += 1
            if m == n and not final and not long_gap:
                return None
        # Decided: the closers seen belong to the text whatever the verdict.
        self._depth, self._aq = depth, aq
        if depth > 0 or aq:
            return False, k
        if m == k < n:
            # Visible text right after: "2.5", "e.g.", "U.S", "Hi!you" are not boundaries; "。次" is,
            # but "。」と言いました" is not (the sentence goes on after the closing quote).
            return unspaced and k == j, k
        if m == n or unspaced or long_gap:
            return True, end
        nxt = buf[m]
        if nxt.islower():
            return False, k
        if j - i == 1 and buf[i] == "." and not self._dot_ends_sentence(i, nxt):
            return False, k
        return True, end

    def _dot_ends_sentence(self, i: int, nxt: str) -> bool:
        buf = self._buf
        s = i
        while s > 0 and not buf[s - 1].isspace() and buf[s - 1] not in _OPENERS and buf[s - 1] not in "\"'":
            s -= 1
        word = buf[s:i]
        if not word:
            return True
        lower = word.lower()
        if lower in NEVER_FINAL:
            return False
        if len(word) == 1 and word.isupper():
            return False  # an initial: "J. K. Rowling"
        is_marker = (word.isdigit() and len(word) <= 2) or len(word) == 1 or _ROMAN.fullmatch(word)
        if is_marker and self._at_item_start(s):
            return False  # "1. Mix the flour", "a. First option", "IV. The empire"
        if lower in MAYBE_FINAL or _DOTTED_ACRONYM.fullmatch(word):
            return nxt.isupper()
        return True

    def _at_item_start(self, s: int) -> bool:
        """True when ``s`` starts a line, follows a colon, or follows an already-found sentence end."""
        buf = self._buf
        p = s
        while p > 0 and buf[p - 1] in " \t":
            p -= 1
        return p == 0 or buf[p - 1] in "\n:" or p == self._soft_end

    def _emit_if_long_enough(self, end: int, out: list[str]) -> bool:
        if weighted_len(self._buf[:end].strip()) < self.min_chars:
            return False
        self._emit(end, out)
        return True

    def _emit(self, end: int, out: list[str]) -> None:
        chunk = self._buf[:end].strip()
        if chunk:
            out.append(chunk)
        self._reset(self._buf[end:].lstrip())

    def _reset(self, rest: str) -> None:
        self._buf = rest
        self._pos = 0
        self._depth = 0
        self._aq = False
        self._soft_end = -1

    def _max_split_point(self) -> int:
        """Where to cut a run-on that has reached ``max_chars`` without a usable sentence end."""
        window = self._buf[: self.max_chars]
        if 0 < self._soft_end <= self.max_chars:
            return self._soft_end
        best = -1
        for match in _CLAUSE.finditer(window):
            if weighted_len(window[: match.end()].strip()) >= self.min_chars:
                best = match.end()
        if best > 0:
            return best
        for p in range(len(window) - 1, 0, -1):
            if window[p].isspace():
                if weighted_len(window[:p].strip()) >= self.min_chars:
                    return p
                break
        cut = self.max_chars
        while cut > 1 and (unicodedata.combining(self._buf[cut]) or self._buf[cut] in "\u200d\ufe0f"):
            cut -= 1
        return cut


def split_sentences(
    text: str, *, min_chars: int = DEFAULT_MIN_CHARS, max_chars: int = DEFAULT_MAX_CHARS
) -> list[str]:
    """Split a complete text (convenience for tests and batch callers)."""
    splitter = SentenceSplitter(min_chars=min_chars, max_chars=max_chars)
    return splitter.push(text) + splitter.flush()
