"""The pipeline session end to end in text mode: real OpenAI and Anthropic plugins talking to the
emulators, the real router and guardrail, both routing strategies."""

from __future__ import annotations

import pytest
from livekit.agents import llm
from tutorplane.agent.agents.english import EnglishFallbackAgent
from tutorplane.agent.agents.history import HistoryAgent
from tutorplane.agent.agents.math import MathAgent
from tutorplane.agent.agents.orchestrator import OrchestratorAgent
from tutorplane.agent.handoff import ALLOWED_HANDOFFS, TRANSITION_LINES
from tutorplane.agent.testing import AgentHarness, FakeLLM, emulator_agent_settings, wait_until
from tutorplane.routing.prompts import GREETING_LINE

pytestmark = pytest.mark.integration

STRATEGIES = ["two_stage", "function_tools"]


def handoffs(result) -> list[type]:
    return [type(e.new_agent) for e in result.events if e.type == "agent_handoff"]


def messages(result) -> list[str]:
    return [e.item.text_content for e in result.events if e.type == "message"]


async def test_orchestrator_greets_first(agent_settings) -> None:
    async with AgentHarness(agent_settings) as h:
        await wait_until(lambda: any(m.get("speaker") == "orchestrator" for m in h.recorder.published))
        first = h.recorder.published[0]
        assert (first["speaker"], first["role"], first["content"]) == (
            "orchestrator",
            "assistant",
            GREETING_LINE,
        )
        assert first["turn"] == 0  # the opening line has its own turn; the student's first is 1
        r = await h.ask("What is 7 times 8?")
        assert h.state.turn_index == 1
        assert handoffs(r) == [MathAgent]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(
    ("question", "agent_cls", "speaker"),
    [
        ("What is 7 times 8?", MathAgent, "math"),
        ("Who was the first emperor of Rome?", HistoryAgent, "history"),
    ],
)
async def test_routes_each_subject(emulator, strategy, question, agent_cls, speaker) -> None:
    settings = emulator_agent_settings(emulator, routing_strategy=strategy)
    async with AgentHarness(settings) as h:
        r = await h.ask(question)
        assert handoffs(r) == [agent_cls]
        r.expect.contains_function_call(name=f"route_to_{speaker}")
        said = messages(r)
        assert said[0] == TRANSITION_LINES[speaker]  # the orchestrator's own line, spoken verbatim
        assert len(said) == 2 and said[1]  # then the specialist answers the question
        assert isinstance(h.session.current_agent, agent_cls)
        transcript = h.transcript()
        assert ("student", question) in transcript
        assert transcript[-1][0] == speaker  # attributed to the specialist that spoke
        assert [s for s, _ in transcript].count("student") == 1  # the replayed question is no turn
        routing = h.sink.events("routing")
        assert routing[-1]["subject"] == speaker
        assert routing[-1]["strategy"] == strategy
        assert routing[-1]["stage"] in (("local", "llm") if strategy == "two_stage" else ("tool",))
        if speaker == "math":  # math runs on Anthropic, history on OpenAI chat
            assert any(question in str(req) for req in emulator.script.requests("messages"))
        else:
            chat = [req for req in emulator.script.requests("chat") if question in str(req)]
            assert any(req.get("model") == settings.history_model for req in chat)


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_english_without_realtime_is_answered_in_session(emulator, strategy) -> None:
    settings = emulator_agent_settings(emulator, routing_strategy=strategy, english_realtime_enabled=False)
    async with AgentHarness(settings) as h:
        r = await h.ask("How do you spell necessary in English?")
        assert handoffs(r) == [EnglishFallbackAgent]
        assert h.transcript()[-1][0] == "english"
        assert h.sink.events("handoff")[-1]["mode"] == "fallback"


async def test_specialist_hands_back_and_orchestrator_reroutes_two_stage(agent_settings) -> None:
    async with AgentHarness(agent_settings) as h:
        await h.ask("What is 12 divided by 4?")
        r = await h.ask("Who was Napoleon Bonaparte?")
        assert handoffs(r) == [OrchestratorAgent, HistoryAgent]
        r.expect.contains_function_call(name="route_back_to_orchestrator")
        r.expect.contains_function_call(name="route_to_history")
        # the turn was routed once: the math agent's decision travelled with the handback
        turn_routes = [e for e in h.sink.events("routing") if e["turn_index"] == h.state.turn_index]
        assert len(turn_routes) == 1 and turn_routes[0]["subject"] == "history"
        # the history tutor sees the whole conversation, math turns included
        history_llm_request = h.session.history.items
        texts = [i.text_content for i in history_llm_request if i.type == "message"]
        assert "What is 12 divided by 4?" in texts


async def test_specialist_hands_back_function_tools(emulator) -> None:
    settings = emulator_agent_settings(emulator, routing_strategy="function_tools")
    async with AgentHarness(settings) as h:
        await h.ask("What is 12 divided by 4?")
        # Claude (emulated) decides this one is not math and hands back
        emulator.script.messages(
            tool_use=[{"name": "route_back_to_orchestrator", "input": {"reason": "history"}}]
        )
        r = await h.ask("Who was Napoleon Bonaparte?")
        assert handoffs(r) == [OrchestratorAgent, HistoryAgent]
        said = messages(r)
        assert said[0] == TRANSITION_LINES["orchestrator"]
        assert said[1] == TRANSITION_LINES["history"]


async def test_follow_up_stays_with_the_specialist(agent_settings) -> None:
    async with AgentHarness(agent_settings) as h:
        await h.ask("What is 7 times 8?")
        r = await h.ask("and what about 9 times 9?")
        assert handoffs(r) == []
        assert isinstance(h.session.current_agent, MathAgent)


async def test_no_specialist_to_specialist_hops(agent_settings) -> None:
    """Across a lesson that visits every subject, each handoff has the orchestrator on one side."""
    fallback = agent_settings.model_copy(update={"english_realtime_enabled": False})
    async with AgentHarness(fallback) as h:
        for question in (
            "What is 7 times 8?",
            "Who built the pyramids in Egypt?",
            "What is the past tense of the verb to swim in English grammar?",
            "What is 15 plus 27?",
        ):
            await h.ask(question)
        pairs = [(e["from_agent"], e["to_agent"]) for e in h.sink.events("handoff")]
        assert len(pairs) >= 6
        for source, target in pairs:
            assert "orchestrator" in (source, target), pairs
            assert target in ALLOWED_HANDOFFS[source]


async def test_off_topic_small_talk_stays_with_orchestrator(emulator) -> None:
    fake = FakeLLM().reply("That sounds fun! Do you have a math, history or English question?")
    settings = emulator_agent_settings(emulator)
    async with AgentHarness(settings, llm_overrides={"orchestrator": fake}) as h:
        r = await h.ask("Do you like pizza?")
        assert handoffs(r) == []
        assert messages(r) == ["That sounds fun! Do you have a math, history or English question?"]
        assert h.sink.events("routing")[-1]["subject"] == "off_topic"
        # two-stage: the model was offered no routing tools; routing was already decided
        assert fake.requests[-1].tool_names == []


async def test_function_tools_orchestrator_offers_the_routing_tools(emulator) -> None:
    fake = FakeLLM().reply(
        "", tool_calls=[("route_to_history", {"question_summary": "Rome", "confidence": 0.9})]
    )
    settings = emulator_agent_settings(emulator, routing_strategy="function_tools")
    async with AgentHarness(settings, llm_overrides={"orchestrator": fake}) as h:
        r = await h.ask("Tell me about ancient Rome")
        assert handoffs(r) == [HistoryAgent]
        assert set(fake.requests[0].tool_names) == {
            "route_to_math",
            "route_to_history",
            "route_to_english",
            "escalate_to_teacher",
        }
        routing = h.sink.events("routing")[-1]
        assert (routing["subject"], routing["strategy"], routing["stage"], routing["confidence"]) == (
            "history",
            "function_tools",
            "tool",
            0.9,
        )


async def test_function_tools_reply_without_tool_is_recorded_off_topic(emulator) -> None:
    fake = FakeLLM().reply("Hello! What would you like to learn today?")
    settings = emulator_agent_settings(emulator, routing_strategy="function_tools")
    async with AgentHarness(settings, llm_overrides={"orchestrator": fake}) as h:
        await h.ask("hello there")
        assert h.sink.events("routing")[-1]["subject"] == "off_topic"


async def test_model_failure_is_a_polite_line_not_silence(emulator) -> None:
    settings = emulator_agent_settings(emulator)
    async with AgentHarness(settings) as h:
        await h.ask("What is 7 times 8?")
        emulator.script.fail("messages", status=500, times=3)
        r = await h.ask("and 6 times 7?")
        said = messages(r)
        assert said and "trouble" in said[-1].lower()
        assert isinstance(r.events[-1].item, llm.ChatMessage)
