"""GuardedStream: order, pipelining overlap, bounded look-ahead, flushes, fail modes, side effects.

Timing is virtual (looptime): a scripted moderation sleeps for its round trip, a scripted model
stream sleeps between deltas, and a consumer "speaks" by sleeping. Assertions on loop time are
exact, so they prove overlap rather than measure speed.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence

import pytest
from tutorplane.guardrail.checker import LocalChecker
from tutorplane.guardrail.decision import CheckContext, Decision
from tutorplane.guardrail.pipeline import (
    GuardedSentence,
    GuardedStream,
    GuardrailEvent,
    PipelineConfig,
    check_input,
)
from tutorplane.guardrail.policy import Action, Direction, GuardrailPolicy
from tutorplane.guardrail.scripted_moderation import ScriptedModeration
from tutorplane.guardrail.testing import RecordingAuditSink, RecordingHook, ScriptedRewriter, scripted_deltas

pytestmark = [pytest.mark.unit, pytest.mark.looptime]

SENTENCES = [f"This is sentence number {i} of the answer." for i in range(10)]
ANSWER = " ".join(SENTENCES)
CTX = CheckContext(session_id="00000000-0000-4000-8000-000000000001", source="test")


def words(text: str) -> list[str]:
    parts = text.split(" ")
    return [p if i == 0 else " " + p for i, p in enumerate(parts)]


async def consume(stream: GuardedStream, *, speak_s: float = 0.0) -> list[tuple[float, GuardedSentence]]:
    loop = asyncio.get_running_loop()
    out = []
    async with stream:
        async for sentence in stream:
            out.append((loop.time(), sentence))
            if speak_s:
                await asyncio.sleep(speak_s)
    return out


async def test_all_at_once_is_checked_in_one_round_trip_and_stays_in_order() -> None:
    moderation = ScriptedModeration(latency_s=0.05)
    loop = asyncio.get_running_loop()
    start = loop.time()
    released = await consume(GuardedStream(scripted_deltas([ANSWER]), LocalChecker(moderation), context=CTX))
    assert [s.text for _, s in released] == SENTENCES
    assert [s.index for _, s in released] == list(range(10))
    assert all(t - start == pytest.approx(0.05) for t, _ in released)  # one RTT for the whole answer
    assert moderation.calls[0].texts == SENTENCES[:1]  # the first sentence never waits on a batch
    assert sum(len(c.texts) for c in moderation.calls) == 10


async def test_order_is_kept_when_later_checks_finish_first() -> None:
    moderation = ScriptedModeration(latency_s=0.01).slow("number 0", 0.5).slow("number 3", 0.3)
    config = PipelineConfig(max_batch=1)
    released = await consume(
        GuardedStream(scripted_deltas([ANSWER]), LocalChecker(moderation), config=config)
    )
    assert [s.index for _, s in released] == list(range(10))
    finish = {c.texts[0]: c.finished or 0.0 for c in moderation.calls}
    assert finish[SENTENCES[9]] < finish[SENTENCES[3]] < finish[SENTENCES[0]]  # checks really overlapped


async def test_a_fast_stream_against_a_slow_checker_is_batched_not_sent_sentence_by_sentence() -> None:
    """Sentences completing while ``max_inflight`` checks are out wait and go together in the next one."""
    moderation = ScriptedModeration(latency_s=0.05)
    config = PipelineConfig(max_inflight=2)
    released = await consume(
        GuardedStream(scripted_deltas(words(ANSWER), delay_s=0.0005), LocalChecker(moderation), config=config)
    )
    assert [s.text for _, s in released] == SENTENCES  # order and content unchanged
    assert sum(len(c.texts) for c in moderation.calls) == 10  # every sentence checked exactly once
    assert len(moderation.calls) <= 4  # one request per sentence would be 10
    assert max(len(c.texts) for c in moderation.calls) > 1


async def test_max_inflight_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_inflight"):
        PipelineConfig(max_inflight=0)


async def test_speaking_pace_checks_n_plus_1_while_n_is_spoken() -> None:
    """Model streams one word per 0.1 s; each sentence is spoken for 1 s; moderation takes 0.2 s."""
    moderation = ScriptedModeration(latency_s=0.2)
    loop = asyncio.get_running_loop()
    start = loop.time()
    stream = GuardedStream(scripted_deltas(words(ANSWER), delay_s=0.1), LocalChecker(moderation))
    released = await consume(stream, speak_s=1.0)
    times = [t - start for t, _ in released]
    # Sentence 0 is complete when the first word of sentence 1 arrives (8 words -> t=0.8), checked by 1.0.
    assert times[0] == pytest.approx(1.0)
    # Every later sentence is released the moment the previous one has been spoken: zero added delay.
    for previous, current in itertools.pairwise(times):
        assert current - previous == pytest.approx(1.0)
    # Its check started before the previous sentence had been spoken and was done by its own release.
    by_text = {c.texts[0]: c for c in moderation.calls}
    for i in range(1, 10):
        call = by_text[SENTENCES[i]]
        assert call.finished is not None
        assert call.started < times[i - 1] + 1.0 and call.finished <= times[i]


async def test_look_ahead_of_one_still_overlaps_checking_with_speaking() -> None:
    """A slot is freed when a sentence is taken for speaking, so even look-ahead 1 hides the round trip."""
    moderation = ScriptedModeration(latency_s=0.2)
    config = PipelineConfig(lookahead=1, max_batch=1)
    loop = asyncio.get_running_loop()
    start = loop.time()
    released = await consume(
        GuardedStream(scripted_deltas([ANSWER]), LocalChecker(moderation), config=config), speak_s=1.0
    )
    times = [t - start for t, _ in released]
    assert times == pytest.approx([0.2 + i * 1.0 for i in range(10)])  # a sequential check would add 0.2 each


async def test_look_ahead_is_bounded() -> None:
    moderation = ScriptedModeration(latency_s=0.01)
    config = PipelineConfig(lookahead=3)
    stream = GuardedStream(scripted_deltas([ANSWER]), LocalChecker(moderation), config=config)
    async with stream:
        async for sentence in stream:
            await asyncio.sleep(1.0)
            assert len(moderation.texts_seen) <= sentence.index + 1 + 3
    assert len(moderation.texts_seen) == 10


async def test_tail_without_punctuation_is_flushed_at_end() -> None:
    released = await consume(
        GuardedStream(
            scripted_deltas(["Fractions are parts of a whole. And the", " last bit has no stop"]),
            LocalChecker(ScriptedModeration()),
        )
    )
    assert [s.text for _, s in released] == [
        "Fractions are parts of a whole.",
        "And the last bit has no stop",
    ]


async def test_stalled_stream_is_flushed_after_the_stall_timeout() -> None:
    moderation = ScriptedModeration(latency_s=0.05)
    hook = RecordingHook()
    loop = asyncio.get_running_loop()
    start = loop.time()
    deltas = scripted_deltas(["Let me think about", " this one", " carefully now."], pauses={2: 10.0})
    stream = GuardedStream(
        deltas, LocalChecker(moderation), config=PipelineConfig(stall_timeout_s=2.0), on_event=hook
    )
    released = await consume(stream)
    assert [s.text for _, s in released] == ["Let me think about this one", "carefully now."]
    assert released[0][0] - start == pytest.approx(2.05)  # stall timeout + one check
    assert released[1][0] - start == pytest.approx(10.05)
    assert "stall_flush" in hook.kinds()


async def test_upstream_error_releases_what_arrived_then_raises() -> None:
    async def broken() -> AsyncIterator[str]:
        yield "The first part is fine. The second part"
        raise ConnectionError("model stream dropped")

    stream = GuardedStream(broken(), LocalChecker(ScriptedModeration()))
    got: list[str] = []
    with pytest.raises(ConnectionError, match="model stream dropped"):
        async for sentence in stream:
            got.append(sentence.text)
    assert got == ["The first part is fine.", "The second part"]


async def test_escalation_halts_the_answer_and_closes_the_source() -> None:
    closed = asyncio.Event()

    async def model() -> AsyncIterator[str]:
        try:
            yield "Here is a fine sentence. Now some bad instructions here. "
            await asyncio.sleep(1.0)
            yield "More text that must never be spoken. And more."
        finally:
            closed.set()

    moderation = ScriptedModeration().flag("bad instructions", {"self-harm/instructions": 0.8})
    hook = RecordingHook()
    released = await consume(GuardedStream(model(), LocalChecker(moderation), on_event=hook))
    assert [s.action for _, s in released] == [Action.allow, Action.escalate]
    assert released[1][1].escalate and released[1][1].text == GuardrailPolicy().safe_lines.block
    assert hook.kinds().count("escalation") == 1 and "halted" in hook.kinds()
    await asyncio.wait_for(closed.wait(), 1.0)
    assert not any("never be spoken" in s.text or "never be spoken" in s.original for _, s in released)


async def test_escalation_event_fires_before_release() -> None:
    moderation = ScriptedModeration(latency_s=0.1).flag("bad instructions", {"self-harm/instructions": 0.8})
    hook = RecordingHook()
    stream = GuardedStream(
        scripted_deltas(["A fine sentence here. Some bad instructions here."]),
        LocalChecker(moderation),
        on_event=hook,
    )
    async with stream:
        first = await anext(stream)
        assert first.action == Action.allow
        assert "escalation" in hook.kinds()  # decided together with sentence 0; raised at once


async def test_checker_hang_is_cut_by_the_backstop_and_fails_closed() -> None:
    class Hanging:
        policy = GuardrailPolicy()

        async def check(
            self, texts: Sequence[str], *, direction: Direction, context: CheckContext
        ) -> list[Decision]:
            await asyncio.sleep(3600)
            raise AssertionError("unreachable")

        async def aclose(self) -> None:
            return None

    loop = asyncio.get_running_loop()
    start = loop.time()
    released = await consume(
        GuardedStream(
            scripted_deltas(["Any sentence at all."]), Hanging(), config=PipelineConfig(check_timeout_s=0.5)
        )
    )
    ((t, sentence),) = released
    assert t - start == pytest.approx(0.5)
    assert sentence.fail_closed and sentence.action == Action.block
    assert sentence.text == GuardrailPolicy().safe_lines.fallback


async def test_moderation_failure_fails_closed_per_sentence() -> None:
    moderation = ScriptedModeration().fail(1, reason="http_503")
    released = await consume(
        GuardedStream(
            scripted_deltas(["First sentence is here. Second sentence is here."]), LocalChecker(moderation)
        )
    )
    first, second = (s for _, s in released)
    assert first.fail_closed and first.text == GuardrailPolicy().safe_lines.fallback
    assert not second.fail_closed and second.text == "Second sentence is here."


async def test_a_safe_line_repeated_by_consecutive_sentences_is_said_once() -> None:
    # Moderation down for the whole answer: every sentence fails closed to the same line, which a
    # student should hear once, not once per sentence. Each decision is still released and audited.
    moderation = ScriptedModeration().fail(10, reason="http_503")
    sink = RecordingAuditSink()
    text = "One is here. Two is here. Three is here."
    released = [
        s
        for _, s in await consume(
            GuardedStream(scripted_deltas([text]), LocalChecker(moderation), audit=sink)
        )
    ]
    fallback = GuardrailPolicy().safe_lines.fallback
    assert [s.text for s in released] == [fallback, "", ""]
    assert all(s.fail_closed and s.action == Action.block for s in released)
    assert len(sink.of("guardrail_events")) == 3
    # After something else was said, the line is said again.
    moderation = ScriptedModeration().flag("here", {"sexual": 0.9})
    text = "One is here. Two is here. Three is fine. Four is here."
    released = [s for _, s in await consume(GuardedStream(scripted_deltas([text]), LocalChecker(moderation)))]
    line = released[0].text
    assert line and [s.text for s in released] == [line, "", "Three is fine.", line]


async def test_audit_rows_and_ui_events_for_non_allow_decisions_only() -> None:
    moderation = ScriptedModeration().flag("battle", {"violence": 0.9}).flag("explicit", {"sexual": 0.9})
    sink, hook = RecordingAuditSink(), RecordingHook()
    checker = LocalChecker(moderation, rewriter=ScriptedRewriter(text="People disagreed strongly."))
    text = "We start with maths today. There was a bloody battle. Then something explicit. Back to sums."
    released = await consume(
        GuardedStream(scripted_deltas([text]), checker, context=CTX, audit=sink, on_event=hook)
    )
    assert [s.action for _, s in released] == [Action.allow, Action.rewrite, Action.block, Action.allow]
    rows = sink.of("guardrail_events")
    assert [(r["action"], r["category"]) for r in rows] == [("rewrite", "violence"), ("block", "sexual")]
    assert all(r["session_id"] == CTX.session_id and r["source"] == "test" for r in rows)
    assert rows[0]["excerpt"] == "There was a bloody battle." and len(rows[0]["sentence_hash"]) == 64
    assert [e.sentence.index for e in hook.events if e.kind == "sentence" and e.sentence] == [1, 2]


async def test_side_effects_never_block_or_break_the_speaking_path() -> None:
    class RefusingSink:
        def submit(self, table: str, row: dict[str, object]) -> None:
            raise ValueError("unknown column")

    slow_hook_done = asyncio.Event()

    async def slow_hook_body() -> None:
        await asyncio.sleep(100.0)
        slow_hook_done.set()

    def hook(event: GuardrailEvent) -> object:
        return slow_hook_body()

    moderation = ScriptedModeration().flag("explicit", {"sexual": 0.9})
    loop = asyncio.get_running_loop()
    start = loop.time()
    released = await consume(
        GuardedStream(
            scripted_deltas(["Something explicit here. Fine after."]),
            LocalChecker(moderation),
            audit=RefusingSink(),
            on_event=hook,
        )
    )
    assert [s.action for _, s in released] == [Action.block, Action.allow]
    assert loop.time() - start < 1.0 and not slow_hook_done.is_set()


async def test_aclose_cancels_checks_in_flight() -> None:
    moderation = ScriptedModeration(latency_s=50.0)
    stream = GuardedStream(scripted_deltas([ANSWER]), LocalChecker(moderation))
    task = asyncio.create_task(anext(stream))
    await asyncio.sleep(1.0)
    await stream.aclose()
    task.cancel()
    with pytest.raises((asyncio.CancelledError, StopAsyncIteration)):
        await task
    assert all(c.finished is None for c in moderation.calls)
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_check_input_masks_pii_escalates_and_audits() -> None:
    moderation = ScriptedModeration().flag("hurt myself", {"self-harm/intent": 0.95})
    sink, hook = RecordingAuditSink(), RecordingHook()
    decision = await check_input(
        "I'm Ana Ruiz, my email is ana@example.com and I want to hurt myself",
        LocalChecker(moderation),
        context=CTX,
        audit=sink,
        on_event=hook,
    )
    assert decision.escalate and decision.safe_line == GuardrailPolicy().safe_lines.self_harm
    assert decision.text == "I'm [NAME], my email is [EMAIL] and I want to hurt myself"
    assert moderation.texts_seen == [decision.text]  # the raw text never reached the moderation model
    (row,) = sink.of("guardrail_events")
    assert row["direction"] == "input" and row["action"] == "escalate"
    assert "ana@example.com" not in row["excerpt"] and "[EMAIL]" in row["excerpt"]
    assert hook.kinds() == ["input", "escalation"]


async def test_check_input_allows_clean_questions_without_audit() -> None:
    sink = RecordingAuditSink()
    decision = await check_input("What is 3.5 times 2?", LocalChecker(ScriptedModeration()), audit=sink)
    assert decision.action == Action.allow and decision.text == "What is 3.5 times 2?"
    assert decision.safe_line is None and sink.rows == []


def test_pipeline_config_is_validated() -> None:
    with pytest.raises(ValueError, match="lookahead"):
        PipelineConfig(lookahead=0)
    with pytest.raises(ValueError, match="max_chars"):
        PipelineConfig(min_chars=100, max_chars=120)
