"""One autoscaler per variant pool, on active sessions per pod (never only CPU).

With KEDA installed: a ScaledObject with a Prometheus trigger and a fallback that never scales
down while Prometheus is unreachable. Without it: an HPA autoscaling/v2 on the Pods metric the
services export (served by a custom-metrics adapter). Scale-up is quick; scale-down waits long,
because a pod that is told to go first drains its sessions.
"""

from __future__ import annotations

from ..spec import Variant
from .common import Obj, finalize, metadata
from .context import BuildContext


def _behavior(variant: Variant) -> Obj:
    scaling = variant.autoscaling
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": scaling.scale_up_stabilization_seconds,
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 30}],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": scaling.scale_down_stabilization_seconds,
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}],
        },
    }


def hpa(ctx: BuildContext, component: str, variant_name: str, variant: Variant) -> Obj:
    scaling = variant.autoscaling
    target = ctx.child_name(component)
    return finalize(
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": metadata(ctx, target, component, variant_name),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                "minReplicas": scaling.min_replicas,
                "maxReplicas": scaling.max_replicas,
                "metrics": [
                    {
                        "type": "Pods",
                        "pods": {
                            "metric": {"name": variant.sessions_metric},
                            "target": {
                                "type": "AverageValue",
                                "averageValue": str(scaling.target_active_sessions_per_pod),
                            },
                        },
                    }
                ],
                "behavior": _behavior(variant),
            },
        }
    )


def scaled_object(
    ctx: BuildContext, component: str, variant_name: str, variant: Variant, prometheus: str
) -> Obj:
    scaling = variant.autoscaling
    target = ctx.child_name(component)
    query = f'sum({variant.sessions_metric}{{namespace="{ctx.owner.namespace}",pod=~"{target}-.*"}})'
    return finalize(
        {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": metadata(ctx, target, component, variant_name),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                "minReplicaCount": scaling.min_replicas,
                "maxReplicaCount": scaling.max_replicas,
                "pollingInterval": 15,
                "fallback": {
                    "failureThreshold": 3,
                    "replicas": scaling.min_replicas,
                    "behavior": "currentReplicasIfHigher",
                },
                "advanced": {"horizontalPodAutoscalerConfig": {"behavior": _behavior(variant)}},
                "triggers": [
                    {
                        "type": "prometheus",
                        "metricType": "AverageValue",
                        "metadata": {
                            "serverAddress": prometheus,
                            "query": query,
                            "threshold": str(scaling.target_active_sessions_per_pod),
                        },
                    }
                ],
            },
        }
    )


def autoscaler(ctx: BuildContext, component: str, variant_name: str, variant: Variant) -> Obj:
    if ctx.keda and ctx.spec.prometheus is not None:
        return scaled_object(ctx, component, variant_name, variant, ctx.spec.prometheus.address)
    return hpa(ctx, component, variant_name, variant)
