"""Statistics of the A/B report: Wilson intervals for rates, session-level bootstrap for the rest.

Turns of one session are correlated, so latency percentiles resample whole sessions (cluster
bootstrap), not single turns. Resampling uses a fixed seed so the same data gives the same report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float | None
    low: float | None
    high: float | None
    n: int

    @classmethod
    def empty(cls, n: int = 0) -> Estimate:
        return cls(None, None, None, n)


def wilson(successes: int, trials: int) -> Estimate:
    """Rate with a 95% Wilson score interval (sound at small n and rates near 0 or 1)."""
    if trials <= 0:
        return Estimate.empty()
    p = successes / trials
    denom = 1 + Z95**2 / trials
    centre = (p + Z95**2 / (2 * trials)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / trials + Z95**2 / (4 * trials**2)) / denom
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), trials)


def bootstrap_mean(values: list[float], *, resamples: int = 1000, seed: int = 7) -> Estimate:
    """Mean with a 95% percentile-bootstrap interval."""
    if not values:
        return Estimate.empty()
    data = np.asarray(values, dtype=float)
    if len(data) == 1:
        return Estimate(float(data[0]), None, None, 1)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(data), size=(resamples, len(data)))
    means = data[idx].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return Estimate(float(data.mean()), float(low), float(high), len(data))


def bootstrap_percentile(
    sessions: list[list[float]], q: float, *, resamples: int = 500, seed: int = 11
) -> Estimate:
    """Percentile ``q`` (0..100) of turn latencies, 95% interval by resampling sessions."""
    groups = [np.asarray(s, dtype=float) for s in sessions if s]
    if not groups:
        return Estimate.empty()
    pooled = np.concatenate(groups)
    value = float(np.percentile(pooled, q))
    if len(groups) < 2:
        return Estimate(value, None, None, len(pooled))
    rng = np.random.default_rng(seed)
    stats = np.empty(resamples)
    for i in range(resamples):
        picks = rng.integers(0, len(groups), size=len(groups))
        stats[i] = np.percentile(np.concatenate([groups[j] for j in picks]), q)
    low, high = np.percentile(stats, [2.5, 97.5])
    return Estimate(value, float(low), float(high), len(pooled))


def compare(a: Estimate, b: Estimate, *, lower_is_better: bool, what: str, unit: str = "") -> str:
    """A plain-language comparison of two estimates by their 95% intervals."""
    if a.value is None or b.value is None:
        return f"{what}: not measured for both versions yet."
    if None in (a.low, a.high, b.low, b.high):
        return f"{what}: too little data for an interval yet."
    assert a.low is not None and a.high is not None and b.low is not None and b.high is not None
    if a.high < b.low or b.high < a.low:
        a_lower = a.value < b.value
        better = "A" if a_lower == lower_is_better else "B"
        direction = "lower" if a_lower else "higher"
        return (
            f"{what}: A is clearly {direction} than B ({_fmt(a.value, unit)} vs {_fmt(b.value, unit)}); "
            f"{better} does better here."
        )
    return (
        f"{what}: no clear difference yet ({_fmt(a.value, unit)} vs {_fmt(b.value, unit)}, "
        "the 95% intervals overlap)."
    )


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "$":
        return f"${value:.4f}"
    return f"{value:.0f}{unit}"
