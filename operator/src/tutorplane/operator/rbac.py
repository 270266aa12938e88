"""Least-privilege RBAC derived from what the operator actually touches.

Rules come from the kinds the builders emit (:data:`.resources.CHILD_KINDS`), the kinds managed
dependency charts may render (:data:`.resources.DEPENDENCY_KINDS`), the TutorDeployment itself,
Events, and what kopf needs (peering objects; CRD and namespace reads only cluster-wide).
Secrets get ``create`` and ``delete`` only: the operator creates the managed releases' credentials
Secrets (and any a chart renders) once, prunes chart-rendered ones, and never reads any Secret. Namespaced mode yields a Role per watched namespace; cluster-wide mode a
ClusterRole. The operator chart renders this output.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from . import constants as c
from .resources import CHILD_KINDS, DEPENDENCY_KINDS, lookup_builtin

Obj = dict[str, Any]
CHILD_VERBS = ["get", "list", "watch", "create", "patch", "delete"]


def rules(
    keda: bool = True,
    managed_dependencies: bool = True,
    clusterwide: bool = False,
    webhooks_managed: bool = False,
) -> list[Obj]:
    verbs_by_resource: dict[tuple[str, str], set[str]] = defaultdict(set)
    kinds = list(CHILD_KINDS)
    if managed_dependencies:
        kinds += [k for k in DEPENDENCY_KINDS if k not in kinds]
    for api_version, kind in kinds:
        if kind == "ScaledObject" and not keda:
            continue
        rt = lookup_builtin(api_version, kind)
        verbs = ["create", "delete"] if kind == "Secret" else CHILD_VERBS
        verbs_by_resource[(rt.group, rt.plural)].update(verbs)
    verbs_by_resource[(c.GROUP, c.PLURAL)].update(["get", "list", "watch", "patch"])
    verbs_by_resource[(c.GROUP, f"{c.PLURAL}/status")].update(["get", "patch"])
    verbs_by_resource[("", "events")].update(["create"])
    verbs_by_resource[("events.k8s.io", "events")].update(["create"])
    peering = "clusterkopfpeerings" if clusterwide else "kopfpeerings"
    verbs_by_resource[("kopf.dev", peering)].update(["get", "list", "watch", "patch"])
    if clusterwide:
        verbs_by_resource[("apiextensions.k8s.io", "customresourcedefinitions")].update(
            ["get", "list", "watch"]
        )
        verbs_by_resource[("", "namespaces")].update(["get", "list", "watch"])
    if webhooks_managed:
        for plural in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"):
            verbs_by_resource[("admissionregistration.k8s.io", plural)].update(["create", "patch"])

    grouped: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for (group, plural), granted in sorted(verbs_by_resource.items()):
        grouped[(group, tuple(sorted(granted)))].append(plural)
    return [
        {"apiGroups": [group], "resources": sorted(plurals), "verbs": list(verb_list)}
        for (group, verb_list), plurals in sorted(grouped.items())
    ]


def _labels() -> dict[str, str]:
    return {c.LABEL_NAME: c.OPERATOR_NAME, c.LABEL_PART_OF: "tutorplane"}


def manifests(
    operator_namespace: str = "tutorplane-system",
    namespaces: list[str] | None = None,
    clusterwide: bool = False,
    service_account: str = c.OPERATOR_NAME,
    keda: bool = True,
    managed_dependencies: bool = True,
    webhooks_managed: bool = False,
) -> list[Obj]:
    subject = {"kind": "ServiceAccount", "name": service_account, "namespace": operator_namespace}
    out: list[Obj] = []
    rule_set = rules(keda, managed_dependencies, clusterwide, webhooks_managed)
    if clusterwide:
        out.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": c.OPERATOR_NAME, "labels": _labels()},
                "rules": rule_set,
            }
        )
        out.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": c.OPERATOR_NAME, "labels": _labels()},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": c.OPERATOR_NAME,
                },
                "subjects": [subject],
            }
        )
        return out
    watched = namespaces or [operator_namespace]
    if webhooks_managed:
        cluster_rules = [r for r in rule_set if r["apiGroups"] == ["admissionregistration.k8s.io"]]
        rule_set = [r for r in rule_set if r["apiGroups"] != ["admissionregistration.k8s.io"]]
        name = f"{c.OPERATOR_NAME}-webhooks"
        out.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": name, "labels": _labels()},
                "rules": cluster_rules,
            }
        )
        out.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": name, "labels": _labels()},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                "subjects": [subject],
            }
        )
    for namespace in dict.fromkeys([*watched, operator_namespace]):
        role_rules = (
            rule_set if namespace in watched else [r for r in rule_set if r["apiGroups"] == ["kopf.dev"]]
        )
        meta = {"name": c.OPERATOR_NAME, "namespace": namespace, "labels": _labels()}
        out.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": meta,
                "rules": role_rules,
            }
        )
        out.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": dict(meta),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": c.OPERATOR_NAME},
                "subjects": [subject],
            }
        )
    return out
