"""The rollout state machine in virtual time: pass advances, fail rolls back, inconclusive holds."""

from __future__ import annotations

import pytest
from tutorplane.operator.analysis import judge
from tutorplane.operator.rollout import (
    Phase,
    RolloutState,
    Verdict,
    analysis_due,
    apply_verdict,
    plan_steps,
    sync_target,
)
from tutorplane.operator.spec import Rollout

pytestmark = pytest.mark.unit

STABLE = {"A": 100, "B": 0}
TARGET = {"A": 50, "B": 50}


def rollout(**kw: object) -> Rollout:
    base = {
        "steps": [{"weight": 10, "pauseSeconds": 120}, {"weight": 25, "pauseSeconds": 60}],
        "analysisIntervalSeconds": 60,
    }
    base.update(kw)
    return Rollout.model_validate(base)


def started(r: Rollout, now: float = 0.0) -> RolloutState:
    state = sync_target(RolloutState(), STABLE, r, now)  # first sight: serving STABLE
    assert state.phase == Phase.completed and state.current == STABLE
    return sync_target(state, TARGET, r, now)


def test_plan_climbs_the_steps_then_reaches_the_target() -> None:
    assert plan_steps(rollout(), STABLE, TARGET) == [{"B": 10, "A": 90}, {"B": 25, "A": 75}, TARGET]
    assert plan_steps(rollout(), STABLE, {"A": 80, "B": 20}) == [{"B": 10, "A": 90}, {"A": 80, "B": 20}]


def test_first_sight_applies_the_target_without_analysis() -> None:
    state = sync_target(RolloutState(), TARGET, rollout(), 0)
    assert state.phase == Phase.completed and state.current == TARGET


def test_passing_steps_promote_after_their_pauses() -> None:
    r = rollout()
    state = started(r)
    assert state.progressing and state.current == {"A": 90, "B": 10}
    t = 0.0
    seen = []
    while state.progressing and t < 3600:
        t += 10
        if analysis_due(state, r, t):
            state = apply_verdict(state, Verdict.passed, r, t)
            seen.append((t, dict(state.current)))
    assert state.phase == Phase.completed and state.current == TARGET and state.stable == TARGET
    # The first step is held for its 120 s pause even though analyses passed at 60 s.
    assert seen[0] == (60, {"A": 90, "B": 10})
    assert seen[1] == (120, {"A": 75, "B": 25})


def test_inconclusive_holds_forever_and_never_moves_weights() -> None:
    r = rollout()
    state = started(r)
    for minute in range(1, 200):
        state = apply_verdict(state, Verdict.inconclusive, r, minute * 60.0)
        assert state.current == {"A": 90, "B": 10} and state.progressing


def test_fail_rolls_back_within_two_analysis_intervals_of_the_breach() -> None:
    r = rollout()
    state = started(r)
    state = apply_verdict(state, Verdict.passed, r, 60)
    state = apply_verdict(state, Verdict.passed, r, 120)  # now at B=25 from t=120
    breach_at = 150.0  # the candidate starts breaching between two analyses
    t, rolled_back_at = 120.0, None
    while rolled_back_at is None:
        t += 5  # the operator's tick
        if analysis_due(state, r, t):
            verdict = Verdict.failed if t >= breach_at else Verdict.passed
            state = apply_verdict(state, verdict, r, t)
            if state.phase == Phase.rolled_back:
                rolled_back_at = t
    assert state.current == STABLE and state.failed_target == TARGET
    assert rolled_back_at - breach_at <= 2 * r.analysis_interval_seconds


def test_rolled_back_target_is_not_retried_until_the_spec_changes() -> None:
    r = rollout()
    state = apply_verdict(started(r), Verdict.failed, r, 60)
    assert sync_target(state, TARGET, r, 120) == state
    retry = sync_target(state, {"A": 70, "B": 30}, r, 180)
    assert retry.progressing and retry.current == {"A": 90, "B": 10} and retry.stable == STABLE


def test_moving_weight_away_from_the_candidate_is_immediate() -> None:
    r = rollout()
    state = sync_target(RolloutState(), TARGET, r, 0)
    state = sync_target(state, STABLE, r, 10)
    assert state.phase == Phase.completed and state.current == STABLE


def test_without_steps_the_target_applies_at_once() -> None:
    state = sync_target(RolloutState(), STABLE, None, 0)
    assert sync_target(state, TARGET, None, 1).current == TARGET


def test_state_round_trips_through_status() -> None:
    state = started(rollout())
    assert RolloutState.from_status(state.to_status()) == state


@pytest.mark.parametrize(
    ("numbers", "verdict"),
    [
        ((100, 0.9, 0.01, 0.01), Verdict.passed),
        ((5, 9.0, 0.9, 0.9), Verdict.inconclusive),  # too few sessions: even bad numbers do not fail
        ((None, None, None, None), Verdict.inconclusive),
        ((100, 3.1, 0.01, 0.01), Verdict.failed),
        ((100, 0.9, 0.2, 0.01), Verdict.failed),
        ((100, 0.9, 0.01, 0.5), Verdict.failed),
        ((100, None, 0.01, 0.01), Verdict.inconclusive),  # no data never passes
        ((100, None, 0.5, 0.01), Verdict.failed),  # ...but a breach elsewhere still fails
    ],
)
def test_judge(numbers: tuple, verdict: Verdict) -> None:
    result = judge(rollout(minSessionsPerStep=20), "B", 300, *numbers)
    assert result.verdict == verdict
    if verdict != Verdict.passed:
        assert result.reasons
