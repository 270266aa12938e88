"""Strict `helm lint` of every chart, chart metadata, and values schemas that refuse bad values
with a message naming the field."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest
import yaml
from chartkit import CHARTS, CHARTS_DIR

pytestmark = pytest.mark.unit

# Lint messages below WARNING (1 = INFO, e.g. "icon is recommended") are fine.
WARNING = 2


@pytest.mark.parametrize("chart", CHARTS)
def test_strict_lint_passes(chart: str) -> None:
    result = helm.lint(str(CHARTS_DIR / chart), strict=True, kube_version="v1.30.0")
    assert result["errors"] == []
    assert [m for m in result["messages"] if m["severity"] >= WARNING] == []


@pytest.mark.parametrize(
    ("chart", "values"),
    [
        (
            "langfuse",
            {
                "postgresql": {"deploy": False, "host": "pg"},
                "s3": {"deploy": False, "endpoint": "https://s3.test"},
            },
        ),
        ("supabase", {"postgresql": {"deploy": False, "host": "pg"}, "auth": {"enabled": False}}),
        ("livekit", {"server": {"enabled": False}, "externalUrl": "wss://lk.test"}),
        (
            "tutor-operator",
            {"watch": {"clusterwide": True, "namespaces": []}, "webhook": {"certManager": {"enabled": True}}},
        ),
    ],
)
def test_strict_lint_with_other_values(chart: str, values: dict[str, Any]) -> None:
    result = helm.lint(str(CHARTS_DIR / chart), values=values, strict=True, kube_version="v1.30.0")
    assert result["errors"] == []


@pytest.mark.parametrize("chart", CHARTS)
def test_chart_metadata(chart: str) -> None:
    meta = yaml.safe_load((CHARTS_DIR / chart / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2" and meta["name"] == chart and meta["type"] == "application"
    assert meta["version"] and meta["appVersion"] and meta["kubeVersion"]
    for required in (
        "values.yaml",
        "values.schema.json",
        "README.md",
        "templates/NOTES.txt",
        "templates/_helpers.tpl",
    ):
        assert (CHARTS_DIR / chart / required).is_file(), f"{chart}/{required}"


BAD_VALUES = [
    ("langfuse", {"worker": {"replicas": 0}}, "/worker/replicas"),
    ("langfuse", {"web": {"image": {"tag": "latest"}}}, "/web/image/tag"),
    ("langfuse", {"clickhouse": {"deploy": False}}, "/clickhouse/host"),
    ("langfuse", {"s3": {"bucket": "Traces"}}, "/s3/bucket"),
    ("langfuse", {"publicUrl": "langfuse.school.test"}, "/publicUrl"),
    (
        "langfuse",
        {"web": {"startupProbe": {"periodSeconds": 10, "failureThreshold": 3}}},
        "/web/startupProbe/failureThreshold",
    ),
    ("langfuse", {"secretKeys": {"salt": ""}}, "/secretKeys/salt"),
    ("langfuse", {"existingSecret": "Bad_Name"}, "/existingSecret"),
    ("langfuse", {"clickhous": {}}, "'clickhous' not allowed"),
    (
        "supabase",
        {"postgresql": {"parameters": {"wal_level": "replica"}}},
        "/postgresql/parameters/wal_level",
    ),
    ("supabase", {"postgresql": {"deploy": False}}, "/postgresql/host"),
    ("supabase", {"auth": {"siteUrl": "school.test"}}, "/auth/siteUrl"),
    ("supabase", {"migrations": {"image": {"ref": "tutorplane/db-migrate:latest"}}}, "/migrations/image/ref"),
    ("supabase", {"rest": {"schemas": []}}, "/rest/schemas"),
    ("livekit", {"server": {"enabled": False}}, "/externalUrl"),
    ("livekit", {"rtc": {"hostPorts": True}, "replicas": 2}, "/replicas"),
    ("livekit", {"publicUrl": "http://lk.test"}, "/publicUrl"),
    ("livekit", {"redis": {"address": "redis"}}, "/redis/address"),
    ("tutor-operator", {"watch": {"clusterwide": True, "namespaces": ["a"]}}, "/watch/namespaces"),
    ("tutor-operator", {"webhook": {"tls": {"existingSecret": "op-tls"}}}, "/webhook/tls/caBundle"),
    ("tutor-operator", {"replicaCount": 0}, "/replicaCount"),
    ("tutor-operator", {"image": {"tag": "latest"}}, "/image/tag"),
    ("tutor-operator", {"monitoring": {"alerts": {"errorRatio": 5}}}, "/monitoring/alerts/errorRatio"),
    (
        "tutor-operator",
        {"monitoring": {"metrics": {"sessionsStarted": "sessions started"}}},
        "/monitoring/metrics/sessionsStarted",
    ),
    ("tutor-operator", {"watch": {"namespaces": ["Team A"]}}, "/watch/namespaces/0"),
]


@pytest.mark.parametrize(("chart", "values", "where"), BAD_VALUES, ids=[f"{c}:{w}" for c, _, w in BAD_VALUES])
def test_schema_refuses_bad_values_naming_the_field(chart: str, values: dict[str, Any], where: str) -> None:
    with helm.Chart.load(str(CHARTS_DIR / chart)) as loaded, pytest.raises(helm.HelmValuesError) as excinfo:
        loaded.validate_schema(values)
    assert where in str(excinfo.value)


@pytest.mark.parametrize("chart", CHARTS)
def test_defaults_satisfy_the_schema(chart: str) -> None:
    with helm.Chart.load(str(CHARTS_DIR / chart)) as loaded:
        loaded.validate_schema({})
