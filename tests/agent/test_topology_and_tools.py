"""The handoff topology and the tool definitions, checked in code (regressions of the reference's
SDK bug chronicle: unannotated RunContext tool parameter, async event callbacks)."""

from __future__ import annotations

import inspect
import uuid
from typing import get_type_hints

import pytest
from livekit import rtc
from livekit.agents import Agent, RunContext, function_tool
from livekit.agents.llm import utils as llm_utils
from tutorplane.agent.agents.english import EnglishFallbackAgent, EnglishRealtimeAgent
from tutorplane.agent.agents.history import HistoryAgent
from tutorplane.agent.agents.math import MathAgent
from tutorplane.agent.agents.orchestrator import OrchestratorAgent
from tutorplane.agent.audit import LogOnlyAudit
from tutorplane.agent.config import AgentSettings
from tutorplane.agent.events import EventBus
from tutorplane.agent.handoff import ALLOWED_HANDOFFS, HandoffNotAllowed, check_handoff, record_handoff
from tutorplane.agent.services import SessionServices
from tutorplane.agent.speech_guard import GuardrailSpeechGuard
from tutorplane.agent.state import SessionState
from tutorplane.agent.testing import FakeLLM, RecordingSink
from tutorplane.agent.transcript import TranscriptRecorder
from tutorplane.guardrail import Guardrail, LocalChecker, ScriptedModeration
from tutorplane.routing.function_tools import ROUTING_TOOLS
from tutorplane.routing.specialists import HAND_BACK_TOOL

pytestmark = pytest.mark.unit

SPECIALISTS = [MathAgent, HistoryAgent, EnglishFallbackAgent]


@pytest.fixture
def services() -> SessionServices:
    settings = AgentSettings(openai_api_key="unit-key", anthropic_api_key="unit-key")
    state = SessionState(session_id=str(uuid.uuid4()), room_name="room")
    guard = GuardrailSpeechGuard(Guardrail(LocalChecker(ScriptedModeration())))
    fake = FakeLLM()
    return SessionServices(
        settings=settings,
        state=state,
        guard=guard,
        audit=LogOnlyAudit(),
        events=EventBus(state.session_id, RecordingSink()),
        llm_overrides={k: fake for k in ("orchestrator", "math", "history", "english_fallback")},
    )


def tool_names(agent: Agent) -> set[str]:
    return {tool.id for tool in agent.tools}


def test_specialists_can_only_go_back_to_the_orchestrator_or_escalate(services: SessionServices) -> None:
    for cls in SPECIALISTS:
        agent = cls(services)
        assert tool_names(agent) == {"route_back_to_orchestrator", "escalate_to_teacher"}, cls
        assert ALLOWED_HANDOFFS[agent.key] == {"orchestrator"}


@pytest.mark.parametrize("source", ["math", "history", "english", "english_fallback"])
@pytest.mark.parametrize("target", ["math", "history", "english", "english_fallback"])
def test_specialist_to_specialist_handoff_is_refused_in_code(
    services: SessionServices, source: str, target: str
) -> None:
    with pytest.raises(HandoffNotAllowed, match="Specialists hand back to the orchestrator"):
        record_handoff(services, from_agent=source, to_agent=target, mode="in_session")
    assert services.state.handoffs_this_turn == 0


def test_orchestrator_routes_everywhere(services: SessionServices) -> None:
    for target in ("math", "history", "english", "english_fallback"):
        check_handoff("orchestrator", target)
    with pytest.raises(HandoffNotAllowed):
        check_handoff("orchestrator", "orchestrator")


def test_orchestrator_tools_match_the_shared_routing_tool_definitions(services: SessionServices) -> None:
    orchestrator = OrchestratorAgent(services)
    tools = {tool.id: tool for tool in orchestrator.tools}
    assert set(tools) == {t.name for t in ROUTING_TOOLS}
    for shared in ROUTING_TOOLS:
        schema = llm_utils.build_legacy_openai_schema(tools[shared.name])["function"]["parameters"]
        assert set(schema["properties"]) == set(shared.parameters()["properties"]), shared.name


def test_english_hand_back_matches_the_shared_contract(services: SessionServices) -> None:
    from tutorplane.agent.testing import FakeLLM as _Fake

    agent = EnglishRealtimeAgent(services, realtime_model=_Fake())  # type: ignore[arg-type]
    [tool] = agent.tools
    schema = llm_utils.build_legacy_openai_schema(tool)["function"]
    assert schema["name"] == HAND_BACK_TOOL["name"]
    params = schema["parameters"]
    assert set(params["properties"]) == set(HAND_BACK_TOOL["parameters"]["properties"])
    reason = params["properties"]["reason"]
    assert set(reason["enum"]) == set(HAND_BACK_TOOL["parameters"]["properties"]["reason"]["enum"])


def _all_tools(services: SessionServices) -> list:
    agents: list[Agent] = [OrchestratorAgent(services), *(cls(services) for cls in SPECIALISTS)]
    agents.append(EnglishRealtimeAgent(services, realtime_model=FakeLLM()))  # type: ignore[arg-type]
    return [tool for agent in agents for tool in agent.tools]


def test_every_tool_takes_an_annotated_run_context_that_the_model_never_sees(
    services: SessionServices,
) -> None:
    """PLAN14: an unannotated ``context`` parameter became a model argument (KeyError: 'context')."""
    tools = _all_tools(services)
    assert len(tools) == 4 + 2 * len(SPECIALISTS) + 1
    for tool in tools:
        hints = get_type_hints(tool, include_extras=True)
        assert hints["context"] is RunContext, tool.id
        schema = llm_utils.build_legacy_openai_schema(tool)["function"]["parameters"]
        assert "context" not in schema["properties"], tool.id
        assert "context" not in schema.get("required", []), tool.id


def test_an_unannotated_context_parameter_would_leak_into_the_schema() -> None:
    """The failure mode the previous test guards against, shown on a throwaway tool."""

    @function_tool
    async def bad_tool(context, question: str) -> str:  # type: ignore[no-untyped-def]
        """A tool written without the annotation.

        Args:
            question: anything.
        """
        return question

    with pytest.raises(KeyError):
        llm_utils.build_legacy_openai_schema(bad_tool)


def test_event_handlers_are_synchronous() -> None:
    """PLAN13: ``.on()`` rejects async callbacks; ours are sync and start tasks themselves."""
    emitter: rtc.EventEmitter[str] = rtc.EventEmitter()

    async def async_handler(_event: object) -> None:
        return None

    with pytest.raises(ValueError, match="Cannot register an async callback"):
        emitter.on("conversation_item_added", async_handler)
    assert not inspect.iscoroutinefunction(TranscriptRecorder.on_conversation_item_added)
    emitter.on("conversation_item_added", TranscriptRecorder.on_conversation_item_added)
