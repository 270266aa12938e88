"""Settings-driven wiring (strategy switch, clients built once) and the eval/train commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from tutorplane.common.settings import ModelSettings, ProviderSettings
from tutorplane.routing import evaluate
from tutorplane.routing.clients import OFFLINE_KEY, MissingProviderKey, build_clients
from tutorplane.routing.function_tools import FunctionToolRouter
from tutorplane.routing.router import Router, TwoStageRouter
from tutorplane.routing.settings import RoutingSettings
from tutorplane.routing.specialists import build_specialists
from tutorplane.routing.wiring import build_router

pytestmark = pytest.mark.unit


async def test_strategy_switch_and_shared_clients() -> None:
    provider = ProviderSettings(
        openai_api_key=SecretStr("k1"),
        anthropic_api_key=SecretStr("k2"),
        openai_base_url="http://127.0.0.1:9/v1",
        anthropic_base_url="http://127.0.0.1:9",
    )
    clients = build_clients(provider)
    models = ModelSettings(classifier_model="haiku-x", orchestrator_model="orch-x", math_model="sonnet-x")
    try:
        two_stage = build_router(clients, models, RoutingSettings(routing_threshold=0.55))
        assert isinstance(two_stage, TwoStageRouter) and isinstance(two_stage, Router)
        assert two_stage.threshold == 0.55
        assert two_stage.llm is not None and two_stage.llm.model == "haiku-x"
        assert two_stage.llm.client is clients.anthropic
        tools = build_router(clients, models, RoutingSettings(routing_strategy="function_tools"))
        assert isinstance(tools, FunctionToolRouter) and tools.model == "orch-x"
        assert tools.client is clients.openai
        specialists = build_specialists(clients, models, RoutingSettings())
        assert specialists.math.client is clients.anthropic and specialists.math.model == "sonnet-x"
        assert specialists.history.client is clients.openai is specialists.english_text.client
    finally:
        await clients.aclose()


async def test_offline_mode_needs_no_key_but_real_providers_do() -> None:
    offline = build_clients(
        ProviderSettings(openai_base_url="http://127.0.0.1:9/v1", anthropic_base_url="http://127.0.0.1:9")
    )
    assert offline.openai.api_key == OFFLINE_KEY
    await offline.aclose()
    with pytest.raises(MissingProviderKey, match="TUTOR_OPENAI_API_KEY"):
        build_clients(ProviderSettings())


def test_routing_settings_validate() -> None:
    with pytest.raises(ValueError):
        RoutingSettings(routing_strategy="magic")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        RoutingSettings(routing_threshold=1.2)


def test_eval_command_stage1_only(capsys: Any) -> None:
    assert evaluate.main(["--stage2", "none", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "HELD-OUT part (never trained on)" in out and "TRAIN part" in out
    assert "confusion" in out and "stages: local" in out and "rules (fired, right)" in out


def test_eval_command_reports_a_fresh_set(capsys: Any, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.jsonl"
    lines = [
        {"id": "z1", "text": "what is 6 times 7", "label": "math", "kind": "direct"},
        {"id": "z2", "text": "who was alfred the great", "label": "history", "kind": "direct"},
    ]
    fresh.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert evaluate.main(["--stage2", "none", "--fresh", "--fresh-data", str(fresh)]) == 0
    out = capsys.readouterr().out
    assert "FRESH set (2 utterances, never trained or tuned on)" in out and "(2/2)" in out


@pytest.mark.integration
def test_eval_command_with_emulator_stage2(capsys: Any) -> None:
    assert evaluate.main(["--stage2", "emulator", "--threshold", "0.9"]) == 0
    out = capsys.readouterr().out
    assert "stage 2 = emulator" in out and "llm " in out


def test_eval_command_rejects_bad_threshold() -> None:
    with pytest.raises(SystemExit):
        evaluate.main(["--threshold", "3"])
