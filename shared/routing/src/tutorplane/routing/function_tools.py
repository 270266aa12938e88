"""Function-tool routing (the reference design, selectable per deployment for version A).

The orchestrator LLM routes by calling one of four tools. This module holds the tool
definitions (rendered for OpenAI chat, Anthropic and LiveKit function tools alike) and turns a
tool call into the same :class:`RoutingDecision` the two-stage router produces (strategy
``function_tools``, stage ``tool``), so both strategies write comparable ``routing_decisions``
rows. A reply with no tool call is small talk: ``off_topic``.

:class:`FunctionToolRouter` performs the whole call with the OpenAI chat API; version A, whose
orchestrator is a LiveKit agent, calls :func:`decision_from_tool_call` from its tool handlers and
:func:`record_decision` to write the row.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from openai import AsyncOpenAI
from tutorplane.routing.conversation import chat_messages
from tutorplane.routing.errors import failure_reason
from tutorplane.routing.local import LocalClassifier
from tutorplane.routing.metrics import ROUTING_LLM_FALLBACKS
from tutorplane.routing.prompts import ORCHESTRATOR_SYSTEM, render
from tutorplane.routing.router import AuditSink, record_decision
from tutorplane.routing.types import RoutingDecision, Stage, Strategy, Subject, Turn, Usage

log = logging.getLogger(__name__)

# A tool call without a (valid) confidence gets this value; the rationale says so.
UNSTATED_CONFIDENCE = 0.5

_CONFIDENCE_PROPERTY = {
    "type": "number",
    "minimum": 0,
    "maximum": 1,
    "description": "Your probability (0 to 1) that this is the right place for the question.",
}


@dataclass(frozen=True, slots=True)
class RoutingTool:
    name: str
    subject: Subject
    description: str
    argument: str
    argument_description: str

    def parameters(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                self.argument: {"type": "string", "description": self.argument_description},
                "confidence": _CONFIDENCE_PROPERTY,
            },
            "required": [self.argument, "confidence"],
            "additionalProperties": False,
        }


ROUTING_TOOLS: tuple[RoutingTool, ...] = (
    RoutingTool(
        "route_to_math",
        Subject.math,
        "Send the student to the math tutor.",
        "question_summary",
        "The student's math question in one sentence.",
    ),
    RoutingTool(
        "route_to_history",
        Subject.history,
        "Send the student to the history tutor.",
        "question_summary",
        "The student's history question in one sentence.",
    ),
    RoutingTool(
        "route_to_english",
        Subject.english,
        "Send the student to the English tutor (reading, writing, grammar, spelling, literature).",
        "question_summary",
        "The student's English question in one sentence.",
    ),
    RoutingTool(
        "escalate_to_teacher",
        Subject.needs_teacher,
        "Get the student's teacher: the student seems upset, unsafe or asks for a real person.",
        "reason",
        "Why a teacher is needed, in one neutral sentence.",
    ),
)
TOOLS_BY_NAME: dict[str, RoutingTool] = {tool.name: tool for tool in ROUTING_TOOLS}


def openai_tools() -> list[dict[str, Any]]:
    """The tools in OpenAI chat-completions format."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters()},
        }
        for t in ROUTING_TOOLS
    ]


def anthropic_tools() -> list[dict[str, Any]]:
    """The tools in Anthropic messages format."""
    return [
        {"name": t.name, "description": t.description, "input_schema": t.parameters()} for t in ROUTING_TOOLS
    ]


@dataclass(frozen=True, slots=True)
class ToolRoute:
    """A decision plus the text the tool carried (question summary or escalation reason)."""

    decision: RoutingDecision
    summary: str


def decision_from_tool_call(
    name: str, arguments: str | dict[str, Any] | None, latency_ms: float
) -> ToolRoute:
    """Turn one routing tool call into a decision; an unknown tool or bad JSON raises ValueError."""
    tool = TOOLS_BY_NAME.get(name)
    if tool is None:
        raise ValueError(f"unknown routing tool {name!r}; expected one of {sorted(TOOLS_BY_NAME)}")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"arguments of {name} are not valid JSON: {exc}") from exc
    args = arguments or {}
    if not isinstance(args, dict):
        raise ValueError(f"arguments of {name} must be a JSON object")
    summary = " ".join(str(args.get(tool.argument, "")).split())[:300]
    raw = args.get("confidence")
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        confidence, note = min(1.0, max(0.0, float(raw))), ""
    else:
        confidence, note = UNSTATED_CONFIDENCE, " (no confidence given)"
    decision = RoutingDecision(
        subject=tool.subject,
        confidence=confidence,
        strategy=Strategy.function_tools,
        stage=Stage.tool,
        latency_ms=max(0.0, latency_ms),
        rationale=f"tool {name}{note}: {summary}" if summary else f"tool {name}{note}",
    )
    return ToolRoute(decision=decision, summary=summary)


def decision_without_tool_call(reply_text: str, latency_ms: float) -> ToolRoute:
    """The orchestrator answered without routing: small talk or too vague -> off_topic."""
    decision = RoutingDecision(
        subject=Subject.off_topic,
        confidence=UNSTATED_CONFIDENCE,
        strategy=Strategy.function_tools,
        stage=Stage.tool,
        latency_ms=max(0.0, latency_ms),
        rationale="no routing tool called (small talk or unclear)",
    )
    return ToolRoute(decision=decision, summary=" ".join(reply_text.split())[:300])


class FunctionToolRouter:
    """Routing by an OpenAI chat orchestrator calling the routing tools.

    On a provider failure the local classifier decides (stage ``local``), counted like a stage-2
    fallback; without a local classifier the turn becomes ``off_topic`` with confidence 0, which
    the orchestrator answers with a clarifying question.
    """

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        temperature: float | None = 0.0,
        timeout_s: float = 2.5,
        context_turns: int = 4,
        ages: str = "8-16",
        local: LocalClassifier | None = None,
        audit: AuditSink | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.temperature = temperature
        self.timeout_s = timeout_s
        self.context_turns = context_turns
        self.system = render(ORCHESTRATOR_SYSTEM, ages)
        self.local = local
        self.audit = audit

    def request(self, text: str, history: Sequence[Turn]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": self.system},
                *chat_messages(text, history, self.context_turns),
            ],
            "tools": openai_tools(),
            "tool_choice": "auto",
            "parallel_tool_calls": False,
        }
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        return kwargs

    async def route_with_summary(
        self,
        text: str,
        history: Sequence[Turn] = (),
        *,
        session_id: Any = None,
        turn_index: int | None = None,
    ) -> ToolRoute:
        started = time.perf_counter()
        usage: Usage | None = None
        try:
            async with asyncio.timeout(self.timeout_s):
                response = await self.client.chat.completions.create(
                    **self.request(text, history), timeout=self.timeout_s
                )
            elapsed = (time.perf_counter() - started) * 1000.0
            message = response.choices[0].message
            calls = [c for c in (message.tool_calls or []) if getattr(c, "type", "function") == "function"]
            if calls:
                call = calls[0]
                route = decision_from_tool_call(call.function.name, call.function.arguments, elapsed)
            else:
                route = decision_without_tool_call(message.content or "", elapsed)
            if response.usage is not None:
                usage = Usage(
                    provider="openai",
                    model=self.model,
                    input_tokens=response.usage.prompt_tokens,
                    output_tokens=response.usage.completion_tokens,
                    kind="classify",
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            route = self._fallback(text, history, exc, started)
        decision = route.decision.with_latency((time.perf_counter() - started) * 1000.0)
        record_decision(
            self.audit, decision, text=text, session_id=session_id, turn_index=turn_index, usage=usage
        )
        return replace(route, decision=decision)

    async def route(
        self,
        text: str,
        history: Sequence[Turn] = (),
        *,
        session_id: Any = None,
        turn_index: int | None = None,
    ) -> RoutingDecision:
        route = await self.route_with_summary(text, history, session_id=session_id, turn_index=turn_index)
        return route.decision

    def _fallback(self, text: str, history: Sequence[Turn], exc: Exception, started: float) -> ToolRoute:
        reason = failure_reason(exc)
        ROUTING_LLM_FALLBACKS.labels(reason).inc()
        log.warning("function-tool routing failed", extra={"reason": reason, "error": repr(exc)})
        if self.local is not None:
            local = self.local.classify(text, history)
            decision = replace(
                local,
                strategy=Strategy.function_tools,
                rationale=f"orchestrator failed ({reason}); {local.rationale}",
            )
        else:
            decision = RoutingDecision(
                subject=Subject.off_topic,
                confidence=0.0,
                strategy=Strategy.function_tools,
                stage=Stage.tool,
                latency_ms=(time.perf_counter() - started) * 1000.0,
                rationale=f"orchestrator failed ({reason}); ask the student to repeat",
            )
        return ToolRoute(decision=decision, summary=text)
