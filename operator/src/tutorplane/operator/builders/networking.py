"""Services, the Ingress to the gateway, and NetworkPolicies.

Agent workers take no inbound traffic (they dial out to LiveKit), so the pool gets no Service;
its NetworkPolicy admits only metric scrapes. The guardrail admits only this deployment's pods.
"""

from __future__ import annotations

from .. import constants as c
from .common import Obj, finalize, metadata, selector_labels
from .context import BuildContext


def service(ctx: BuildContext, component: str, port: int) -> Obj:
    return finalize(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(ctx, ctx.child_name(component), component),
            "spec": {
                "type": "ClusterIP",
                "selector": selector_labels(ctx, component),
                "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
            },
        }
    )


def ingress(ctx: BuildContext) -> Obj:
    spec = ctx.spec.ingress
    assert spec.host is not None  # guaranteed by the spec rules when enabled
    body: Obj = {
        "rules": [
            {
                "host": spec.host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {
                                "service": {
                                    "name": ctx.child_name(c.COMPONENT_GATEWAY),
                                    "port": {"number": c.GATEWAY_PORT},
                                }
                            },
                        }
                    ]
                },
            }
        ]
    }
    if spec.class_name:
        body["ingressClassName"] = spec.class_name
    if spec.tls_secret_name:
        body["tls"] = [{"hosts": [spec.host], "secretName": spec.tls_secret_name}]
    meta = metadata(ctx, ctx.owner.name, "ingress")
    # Long-lived streams (SSE teacher feed, TTS) must not be cut by proxy read timeouts.
    meta["annotations"].update(
        {
            "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
            "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
            **spec.annotations,
        }
    )
    return finalize({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": body})


def _namespace_peer(namespace: str) -> Obj:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


def _policy(ctx: BuildContext, component: str, rules: list[Obj]) -> Obj:
    return finalize(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(ctx, ctx.child_name(component), component),
            "spec": {
                "podSelector": {"matchLabels": selector_labels(ctx, component)},
                "policyTypes": ["Ingress"],
                "ingress": rules,
            },
        }
    )


def network_policies(ctx: BuildContext) -> list[Obj]:
    np = ctx.spec.network_policies
    monitoring = _namespace_peer(np.monitoring_namespace)
    same_deployment = {"podSelector": {"matchLabels": {c.LABEL_DEPLOYMENT: ctx.owner.name}}}
    gateway_from: list[Obj] = [_namespace_peer(np.ingress_namespace)] if np.ingress_namespace else []
    gateway_rule: Obj = {"ports": [{"protocol": "TCP", "port": c.GATEWAY_PORT}]}
    if gateway_from:
        gateway_rule["from"] = [*gateway_from, monitoring]
    policies = [
        _policy(ctx, c.COMPONENT_GATEWAY, [gateway_rule]),
        _policy(
            ctx,
            c.COMPONENT_GUARDRAIL,
            [
                {
                    "from": [same_deployment, monitoring],
                    "ports": [{"protocol": "TCP", "port": c.GUARDRAIL_PORT}],
                }
            ],
        ),
    ]
    if ctx.spec.variants.a.enabled:
        policies.extend(
            _policy(
                ctx,
                component,
                [{"from": [monitoring], "ports": [{"protocol": "TCP", "port": c.AGENT_HEALTH_PORT}]}],
            )
            for component in (c.COMPONENT_AGENT, c.COMPONENT_AGENT_ENGLISH)
        )
    return policies
