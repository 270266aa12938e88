"""Specialists on the OpenAI chat-completions API (streamed): history, and English for text-only
sessions (spoken English uses the Realtime session, see ``english_realtime``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

from openai import AsyncOpenAI
from tutorplane.routing.conversation import chat_messages
from tutorplane.routing.prompts import ENGLISH_SYSTEM, HISTORY_SYSTEM, render
from tutorplane.routing.specialists.base import SpecialistReply, StreamingSpecialist
from tutorplane.routing.specialists.sse import ProviderStreamError, sse_event_batches
from tutorplane.routing.types import Subject, Turn, Usage


class OpenAIChatSpecialist(StreamingSpecialist):
    client: AsyncOpenAI

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
        request = self.client.chat.completions.with_streaming_response.create(
            **self.request(question, history)
        )
        async with request as response:
            async for batch in sse_event_batches(response.iter_bytes()):
                texts: list[str] = []  # the text that arrived in one read goes on as one delta
                for _kind, chunk in batch:
                    if chunk.get("error"):
                        if texts:
                            yield "".join(texts)
                        raise ProviderStreamError("openai", chunk)
                    choices = chunk.get("choices")
                    if choices:
                        content = (choices[0].get("delta") or {}).get("content")
                        if content:
                            texts.append(content)
                    usage = chunk.get("usage")
                    if usage:
                        reply.usage = Usage(
                            "openai", str(self.model), usage["prompt_tokens"], usage["completion_tokens"]
                        )
                if texts:
                    yield "".join(texts)


class _PromptedChatSpecialist(OpenAIChatSpecialist):
    """A chat specialist whose name, subject and system prompt are fixed by the subclass."""

    SUBJECT: Subject
    PROMPT: str

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
            name=self.SUBJECT.value,
            subject=self.SUBJECT,
            system=render(self.PROMPT, ages),
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            timeout_s=timeout_s,
            context_turns=context_turns,
        )


class HistorySpecialist(_PromptedChatSpecialist):
    SUBJECT = Subject.history
    PROMPT = HISTORY_SYSTEM


class EnglishTextSpecialist(_PromptedChatSpecialist):
    """English over chat completions, for typed sessions that have no Realtime audio."""

    SUBJECT = Subject.english
    PROMPT = ENGLISH_SYSTEM
