"""Rollout analysis: ask Prometheus (HTTP API ``/api/v1/query``) how the candidate variant does.

Verdicts: any threshold breached → ``fail``; fewer sessions than the minimum, a metric with no
data, or Prometheus unreachable → ``inconclusive``; otherwise ``pass``. "No data" never counts as
a pass or a fail.

Default queries assume the services' metrics carry ``namespace``, ``deployment`` and ``variant``
labels; every query can be overridden per TutorDeployment (``spec.rollout.queries``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

from .rollout import Verdict
from .spec import Rollout

SELECTOR = 'namespace="{namespace}",deployment="{deployment}",variant="{variant}"'
DEFAULT_QUERIES = {
    "sessions": "sum(increase(tutorplane_sessions_started_total{" + SELECTOR + "}[{window}s]))",
    "turn_latency_p95": "histogram_quantile(0.95, sum by (le) (rate(tutorplane_turn_latency_seconds_bucket{"
    + SELECTOR
    + "}[{window}s])))",
    "error_rate": "sum(increase(tutorplane_session_errors_total{" + SELECTOR + "}[{window}s])) / "
    "clamp_min(sum(increase(tutorplane_sessions_started_total{" + SELECTOR + "}[{window}s])), 1)",
    "guardrail_block_rate": 'sum(increase(tutorplane_guardrail_decisions_total{action="block",'
    + SELECTOR
    + "}[{window}s])) / clamp_min(sum(increase(tutorplane_guardrail_decisions_total{"
    + SELECTOR
    + "}[{window}s])), 1)",
}


class PrometheusUnavailable(Exception):
    """The query could not be answered (network, HTTP or PromQL error)."""


@dataclass
class PrometheusClient:
    address: str
    timeout: float = 5.0
    session: aiohttp.ClientSession | None = None

    async def query(self, promql: str) -> float | None:
        """Sum of an instant vector (or a scalar); ``None`` when the result is empty or NaN."""
        url = self.address.rstrip("/") + "/api/v1/query"
        owned = self.session is None
        session = self.session or aiohttp.ClientSession()
        try:
            async with session.get(
                url, params={"query": promql}, timeout=aiohttp.ClientTimeout(total=self.timeout)
            ) as response:
                body: Any = await response.json(content_type=None)
                if response.status != 200 or body.get("status") != "success":
                    error = body.get("error", "") if isinstance(body, dict) else ""
                    raise PrometheusUnavailable(f"HTTP {response.status} {error}".strip())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise PrometheusUnavailable(f"{type(exc).__name__}: {exc}") from exc
        finally:
            if owned:
                await session.close()
        data = body.get("data", {})
        kind, result = data.get("resultType"), data.get("result")
        values: list[float] = []
        if kind == "scalar" and result:
            values = [float(result[1])]
        elif kind == "vector":
            values = [float(sample["value"][1]) for sample in result or []]
        values = [v for v in values if not math.isnan(v)]
        return sum(values) if values else None


@dataclass
class Analysis:
    verdict: Verdict
    variant: str
    window_seconds: int
    sessions: float | None = None
    turn_latency_p95_seconds: float | None = None
    error_rate: float | None = None
    guardrail_block_rate: float | None = None
    reasons: list[str] = field(default_factory=list)

    def to_status(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict.value
        camel = {
            "window_seconds": "windowSeconds",
            "turn_latency_p95_seconds": "turnLatencyP95Seconds",
            "error_rate": "errorRate",
            "guardrail_block_rate": "guardrailBlockRate",
        }
        return {
            camel.get(k, k): (round(v, 6) if isinstance(v, float) else v)
            for k, v in data.items()
            if v is not None
        }


def render_query(template: str, namespace: str, deployment: str, variant: str, window: int) -> str:
    return (
        template.replace("{namespace}", namespace)
        .replace("{deployment}", deployment)
        .replace("{variant}", variant)
        .replace("{window}", str(window))
    )


def judge(
    rollout: Rollout,
    variant: str,
    window: int,
    sessions: float | None,
    latency: float | None,
    errors: float | None,
    blocks: float | None,
) -> Analysis:
    """The verdict from the numbers (pure)."""
    result = Analysis(Verdict.passed, variant, window, sessions, latency, errors, blocks)
    limits = rollout.thresholds
    if sessions is None or sessions < rollout.min_sessions_per_step:
        result.verdict = Verdict.inconclusive
        result.reasons.append(
            f"{0 if sessions is None else int(sessions)} sessions < {rollout.min_sessions_per_step} needed"
        )
        return result
    checks = (
        ("turn latency p95", latency, limits.turn_latency_p95_seconds, "s"),
        ("error rate", errors, limits.error_rate, ""),
        ("guardrail block rate", blocks, limits.guardrail_block_rate, ""),
    )
    missing: list[str] = []
    for label, value, limit, unit in checks:
        if value is None:
            missing.append(f"no data for {label}")
        elif value > limit:
            result.reasons.append(f"{label} {value:.3g}{unit} > {limit:g}{unit}")
    if result.reasons:
        result.verdict = Verdict.failed
    elif missing:
        result.verdict = Verdict.inconclusive
        result.reasons.extend(missing)
    return result


async def analyze(
    prometheus: PrometheusClient, rollout: Rollout, namespace: str, deployment: str, variant: str, window: int
) -> Analysis:
    overrides = rollout.queries.model_dump()
    values: dict[str, float | None] = {}
    try:
        for name, default in DEFAULT_QUERIES.items():
            template = overrides.get(name) or default
            values[name] = await prometheus.query(
                render_query(template, namespace, deployment, variant, window)
            )
    except PrometheusUnavailable as exc:
        return Analysis(Verdict.inconclusive, variant, window, reasons=[f"Prometheus unavailable: {exc}"])
    return judge(
        rollout,
        variant,
        window,
        values["sessions"],
        values["turn_latency_p95"],
        values["error_rate"],
        values["guardrail_block_rate"],
    )
