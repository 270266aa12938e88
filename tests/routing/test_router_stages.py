"""Two-stage routing through the real anthropic SDK against the emulator: stage 2 only below the
threshold, context in the request, and every stage-2 failure falling back to stage 1."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY
from tutorplane.routing.clients import ProviderClients
from tutorplane.routing.llm_classifier import TOOL_NAME, LLMClassifier
from tutorplane.routing.local import LocalClassifier
from tutorplane.routing.router import TwoStageRouter
from tutorplane.routing.types import Stage, Strategy, Subject, Turn

pytestmark = pytest.mark.integration

UNSURE = "i have a question"  # stage 1 is unsure about this one (confidence well under 0.7)


class ListSink:
    def __init__(self) -> None:
        self.rows: list[tuple[str, dict[str, Any]]] = []

    def submit(self, table: str, row: dict[str, Any]) -> None:
        self.rows.append((table, row))


def fallbacks(reason: str) -> float:
    return REGISTRY.get_sample_value("tutorplane_routing_llm_fallbacks_total", {"reason": reason}) or 0.0


def router_with(
    routing_local: LocalClassifier,
    clients: ProviderClients,
    *,
    timeout_s: float = 3.0,
    sink: ListSink | None = None,
) -> TwoStageRouter:
    llm = LLMClassifier(clients.anthropic, model="claude-haiku-test", timeout_s=timeout_s)
    return TwoStageRouter(routing_local, llm, 0.7, audit=sink)


def test_unsure_premise(routing_local: LocalClassifier) -> None:
    assert routing_local.classify(UNSURE).confidence < 0.7


async def test_confident_stage1_never_calls_the_llm(two_stage_router: TwoStageRouter, emulator: Any) -> None:
    decision = await two_stage_router.route("what is 7 times 8")
    assert decision.stage is Stage.local and decision.subject is Subject.math
    assert emulator.script.requests("messages") == []


async def test_unsure_stage1_asks_the_llm_with_context(
    routing_local: LocalClassifier, emulator_clients: ProviderClients, emulator: Any
) -> None:
    emulator.script.messages(
        tool_use={
            "name": TOOL_NAME,
            "input": {"subject": "history", "confidence": 0.83, "rationale": "asks about kings"},
        }
    )
    sink = ListSink()
    router = router_with(routing_local, emulator_clients, sink=sink)
    history = [
        Turn("user", "who was henry the eighth", Subject.history),
        Turn("assistant", "A Tudor king.", Subject.history),
    ]
    decision = await router.route(UNSURE, history, session_id="s1", turn_index=4)
    assert decision.stage is Stage.llm and decision.subject is Subject.history
    assert decision.confidence == pytest.approx(0.83) and decision.strategy is Strategy.two_stage
    assert "asks about kings" in decision.rationale
    (request,) = emulator.script.requests("messages")
    assert request["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert request["tools"][0]["name"] == TOOL_NAME
    assert set(request["tools"][0]["input_schema"]["properties"]) == {"subject", "confidence", "rationale"}
    content = request["messages"][0]["content"]
    assert "who was henry the eighth" in content and "Student (LATEST): i have a question" in content
    tables = [table for table, _ in sink.rows]
    assert tables == ["routing_decisions", "provider_usage"]
    assert sink.rows[0][1]["stage"] == "llm" and sink.rows[0][1]["turn_index"] == 4
    assert sink.rows[1][1]["provider"] == "anthropic" and sink.rows[1][1]["kind"] == "classify"


async def test_unscripted_emulator_answers_through_the_forced_tool(two_stage_router: TwoStageRouter) -> None:
    decision = await two_stage_router.route(UNSURE)
    assert decision.stage is Stage.llm
    assert 0.0 <= decision.confidence <= 1.0


@pytest.mark.parametrize(
    ("status", "reason"), [(429, "rate_limited"), (500, "server_error"), (529, "server_error")]
)
async def test_stage2_errors_fall_back_to_stage1(
    routing_local: LocalClassifier, emulator_clients: ProviderClients, emulator: Any, status: int, reason: str
) -> None:
    emulator.script.fail("messages", status=status)
    before = fallbacks(reason)
    stage1 = routing_local.classify(UNSURE)
    decision = await router_with(routing_local, emulator_clients).route(UNSURE)
    assert decision.stage is Stage.local and decision.subject is stage1.subject
    assert decision.confidence == stage1.confidence
    assert f"stage 2 failed ({reason})" in decision.rationale
    assert fallbacks(reason) == before + 1


async def test_stage2_timeout_falls_back_to_stage1(
    routing_local: LocalClassifier, emulator_clients: ProviderClients, emulator: Any
) -> None:
    emulator.script.fail("messages", status=0, delay_s=2.0)
    before = fallbacks("timeout")
    decision = await router_with(routing_local, emulator_clients, timeout_s=0.3).route(UNSURE)
    assert decision.stage is Stage.local and "stage 2 failed (timeout)" in decision.rationale
    assert fallbacks("timeout") == before + 1


@pytest.mark.parametrize(
    "tool_input",
    [{"subject": "science", "confidence": 0.9, "rationale": "x"}, {"subject": "math", "confidence": "very"}],
)
async def test_malformed_tool_input_falls_back(
    routing_local: LocalClassifier,
    emulator_clients: ProviderClients,
    emulator: Any,
    tool_input: dict[str, Any],
) -> None:
    emulator.script.messages(tool_use={"name": TOOL_NAME, "input": tool_input})
    before = fallbacks("bad_response")
    decision = await router_with(routing_local, emulator_clients).route(UNSURE)
    assert decision.stage is Stage.local
    assert fallbacks("bad_response") == before + 1


async def test_local_only_router_has_no_stage2(routing_local: LocalClassifier, emulator: Any) -> None:
    decision = await TwoStageRouter(routing_local, None, 0.99).route(UNSURE)
    assert decision.stage is Stage.local
    assert emulator.script.requests("messages") == []


async def test_threshold_is_validated(routing_local: LocalClassifier) -> None:
    with pytest.raises(ValueError, match="threshold"):
        TwoStageRouter(routing_local, None, 1.5)
