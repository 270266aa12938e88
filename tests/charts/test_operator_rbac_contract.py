"""The chart grants exactly what the operator's code says it touches.

``tutorplane.operator.rbac.rules`` derives the rules from the kinds the builders emit and the
kinds managed charts may render; ``tutorplane-operator rbac`` prints them. The chart writes them
as templates; this test keeps the two equal in every mode. The chart always ships its own
webhook configurations, so the operator never needs rights on them (`webhooks_managed=False`).
"""

from __future__ import annotations

import itertools

import pytest
from chartkit import find, render_objects

pytestmark = pytest.mark.unit

rbac = pytest.importorskip("tutorplane.operator.rbac", reason="the operator package is not installed")

Grant = tuple[str, str, str]


def grants(rules: list[dict]) -> set[Grant]:
    return {
        (g, r, v)
        for rule in rules
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }


MODES = list(itertools.product([False, True], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize(("clusterwide", "keda", "managed", "webhooks"), MODES)
def test_chart_rules_equal_the_operators(
    clusterwide: bool, keda: bool, managed: bool, webhooks: bool
) -> None:
    values = {
        "watch": {"clusterwide": clusterwide, "namespaces": []},
        "rbac": {"keda": keda, "managedDependencies": managed},
        "webhook": {"enabled": webhooks},
    }
    objs = render_objects("tutor-operator", values, namespace="tutorplane-system")
    expected = grants(
        rbac.rules(keda=keda, managed_dependencies=managed, clusterwide=clusterwide, webhooks_managed=False)
    )
    chart: set[Grant] = set()
    for role in find(objs, "Role") + find(objs, "ClusterRole"):
        chart |= grants(role["rules"])
    assert chart == expected
