"""The OpenAI moderation API (or the project's OpenAI-compatible emulator) behind the moderation port.

One ``AsyncOpenAI`` client is built once and reused (the earlier systems built one per call). The
SDK does not retry (a retry would double the time a child waits); the guardrail's fail mode
handles errors instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import openai
import orjson
from tutorplane.common.metrics import counter, histogram
from tutorplane.guardrail.categories import normalize_scores
from tutorplane.guardrail.moderation import ModerationError, ModerationResult

DEFAULT_MODEL = "omni-moderation-latest"

MODERATION_SECONDS = histogram(
    "tutorplane_guardrail_moderation_seconds", "Moderation API round trip, per batch.", ["outcome"]
)
MODERATION_ERRORS = counter(
    "tutorplane_guardrail_moderation_errors_total", "Moderation calls that gave no answer.", ["reason"]
)


class OpenAIModeration:
    """``moderations.create`` with a short timeout; every failure becomes a :class:`ModerationError`."""

    def __init__(
        self,
        *,
        client: openai.AsyncOpenAI | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        model: str = DEFAULT_MODEL,
        timeout_s: float = 1.0,
        max_retries: int = 0,
        owns_client: bool | None = None,
    ) -> None:
        """``owns_client``: close ``client`` in :meth:`aclose` (default: only a client built here)."""
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0 (got {timeout_s})")
        if client is None and not api_key:
            raise ValueError(
                "OpenAIModeration needs an API key: set TUTOR_OPENAI_API_KEY (or point "
                "TUTOR_OPENAI_BASE_URL at the local emulator, which accepts any key)"
            )
        self.model = model
        self.timeout_s = timeout_s
        self._owns_client = client is None if owns_client is None else owns_client
        self._client = client or openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout_s,
            max_retries=max_retries,
            http_client=openai.DefaultAioHttpClient(timeout=timeout_s),
        )

    async def moderate(self, texts: Sequence[str]) -> list[ModerationResult]:
        if not texts:
            return []
        started = time.perf_counter()
        try:
            # The SDK enforces timeout_s per request; the outer deadline also covers a stuck pool.
            async with asyncio.timeout(self.timeout_s + 0.25):
                # The client's generic ``post`` (its documented way to send a body as is): the SDK still
                # authenticates, sends, retries and raises on status. ``moderations.create`` would first
                # check every text against its typed parameters (~0.3 ms for a batch of six) and then
                # build a model object per category of every result, more CPU than the rest of a check.
                body = await self._client.post(
                    "/moderations",
                    body={"input": list(texts), "model": self.model},
                    cast_to=bytes,
                    options={"timeout": self.timeout_s},
                )
                results = orjson.loads(body)["results"]
        except (openai.APITimeoutError, TimeoutError) as exc:
            raise self._fail("timeout", f"moderation timed out after {self.timeout_s}s", started) from exc
        except openai.RateLimitError as exc:
            raise self._fail("rate_limited", "moderation API rate limited the request", started) from exc
        except openai.APIStatusError as exc:
            raise self._fail(
                f"http_{exc.status_code}", f"moderation API answered {exc.status_code}", started
            ) from exc
        except openai.APIConnectionError as exc:
            raise self._fail("unreachable", f"moderation API unreachable: {exc}", started) from exc
        except openai.OpenAIError as exc:
            raise self._fail("bad_response", f"moderation API error: {exc}", started) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise self._fail(
                "bad_response", f"moderation API answered an unreadable body: {exc}", started
            ) from exc
        if not isinstance(results, list) or len(results) != len(texts):
            count = len(results) if isinstance(results, list) else "no"
            raise self._fail(
                "bad_response", f"moderation returned {count} results for {len(texts)} texts", started
            )
        try:
            out = [
                ModerationResult(normalize_scores(dict(r["category_scores"])), bool(r.get("flagged")))
                for r in results
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise self._fail(
                "bad_response", f"moderation result without category scores: {exc}", started
            ) from exc
        MODERATION_SECONDS.labels("ok").observe(time.perf_counter() - started)
        return out

    def _fail(self, reason: str, message: str, started: float) -> ModerationError:
        MODERATION_SECONDS.labels("error").observe(time.perf_counter() - started)
        MODERATION_ERRORS.labels(reason).inc()
        return ModerationError(reason, message)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.close()
