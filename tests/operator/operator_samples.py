"""TutorDeployments used across the operator tests (plain dicts, as a user would write them)."""

from __future__ import annotations

import copy
from typing import Any

from tutorplane.operator.testing import td_manifest

CHARTS = "tests/operator/fixtures/charts"


def a_only() -> dict[str, Any]:
    return td_manifest("tutor-a")


def a_and_b() -> dict[str, Any]:
    return td_manifest(
        "tutor-ab",
        variants={"A": {"weight": 50}, "B": {"enabled": True, "weight": 50}},
        ingress={
            "enabled": True,
            "host": "tutor.school.test",
            "className": "nginx",
            "tlsSecretName": "tutor-tls",
        },
        secrets={
            "openai": {"name": "providers", "key": "openai"},
            "anthropic": {"name": "providers", "key": "anthropic"},
            "livekit": {"name": "livekit"},
            "database": {"name": "database", "key": "url"},
            "redis": {"name": "redis", "key": "url"},
            "gateway": {"name": "gateway-signing"},
            "langfuse": {"name": "langfuse-keys"},
        },
        dependencies={"langfuse": {"mode": "external", "url": "https://langfuse.school.test"}},
        prometheus={"address": "http://prometheus.monitoring:9090"},
        rollout={
            "steps": [{"weight": 10, "pauseSeconds": 120}, {"weight": 25}],
            "analysisIntervalSeconds": 60,
        },
        guardrail={"replicas": 3, "failMode": "closed", "thresholds": {"self-harm": 0.2, "violence": 0.5}},
    )


def b_only() -> dict[str, Any]:
    td = td_manifest(
        "tutor-b",
        variants={
            "A": {"enabled": False, "weight": 0},
            "B": {"enabled": True, "weight": 100, "autoscaling": {"minReplicas": 2}},
        },
        prometheus={"address": "http://prometheus.monitoring:9090"},
        networkPolicies={"ingressNamespace": "ingress-nginx"},
    )
    del td["spec"]["livekit"]
    del td["spec"]["secrets"]["livekit"]
    return td


def managed_deps() -> dict[str, Any]:
    td = td_manifest(
        "tutor-managed",
        dependencies={"supabase": {"mode": "managed"}, "langfuse": {"mode": "managed"}},
    )
    del td["spec"]["secrets"]["database"]
    return td


def fixed_replicas() -> dict[str, Any]:
    return td_manifest(
        "tutor-fixed",
        variants={
            "A": {"replicas": 3, "autoscaling": {"enabled": False}},
            "B": {"autoscaling": {"enabled": False}},
        },
        migrations={"enabled": False},
        networkPolicies={"enabled": False},
    )


SCENARIOS = {
    "a-only": a_only,
    "a-and-b": a_and_b,
    "b-only": b_only,
    "managed-deps": managed_deps,
    "fixed-replicas": fixed_replicas,
}


def scenario(name: str) -> dict[str, Any]:
    return copy.deepcopy(SCENARIOS[name]())
