"""Per-category guardrail policy: threshold, action (allow / rewrite / block / escalate), fail mode.

A category *fires* when its moderation score reaches its threshold. Among the categories that fire,
the most severe action wins (ties: the higher score). Output and input have separate actions:
student input is never rewritten (it is blocked or escalated, or allowed through to the model).

Severe categories (:data:`~tutorplane.guardrail.categories.SEVERE`) can only block or escalate, and
their threshold may not be set above 0.5, so no configuration lets them pass.

Fail mode: when moderation errors or times out nothing is known about the text, so an output
sentence is blocked with the neutral fallback line if *any* category is configured fail-closed (the
severe ones are by default). Input fails open by default (``input_fail_closed``): the answer it
leads to is still checked before it is spoken, and the student is not silenced by an outage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from tutorplane.guardrail.categories import SEVERE, Category, parse_category


class Action(StrEnum):
    allow = "allow"
    rewrite = "rewrite"
    block = "block"
    escalate = "escalate"


class Direction(StrEnum):
    input = "input"
    output = "output"


SEVERITY: dict[Action, int] = {Action.allow: 0, Action.rewrite: 1, Action.block: 2, Action.escalate: 3}
SEVERE_MAX_THRESHOLD = 0.5


class CategoryRule(BaseModel):
    """What happens when one category's score reaches its threshold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float = Field(gt=0.0, le=1.0, description="Score at or above which the category fires.")
    action: Action = Field(description="Action for tutor output (spoken to the student).")
    input_action: Action = Field(description="Action for student input (allow, block or escalate).")
    fail_closed: bool = Field(description="Block output when moderation is unavailable.")


def _rule(
    threshold: float, action: Action, input_action: Action, fail_closed: bool = False
) -> dict[str, Any]:
    return {
        "threshold": threshold,
        "action": action,
        "input_action": input_action,
        "fail_closed": fail_closed,
    }


A = Action
# Defaults for 8–16 year olds. History lessons talk about wars, so plain violence is rewritten, not
# blocked, and allowed on input; anything threatening, graphic, sexual or about self-harm is not.
DEFAULT_RULES: dict[Category, dict[str, Any]] = {
    Category.harassment: _rule(0.5, A.rewrite, A.allow),
    Category.harassment_threatening: _rule(0.5, A.block, A.escalate),
    Category.hate: _rule(0.5, A.rewrite, A.block),
    Category.hate_threatening: _rule(0.4, A.block, A.escalate),
    Category.illicit: _rule(0.5, A.rewrite, A.block),
    Category.illicit_violent: _rule(0.4, A.block, A.escalate),
    Category.self_harm: _rule(0.4, A.block, A.escalate),
    Category.self_harm_intent: _rule(0.3, A.escalate, A.escalate, True),
    Category.self_harm_instructions: _rule(0.3, A.escalate, A.escalate, True),
    Category.sexual: _rule(0.4, A.block, A.block),
    Category.sexual_minors: _rule(0.2, A.escalate, A.escalate, True),
    Category.violence: _rule(0.6, A.rewrite, A.allow),
    Category.violence_graphic: _rule(0.4, A.block, A.block, True),
}
DEFAULT_UNKNOWN_RULE = _rule(0.5, A.block, A.block)


class SafeLines(BaseModel):
    """What the student hears instead of a blocked sentence. Simple words for ages 8–16."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    block: str = "Let's not go into that part. Let's get back to our lesson!"
    fallback: str = "Let's pause that part for a moment and keep going with our lesson."
    rewrite_fallback: str = "Let me say that a different way: let's stay with the main idea of the lesson."
    input_block: str = "That's not something I can help with here. What would you like to learn about?"
    escalate: str = "That sounds important, so I'm asking your teacher to check in with you."
    self_harm: str = (
        "Thank you for telling me. You matter, and you don't have to deal with this alone. "
        "I'm asking your teacher to check in with you, and please talk to a grown-up you trust."
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    """The policy's answer for one text."""

    action: Action
    category: str | None
    score: float
    flagged: bool  # some category reached its threshold
    fail_closed: bool = False


class GuardrailPolicy(BaseModel):
    """Rules for every moderation category. Partial rule overrides merge onto the defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: dict[Category, CategoryRule] = Field(default_factory=dict)
    unknown_rule: CategoryRule = Field(
        default_factory=lambda: CategoryRule(**DEFAULT_UNKNOWN_RULE),
        description="Applied to categories the moderation backend reports that we do not know yet.",
    )
    input_fail_closed: bool = Field(default=False, description="Block student input when moderation is down.")
    safe_lines: SafeLines = Field(default_factory=SafeLines)

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        given = data.get("rules") or {}
        if not isinstance(given, Mapping):
            raise ValueError("rules must be a mapping of category name -> rule fields")
        merged: dict[Category, Any] = {c: dict(r) for c, r in DEFAULT_RULES.items()}
        for name, override in given.items():
            category = name if isinstance(name, Category) else parse_category(str(name), llama_guard=False)
            if category is None:
                raise ValueError(
                    f"unknown moderation category {name!r} in guardrail rules; "
                    f"use one of: {', '.join(c.value for c in Category)}"
                )
            if isinstance(override, CategoryRule):
                override = override.model_dump()
            if not isinstance(override, Mapping):
                raise ValueError(f"rule for {category.value} must be a mapping of rule fields")
            merged[category] = {**merged[category], **override}
        return {**data, "rules": merged}

    @model_validator(mode="after")
    def _check_rules(self) -> GuardrailPolicy:
        problems: list[str] = []
        for category, rule in self.rules.items():
            if rule.input_action == Action.rewrite:
                problems.append(
                    f"{category.value}: input_action cannot be rewrite (student input is not rewritten)"
                )
            if category in SEVERE:
                for field, action in (("action", rule.action), ("input_action", rule.input_action)):
                    if action not in (Action.block, Action.escalate):
                        problems.append(
                            f"{category.value} is severe: {field} must be block or escalate, not {action}"
                        )
                if rule.threshold > SEVERE_MAX_THRESHOLD:
                    problems.append(
                        f"{category.value} is severe: threshold must be <= {SEVERE_MAX_THRESHOLD} "
                        f"(got {rule.threshold})"
                    )
        if self.unknown_rule.input_action == Action.rewrite:
            problems.append("unknown_rule: input_action cannot be rewrite")
        if problems:
            raise ValueError("invalid guardrail policy: " + "; ".join(problems))
        return self

    @cached_property
    def _table(self) -> dict[str, tuple[float, Action, Action]]:
        """category -> (threshold, output action, input action): the hot path reads plain tuples."""
        return {c.value: (r.threshold, r.action, r.input_action) for c, r in self.rules.items()}

    @cached_property
    def _unknown(self) -> tuple[float, Action, Action]:
        rule = self.unknown_rule
        return rule.threshold, rule.action, rule.input_action

    # ------------------------------------------------------------------------------------------

    def rule_for(self, category: str) -> CategoryRule:
        parsed = parse_category(category, llama_guard=False)
        return self.rules[parsed] if parsed is not None and parsed in self.rules else self.unknown_rule

    @property
    def output_fail_closed(self) -> bool:
        return any(rule.fail_closed for rule in self.rules.values()) or self.unknown_rule.fail_closed

    def fails_closed(self, direction: Direction) -> bool:
        return self.output_fail_closed if direction == Direction.output else self.input_fail_closed

    def decide(self, scores: Mapping[str, float], direction: Direction) -> Verdict:
        """Action for one text from its category scores (canonical names, see ``normalize_scores``)."""
        output = direction == Direction.output
        table, unknown = self._table, self._unknown
        best: tuple[int, float] | None = None
        best_action, best_category = Action.allow, None
        top = 0.0
        for category, score in scores.items():
            if score > top:
                top = score
            entry = table.get(category) or unknown
            if score < entry[0]:
                continue
            action = entry[1] if output else entry[2]
            key = (SEVERITY[action], score)
            if best is None or key > best:
                best, best_action, best_category = key, action, category
        if best is None:
            return Verdict(Action.allow, None, top, flagged=False)
        return Verdict(best_action, best_category, best[1], flagged=True)

    def unavailable_verdict(self, direction: Direction) -> Verdict:
        """Moderation failed or timed out: block when this direction fails closed, else allow."""
        if self.fails_closed(direction):
            return Verdict(Action.block, None, 0.0, flagged=False, fail_closed=True)
        return Verdict(Action.allow, None, 0.0, flagged=False, fail_closed=False)

    def safe_line(
        self, action: Action, category: str | None, direction: Direction, *, fail: bool = False
    ) -> str:
        """The line the student hears for a non-allow decision."""
        lines = self.safe_lines
        if fail:
            return lines.fallback if direction == Direction.output else lines.input_block
        if direction == Direction.input:
            if action == Action.escalate:
                return lines.self_harm if category and category.startswith("self-harm") else lines.escalate
            return lines.input_block
        if action == Action.rewrite:
            return lines.rewrite_fallback
        return lines.block

    def with_overrides(
        self,
        *,
        thresholds: Mapping[str, float] | None = None,
        actions: Mapping[str, Action | str] | None = None,
        input_actions: Mapping[str, Action | str] | None = None,
        fail_closed: Mapping[str, bool] | None = None,
        input_fail_closed: bool | None = None,
    ) -> GuardrailPolicy:
        """A new policy with per-category fields replaced (validated like any other policy)."""
        rules: dict[str, dict[str, Any]] = {c.value: r.model_dump() for c, r in self.rules.items()}
        for field, mapping in (
            ("threshold", thresholds),
            ("action", actions),
            ("input_action", input_actions),
            ("fail_closed", fail_closed),
        ):
            for name, value in (mapping or {}).items():
                category = parse_category(name, llama_guard=False)
                if category is None:
                    raise ValueError(
                        f"unknown moderation category {name!r} in guardrail {field} overrides; "
                        f"use one of: {', '.join(c.value for c in Category)}"
                    )
                rules[category.value][field] = value
        data = self.model_dump(exclude={"rules"})
        if input_fail_closed is not None:
            data["input_fail_closed"] = input_fail_closed
        return GuardrailPolicy.model_validate({**data, "rules": rules})
