"""The math specialist: Anthropic (Claude Sonnet by default), streamed."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

from anthropic import AsyncAnthropic
from tutorplane.routing.conversation import chat_messages
from tutorplane.routing.prompts import MATH_SYSTEM, render
from tutorplane.routing.specialists.base import SpecialistReply, StreamingSpecialist
from tutorplane.routing.specialists.sse import ProviderStreamError, sse_event_batches
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
        request = self.client.messages.with_streaming_response.create(**self.request(question, history))
        try:
            async with request as response:
                async for batch in sse_event_batches(response.iter_bytes()):
                    texts: list[str] = []  # the text that arrived in one read goes on as one delta
                    for kind, event in batch:
                        if kind == "content_block_delta":
                            delta = event["delta"]
                            if delta.get("type") == "text_delta" and delta.get("text"):
                                texts.append(delta["text"])
                        elif kind == "message_start":
                            usage = event["message"].get("usage") or {}
                            input_tokens = usage.get("input_tokens") or 0
                            output_tokens = usage.get("output_tokens") or 0
                        elif kind == "message_delta":
                            output_tokens = (event.get("usage") or {}).get("output_tokens") or output_tokens
                        elif kind == "error":
                            if texts:
                                yield "".join(texts)
                            raise ProviderStreamError("anthropic", event)
                    if texts:
                        yield "".join(texts)
        finally:
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
