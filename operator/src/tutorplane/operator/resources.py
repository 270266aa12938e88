"""Kinds the operator reads and writes, with their URL plural and scope.

Builtins are listed so no discovery call is needed for them; anything else (a kind a managed
dependency chart renders) is learned once from API discovery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import constants as c


@dataclass(frozen=True)
class ResourceType:
    api_version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        return base


BUILTIN: tuple[ResourceType, ...] = (
    ResourceType("v1", "ConfigMap", "configmaps"),
    ResourceType("v1", "Service", "services"),
    ResourceType("v1", "ServiceAccount", "serviceaccounts"),
    ResourceType("v1", "Secret", "secrets"),
    ResourceType("v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    ResourceType("v1", "Event", "events"),
    ResourceType("v1", "Namespace", "namespaces", namespaced=False),
    ResourceType("apps/v1", "Deployment", "deployments"),
    ResourceType("apps/v1", "StatefulSet", "statefulsets"),
    ResourceType("batch/v1", "Job", "jobs"),
    ResourceType("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    ResourceType("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    ResourceType("networking.k8s.io/v1", "Ingress", "ingresses"),
    ResourceType("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
    ResourceType("keda.sh/v1alpha1", "ScaledObject", "scaledobjects"),
    ResourceType(c.API_VERSION, c.KIND, c.PLURAL),
)

# Kinds the builders emit (RBAC and the watch list derive from this).
CHILD_KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "ServiceAccount"),
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("batch/v1", "Job"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
)

# Kinds a managed dependency chart may render. Anything else (cluster-scoped kinds, RBAC,
# webhooks) is refused: the operator's own RBAC stays small and a chart cannot widen it.
DEPENDENCY_KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "ServiceAccount"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("v1", "PersistentVolumeClaim"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "Job"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
)


@dataclass
class ResourceRegistry:
    _known: dict[tuple[str, str], ResourceType] = field(
        default_factory=lambda: {(rt.api_version, rt.kind): rt for rt in BUILTIN}
    )

    def lookup(self, api_version: str, kind: str) -> ResourceType | None:
        return self._known.get((api_version, kind))

    def learn(self, api_version: str, listing: dict[str, Any]) -> None:
        """Record what an APIResourceList (discovery) says about ``api_version``."""
        for item in listing.get("resources", []):
            name = item.get("name", "")
            if "/" in name or not item.get("kind"):
                continue
            rt = ResourceType(api_version, item["kind"], name, bool(item.get("namespaced", True)))
            self._known.setdefault((api_version, item["kind"]), rt)


def lookup_builtin(api_version: str, kind: str) -> ResourceType:
    for rt in BUILTIN:
        if rt.api_version == api_version and rt.kind == kind:
            return rt
    raise KeyError(f"{api_version}/{kind} is not a kind the operator manages")
