"""The math specialist: Anthropic (Claude Sonnet by default), streamed."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

from anthropic import AsyncAnthropic
from tutorplane.routing.conversation import chat_messages
from tutorplane.routing.prompts import MATH_SYSTEM, render
from tutorplane.routing.specialists.base import SpecialistReply, StreamingSpecialist
from tutorplane.routing.types import Subject, Turn, Usage


class AnthropicSpecialist(StreamingSpecialist):
    """A specialist answering through the Anthropic messages API (streaming)."""

    client: AsyncAnthropic

    def request(self, question: str, history: Sequence[Turn]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": self.system,
            "messages": chat_messages(question, history, self.context_turns),
            "stream": True,
            "timeout": self.timeout_s,
        }
        if self.temperature is not None:
            # anthropic SDK 1.x has no temperature argument; the API still accepts it in the body.
            kwargs["extra_body"] = {"temperature": self.temperature}
        return kwargs

    async def _deltas(
        self, question: str, history: Sequence[Turn], reply: SpecialistReply
    ) -> AsyncGenerator[str, None]:
        input_tokens = output_tokens = 0
        stream = await self.client.messages.create(**self.request(question, history))
        try:
            async for event in stream:
                kind = event.type
                if kind == "content_block_delta":
                    if event.delta.type == "text_delta" and event.delta.text:
                        yield event.delta.text
                elif kind == "message_start":
                    input_tokens = event.message.usage.input_tokens or 0
                    output_tokens = event.message.usage.output_tokens or 0
                elif kind == "message_delta":
                    output_tokens = event.usage.output_tokens or output_tokens
        finally:
            await stream.close()
            if input_tokens or output_tokens:
                reply.usage = Usage("anthropic", str(self.model), input_tokens, output_tokens)


class MathSpecialist(AnthropicSpecialist):
    def __init__(
        self,
        client: AsyncAnthropic,
        *,
        model: str,
        temperature: float | None = 0.3,
        max_tokens: int = 400,
        timeout_s: float = 15.0,
        context_turns: int = 8,
        ages: str = "8-16",
    ) -> None:
        super().__init__(
            client,
            name="math",
            subject=Subject.math,
            system=render(MATH_SYSTEM, ages),
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            timeout_s=timeout_s,
            context_turns=context_turns,
        )
