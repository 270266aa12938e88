"""Deciding a reply, independent of the provider's wire format.

Each provider handler turns its request into a :class:`Conversation` and a list of
:class:`~.offline.ToolSpec`, asks :func:`plan_reply`, and streams the resulting :class:`Plan` in its
own event format. A scripted reply (FIFO, filtered by `match`) wins; otherwise the offline tutor
decides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import offline
from .moderation import is_flagged
from .script import Script
from .wire import dumps


@dataclass(frozen=True)
class Conversation:
    question: str  # the student's most recent text (tool results skipped), its fencing removed
    after_tool_result: bool  # the last message is a tool result
    system: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "question", offline.student_words(self.question))


@dataclass(frozen=True)
class PlannedCall:
    name: str
    arguments: str  # JSON text, streamed as-is


@dataclass
class Plan:
    text: str
    calls: list[PlannedCall] = field(default_factory=list)
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    usage: dict[str, int] | None = None
    scripted: bool = False


def _arguments(value: dict[str, Any] | str) -> str:
    return value if isinstance(value, str) else dumps(value)


def plan_reply(
    script: Script,
    kind: str,
    conversation: Conversation,
    tools: list[offline.ToolSpec],
    tool_choice: str | None,
) -> Plan:
    reply = script.take_reply(kind, conversation.question)
    if reply is not None and reply.scripted_content:
        return Plan(
            text=reply.text or "",
            calls=[PlannedCall(c.name, _arguments(c.arguments)) for c in reply.tool_calls],
            delay_s=reply.delay_s,
            chunk_delay_s=reply.chunk_delay_s,
            usage=reply.usage,
            scripted=True,
        )
    plan = offline_plan(conversation, tools, tool_choice)
    if reply is not None:
        plan.delay_s, plan.chunk_delay_s, plan.usage = reply.delay_s, reply.chunk_delay_s, reply.usage
    return plan


def offline_plan(conversation: Conversation, tools: list[offline.ToolSpec], tool_choice: str | None) -> Plan:
    if offline.is_rewrite_request(conversation.system) and not tools and conversation.question:
        return Plan(text=offline.rewrite(conversation.question, is_flagged(conversation.question)))
    decision = offline.choose_tool(
        tools, tool_choice, conversation.question, after_tool_result=conversation.after_tool_result
    )
    if decision is not None:
        return Plan(text="", calls=[PlannedCall(decision.name, dumps(decision.arguments))])
    return Plan(
        text=offline.answer(conversation.question, subject=offline.tutor_subject(conversation.system))
    )


def parse_arguments(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments) if arguments else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
