"""The checker port and its in-process implementation (moderation + policy + rewrite + input PII).

``GuardrailChecker.check`` never raises for backend trouble: a failed or late moderation call
becomes a decision made by the policy's fail mode. The guardrail service wraps a
:class:`LocalChecker`; gateways and agents use either one in-process or the service through
:class:`~tutorplane.guardrail.http_client.HttpGuardrailClient`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol, runtime_checkable

from tutorplane.common.metrics import counter
from tutorplane.guardrail.decision import CheckContext, Decision, unavailable_decision
from tutorplane.guardrail.moderation import ModerationClient, ModerationError
from tutorplane.guardrail.pii import PiiResult, mask_pii
from tutorplane.guardrail.policy import Action, Direction, GuardrailPolicy
from tutorplane.guardrail.rewrite import RewriteError, Rewriter

log = logging.getLogger(__name__)

REWRITES = counter(
    "tutorplane_guardrail_rewrites_total",
    "Rewrite attempts by outcome (rewritten, or the reason the safe line was used).",
    ["outcome"],
)


@runtime_checkable
class GuardrailChecker(Protocol):
    @property
    def policy(self) -> GuardrailPolicy:
        """The policy whose fail mode applies when this checker cannot reach its backend."""
        ...

    async def check(
        self, texts: Sequence[str], *, direction: Direction, context: CheckContext
    ) -> list[Decision]:
        """One decision per text, in order; backend failures follow the policy's fail mode."""
        ...

    async def aclose(self) -> None: ...


class LocalChecker:
    """Moderation, policy and rewrite in this process."""

    def __init__(
        self,
        moderation: ModerationClient,
        policy: GuardrailPolicy | None = None,
        *,
        rewriter: Rewriter | None = None,
        moderation_timeout_s: float = 1.0,
        rewrite_timeout_s: float = 3.0,
    ) -> None:
        self.moderation = moderation
        self.policy = policy or GuardrailPolicy()
        self.rewriter = rewriter
        self.moderation_timeout_s = moderation_timeout_s
        self.rewrite_timeout_s = rewrite_timeout_s

    async def check(
        self, texts: Sequence[str], *, direction: Direction, context: CheckContext
    ) -> list[Decision]:
        if not texts:
            return []
        masks: list[PiiResult] | None = None
        to_moderate = list(texts)
        if direction == Direction.input:
            masks = [mask_pii(t) for t in texts]
            to_moderate = [m.text for m in masks]
        try:
            async with asyncio.timeout(self.moderation_timeout_s):
                results = await self.moderation.moderate(to_moderate)
        except (ModerationError, TimeoutError) as exc:
            why = exc.reason if isinstance(exc, ModerationError) else "timeout"
            log.warning(
                "moderation unavailable",
                extra={"reason": why, "direction": direction.value, "texts": len(texts)},
            )
            return [
                unavailable_decision(
                    self.policy,
                    t,
                    direction,
                    why,
                    masked=masks[i].text if masks else None,
                    pii=tuple(masks[i].kinds) if masks else (),
                )
                for i, t in enumerate(texts)
            ]
        decisions: list[Decision] = []
        for i, (text, result) in enumerate(zip(texts, results, strict=True)):
            verdict = self.policy.decide(result.scores, direction)
            reason = "moderation" if verdict.flagged else "clean"
            if direction == Direction.input:
                assert masks is not None
                safe = None
                if verdict.action != Action.allow:
                    safe = self.policy.safe_line(verdict.action, verdict.category, direction)
                decisions.append(
                    Decision(
                        masks[i].text,
                        text,
                        verdict.action,
                        verdict.category,
                        verdict.score,
                        verdict.flagged,
                        False,
                        reason,
                        tuple(masks[i].kinds),
                        safe,
                    )
                )
                continue
            released = text
            safe_line = None
            if verdict.action in (Action.block, Action.escalate):
                released = safe_line = self.policy.safe_line(verdict.action, verdict.category, direction)
            decisions.append(
                Decision(
                    released,
                    text,
                    verdict.action,
                    verdict.category,
                    verdict.score,
                    verdict.flagged,
                    False,
                    reason,
                    (),
                    safe_line,
                )
            )
        pending = [i for i, d in enumerate(decisions) if d.action == Action.rewrite]
        if pending:
            rewritten = await asyncio.gather(*(self._rewrite(decisions[i], context) for i in pending))
            for i, decision in zip(pending, rewritten, strict=True):
                decisions[i] = decision
        return decisions

    async def _rewrite(self, decision: Decision, context: CheckContext) -> Decision:
        """Rewrite, re-moderate, and fall back to the safe line on any doubt."""
        fallback_line = self.policy.safe_line(Action.rewrite, decision.category, Direction.output)

        def fallback(outcome: str) -> Decision:
            REWRITES.labels(outcome).inc()
            return replace(decision, text=fallback_line, reason=f"rewrite_{outcome}", safe_line=fallback_line)

        if self.rewriter is None:
            return fallback("unavailable")
        try:
            async with asyncio.timeout(self.rewrite_timeout_s):
                candidate = await self.rewriter.rewrite(
                    decision.original, categories=[decision.category or "unsafe"], age_band=context.age_band
                )
        except (RewriteError, TimeoutError):
            return fallback("failed")
        try:
            async with asyncio.timeout(self.moderation_timeout_s):
                (result,) = await self.moderation.moderate([candidate])
        except (ModerationError, TimeoutError, ValueError):
            return fallback("unchecked")
        if self.policy.decide(result.scores, Direction.output).action != Action.allow:
            return fallback("flagged")
        REWRITES.labels("rewritten").inc()
        return replace(decision, text=candidate, reason="rewritten")

    async def aclose(self) -> None:
        await self.moderation.aclose()
        if self.rewriter is not None:
            await self.rewriter.aclose()
