"""Moderation categories: the OpenAI moderation taxonomy, its severe subset, and Llama-Guard codes.

Category names are the API's slash form (``self-harm/intent``). The OpenAI SDK's attribute names
(``self_harm_intent``) and Llama-Guard S-codes are accepted wherever a category is parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Category(StrEnum):
    harassment = "harassment"
    harassment_threatening = "harassment/threatening"
    hate = "hate"
    hate_threatening = "hate/threatening"
    illicit = "illicit"
    illicit_violent = "illicit/violent"
    self_harm = "self-harm"
    self_harm_intent = "self-harm/intent"
    self_harm_instructions = "self-harm/instructions"
    sexual = "sexual"
    sexual_minors = "sexual/minors"
    violence = "violence"
    violence_graphic = "violence/graphic"


# Categories that may never be allowed or rewritten (children 8–16 hear the output).
SEVERE: frozenset[Category] = frozenset(
    {
        Category.sexual_minors,
        Category.self_harm_intent,
        Category.self_harm_instructions,
        Category.violence_graphic,
    }
)

# OpenAI category -> Llama Guard 3 (MLCommons hazard taxonomy) codes. The taxonomies do not align
# one to one: harassment has no MLCommons code of its own and maps to the closest (S10 Hate).
LLAMA_GUARD_CODES: dict[Category, tuple[str, ...]] = {
    Category.harassment: ("S10",),
    Category.harassment_threatening: ("S10", "S1"),
    Category.hate: ("S10",),
    Category.hate_threatening: ("S10", "S1"),
    Category.illicit: ("S2",),
    Category.illicit_violent: ("S1", "S9"),
    Category.self_harm: ("S11",),
    Category.self_harm_intent: ("S11",),
    Category.self_harm_instructions: ("S11",),
    Category.sexual: ("S12", "S3"),
    Category.sexual_minors: ("S4",),
    Category.violence: ("S1",),
    Category.violence_graphic: ("S1",),
}

# Llama Guard code -> the OpenAI category a Llama-Guard verdict is scored as. Codes with no OpenAI
# counterpart (S5 defamation, S6 specialised advice, S7 privacy, S8 IP, S13 elections, S14 code
# abuse) are absent: a Llama-Guard backend reporting them falls under the policy's default rule.
FROM_LLAMA_GUARD: dict[str, Category] = {
    "S1": Category.violence,
    "S2": Category.illicit,
    "S3": Category.sexual,
    "S4": Category.sexual_minors,
    "S9": Category.illicit_violent,
    "S10": Category.hate,
    "S11": Category.self_harm,
    "S12": Category.sexual,
}

_BY_SDK_NAME: dict[str, Category] = {c.value.replace("/", "_").replace("-", "_"): c for c in Category}


def parse_category(name: str, *, llama_guard: bool = True) -> Category | None:
    """``self-harm/intent``, ``self_harm_intent`` or (with ``llama_guard``) ``S11`` -> Category.

    None when the name is unknown.
    """
    key = name.strip()
    try:
        return Category(key.lower())
    except ValueError:
        pass
    if llama_guard and key.upper() in FROM_LLAMA_GUARD:
        return FROM_LLAMA_GUARD[key.upper()]
    return _BY_SDK_NAME.get(key.lower().replace("/", "_").replace("-", "_"))


def normalize_scores(scores: Mapping[str, float | None]) -> dict[str, float]:
    """Category scores keyed by canonical names; unknown keys are kept as given (lower case)."""
    out: dict[str, float] = {}
    for name, value in scores.items():
        if value is None:
            continue
        category = parse_category(name)
        key = category.value if category is not None else name.strip().lower()
        out[key] = max(out.get(key, 0.0), float(value))
    return out
