"""The ``Specialist`` port and the error-proof streaming shared by every specialist.

A specialist turns a question (plus recent turns) into a stream of text deltas that feeds the
guardrail's sentence pipeline. :meth:`StreamingSpecialist.stream` never raises because of the
model API: a 429, 5xx, timeout or dropped connection is counted in
``tutorplane_specialist_errors_total{specialist,reason}`` and a polite fallback sentence is
streamed instead (a short apology if part of the answer was already sent). Cancellation
(barge-in) still propagates and closes the provider stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any, Protocol, runtime_checkable

from tutorplane.routing.errors import failure_reason
from tutorplane.routing.metrics import SPECIALIST_ERRORS, SPECIALIST_FIRST_TOKEN_SECONDS
from tutorplane.routing.prompts import FALLBACK_BEFORE_ANSWER, FALLBACK_MID_ANSWER
from tutorplane.routing.types import Subject, Turn, Usage

log = logging.getLogger(__name__)


class SpecialistReply:
    """One streamed answer: iterate it for text deltas; afterwards read ``usage`` and ``error``.

    ``usage`` is the provider's token count (None for canned lines or when the call failed before
    the provider reported it); ``error`` is the failure reason when a fallback was streamed.
    """

    __slots__ = ("_deltas", "error", "model", "specialist", "usage")

    def __init__(self, specialist: str, model: str | None) -> None:
        self.specialist = specialist
        self.model = model
        self.usage: Usage | None = None
        self.error: str | None = None
        self._deltas: AsyncIterator[str] | None = None

    def _attach(self, deltas: AsyncIterator[str]) -> SpecialistReply:
        self._deltas = deltas
        return self

    def __aiter__(self) -> AsyncIterator[str]:
        if self._deltas is None:
            raise RuntimeError("SpecialistReply has no stream attached")
        return self._deltas

    async def __anext__(self) -> str:
        return await self.__aiter__().__anext__()

    async def text(self) -> str:
        """Consume the whole reply and return it as one string."""
        return "".join([delta async for delta in self])


@runtime_checkable
class Specialist(Protocol):
    """Port: answers one subject as a stream of text deltas."""

    name: str
    subject: Subject

    def stream(self, question: str, history: Sequence[Turn] = ()) -> SpecialistReply: ...


class StreamingSpecialist:
    """Base of model-backed specialists: subclasses implement :meth:`_deltas`."""

    name: str = "specialist"
    subject: Subject = Subject.off_topic
    model: str | None = None

    def __init__(
        self,
        client: Any,
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

    def stream(self, question: str, history: Sequence[Turn] = ()) -> SpecialistReply:
        reply = SpecialistReply(self.name, self.model)
        return reply._attach(self._guarded(question, history, reply))

    def _deltas(
        self, question: str, history: Sequence[Turn], reply: SpecialistReply
    ) -> AsyncGenerator[str, None]:
        raise NotImplementedError

    async def _guarded(
        self, question: str, history: Sequence[Turn], reply: SpecialistReply
    ) -> AsyncGenerator[str, None]:
        started = time.perf_counter()
        sent = False
        deltas = self._deltas(question, history, reply)
        try:
            async for delta in deltas:
                if not sent:
                    sent = True
                    SPECIALIST_FIRST_TOKEN_SECONDS.labels(self.name).observe(time.perf_counter() - started)
                yield delta
        except Exception as exc:
            reason = failure_reason(exc)
            reply.error = reason
            SPECIALIST_ERRORS.labels(self.name, reason).inc()
            log.warning(
                "specialist stream failed; streaming a fallback sentence",
                extra={"specialist": self.name, "reason": reason, "error": repr(exc), "partial": sent},
            )
            yield FALLBACK_MID_ANSWER if sent else FALLBACK_BEFORE_ANSWER
        finally:
            # Closes the provider stream promptly when the consumer stops early (barge-in).
            aclose = getattr(deltas, "aclose", None)
            if aclose is not None:
                await aclose()


def request_extras(temperature: float | None) -> dict[str, Any]:
    return {} if temperature is None else {"temperature": temperature}
