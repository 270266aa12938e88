"""Function-tool strategy helpers: tool definitions and tool call -> decision."""

from __future__ import annotations

import pytest
from tutorplane.routing.function_tools import (
    UNSTATED_CONFIDENCE,
    anthropic_tools,
    decision_from_tool_call,
    decision_without_tool_call,
    openai_tools,
)
from tutorplane.routing.types import Stage, Strategy, Subject

pytestmark = pytest.mark.unit


def test_tool_definitions() -> None:
    names = [t["function"]["name"] for t in openai_tools()]
    assert names == ["route_to_math", "route_to_history", "route_to_english", "escalate_to_teacher"]
    assert [t["name"] for t in anthropic_tools()] == names
    params = openai_tools()[3]["function"]["parameters"]
    assert params["required"] == ["reason", "confidence"]


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("route_to_math", Subject.math),
        ("route_to_history", Subject.history),
        ("route_to_english", Subject.english),
        ("escalate_to_teacher", Subject.needs_teacher),
    ],
)
def test_tool_call_becomes_decision(name: str, subject: Subject) -> None:
    route = decision_from_tool_call(name, '{"question_summary": "q", "reason": "r", "confidence": 0.8}', 5.0)
    assert route.decision.subject is subject
    assert route.decision.strategy is Strategy.function_tools and route.decision.stage is Stage.tool
    assert route.decision.confidence == 0.8 and route.decision.latency_ms == 5.0


def test_missing_or_bad_confidence_is_marked() -> None:
    route = decision_from_tool_call(
        "route_to_math", {"question_summary": "fractions", "confidence": "high"}, 1.0
    )
    assert route.decision.confidence == UNSTATED_CONFIDENCE
    assert "no confidence given" in route.decision.rationale and route.summary == "fractions"
    assert decision_from_tool_call("route_to_math", {"confidence": 7}, 1.0).decision.confidence == 1.0


def test_bad_tool_calls_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown routing tool"):
        decision_from_tool_call("route_to_science", "{}", 1.0)
    with pytest.raises(ValueError, match="not valid JSON"):
        decision_from_tool_call("route_to_math", "{oops", 1.0)


def test_no_tool_call_is_off_topic() -> None:
    route = decision_without_tool_call("Hi! Ask me about math, history or English.", 3.0)
    assert route.decision.subject is Subject.off_topic and route.decision.stage is Stage.tool
