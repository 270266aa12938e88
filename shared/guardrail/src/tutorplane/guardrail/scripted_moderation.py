"""A scripted moderation backend for tests and benchmarks: real awaits, no network.

Texts containing a scripted pattern (case-insensitive) get that pattern's category scores; every
other text scores low. Latency is a real ``asyncio.sleep`` (virtual under looptime), per call or per
pattern, and failures can be queued. Every call is recorded with its loop-time start and end, so
tests can prove that checks overlap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tutorplane.guardrail.categories import Category, normalize_scores
from tutorplane.guardrail.moderation import ModerationError, ModerationResult

LOW_SCORE = 0.001


@dataclass(slots=True)
class ModerationCall:
    texts: list[str]
    started: float
    finished: float | None = None
    failed: str | None = None


@dataclass(slots=True)
class _Rule:
    pattern: str
    scores: dict[str, float]
    latency_s: float | None = None


@dataclass(slots=True)
class ScriptedModeration:
    latency_s: float = 0.0
    model: str = "scripted-moderation"
    calls: list[ModerationCall] = field(default_factory=list)
    _rules: list[_Rule] = field(default_factory=list)
    _failures: list[tuple[str, float]] = field(default_factory=list)
    _baseline: dict[str, float] = field(default_factory=lambda: {c.value: LOW_SCORE for c in Category})

    def flag(
        self, pattern: str, categories: Mapping[str, float], *, latency_s: float | None = None
    ) -> ScriptedModeration:
        """Texts containing ``pattern`` get these scores (and optionally their own latency)."""
        self._rules.append(_Rule(pattern.lower(), normalize_scores(dict(categories)), latency_s))
        return self

    def slow(self, pattern: str, latency_s: float) -> ScriptedModeration:
        """Batches containing ``pattern`` take ``latency_s`` (scores unchanged)."""
        self._rules.append(_Rule(pattern.lower(), {}, latency_s))
        return self

    def fail(self, times: int = 1, *, reason: str = "http_500", after_s: float = 0.0) -> ScriptedModeration:
        """The next ``times`` calls raise ModerationError(reason) after ``after_s``."""
        self._failures.extend([(reason, after_s)] * times)
        return self

    def reset(self) -> None:
        self.calls.clear()
        self._rules.clear()
        self._failures.clear()

    @property
    def texts_seen(self) -> list[str]:
        return [t for call in self.calls for t in call.texts]

    def score(self, text: str) -> dict[str, float]:
        scores = dict(self._baseline)
        lowered = text.lower()
        for rule in self._rules:
            if rule.pattern in lowered:
                for name, value in rule.scores.items():
                    scores[name] = max(scores.get(name, 0.0), value)
        return scores

    async def moderate(self, texts: Sequence[str]) -> list[ModerationResult]:
        loop = asyncio.get_running_loop()
        call = ModerationCall(list(texts), loop.time())
        self.calls.append(call)
        if self._failures:
            reason, after = self._failures.pop(0)
            await asyncio.sleep(after)
            call.finished, call.failed = loop.time(), reason
            raise ModerationError(reason, f"scripted moderation failure ({reason})")
        delay = self.latency_s
        for text in texts:
            lowered = text.lower()
            for rule in self._rules:
                if rule.latency_s is not None and rule.pattern in lowered:
                    delay = max(delay, rule.latency_s)
        if delay > 0:
            await asyncio.sleep(delay)
        call.finished = loop.time()
        results = []
        for text in texts:
            scores = self.score(text)
            results.append(ModerationResult(scores, any(v >= 0.5 for v in scores.values())))
        return results

    async def aclose(self) -> None:
        return None
