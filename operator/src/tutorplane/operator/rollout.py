"""Progressive rollout of variant weights: a pure state machine.

The spec says where the weights should end (``spec.variants.*.weight``); the steps say how the
candidate variant's weight climbs there. At each step the analysis gives a verdict:

- ``pass``: held for the step's pause, then the next step (the last step is the target);
- ``fail``: back to the last good weights at once, phase ``RolledBack``; the same target is not
  tried again until the spec changes;
- ``inconclusive`` (too few sessions, or no data): hold — never advance, never roll back.

Moving weight *away* from the candidate is never gated: it takes effect immediately. Time is
passed in (``now``, epoch seconds) so tests drive the machine in virtual time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from .spec import Rollout

Weights = dict[str, int]


class Verdict(StrEnum):
    passed = "pass"
    failed = "fail"
    inconclusive = "inconclusive"


class Phase(StrEnum):
    idle = "Idle"
    progressing = "Progressing"
    completed = "Completed"
    rolled_back = "RolledBack"


@dataclass(frozen=True)
class RolloutState:
    phase: Phase = Phase.idle
    current: Weights = field(default_factory=dict)
    stable: Weights = field(default_factory=dict)
    target: Weights = field(default_factory=dict)
    plan: list[Weights] = field(default_factory=list)
    step: int = 0
    step_started_at: float = 0.0
    last_analysis_at: float | None = None
    failed_target: Weights | None = None
    message: str = ""

    def to_status(self) -> dict[str, Any]:
        data = asdict(self)
        data["phase"] = self.phase.value
        return {_camel(k): v for k, v in data.items() if v is not None}

    @classmethod
    def from_status(cls, data: dict[str, Any] | None) -> RolloutState:
        if not data:
            return cls()
        kwargs = {_snake(k): v for k, v in data.items() if _snake(k) in cls.__dataclass_fields__}
        kwargs["phase"] = Phase(kwargs.get("phase", Phase.idle))
        return cls(**kwargs)

    @property
    def progressing(self) -> bool:
        return self.phase == Phase.progressing


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _snake(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name)


def _other(candidate: str) -> str:
    return "A" if candidate == "B" else "B"


def plan_steps(rollout: Rollout, stable: Weights, target: Weights) -> list[Weights]:
    """Weights of each step from ``stable`` to ``target``; the last entry is ``target`` itself."""
    cand, other = rollout.candidate, _other(rollout.candidate)
    start, end = stable.get(cand, 0), target.get(cand, 0)
    plan: list[Weights] = []
    for step in rollout.steps:
        if start < step.weight < end:
            plan.append({cand: step.weight, other: 100 - step.weight})
    plan.append(dict(target))
    return plan


def pause_of(rollout: Rollout, state: RolloutState) -> int:
    """Pause of the current step: the configured step with that weight, else the last step's."""
    weight = state.current.get(rollout.candidate, 0)
    for step in rollout.steps:
        if step.weight == weight:
            return step.pause_seconds
    return rollout.steps[-1].pause_seconds if rollout.steps else 0


def _settled(state: RolloutState, target: Weights, now: float, message: str = "") -> RolloutState:
    """At ``target`` at once, without steps or analysis."""
    return replace(
        state,
        phase=Phase.completed,
        current=dict(target),
        stable=dict(target),
        target=dict(target),
        plan=[dict(target)],
        step=0,
        step_started_at=now,
        failed_target=None,
        message=message,
    )


def sync_target(state: RolloutState, target: Weights, rollout: Rollout | None, now: float) -> RolloutState:
    """React to the spec's target weights (called on every reconcile; idempotent)."""
    if not state.current:
        # First sight of this deployment: nothing is serving yet, so there is nothing to protect.
        return RolloutState(Phase.completed, dict(target), dict(target), dict(target), [dict(target)], 0, now)
    if target == state.target:
        return state
    if rollout is None or not rollout.steps:
        return _settled(state, target, now)
    if state.phase == Phase.rolled_back and target == state.failed_target:
        return state
    cand = rollout.candidate
    if target.get(cand, 0) <= state.current.get(cand, 0):
        return _settled(state, target, now, f"moved {cand} down to {target.get(cand, 0)}% without analysis")
    stable = dict(state.current) if state.phase != Phase.progressing else dict(state.stable)
    plan = plan_steps(rollout, stable, target)
    return RolloutState(
        phase=Phase.progressing,
        current=dict(plan[0]),
        stable=stable,
        target=dict(target),
        plan=plan,
        step=0,
        step_started_at=now,
        last_analysis_at=None,
        failed_target=None,
        message=f"step 1/{len(plan)}: {cand} at {plan[0].get(cand, 0)}%",
    )


def analysis_due(state: RolloutState, rollout: Rollout, now: float) -> bool:
    if not state.progressing:
        return False
    since = state.last_analysis_at if state.last_analysis_at is not None else state.step_started_at
    return now - since >= rollout.analysis_interval_seconds


def analysis_window(state: RolloutState, rollout: Rollout, now: float) -> int:
    """Seconds of history to analyse: the time spent at this step, within [interval, window]."""
    elapsed = int(now - state.step_started_at)
    return max(rollout.analysis_interval_seconds, min(rollout.analysis_window_seconds, elapsed))


def apply_verdict(state: RolloutState, verdict: Verdict, rollout: Rollout, now: float) -> RolloutState:
    if not state.progressing:
        return state
    cand = rollout.candidate
    if verdict == Verdict.failed:
        return replace(
            state,
            phase=Phase.rolled_back,
            current=dict(state.stable),
            failed_target=dict(state.target),
            last_analysis_at=now,
            message=f"analysis failed at {cand}={state.current.get(cand, 0)}%: rolled back to {state.stable}",
        )
    if verdict == Verdict.inconclusive:
        return replace(
            state,
            last_analysis_at=now,
            message=f"holding at {cand}={state.current.get(cand, 0)}%: analysis inconclusive",
        )
    if now - state.step_started_at < pause_of(rollout, state):
        return replace(
            state,
            last_analysis_at=now,
            message=f"step passed; pausing at {cand}={state.current.get(cand, 0)}%",
        )
    nxt = state.step + 1
    if nxt >= len(state.plan):
        return replace(
            state,
            phase=Phase.completed,
            current=dict(state.target),
            stable=dict(state.target),
            step=nxt,
            last_analysis_at=now,
            message=f"promoted: {state.target}",
        )
    return replace(
        state,
        current=dict(state.plan[nxt]),
        step=nxt,
        step_started_at=now,
        last_analysis_at=now,
        message=f"step {nxt + 1}/{len(state.plan)}: {cand} at {state.plan[nxt].get(cand, 0)}%",
    )
