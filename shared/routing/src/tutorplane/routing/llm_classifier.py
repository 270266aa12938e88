"""Stage 2: the LLM subject classifier (Claude Haiku by default) with structured output.

The model must call the tool ``classify_subject`` (forced with ``tool_choice``) whose input
schema is ``{subject, confidence, rationale}``; the reply is validated, never string-matched.
It sees the recent turns. Any failure (429, 5xx, timeout, malformed tool input) falls back to
the stage-1 decision and is counted in ``tutorplane_routing_llm_fallbacks_total{reason}``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from anthropic import AsyncAnthropic
from tutorplane.routing.conversation import transcript_block
from tutorplane.routing.errors import failure_reason
from tutorplane.routing.metrics import ROUTING_LLM_FALLBACKS
from tutorplane.routing.prompts import CLASSIFIER_SYSTEM, render
from tutorplane.routing.types import RoutingDecision, Stage, Subject, Turn, Usage

log = logging.getLogger(__name__)

TOOL_NAME = "classify_subject"

CLASSIFY_TOOL: dict[str, Any] = {
    "name": TOOL_NAME,
    "description": "Record which tutor should handle the student's latest message.",
    "input_schema": {
        "type": "object",
        "properties": {
            "subject": {"type": "string", "enum": [s.value for s in Subject]},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "rationale": {"type": "string", "description": "One short sentence."},
        },
        "required": ["subject", "confidence", "rationale"],
        "additionalProperties": False,
    },
}


@dataclass(frozen=True, slots=True)
class Classification:
    decision: RoutingDecision
    usage: Usage | None
    failed: str | None = None
    """The failure reason when the stage-1 decision was kept."""


def parse_tool_input(data: Any) -> tuple[Subject, float, str]:
    """Validate the ``classify_subject`` input; ValueError says what was wrong."""
    if not isinstance(data, dict):
        raise ValueError(f"classify_subject input must be an object, got {type(data).__name__}")
    try:
        subject = Subject(str(data.get("subject", "")).strip().lower())
    except ValueError as exc:
        raise ValueError(f"classify_subject gave unknown subject {data.get('subject')!r}") from exc
    raw_confidence = data.get("confidence")
    if isinstance(raw_confidence, bool) or not isinstance(raw_confidence, int | float):
        raise ValueError(f"classify_subject confidence must be a number, got {raw_confidence!r}")
    confidence = min(1.0, max(0.0, float(raw_confidence)))
    rationale = " ".join(str(data.get("rationale", "")).split())[:300]
    return subject, confidence, rationale


class LLMClassifier:
    """Anthropic-backed stage-2 classifier. The client is shared (built once per process)."""

    def __init__(
        self,
        client: AsyncAnthropic,
        *,
        model: str,
        temperature: float | None = 0.0,
        timeout_s: float = 2.5,
        max_tokens: int = 200,
        context_turns: int = 4,
        ages: str = "8-16",
    ) -> None:
        self.client = client
        self.model = model
        self.temperature = temperature
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self.context_turns = context_turns
        self.system = render(CLASSIFIER_SYSTEM, ages)

    def request(self, text: str, history: Sequence[Turn]) -> dict[str, Any]:
        """The ``messages.create`` keyword arguments (exposed for tests and the benchmark)."""
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": self.system,
            "tools": [CLASSIFY_TOOL],
            "tool_choice": {"type": "tool", "name": TOOL_NAME},
            "messages": [{"role": "user", "content": transcript_block(text, history, self.context_turns)}],
        }
        if self.temperature is not None:
            # anthropic SDK 1.x has no temperature argument; the API still accepts it in the body.
            kwargs["extra_body"] = {"temperature": self.temperature}
        return kwargs

    async def classify(
        self, text: str, history: Sequence[Turn], *, fallback: RoutingDecision
    ) -> Classification:
        """The LLM's decision, or ``fallback`` (the stage-1 decision) if the call fails."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_s):
                response = await self.client.messages.create(
                    **self.request(text, history), timeout=self.timeout_s
                )
            block = next(
                (b for b in response.content if b.type == "tool_use" and b.name == TOOL_NAME),
                None,
            )
            if block is None:
                raise ValueError("the model did not call classify_subject")
            subject, confidence, rationale = parse_tool_input(block.input)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = failure_reason(exc)
            ROUTING_LLM_FALLBACKS.labels(reason).inc()
            log.warning(
                "stage-2 classifier failed, keeping stage 1", extra={"reason": reason, "error": repr(exc)}
            )
            kept = replace(
                fallback,
                rationale=f"{fallback.rationale}; stage 2 failed ({reason}), kept stage 1",
            )
            return Classification(decision=kept, usage=None, failed=reason)
        usage = Usage(
            provider="anthropic",
            model=self.model,
            input_tokens=getattr(response.usage, "input_tokens", 0) or 0,
            output_tokens=getattr(response.usage, "output_tokens", 0) or 0,
            kind="classify",
        )
        decision = RoutingDecision(
            subject=subject,
            confidence=confidence,
            strategy=fallback.strategy,
            stage=Stage.llm,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            rationale=f"llm: {rationale or subject.value} (stage 1: {fallback.subject.value} "
            f"p={fallback.confidence:.2f})",
        )
        return Classification(decision=decision, usage=usage)
