"""Policy: categories, thresholds, the four actions, severe categories, fail modes, settings overrides."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from tutorplane.common.settings import SettingsError
from tutorplane.guardrail.categories import (
    FROM_LLAMA_GUARD,
    LLAMA_GUARD_CODES,
    SEVERE,
    Category,
    normalize_scores,
    parse_category,
)
from tutorplane.guardrail.checker import LocalChecker
from tutorplane.guardrail.decision import CheckContext
from tutorplane.guardrail.policy import Action, Direction, GuardrailPolicy
from tutorplane.guardrail.scripted_moderation import ScriptedModeration
from tutorplane.guardrail.settings import GuardrailPolicySettings, GuardrailStreamSettings
from tutorplane.guardrail.testing import ScriptedRewriter

pytestmark = pytest.mark.unit

OUT, IN = Direction.output, Direction.input
CTX = CheckContext(source="test")


def test_taxonomy_covers_all_openai_categories_and_maps_to_llama_guard() -> None:
    assert len(Category) == 13
    assert set(LLAMA_GUARD_CODES) == set(Category)
    assert LLAMA_GUARD_CODES[Category.sexual_minors] == ("S4",)
    assert LLAMA_GUARD_CODES[Category.self_harm_intent] == ("S11",)
    assert FROM_LLAMA_GUARD["S4"] == Category.sexual_minors
    for code, category in FROM_LLAMA_GUARD.items():
        assert code in LLAMA_GUARD_CODES[category]
    assert {
        Category.sexual_minors,
        Category.self_harm_intent,
        Category.self_harm_instructions,
        Category.violence_graphic,
    } == SEVERE


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("self-harm/intent", Category.self_harm_intent),
        ("self_harm_intent", Category.self_harm_intent),
        ("Sexual/Minors", Category.sexual_minors),
        ("S11", Category.self_harm),
        ("illicit_violent", Category.illicit_violent),
        ("nonsense", None),
    ],
)
def test_category_names_parse(name: str, expected: Category | None) -> None:
    assert parse_category(name) == expected


def test_sdk_and_slash_names_normalise_to_one_key() -> None:
    scores = normalize_scores(
        {"self_harm_intent": 0.2, "self-harm/intent": 0.4, "violence": None, "new/thing": 0.1}
    )
    assert scores == {"self-harm/intent": 0.4, "new/thing": 0.1}


@pytest.mark.parametrize(
    ("scores", "direction", "action", "category"),
    [
        ({"violence": 0.1}, OUT, Action.allow, None),
        ({"violence": 0.7}, OUT, Action.rewrite, "violence"),
        ({"violence": 0.7}, IN, Action.allow, "violence"),  # history questions talk about wars
        ({"sexual": 0.45}, OUT, Action.block, "sexual"),
        ({"sexual/minors": 0.25}, OUT, Action.escalate, "sexual/minors"),
        ({"self-harm/intent": 0.9}, IN, Action.escalate, "self-harm/intent"),
        ({"harassment/threatening": 0.6}, IN, Action.escalate, "harassment/threatening"),
        (
            {"violence": 0.9, "self-harm/intent": 0.31},
            OUT,
            Action.escalate,
            "self-harm/intent",
        ),  # severest wins
        ({"harassment": 0.9, "hate": 0.6}, OUT, Action.rewrite, "harassment"),  # same action: higher score
        ({"brand-new-category": 0.8}, OUT, Action.block, "brand-new-category"),  # unknown: conservative
    ],
)
def test_decide(scores: dict[str, float], direction: Direction, action: Action, category: str | None) -> None:
    verdict = GuardrailPolicy().decide(scores, direction)
    assert (verdict.action, verdict.category) == (action, category)
    assert verdict.flagged == (category is not None)


def test_severe_categories_can_never_be_allowed_or_rewritten() -> None:
    for category in SEVERE:
        for field in ("action", "input_action"):
            for action in ("allow", "rewrite"):
                with pytest.raises(ValidationError, match="is severe"):
                    GuardrailPolicy.model_validate({"rules": {category.value: {field: action}}})
        with pytest.raises(ValidationError, match=r"threshold must be <= 0\.5"):
            GuardrailPolicy.model_validate({"rules": {category.value: {"threshold": 0.9}}})


def test_input_is_never_rewritten_and_unknown_categories_are_named() -> None:
    with pytest.raises(ValidationError, match="input_action cannot be rewrite"):
        GuardrailPolicy.model_validate({"rules": {"violence": {"input_action": "rewrite"}}})
    with pytest.raises(ValidationError, match="unknown moderation category 'violent'"):
        GuardrailPolicy.model_validate({"rules": {"violent": {"threshold": 0.5}}})


def test_partial_rule_overrides_merge_onto_defaults() -> None:
    policy = GuardrailPolicy.model_validate({"rules": {"violence": {"threshold": 0.9}}})
    rule = policy.rule_for("violence")
    assert rule.threshold == 0.9 and rule.action == Action.rewrite
    assert policy.rule_for("sexual/minors").action == Action.escalate


def test_fail_mode_defaults_closed_for_output_open_for_input() -> None:
    policy = GuardrailPolicy()
    assert policy.unavailable_verdict(OUT).action == Action.block
    assert policy.unavailable_verdict(OUT).fail_closed
    assert policy.unavailable_verdict(IN).action == Action.allow
    all_open = policy.with_overrides(fail_closed={c.value: False for c in Category})
    assert all_open.unavailable_verdict(OUT).action == Action.allow
    assert policy.with_overrides(input_fail_closed=True).unavailable_verdict(IN).fail_closed


def test_settings_overrides_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTOR_GUARDRAIL_THRESHOLDS", '{"violence": 0.8, "self_harm": 0.3}')
    monkeypatch.setenv("TUTOR_GUARDRAIL_ACTIONS", '{"hate": "block"}')
    monkeypatch.setenv("TUTOR_GUARDRAIL_MIN_CHARS", "20")
    settings = GuardrailStreamSettings()
    policy = settings.guardrail_policy()
    assert policy.rule_for("violence").threshold == 0.8
    assert policy.rule_for("self-harm").threshold == 0.3
    assert policy.rule_for("hate").action == Action.block
    assert settings.pipeline_config().min_chars == 20


def test_settings_refuse_an_unsafe_policy_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTOR_GUARDRAIL_ACTIONS", '{"sexual/minors": "allow"}')
    # pydantic wraps the SettingsError raised by the validator; the message names the variables.
    with pytest.raises(ValueError, match=r"TUTOR_GUARDRAIL_THRESHOLDS / _ACTIONS.*sexual/minors is severe"):
        GuardrailPolicySettings()
    with pytest.raises(SettingsError, match="unknown moderation category 'gore'"):
        GuardrailPolicySettings.model_construct(guardrail_thresholds={"gore": 0.5}).guardrail_policy()


# -- each action end to end through the in-process checker ------------------------------------


async def test_allow_releases_the_original() -> None:
    checker = LocalChecker(ScriptedModeration())
    (decision,) = await checker.check(["Seven times eight is fifty-six."], direction=OUT, context=CTX)
    assert decision.action == Action.allow and decision.text == decision.original
    assert not decision.flagged and decision.reason == "clean"


async def test_rewrite_uses_the_rewriter_and_rechecks_it() -> None:
    moderation = ScriptedModeration().flag("soldiers were killed", {"violence": 0.8})
    rewriter = ScriptedRewriter(text="Many soldiers lost their lives in the battle.")
    checker = LocalChecker(moderation, rewriter=rewriter)
    (decision,) = await checker.check(
        ["Thousands of soldiers were killed."],
        direction=OUT,
        context=CheckContext(source="test", age_band="8-10"),
    )
    assert decision.action == Action.rewrite and decision.reason == "rewritten"
    assert decision.text == "Many soldiers lost their lives in the battle."
    assert decision.original == "Thousands of soldiers were killed."
    assert decision.flagged and decision.category == "violence"
    assert rewriter.calls == [
        {"text": "Thousands of soldiers were killed.", "categories": ["violence"], "age_band": "8-10"}
    ]
    assert moderation.calls[-1].texts == ["Many soldiers lost their lives in the battle."]


@pytest.mark.parametrize(
    ("rewriter", "reason"),
    [
        (None, "rewrite_unavailable"),
        (ScriptedRewriter(text=None), "rewrite_failed"),
        (ScriptedRewriter(text="They were killed horribly."), "rewrite_flagged"),
        (ScriptedRewriter(text="Fine.", latency_s=10.0), "rewrite_failed"),
    ],
    ids=["no rewriter", "rewriter error", "rewrite itself flagged", "rewrite too slow"],
)
async def test_rewrite_falls_back_to_the_safe_line(rewriter: ScriptedRewriter | None, reason: str) -> None:
    moderation = ScriptedModeration().flag("killed", {"violence": 0.8})
    checker = LocalChecker(moderation, rewriter=rewriter, rewrite_timeout_s=0.05)
    (decision,) = await checker.check(["Soldiers were killed."], direction=OUT, context=CTX)
    assert decision.action == Action.rewrite and decision.reason == reason
    assert decision.text == GuardrailPolicy().safe_lines.rewrite_fallback


async def test_block_replaces_with_the_safe_line() -> None:
    checker = LocalChecker(ScriptedModeration().flag("explicit", {"sexual": 0.9}))
    (decision,) = await checker.check(["Something explicit."], direction=OUT, context=CTX)
    assert decision.action == Action.block
    assert decision.text == decision.safe_line == GuardrailPolicy().safe_lines.block
    assert not decision.escalate


async def test_escalate_blocks_and_flags_escalation() -> None:
    checker = LocalChecker(ScriptedModeration().flag("instructions", {"self-harm/instructions": 0.7}))
    (decision,) = await checker.check(["Here are instructions."], direction=OUT, context=CTX)
    assert decision.action == Action.escalate and decision.escalate
    assert decision.text == GuardrailPolicy().safe_lines.block


async def test_input_escalation_on_self_harm_gets_the_caring_line_and_is_masked() -> None:
    checker = LocalChecker(ScriptedModeration().flag("hurt myself", {"self-harm/intent": 0.9}))
    (decision,) = await checker.check(
        ["My name is Sam Lee and I want to hurt myself"], direction=IN, context=CTX
    )
    assert decision.action == Action.escalate
    assert decision.text == "My name is [NAME] and I want to hurt myself"
    assert decision.pii == ("name",)
    assert decision.safe_line == GuardrailPolicy().safe_lines.self_harm


async def test_moderation_error_fails_closed_for_output_and_open_for_input() -> None:
    moderation = ScriptedModeration().fail(2, reason="http_500")
    checker = LocalChecker(moderation)
    (out,) = await checker.check(["Any sentence at all."], direction=OUT, context=CTX)
    assert out.action == Action.block and out.fail_closed and out.reason == "unavailable:http_500"
    assert out.text == GuardrailPolicy().safe_lines.fallback
    (inp,) = await checker.check(["call me on 555-123-4567"], direction=IN, context=CTX)
    assert inp.action == Action.allow and not inp.fail_closed and inp.unchecked
    assert inp.text == "call me on [PHONE]"  # masking does not depend on the backend


async def test_moderation_timeout_fails_closed() -> None:
    checker = LocalChecker(ScriptedModeration(latency_s=5.0), moderation_timeout_s=0.05)
    (decision,) = await checker.check(["Any sentence at all."], direction=OUT, context=CTX)
    assert decision.fail_closed and decision.reason == "unavailable:timeout"
