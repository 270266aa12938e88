"""PII masking of student input: what is masked, and lesson content that must stay untouched."""

from __future__ import annotations

import pytest
from tutorplane.guardrail.pii import find_pii, mask_pii, masked_excerpt

pytestmark = pytest.mark.unit

MASKED = [
    ("my email is sam.lee@example.com", "my email is [EMAIL]", ["email"]),
    ("write to Ana_R+school@mail.example.co.uk please", "write to [EMAIL] please", ["email"]),
    ("call me at +44 20 7946 0958", "call me at [PHONE]", ["phone"]),
    ("my number is (555) 123-4567", "my number is [PHONE]", ["phone"]),
    ("ring 555-123-4567 after school", "ring [PHONE] after school", ["phone"]),
    ("text me on 07911 123456", "text me on [PHONE]", ["phone"]),
    ("whatsapp +4915123456789", "whatsapp [PHONE]", ["phone"]),
    ("my phone number is 5551234567", "my phone number is [PHONE]", ["phone"]),
    ("call 555 123 4567 now", "call [PHONE] now", ["phone"]),
    ("my number is 555-0199", "my number is [PHONE]", ["phone"]),
    ("+33 1 42 68 53 00 is my mum", "[PHONE] is my mum", ["phone"]),
    (
        "I live at 42 Baker Street, London NW1 6XE.",
        "I live at [ADDRESS], London [POSTCODE].",
        ["address", "postcode"],
    ),
    ("we moved to 1600 Pennsylvania Avenue last year", "we moved to [ADDRESS] last year", ["address"]),
    ("I live on Maple Road", "I live on [ADDRESS]", ["address"]),
    ("my address is 12 Oak Lane", "my address is [ADDRESS]", ["address"]),
    ("Wir wohnen in der Hauptstraße 5", "Wir wohnen in der [ADDRESS]", ["address"]),
    ("Springfield, IL 62704 is where I am", "Springfield, IL [POSTCODE] is where I am", ["postcode"]),
    ("Hi, my name is Sam Lee", "Hi, my name is [NAME]", ["name"]),
    ("my name is sam lee and I like maths", "my name is [NAME] and I like maths", ["name"]),
    ("call me Jo", "call me [NAME]", ["name"]),
    ("I'm Ana Ruiz from class 5B", "I'm [NAME] from class 5B", ["name"]),
    ("I am Sam", "I am [NAME]", ["name"]),
    ("My teacher is Mrs. Smith", "My teacher is [NAME]", ["name"]),
    ("my mom is Maria Lopez", "my mom is [NAME]", ["name"]),
    ("my friend's name is Léa Müller", "my friend's name is [NAME]", ["name"]),
    (
        "I'm Tom Hardy, tom@example.com, 07911 123456",
        "I'm [NAME], [EMAIL], [PHONE]",
        ["email", "name", "phone"],
    ),
]

UNTOUCHED = [
    "Who was George Washington?",
    "What did Martin Luther King Jr. say in 1963?",
    "What is 3.14159 times 2?",
    "What is 1000000 divided by 10?",
    "what is 123 456 789 plus 1",
    "The war lasted 1939-1945 and ended on 1945-09-02.",
    "Is 0.5 bigger than 0.25?",
    "What's 12 - 34 - 56?",
    "I'm confused about fractions",
    "I'm Not sure about this",
    "I am ten years old",
    "this is hard",
    "Call me back later",
    "Read chapter 12, pages 45-67.",
    "[NAME] and [EMAIL] are already masked",
]


@pytest.mark.parametrize(("text", "expected", "kinds"), MASKED, ids=[m[0][:30] for m in MASKED])
def test_masks(text: str, expected: str, kinds: list[str]) -> None:
    result = mask_pii(text)
    assert result.text == expected
    assert result.kinds == kinds
    assert mask_pii(result.text).text == result.text, "masking is idempotent"


@pytest.mark.parametrize("text", UNTOUCHED)
def test_lesson_content_is_left_alone(text: str) -> None:
    assert mask_pii(text).text == text


def test_findings_carry_spans_not_values() -> None:
    text = "mail me: kid@example.com"
    (finding,) = find_pii(text)
    assert (finding.kind, text[finding.start : finding.end]) == ("email", "kid@example.com")
    assert "kid@example.com" not in repr(finding)


def test_excerpt_is_masked_and_bounded() -> None:
    text = "my email is kid@example.com " + "and more words " * 30
    excerpt = masked_excerpt(text, 200)
    assert len(excerpt) <= 200 and excerpt.endswith("…") and "[EMAIL]" in excerpt
    assert masked_excerpt("short one") == "short one"
