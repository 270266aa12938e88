"""A scripted LLM for tests and offline demos: replies are queued, requests are recorded.

It is a real ``livekit.agents.llm.LLM``: the session streams its chunks exactly as it would a
provider's, so tool calls, handoffs and the guarded ``llm_node`` run unchanged.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import llm
from livekit.agents.llm import ChatContext
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr
from livekit.agents.utils import shortuuid


@dataclass(frozen=True)
class ScriptedToolCall:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class ScriptedReply:
    """One reply: text streamed word by word, then tool calls (either may be empty)."""

    text: str = ""
    tool_calls: list[ScriptedToolCall] = field(default_factory=list)
    match: str | None = None
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0

    def matches(self, last_user_text: str) -> bool:
        return self.match is None or self.match.lower() in last_user_text.lower()


@dataclass
class RecordedRequest:
    chat_ctx: ChatContext
    tool_names: list[str]
    tool_choice: Any

    @property
    def last_user_text(self) -> str:
        for item in reversed(self.chat_ctx.items):
            if item.type == "message" and item.role == "user":
                return item.text_content or ""
        return ""

    @property
    def messages(self) -> list[tuple[str, str]]:
        return [
            (item.role, item.text_content or "") for item in self.chat_ctx.items if item.type == "message"
        ]


class FakeLLM(llm.LLM):
    """Replies from a queue (first matching reply wins), else ``default_text``."""

    def __init__(self, *, default_text: str = "I am the offline test tutor.", label: str = "fake") -> None:
        super().__init__()
        self.default_text = default_text
        self._script: deque[ScriptedReply] = deque()
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self._name = label

    @property
    def model(self) -> str:
        return f"fake-{self._name}"

    @property
    def provider(self) -> str:
        return "tutorplane-testing"

    def reply(
        self,
        text: str = "",
        *,
        tool_calls: list[ScriptedToolCall] | list[tuple[str, dict[str, Any]]] | None = None,
        match: str | None = None,
        delay_s: float = 0.0,
        chunk_delay_s: float = 0.0,
    ) -> FakeLLM:
        calls = [c if isinstance(c, ScriptedToolCall) else ScriptedToolCall(*c) for c in (tool_calls or [])]
        with self._lock:
            self._script.append(
                ScriptedReply(
                    text=text, tool_calls=calls, match=match, delay_s=delay_s, chunk_delay_s=chunk_delay_s
                )
            )
        return self

    def _next(self, last_user_text: str) -> ScriptedReply:
        with self._lock:
            for reply in list(self._script):
                if reply.matches(last_user_text):
                    self._script.remove(reply)
                    return reply
        return ScriptedReply(text=self.default_text)

    @property
    def pending(self) -> int:
        return len(self._script)

    def chat(
        self,
        *,
        chat_ctx: ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        tools = tools or []
        names = [getattr(t, "id", getattr(t, "name", "")) for t in tools]
        request = RecordedRequest(chat_ctx=chat_ctx.copy(), tool_names=names, tool_choice=tool_choice)
        self.requests.append(request)
        return _FakeStream(
            self,
            reply=self._next(request.last_user_text),
            chat_ctx=chat_ctx,
            tools=tools,
            conn_options=conn_options,
        )


_WORDS = re.compile(r"\S+\s*")


class _FakeStream(llm.LLMStream):
    def __init__(
        self,
        fake: FakeLLM,
        *,
        reply: ScriptedReply,
        chat_ctx: ChatContext,
        tools: list[llm.Tool],
        conn_options: APIConnectOptions,
    ) -> None:
        super().__init__(fake, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._reply = reply

    async def _run(self) -> None:
        request_id = shortuuid("fake_")
        if self._reply.delay_s:
            await asyncio.sleep(self._reply.delay_s)
        leading = re.match(r"\s*", self._reply.text)
        pieces = _WORDS.findall(self._reply.text[leading.end() if leading else 0 :])
        for piece in pieces:
            self._event_ch.send_nowait(
                llm.ChatChunk(id=request_id, delta=llm.ChoiceDelta(role="assistant", content=piece))
            )
            if self._reply.chunk_delay_s:
                await asyncio.sleep(self._reply.chunk_delay_s)
        for call in self._reply.tool_calls:
            self._event_ch.send_nowait(
                llm.ChatChunk(
                    id=request_id,
                    delta=llm.ChoiceDelta(
                        role="assistant",
                        tool_calls=[
                            llm.FunctionToolCall(
                                name=call.name,
                                arguments=json.dumps(call.arguments),
                                call_id=shortuuid("call_"),
                            )
                        ],
                    ),
                )
            )
        words = len(pieces)
        self._event_ch.send_nowait(
            llm.ChatChunk(
                id=request_id,
                usage=llm.CompletionUsage(completion_tokens=words, prompt_tokens=10, total_tokens=words + 10),
            )
        )
