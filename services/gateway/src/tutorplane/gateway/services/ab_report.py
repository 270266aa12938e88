"""The A/B report: per-variant latency, cost, escalation and guardrail rates with 95% intervals.

Point figures and rates come from ``repository.variant_report``; intervals need per-session data
(latencies per session for a cluster bootstrap, usage per model per session for cost), read here.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import asyncpg
from tutorplane.db import repository
from tutorplane.gateway.api.schemas import AbReportOut, EstimateOut, VariantReportOut
from tutorplane.gateway.core.config import ModelPrice
from tutorplane.gateway.services.ab_stats import (
    Estimate,
    bootstrap_mean,
    bootstrap_percentile,
    compare,
    wilson,
)

PER_SESSION_SQL = """
SELECT ls.id, ls.variant,
       coalesce((SELECT array_agg(t.latency_ms::double precision) FROM public.transcript_turns t
                 WHERE t.session_id = ls.id AND t.role = 'assistant' AND t.latency_ms IS NOT NULL),
                '{}') AS latencies,
       coalesce((SELECT jsonb_agg(jsonb_build_object('model', u.model, 'in', u.input_tokens,
                                                     'out', u.output_tokens, 'audio', u.audio_seconds))
                 FROM public.provider_usage u WHERE u.session_id = ls.id), '[]'::jsonb) AS usage
FROM public.learning_sessions ls
WHERE ls.deployment = $1
"""


def session_cost(usage: list[dict[str, Any]], prices: dict[str, ModelPrice]) -> float:
    total = 0.0
    for row in usage:
        price = prices.get(str(row.get("model")))
        if price is None:
            continue
        total += (
            float(row.get("in") or 0) * price.input_per_mtok / 1e6
            + float(row.get("out") or 0) * price.output_per_mtok / 1e6
            + float(row.get("audio") or 0) * price.per_audio_second
        )
    return total


def _out(e: Estimate) -> EstimateOut:
    return EstimateOut(value=e.value, ci_low=e.low, ci_high=e.high, n=e.n)


async def build_report(
    pool: asyncpg.Pool, *, deployment: str, prices: dict[str, ModelPrice], min_sessions: int
) -> AbReportOut:
    aggregates = {r.variant: r for r in await repository.variant_report(pool, deployment=deployment)}
    rows = [dict(r) for r in await pool.fetch(PER_SESSION_SQL, deployment)]
    # Resampling is CPU work: keep it off the event loop.
    return await asyncio.to_thread(_compute, deployment, aggregates, rows, prices, min_sessions)


def _compute(
    deployment: str,
    aggregates: dict[str, Any],
    rows: list[dict[str, Any]],
    prices: dict[str, ModelPrice],
    min_sessions: int,
) -> AbReportOut:
    latencies: dict[str, list[list[float]]] = defaultdict(list)
    costs: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        latencies[row["variant"]].append(list(row["latencies"]))
        costs[row["variant"]].append(session_cost(row["usage"] or [], prices))

    estimates: dict[str, dict[str, Estimate]] = {}
    variants: list[VariantReportOut] = []
    for variant in ("A", "B"):
        agg = aggregates.get(variant)
        sessions = agg.sessions if agg else 0
        est = {
            "p50": bootstrap_percentile(latencies[variant], 50),
            "p95": bootstrap_percentile(latencies[variant], 95),
            "cost": bootstrap_mean(costs[variant]),
            "escalation": wilson(agg.escalated_sessions, sessions) if agg else Estimate.empty(),
            "block": wilson(agg.guardrail_blocks, agg.guardrail_output_checks) if agg else Estimate.empty(),
        }
        estimates[variant] = est
        variants.append(
            VariantReportOut(
                variant=variant,  # type: ignore[arg-type]
                sessions=sessions,
                turns=agg.assistant_turns if agg else 0,
                latency_p50_ms=_out(est["p50"]),
                latency_p95_ms=_out(est["p95"]),
                cost_per_session_usd=_out(est["cost"]),
                escalation_rate=_out(est["escalation"]),
                guardrail_block_rate=_out(est["block"]),
            )
        )

    counts = {v.variant: v.sessions for v in variants}
    enough = all(n >= min_sessions for n in counts.values())
    if not enough:
        verdict = (
            f"Not enough sessions yet: A has {counts['A']}, B has {counts['B']}; "
            f"each needs at least {min_sessions} before the comparison means anything."
        )
        findings: list[str] = []
    else:
        a, b = estimates["A"], estimates["B"]
        findings = [
            compare(a["p50"], b["p50"], lower_is_better=True, what="Typical response time (p50)", unit=" ms"),
            compare(a["p95"], b["p95"], lower_is_better=True, what="Slow responses (p95)", unit=" ms"),
            compare(a["cost"], b["cost"], lower_is_better=True, what="Cost per session", unit="$"),
            compare(a["escalation"], b["escalation"], lower_is_better=True, what="Escalation rate", unit="%"),
            compare(a["block"], b["block"], lower_is_better=True, what="Guardrail block rate", unit="%"),
        ]
        clear = [f for f in findings if "clearly" in f]
        verdict = (
            "Clear differences: " + " ".join(clear)
            if clear
            else "No clear difference between A and B on any measure yet (all 95% intervals overlap)."
        )
    return AbReportOut(
        deployment=deployment,
        enough_data=enough,
        min_sessions=min_sessions,
        verdict=verdict,
        findings=findings,
        variants=variants,
    )
