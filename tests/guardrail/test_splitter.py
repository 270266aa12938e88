"""Sentence splitter: a table of cases, each run whole, character by character and in random deltas.

Every case must give the same chunks however the text is cut into deltas, and no visible character
may be lost (only whitespace at chunk edges is trimmed).
"""

from __future__ import annotations

import random
import re

import pytest
from tutorplane.guardrail.splitter import SentenceSplitter, split_sentences

pytestmark = pytest.mark.unit

LONG_RUN_ON = (
    "This is a very long run-on sentence that keeps going, and going, and going without any end in sight "
    "because the model forgot to use punctuation at all and it just keeps adding more words, more clauses, "
    "and more ideas until the buffer overflows beyond the maximum length allowed by the splitter"
)

# (id, text, expected chunks, splitter kwargs)
CASES: list[tuple[str, str, list[str], dict[str, int]]] = [
    (
        "plain",
        "Fractions are parts of a whole. Let's try one together!",
        ["Fractions are parts of a whole.", "Let's try one together!"],
        {},
    ),
    (
        "question",
        "What is seven times eight? It is fifty-six.",
        ["What is seven times eight?", "It is fifty-six."],
        {},
    ),
    (
        "decimal",
        "It costs 2.5 dollars in total. Then you pay.",
        ["It costs 2.5 dollars in total.", "Then you pay."],
        {},
    ),
    (
        "pi",
        "Pi is about 3.14159 and never ends. Isn't that cool?",
        ["Pi is about 3.14159 and never ends.", "Isn't that cool?"],
        {},
    ),
    (
        "decimal at end",
        "The answer is 0.75. Next we add 1.25 to it.",
        ["The answer is 0.75.", "Next we add 1.25 to it."],
        {},
    ),
    (
        "money",
        "A pencil costs $1.50 today. A pen costs $2.",
        ["A pencil costs $1.50 today.", "A pen costs $2."],
        {},
    ),
    (
        "number ends sentence",
        "The answer is 5. Next question please.",
        ["The answer is 5.", "Next question please."],
        {},
    ),
    (
        "year ends sentence",
        "The war ended in 1945. It changed the world forever.",
        ["The war ended in 1945.", "It changed the world forever."],
        {},
    ),
    (
        "dr and mr",
        "Dr. Smith met Mr. Jones at the old school. They talked for hours.",
        ["Dr. Smith met Mr. Jones at the old school.", "They talked for hours."],
        {},
    ),
    (
        "mrs and ms",
        "Mrs. Brown and Ms. Green teach science. They are kind.",
        ["Mrs. Brown and Ms. Green teach science.", "They are kind."],
        {},
    ),
    (
        "prof and st",
        "Prof. Lee lives on St. Mary's Road in town. Visit her soon.",
        ["Prof. Lee lives on St. Mary's Road in town.", "Visit her soon."],
        {},
    ),
    (
        "e.g.",
        "Some fruits, e.g. Apples and pears, grow on trees. Bananas do not.",
        ["Some fruits, e.g. Apples and pears, grow on trees.", "Bananas do not."],
        {},
    ),
    (
        "i.e.",
        "Use the base, i.e. The bottom side, to measure. Then multiply.",
        ["Use the base, i.e. The bottom side, to measure.", "Then multiply."],
        {},
    ),
    (
        "e.g. lower",
        "Use a shape, e.g. a square or a circle, for this. Draw it.",
        ["Use a shape, e.g. a square or a circle, for this.", "Draw it."],
        {},
    ),
    (
        "U.S. mid-sentence",
        "The U.S. has fifty states in total. Alaska is the biggest.",
        ["The U.S. has fifty states in total.", "Alaska is the biggest."],
        {},
    ),
    (
        "U.S. at end",
        "He moved to the U.S. Then he started school there.",
        ["He moved to the U.S.", "Then he started school there."],
        {},
    ),
    (
        "a.m. p.m.",
        "School starts at 8 a.m. and ends at 3 p.m. every day. Lunch is at noon.",
        ["School starts at 8 a.m. and ends at 3 p.m. every day.", "Lunch is at noon."],
        {},
    ),
    (
        "etc. lower",
        "Bring pens, paper, etc. and a ruler for class. Thanks!",
        ["Bring pens, paper, etc. and a ruler for class.", "Thanks!"],
        {},
    ),
    (
        "etc. upper",
        "Apples, pears, etc. And then we ate lunch together.",
        ["Apples, pears, etc.", "And then we ate lunch together."],
        {},
    ),
    (
        "No. before number",
        "Look at No. 5 on the worksheet now. It is tricky.",
        ["Look at No. 5 on the worksheet now.", "It is tricky."],
        {},
    ),
    (
        "No. as a word",
        "No. That is not quite right yet. Try again!",
        ["No. That is not quite right yet.", "Try again!"],
        {},
    ),
    (
        "initials",
        "J. K. Rowling wrote Harry Potter. The books are popular.",
        ["J. K. Rowling wrote Harry Potter.", "The books are popular."],
        {},
    ),
    (
        "vs.",
        "It was Rome vs. Carthage in the war. Rome won.",
        ["It was Rome vs. Carthage in the war.", "Rome won."],
        {},
    ),
    (
        "numbered list lines",
        "Steps:\n1. Mix the flour.\n2. Add the eggs.\n3. Bake it for twenty minutes.",
        ["Steps:\n1. Mix the flour.", "2. Add the eggs.", "3. Bake it for twenty minutes."],
        {},
    ),
    (
        "inline list after colon",
        "Do this: 1. Read the question. 2. Underline key words.",
        ["Do this: 1. Read the question.", "2. Underline key words."],
        {},
    ),
    (
        "lettered list",
        "Options:\na. A big red apple\nb. A small green pear",
        ["Options:\na. A big red apple", "b. A small green pear"],
        {},
    ),
    (
        "roman list",
        "Outline:\nIV. The empire grows strong\nV. The empire falls apart",
        ["Outline:\nIV. The empire grows strong", "V. The empire falls apart"],
        {},
    ),
    (
        "bullet lines",
        "Key ideas:\n- Numbers can be split up\n- Parts make a whole",
        ["Key ideas:\n- Numbers can be split up", "- Parts make a whole"],
        {},
    ),
    (
        "ellipsis lower",
        "Well... I think we can do it. Let's go!",
        ["Well... I think we can do it.", "Let's go!"],
        {},
    ),
    (
        "ellipsis upper",
        "Hmm… Let me check that again for you.",
        ["Hmm… Let me check that again for you."],
        {},
    ),
    (
        "ellipsis boundary",
        "I wonder what comes next... Maybe a dragon appears in the story.",
        ["I wonder what comes next...", "Maybe a dragon appears in the story."],
        {},
    ),
    (
        "exclaim question run",
        "Can you believe it?! The answer was zero all along.",
        ["Can you believe it?!", "The answer was zero all along."],
        {},
    ),
    (
        "double quotes",
        'He said "Stop right there." Then he left the room quickly.',
        ['He said "Stop right there."', "Then he left the room quickly."],
        {},
    ),
    (
        "quote then lower",
        '"Stop!" she said loudly to everyone. Then they stopped.',
        ['"Stop!" she said loudly to everyone.', "Then they stopped."],
        {},
    ),
    (
        "curly quotes",
        "She whispered, “We did it. We really did it.” Everyone cheered loudly.",
        ["She whispered, “We did it. We really did it.”", "Everyone cheered loudly."],
        {},
    ),
    (
        "parentheses",
        "(This part is optional. You can skip it.) Now we start the real lesson.",
        ["(This part is optional. You can skip it.)", "Now we start the real lesson."],
        {},
    ),
    (
        "brackets",
        "Add the numbers [see step 2. It helps a lot.] and write the answer down.",
        ["Add the numbers [see step 2. It helps a lot.] and write the answer down."],
        {},
    ),
    (
        "emoticon",
        "That was hard :( But you kept going anyway. Well done!",
        ["That was hard :( But you kept going anyway.", "Well done!"],
        {},
    ),
    (
        "emoji after",
        "Great job! 🎉 Let's try the next problem together.",
        ["Great job! 🎉", "Let's try the next problem together."],
        {},
    ),
    (
        "emoji zwj",
        "You did it! 👩‍🏫✨ Your teacher would be proud of you.",
        ["You did it! 👩‍🏫✨", "Your teacher would be proud of you."],
        {},
    ),
    (
        "emoji no punctuation",
        "Math is fun 😊 and you are learning fast.",
        ["Math is fun 😊 and you are learning fast."],
        {},
    ),
    (
        "url and email",
        "Visit www.example.com for games. Or write to help@example.org today.",
        ["Visit www.example.com for games.", "Or write to help@example.org today."],
        {},
    ),
    (
        "chinese",
        "你好。我是你的数学老师。今天我们学习分数！你准备好了吗？",
        ["你好。我是你的数学老师。", "今天我们学习分数！", "你准备好了吗？"],
        {},
    ),
    (
        "japanese",
        "こんにちは。今日は分数を勉強しましょう。準備はいいですか？",
        ["こんにちは。", "今日は分数を勉強しましょう。", "準備はいいですか？"],
        {},
    ),
    (
        "japanese quotes",
        "先生は「よくできました。」と言いました。次の問題です。",
        ["先生は「よくできました。」と言いました。", "次の問題です。"],
        {},
    ),
    (
        "spanish",
        "¿Qué hora es ahora mismo? Son las tres de la tarde.",
        ["¿Qué hora es ahora mismo?", "Son las tres de la tarde."],
        {},
    ),
    (
        "german",
        "Dr. Müller erklärt die Brüche heute. Das ist ganz einfach.",
        ["Dr. Müller erklärt die Brüche heute.", "Das ist ganz einfach."],
        {},
    ),
    (
        "russian",
        "Привет, как твои дела? Давай решим эту задачу.",
        ["Привет, как твои дела?", "Давай решим эту задачу."],
        {},
    ),
    ("hindi", "नमस्ते, आज हम गणित सीखेंगे। यह बहुत मज़ेदार है।", ["नमस्ते, आज हम गणित सीखेंगे।", "यह बहुत मज़ेदार है।"], {}),
    (
        "arabic",
        "مرحبا، كيف حالك اليوم؟ هيا نتعلم الكسور معا.",
        ["مرحبا، كيف حالك اليوم؟", "هيا نتعلم الكسور معا."],
        {},
    ),
    (
        "min merges short",
        "Yes. Two plus two is four. Good. Well done today.",
        ["Yes. Two plus two is four.", "Good. Well done today."],
        {},
    ),
    ("min zero keeps short", "Yes. No. Maybe so.", ["Yes.", "No.", "Maybe so."], {"min_chars": 0}),
    (
        "min larger",
        "I see. That is right. Now try the next one please.",
        ["I see. That is right.", "Now try the next one please."],
        {"min_chars": 20},
    ),
    (
        "max clause split",
        LONG_RUN_ON,
        [
            "This is a very long run-on sentence that keeps going, and going, and going without any end in sight "
            "because the model forgot to use punctuation at all and it just keeps adding more words, more clauses,",
            "and more ideas until the buffer overflows beyond the maximum length allowed by the splitter",
        ],
        {},
    ),
    (
        "max whitespace split",
        "one two three four five six seven eight nine ten eleven twelve",
        ["one two three four five six", "seven eight nine ten eleven", "twelve"],
        {"min_chars": 5, "max_chars": 30},
    ),
    (
        "max prefers sentence end",
        "Ok. " + "Word " * 12,
        ["Ok.", "Word Word Word Word Word Word Word Word", "Word Word Word Word"],
        {"min_chars": 8, "max_chars": 40},
    ),
    ("max hard cut cjk", "数" * 50, ["数" * 25, "数" * 25], {"min_chars": 4, "max_chars": 25}),
    ("tail without terminator", "The last words have no full stop", ["The last words have no full stop"], {}),
    ("whitespace only", "   \n  ", [], {}),
    ("empty", "", [], {}),
    (
        "markdown bold",
        "**Answer:** The sum is 12. **Why?** Because 5 + 7 = 12.",
        ["**Answer:** The sum is 12.", "**Why?** Because 5 + 7 = 12."],
        {},
    ),
    (
        "lowercase after stop",
        "the tutor said ok. then we went on with the lesson.",
        ["the tutor said ok. then we went on with the lesson."],
        {},
    ),
]


def _visible(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _feed(text: str, sizes: list[int], **kwargs: int) -> list[str]:
    splitter = SentenceSplitter(**kwargs)
    out: list[str] = []
    pos = 0
    for size in sizes:
        out += splitter.push(text[pos : pos + size])
        pos += size
    out += splitter.push(text[pos:])
    return out + splitter.flush()


@pytest.mark.parametrize(("text", "expected", "kwargs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_split_table(text: str, expected: list[str], kwargs: dict[str, int]) -> None:
    whole = split_sentences(text, **kwargs)
    assert whole == expected
    assert _feed(text, [1] * len(text), **kwargs) == expected, "char-by-char deltas"
    for seed in range(5):
        rnd = random.Random(seed)
        sizes = [rnd.randint(1, 7) for _ in range(len(text))]
        assert _feed(text, sizes, **kwargs) == expected, f"random deltas (seed {seed})"
    assert _visible("".join(whole)) == _visible(text), "no visible character may be lost"
    limit = kwargs.get("max_chars", 240)
    assert all(len(chunk) <= limit for chunk in whole)


def test_table_is_big_enough() -> None:
    assert len(CASES) >= 40


def test_push_returns_complete_sentences_only_once_the_next_word_starts() -> None:
    splitter = SentenceSplitter()
    assert splitter.push("It costs 2.") == []  # "2." may still become "2.5"
    assert splitter.push("5 dollars in all.") == []  # the next word decides ("e.g. the", "U.S. Army")
    assert splitter.push(" Then") == ["It costs 2.5 dollars in all."]
    assert splitter.pending == "Then"
    assert splitter.flush() == ["Then"]
    assert splitter.pending == ""


def test_flush_releases_an_undecided_sentence_end() -> None:
    splitter = SentenceSplitter()
    assert splitter.push("Good work today. ") == []
    assert splitter.flush() == ["Good work today."]


def test_splitter_is_reusable_after_flush() -> None:
    splitter = SentenceSplitter()
    splitter.push("First answer here.")
    assert splitter.flush() == ["First answer here."]
    assert splitter.push("Second answer starts. And") == ["Second answer starts."]
    assert splitter.flush() == ["And"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_chars": -1}, "min_chars must be >= 0"),
        ({"min_chars": 50, "max_chars": 60}, "max_chars must be >="),
    ],
)
def test_bad_lengths_are_refused_with_a_reason(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SentenceSplitter(**kwargs)


def test_random_text_never_loses_characters() -> None:
    rnd = random.Random(7)
    alphabet = list("abc XYZ.!?,;:\n\"'()[]…。？12 3.4 🎉 e.g. Dr. U.S.")
    for _ in range(300):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 400)))
        sizes = [rnd.randint(1, 9) for _ in range(len(text))]
        chunks = _feed(text, sizes, min_chars=rnd.randint(0, 20), max_chars=rnd.choice([40, 80, 240]))
        assert _visible("".join(chunks)) == _visible(text)
        assert all(chunk == chunk.strip() and chunk for chunk in chunks)


@pytest.mark.parametrize(
    "text",
    [
        "Hello there." + " " * 5000 + "Next one.",
        "Wow" + "!" * 5000 + " Next.",
        "Done." + "🎉" * 3000 + " Next.",
        "(" * 3000 + "a.",
        "Fine." + ")" * 3000 + " Next.",
    ],
    ids=["blank run", "terminator run", "emoji run", "open brackets", "closer run"],
)
def test_degenerate_output_stays_linear_and_deterministic(text: str) -> None:
    whole = split_sentences(text)
    assert _feed(text, [1] * len(text)) == whole
    assert _visible("".join(whole)) == _visible(text)
    assert all(len(chunk) <= 240 for chunk in whole)
