"""Rollout analysis over HTTP against the Prometheus emulator (real aiohttp on loopback)."""

from __future__ import annotations

import pytest
from tutorplane.operator.analysis import PrometheusClient, PrometheusUnavailable, analyze
from tutorplane.operator.rollout import Verdict
from tutorplane.operator.spec import Rollout
from tutorplane.operator.testing import PrometheusEmulator

pytestmark = pytest.mark.integration

ROLLOUT = Rollout.model_validate({"steps": [{"weight": 10}], "minSessionsPerStep": 20})


async def test_healthy_candidate_passes(prometheus: PrometheusEmulator) -> None:
    result = await analyze(PrometheusClient(prometheus.url), ROLLOUT, "tutor", "demo", "B", 300)
    assert result.verdict == Verdict.passed
    assert result.sessions == 100 and result.turn_latency_p95_seconds == 0.8
    assert all('variant="B"' in q and 'deployment="demo"' in q and "[300s]" in q for q in prometheus.queries)


async def test_breach_fails_with_the_numbers(prometheus: PrometheusEmulator) -> None:
    prometheus.turn_latency_p95 = 4.0
    result = await analyze(PrometheusClient(prometheus.url), ROLLOUT, "tutor", "demo", "B", 300)
    assert result.verdict == Verdict.failed
    assert result.reasons == ["turn latency p95 4s > 2.5s"]
    assert result.to_status()["turnLatencyP95Seconds"] == 4.0


async def test_low_traffic_is_inconclusive(prometheus: PrometheusEmulator) -> None:
    prometheus.sessions = 3
    prometheus.error_rate = 0.9
    result = await analyze(PrometheusClient(prometheus.url), ROLLOUT, "tutor", "demo", "B", 300)
    assert result.verdict == Verdict.inconclusive
    assert "3 sessions < 20 needed" in result.reasons[0]


async def test_no_data_is_inconclusive(prometheus: PrometheusEmulator) -> None:
    prometheus.guardrail_block_rate = None
    result = await analyze(PrometheusClient(prometheus.url), ROLLOUT, "tutor", "demo", "B", 300)
    assert result.verdict == Verdict.inconclusive
    assert result.reasons == ["no data for guardrail block rate"]


async def test_prometheus_outage_is_inconclusive_never_a_fail(prometheus: PrometheusEmulator) -> None:
    prometheus.down = True
    result = await analyze(PrometheusClient(prometheus.url), ROLLOUT, "tutor", "demo", "B", 300)
    assert result.verdict == Verdict.inconclusive
    assert "Prometheus unavailable" in result.reasons[0]
    with pytest.raises(PrometheusUnavailable):
        await PrometheusClient("http://127.0.0.1:9", timeout=0.5).query("up")


async def test_query_overrides_are_used(prometheus: PrometheusEmulator) -> None:
    rollout = Rollout.model_validate(
        {"steps": [{"weight": 10}], "queries": {"sessions": 'sum(my_sessions_started{{x="{variant}"}})'}}
    )
    await analyze(PrometheusClient(prometheus.url), rollout, "tutor", "demo", "A", 60)
    assert prometheus.queries[0] == 'sum(my_sessions_started{{x="A"}})'
