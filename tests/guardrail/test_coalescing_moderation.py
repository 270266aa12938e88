"""Concurrent checks merged into fewer moderation calls, with per-caller results and failures."""

from __future__ import annotations

import asyncio

import pytest
from tutorplane.guardrail.coalescing import CoalescingModeration
from tutorplane.guardrail.moderation import ModerationError
from tutorplane.guardrail.scripted_moderation import ScriptedModeration

pytestmark = pytest.mark.unit


async def test_an_idle_client_sends_at_once_and_alone() -> None:
    inner = ScriptedModeration(latency_s=0.01)
    client = CoalescingModeration(inner, max_inflight=2)
    results = await client.moderate(["Seven times eight is fifty-six."])
    assert len(results) == 1 and len(inner.calls) == 1
    assert inner.calls[0].texts == ["Seven times eight is fifty-six."]


async def test_checks_arriving_while_calls_are_out_share_the_next_call() -> None:
    inner = ScriptedModeration(latency_s=0.05).flag("kill", {"violence": 0.9})
    client = CoalescingModeration(inner, max_inflight=1, max_batch=32)
    texts = [[f"Sentence {i} a."] for i in range(6)] + [["I will kill it.", "Fine b."]]
    results = await asyncio.gather(*(client.moderate(t) for t in texts))
    # The first goes alone; the other six checks (seven texts) wait for it and go as one call.
    assert [len(c.texts) for c in inner.calls] == [1, 7]
    for asked, got in zip(texts, results, strict=True):  # each caller gets its own results, in order
        assert len(got) == len(asked)
    assert results[-1][0].scores["violence"] == pytest.approx(0.9)
    assert results[-1][1].scores["violence"] < 0.5


async def test_max_batch_splits_at_check_boundaries() -> None:
    inner = ScriptedModeration(latency_s=0.02)
    client = CoalescingModeration(inner, max_inflight=1, max_batch=4)
    checks = [["a."], ["b.", "c."], ["d.", "e."], ["f."]]
    await asyncio.gather(*(client.moderate(c) for c in checks))
    assert [c.texts for c in inner.calls] == [
        ["a."],
        ["b.", "c.", "d.", "e."],
        ["f."],
    ]  # never splits a check


async def test_a_failed_call_fails_only_the_checks_it_carried() -> None:
    inner = ScriptedModeration(latency_s=0.02).fail(1, reason="http_500")
    client = CoalescingModeration(inner, max_inflight=1)
    first = asyncio.ensure_future(client.moderate(["one."]))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(client.moderate(["two."]))
    with pytest.raises(ModerationError) as failed:
        await first
    assert failed.value.reason == "http_500"
    assert len(await second) == 1  # went in the next call, which succeeded


async def test_a_caller_that_gave_up_is_dropped_and_the_rest_still_answered() -> None:
    inner = ScriptedModeration(latency_s=0.05)
    client = CoalescingModeration(inner, max_inflight=1)
    busy = asyncio.ensure_future(client.moderate(["busy."]))
    await asyncio.sleep(0)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await client.moderate(["impatient."])
    kept = await client.moderate(["patient."])
    await busy
    assert len(kept) == 1
    assert "impatient." not in inner.texts_seen  # nobody was waiting for it any more


async def test_close_fails_waiting_checks_instead_of_leaving_them_hanging() -> None:
    inner = ScriptedModeration(latency_s=1.0)
    client = CoalescingModeration(inner, max_inflight=1)
    out = asyncio.ensure_future(client.moderate(["in flight."]))
    queued = asyncio.ensure_future(client.moderate(["queued."]))
    await asyncio.sleep(0.01)
    await client.aclose()
    for task in (out, queued):
        with pytest.raises(ModerationError) as closed:
            await task
        assert closed.value.reason == "closed"


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        CoalescingModeration(ScriptedModeration(), max_batch=0)
