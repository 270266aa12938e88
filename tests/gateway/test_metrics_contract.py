"""The metric contract between the services and what queries them: the operator's rollout analysis
(``analysis.DEFAULT_QUERIES``), the chart's alerts (PrometheusRule) and autoscaling (the variants'
``sessionsMetric``).

A real gateway process and the agent pool's collector are scraped; their series get the labels
Prometheus adds from the scrape target, exactly as the chart's PodMonitor relabels the pod labels
the operator's builders put on the sample TutorDeployment's pods (``honorLabels`` decides who wins
a conflict). Every selector of every default analysis query must then find a series for each
variant, and every series an alert groups must carry the labels it groups by. The names and
labels are parsed out of the sources, so this test follows them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from gateway_support import People, write_variant_config
from prometheus_client.parser import text_string_to_metric_families
from tutorplane.agent import health as agent_health
from tutorplane.agent import metrics as agent_metrics
from tutorplane.gateway.testing import ApiClient, GatewayProcess
from tutorplane.operator import analysis
from tutorplane.operator import constants as c
from tutorplane.operator.cli import render_documents
from tutorplane.operator.spec import VARIANT_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
# The chart tests' offline renderer (helm-python-sdk with the Prometheus operator's APIs served).
sys.path.insert(0, str(ROOT / "tests" / "charts"))
from chartkit import PROMETHEUS_OPERATOR_APIS, objects, render  # noqa: E402

pytestmark = pytest.mark.integration

SAMPLE = ROOT / "manifests" / "samples" / "ab-rollout.yaml"
Series = dict[str, str]  # labels, with "__name__" for the sample name

# Labels Prometheus itself adds to every series of a PodMonitor target.
TARGET_LABELS = ("namespace", "pod", "container", "endpoint", "job", "instance")
SELECTOR = re.compile(r"\b(tutorplane_[A-Za-z0-9_:]+)\s*(\{([^}]*)\})?")
MATCHER = re.compile(r'(\w+)\s*(=~|!=|!~|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\bby\s*\(([^)]*)\)")


def selectors(promql: str) -> list[tuple[str, dict[str, str]]]:
    """(metric name, equality matchers) of every ``tutorplane_*`` selector in an expression."""
    out = []
    for match in SELECTOR.finditer(promql):
        matchers = {k: v for k, op, v in MATCHER.findall(match.group(3) or "") if op == "="}
        out.append((match.group(1), matchers))
    return out


def grouping_labels(promql: str) -> set[str]:
    return {label.strip() for g in GROUPING.findall(promql) for label in g.split(",") if label.strip()}


def parse_exposition(text: str) -> list[Series]:
    return [
        {"__name__": sample.name, **sample.labels}
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def sample() -> dict[str, Any]:
    return dict(yaml.safe_load(SAMPLE.read_text()))


@pytest.fixture(scope="module")
def pod_labels(sample: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Component -> the labels the operator's builders put on its pods (the sample TutorDeployment)."""
    built, _ = render_documents([sample])
    return {
        o["metadata"]["labels"][c.LABEL_COMPONENT]: o["spec"]["template"]["metadata"]["labels"]
        for o in built
        if o["kind"] == "Deployment"
    }


@pytest.fixture(scope="module")
def chart_objects() -> list[dict[str, Any]]:
    return objects(render("tutor-operator", {}, api_versions=PROMETHEUS_OPERATOR_APIS))


@pytest.fixture(scope="module")
def pod_monitor(chart_objects: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in chart_objects if o["kind"] == "PodMonitor")


@pytest.fixture(scope="module")
def alert_exprs(chart_objects: list[dict[str, Any]]) -> dict[str, str]:
    rule = next(o for o in chart_objects if o["kind"] == "PrometheusRule")
    return {r["alert"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}


@pytest.fixture(scope="module")
def gateway(
    gateway_env: dict[str, str], sample: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    root = tmp_path_factory.mktemp("gateway-contract")
    variants = root / "variants.json"
    write_variant_config(variants, {"A": 50, "B": 50})
    env = {
        **gateway_env,
        # What the operator's settings ConfigMap sets for this TutorDeployment.
        "TUTOR_DEPLOYMENT": sample["metadata"]["name"],
        "TUTOR_VARIANT_CONFIG_PATH": str(variants),
        "TUTOR_QA_OVERRIDE_OPEN": "true",
    }
    with GatewayProcess(env, log_path=root / "gateway.log") as process:
        yield process


def scrape_target(
    series: list[Series], pod_monitor: dict[str, Any], pod: dict[str, str], namespace: str, port: str
) -> list[Series]:
    """Series as stored by Prometheus: the PodMonitor's relabelings of the pod's labels, merged
    with the scraped labels the way ``honorLabels`` says."""
    endpoint = next(e for e in pod_monitor["spec"]["podMetricsEndpoints"] if e["port"] == port)
    meta = {"__meta_kubernetes_pod_label_" + re.sub(r"[^A-Za-z0-9_]", "_", k): v for k, v in pod.items()}
    target = {label: "x" for label in TARGET_LABELS} | {"namespace": namespace}
    for rule in endpoint.get("relabelings", []):
        value = ";".join(meta.get(s, "") for s in rule["sourceLabels"])
        if rule.get("action", "replace") == "replace" and value:
            target[rule["targetLabel"]] = value
    out = []
    for scraped in series:
        merged = dict(scraped)
        for label, value in target.items():
            if label in scraped and not endpoint.get("honorLabels", False):
                merged["exported_" + label] = scraped[label]
                merged[label] = value
            elif label not in scraped:
                merged[label] = value
        out.append(merged)
    return out


@pytest.fixture(scope="module")
def fleet(
    gateway: GatewayProcess,
    people: People,
    emulator: Any,
    sample: dict[str, Any],
    pod_labels: dict[str, dict[str, str]],
    pod_monitor: dict[str, Any],
) -> list[Series]:
    """What Prometheus holds after a few sessions of each variant on the sample TutorDeployment."""
    name, namespace = sample["metadata"]["name"], sample["metadata"]["namespace"]

    # The gateway: one session assigned to each variant, and one version-B turn.
    _, token = people.student()
    client = ApiClient(gateway.url)
    try:
        client.use_token(token)
        client.create_session(headers={"X-Tutor-Variant": "A"})
        session_b = client.create_session(headers={"X-Tutor-Variant": "B"})["session_id"]
        events = client.turn(session_b, "What is 7 times 8?", speak=False)
        assert [e.event for e in events][-1] == "done"
    finally:
        client.close()
    gateway_text = httpx.get(f"{gateway.url}/metrics", timeout=10).text

    # The agent pool: a session's turn recorded the way the worker records it, scraped through
    # the health server's exposition with the worker's collector (deployment from the settings).
    agent_metrics.TURN_STAGE_SECONDS.labels("first_sentence", "math").observe(0.8)
    agent_metrics.GUARDRAIL_ACTIONS.labels("input", "allow", "none").inc()
    agent_metrics.GUARDRAIL_ACTIONS.labels("output", "allow", "none").inc()
    worker = agent_metrics.WorkerCollector(
        role="pipeline", ready=lambda: True, active_sessions=lambda: 1, load=lambda: 0.1, deployment=name
    )
    agent_text = agent_health.metrics_payload(None, worker).decode()

    return [
        *scrape_target(parse_exposition(gateway_text), pod_monitor, pod_labels["gateway"], namespace, "http"),
        *scrape_target(parse_exposition(agent_text), pod_monitor, pod_labels["agent"], namespace, "health"),
    ]


def matching(fleet: list[Series], metric: str, matchers: dict[str, str]) -> list[Series]:
    return [s for s in fleet if s["__name__"] == metric and all(s.get(k) == v for k, v in matchers.items())]


# --------------------------------------------------------------------------------------- tests

ANALYSIS_CASES = [
    pytest.param(query, variant, id=f"{query}-{variant}")
    for query in analysis.DEFAULT_QUERIES
    for variant in ("A", "B")
]


@pytest.mark.parametrize(("query", "variant"), ANALYSIS_CASES)
def test_every_default_analysis_query_finds_series_for_each_variant(
    fleet: list[Series], sample: dict[str, Any], query: str, variant: str
) -> None:
    name, namespace = sample["metadata"]["name"], sample["metadata"]["namespace"]
    promql = analysis.render_query(analysis.DEFAULT_QUERIES[query], namespace, name, variant, 300)
    found = selectors(promql)
    assert found, f"no tutorplane_* selector parsed from {promql}"
    for metric, matchers in found:
        assert matching(fleet, metric, matchers), (
            f"rollout analysis query {query!r} selects {metric}{matchers}, which no scraped series "
            f"matches; series named {metric}: {matching(fleet, metric, {})}"
        )


def test_every_alert_series_carries_the_labels_it_is_grouped_by(
    fleet: list[Series], alert_exprs: dict[str, str]
) -> None:
    checked = 0
    for alert, expr in alert_exprs.items():
        grouped = grouping_labels(expr) - {"le"}
        for metric, matchers in selectors(expr):
            if metric.startswith("tutorplane_operator_"):
                continue  # the operator's own metrics (tests/operator)
            series = matching(fleet, metric, {})
            assert series, f"alert {alert} queries {metric}, which neither the gateway nor the agent exports"
            assert matching(fleet, metric, matchers), f"alert {alert}: no {metric} series matches {matchers}"
            for one in series:
                missing = grouped - set(one)
                assert not missing, f"alert {alert}: {metric} series {one} lacks {sorted(missing)}"
            checked += 1
    assert checked >= 5


def test_autoscaling_metrics_of_both_variants_are_exported(fleet: list[Series]) -> None:
    for variant, defaults in VARIANT_DEFAULTS.items():
        metric = defaults["sessionsMetric"]
        assert matching(fleet, metric, {}), f"variant {variant} autoscales on {metric}, which nobody exports"


def test_session_starts_keep_the_assigned_variant_on_the_gateway_pod(
    fleet: list[Series], sample: dict[str, Any], pod_labels: dict[str, dict[str, str]]
) -> None:
    # The gateway pod is labelled variant B; a session it assigns to A must stay A in Prometheus.
    assert pod_labels["gateway"][c.LABEL_VARIANT] == "B"
    name = sample["metadata"]["name"]
    for variant in ("A", "B"):
        assert matching(fleet, "tutorplane_sessions_started_total", {"deployment": name, "variant": variant})
    assert not [s for s in fleet if "exported_variant" in s or "exported_deployment" in s]


def test_an_error_free_variant_reads_as_zero_errors_not_as_no_data(fleet: list[Series]) -> None:
    for variant in ("A", "B"):
        errors = matching(fleet, "tutorplane_session_errors_total", {"variant": variant})
        assert errors, f"no session error series for {variant}: its error rate would be 'no data'"
    # Once a variant has guardrail decisions, "nothing blocked" is a block series at 0.
    assert matching(fleet, "tutorplane_guardrail_decisions_total", {"variant": "A", "action": "block"})
