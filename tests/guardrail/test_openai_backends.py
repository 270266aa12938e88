"""OpenAIModeration and OpenAIRewriter: the real openai SDK over HTTP against the emulator.

Covers the wire shape (model pinned, batch input, slash category names), fail-closed on an
emulator 500 and on a hang, and the rewrite path end to end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from tutorplane.guardrail.checker import LocalChecker
from tutorplane.guardrail.decision import CheckContext
from tutorplane.guardrail.moderation import ModerationError
from tutorplane.guardrail.openai_moderation import OpenAIModeration
from tutorplane.guardrail.pipeline import GuardedStream
from tutorplane.guardrail.policy import Action, Direction, GuardrailPolicy
from tutorplane.guardrail.rewrite import OpenAIRewriter, RewriteError
from tutorplane.guardrail.testing import scripted_deltas

pytestmark = pytest.mark.integration


@pytest.fixture
async def sdk(emulator: Any) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0)
    yield client
    await client.close()


async def test_moderation_batch_with_pinned_model_and_scripted_flags(
    emulator: Any, sdk: openai.AsyncOpenAI
) -> None:
    emulator.script.moderation("sword fight", {"violence": 0.8, "violence/graphic": 0.1})
    moderation = OpenAIModeration(client=sdk, timeout_s=2.0)
    clean, flagged = await moderation.moderate(["Two plus two is four.", "A sword fight broke out."])
    assert not clean.provider_flagged and max(clean.scores.values()) < 0.01
    assert flagged.provider_flagged and flagged.scores["violence"] == pytest.approx(0.8)
    assert "violence/graphic" in flagged.scores and "self-harm/intent" in flagged.scores
    (request,) = emulator.script.requests("moderations")
    assert request["model"] == "omni-moderation-latest"
    assert request["input"] == ["Two plus two is four.", "A sword fight broke out."]


async def test_emulator_builtin_lexicon_flags_self_harm(sdk: openai.AsyncOpenAI) -> None:
    (result,) = await OpenAIModeration(client=sdk).moderate(["I want to hurt myself"])
    verdict = GuardrailPolicy().decide(result.scores, Direction.input)
    assert verdict.action == Action.escalate and verdict.category is not None
    assert verdict.category.startswith("self-harm")


@pytest.mark.parametrize(("status", "reason"), [(500, "http_500"), (429, "rate_limited"), (503, "http_503")])
async def test_moderation_http_errors_become_moderation_errors(
    emulator: Any, sdk: openai.AsyncOpenAI, status: int, reason: str
) -> None:
    emulator.script.fail("moderations", status=status)
    with pytest.raises(ModerationError) as info:
        await OpenAIModeration(client=sdk).moderate(["Hello there."])
    assert info.value.reason == reason


async def test_moderation_hang_is_a_timeout(emulator: Any, sdk: openai.AsyncOpenAI) -> None:
    emulator.script.fail("moderations", status=0, delay_s=2.0)
    with pytest.raises(ModerationError) as info:
        await OpenAIModeration(client=sdk, timeout_s=0.3).moderate(["Hello there."])
    assert info.value.reason == "timeout"


def test_moderation_without_key_is_refused_with_instructions() -> None:
    with pytest.raises(ValueError, match="TUTOR_OPENAI_API_KEY"):
        OpenAIModeration()


@pytest.mark.parametrize("failure", [{"status": 500}, {"status": 0, "delay_s": 2.0}], ids=["500", "timeout"])
async def test_stream_fails_closed_when_the_emulator_fails(
    emulator: Any, sdk: openai.AsyncOpenAI, failure: dict[str, Any]
) -> None:
    emulator.script.fail("moderations", **failure)
    checker = LocalChecker(OpenAIModeration(client=sdk, timeout_s=0.3), moderation_timeout_s=0.6)
    # The second sentence completes after the first one's check is out: the scripted failure is the
    # first request's (sent together, either could reach the emulator first and take it).
    parts = ["The first sentence is here. ", "The second", " one is fine."]
    stream = GuardedStream(scripted_deltas(parts, delay_s=0.15), checker)
    async with stream:
        released = [s async for s in stream]
    first, second = released
    assert first.fail_closed and first.action == Action.block
    assert (
        first.text == GuardrailPolicy().safe_lines.fallback
        and first.original == "The first sentence is here."
    )
    assert not second.fail_closed and second.text == "The second one is fine."


async def test_rewrite_through_the_chat_emulator(emulator: Any, sdk: openai.AsyncOpenAI) -> None:
    emulator.script.moderation("were slaughtered", {"violence": 0.85})
    emulator.script.chat("Many people lost their lives in that battle.")
    checker = LocalChecker(
        OpenAIModeration(client=sdk), rewriter=OpenAIRewriter(client=sdk, model="gpt-test-rewriter")
    )
    (decision,) = await checker.check(
        ["Thousands were slaughtered in the battle."],
        direction=Direction.output,
        context=CheckContext(source="test", age_band="8-10"),
    )
    assert decision.action == Action.rewrite and decision.reason == "rewritten"
    assert decision.text == "Many people lost their lives in that battle."
    (chat,) = emulator.script.requests("chat")
    assert chat["model"] == "gpt-test-rewriter"
    assert "aged 8-10" in chat["messages"][0]["content"] and "violence" in chat["messages"][0]["content"]
    assert "Thousands were slaughtered" in chat["messages"][1]["content"]
    assert [r["input"] for r in emulator.script.requests("moderations")][-1] == [
        "Many people lost their lives in that battle."
    ]


async def test_rewrite_error_falls_back(emulator: Any, sdk: openai.AsyncOpenAI) -> None:
    emulator.script.fail("chat", status=500)
    with pytest.raises(RewriteError):
        await OpenAIRewriter(client=sdk).rewrite("text", categories=["violence"], age_band=None)
