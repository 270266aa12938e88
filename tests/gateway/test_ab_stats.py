"""Intervals and verdicts of the A/B report."""

from __future__ import annotations

import pytest
from tutorplane.gateway.core.config import ModelPrice
from tutorplane.gateway.services.ab_report import session_cost
from tutorplane.gateway.services.ab_stats import (
    Estimate,
    bootstrap_mean,
    bootstrap_percentile,
    compare,
    wilson,
)

pytestmark = pytest.mark.unit


def test_wilson_interval_matches_the_textbook_values() -> None:
    e = wilson(10, 100)
    assert e.value == pytest.approx(0.1)
    assert e.low == pytest.approx(0.0552, abs=1e-3) and e.high == pytest.approx(0.1744, abs=1e-3)
    zero = wilson(0, 20)
    assert zero.low == 0.0 and 0.1 < (zero.high or 0) < 0.2
    assert wilson(0, 0).value is None


def test_bootstrap_mean_brackets_the_mean_and_is_deterministic() -> None:
    values = [float(v % 7) for v in range(200)]
    a, b = bootstrap_mean(values), bootstrap_mean(values)
    assert a == b
    assert a.low is not None and a.high is not None and a.low < a.value < a.high  # type: ignore[operator]
    assert bootstrap_mean([]).value is None
    assert bootstrap_mean([3.0]) == Estimate(3.0, None, None, 1)


def test_percentile_interval_resamples_sessions() -> None:
    sessions = [[100.0 + s, 120.0 + s, 140.0 + s] for s in range(40)]
    p50 = bootstrap_percentile(sessions, 50)
    assert p50.n == 120 and p50.low is not None and p50.high is not None
    assert p50.low <= p50.value <= p50.high  # type: ignore[operator]
    assert bootstrap_percentile([[], []], 50).value is None


def test_verdicts_speak_plainly() -> None:
    fast, slow = Estimate(200.0, 180.0, 220.0, 100), Estimate(400.0, 370.0, 430.0, 100)
    assert "A is clearly lower" in compare(fast, slow, lower_is_better=True, what="p50", unit=" ms")
    assert "A does better" in compare(fast, slow, lower_is_better=True, what="p50", unit=" ms")
    overlap = Estimate(390.0, 350.0, 420.0, 100)
    assert "no clear difference" in compare(overlap, slow, lower_is_better=True, what="p50")
    assert "too little data" in compare(Estimate(1.0, None, None, 1), slow, lower_is_better=True, what="x")


def test_session_cost_uses_the_price_table() -> None:
    prices = {
        "m": ModelPrice(input_per_mtok=1.0, output_per_mtok=2.0),
        "tts": ModelPrice(per_audio_second=0.01),
    }
    usage = [
        {"model": "m", "in": 1_000_000, "out": 500_000, "audio": 0},
        {"model": "tts", "audio": 10},
        {"model": "unknown", "in": 5},
    ]
    assert session_cost(usage, prices) == pytest.approx(2.1)
