"""Specialists on the OpenAI chat-completions API (streamed): history, and English for text-only
sessions (spoken English uses the Realtime session, see ``english_realtime``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

from openai import AsyncOpenAI
from tutorplane.routing.conversation import chat_messages
from tutorplane.routing.prompts import ENGLISH_SYSTEM, HISTORY_SYSTEM, render
from tutorplane.routing.specialists.base import SpecialistReply, StreamingSpecialist
from tutorplane.routing.types import Subject, Turn, Usage


class OpenAIChatSpecialist(StreamingSpecialist):
    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        name: str,
        subject: Subject,
        system: str,
        model: str,
        temperature: float | None,
        max_tokens: int,
        timeout_s: float,
        context_turns: int,
    ) -> None:
        self.client = client
        self.name = name
        self.subject = subject
        self.system = system
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.context_turns = context_turns

    def request(self, question: str, history: Sequence[Turn]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": self.system},
                *chat_messages(question, history, self.context_turns),
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_completion_tokens": self.max_tokens,
            "timeout": self.timeout_s,
        }
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        return kwargs

    async def _deltas(
        self, question: str, history: Sequence[Turn], reply: SpecialistReply
    ) -> AsyncGenerator[str, None]:
        stream = await self.client.chat.completions.create(**self.request(question, history))
        try:
            async for chunk in stream:
                if chunk.choices:
                    content = chunk.choices[0].delta.content
                    if content:
                        yield content
                if chunk.usage is not None:
                    reply.usage = Usage(
                        "openai", str(self.model), chunk.usage.prompt_tokens, chunk.usage.completion_tokens
                    )
        finally:
            await stream.close()


class HistorySpecialist(OpenAIChatSpecialist):
    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        temperature: float | None = 0.5,
        max_tokens: int = 400,
        timeout_s: float = 15.0,
        context_turns: int = 8,
        ages: str = "8-16",
    ) -> None:
        super().__init__(
            client,
            name="history",
            subject=Subject.history,
            system=render(HISTORY_SYSTEM, ages),
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            timeout_s=timeout_s,
            context_turns=context_turns,
        )


class EnglishTextSpecialist(OpenAIChatSpecialist):
    """English over chat completions, for typed sessions that have no Realtime audio."""

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        temperature: float | None = 0.5,
        max_tokens: int = 400,
        timeout_s: float = 15.0,
        context_turns: int = 8,
        ages: str = "8-16",
    ) -> None:
        super().__init__(
            client,
            name="english",
            subject=Subject.english,
            system=render(ENGLISH_SYSTEM, ages),
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            timeout_s=timeout_s,
            context_turns=context_turns,
        )
