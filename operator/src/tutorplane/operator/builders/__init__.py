"""Pure builders: a TutorDeployment spec (plus a small context) becomes every child object.

``build_children`` is the one entry point the handlers and the ``render`` CLI call. Nothing here
talks to the API server; the same input always gives the same objects (golden-file tested).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import constants as c
from . import accounts, autoscaling, disruption, networking, settings, workloads
from .common import Obj
from .context import BuildContext, Owner, Wiring

__all__ = ["BuildContext", "Owner", "Rendered", "Wiring", "build_children"]


@dataclass
class Rendered:
    objects: list[Obj] = field(default_factory=list)
    revisions: dict[str, str] = field(default_factory=dict)
    agent_name: str | None = None
    # What the variant ConfigMap tells the gateway (may lag ``revisions`` during a pool rollout).
    published_revision: str | None = None
    published_agent_name: str | None = None
    published_english_revision: str | None = None
    published_english_agent_name: str | None = None


def build_children(ctx: BuildContext) -> Rendered:
    spec = ctx.spec
    out = Rendered()
    workloads_out: list[Obj] = []

    if spec.variants.a.enabled:
        pools, revision = workloads.agent_pool(ctx)
        out.revisions["A"] = revision
        out.agent_name = workloads.agent_name(ctx, revision)
        workloads_out.extend(pools)
    gateway, gateway_revision = workloads.gateway(ctx)
    out.revisions["B"] = gateway_revision
    workloads_out.append(gateway)
    guardrail, _ = workloads.guardrail(ctx)
    workloads_out.append(guardrail)

    components = [c.COMPONENT_GATEWAY, c.COMPONENT_GUARDRAIL]
    if spec.variants.a.enabled:
        components.insert(0, c.COMPONENT_AGENT)
    # The English worker runs under the agent's service account.
    accounts_out = [accounts.service_account(ctx, component) for component in components]
    if spec.variants.a.enabled:
        components.insert(1, c.COMPONENT_AGENT_ENGLISH)
    if spec.migrations.enabled:
        accounts_out.append(accounts.service_account(ctx, c.COMPONENT_MIGRATIONS))

    out.objects.extend(accounts_out)
    out.objects.append(settings.settings_configmap(ctx))
    if out.agent_name is not None:
        out.published_revision = ctx.published_revision or out.revisions["A"]
        out.published_agent_name = workloads.agent_name(ctx, out.published_revision)
        out.published_english_revision = ctx.published_english_revision or out.revisions["A"]
        out.published_english_agent_name = workloads.english_agent_name(ctx, out.published_english_revision)
    published = {**out.revisions, **({"A": out.published_revision} if out.published_revision else {})}
    out.objects.append(
        settings.variants_configmap(
            ctx, out.published_agent_name, out.published_english_agent_name, published
        )
    )
    if spec.migrations.enabled:
        out.objects.append(workloads.migration_job(ctx))
    out.objects.extend(workloads_out)
    out.objects.append(networking.service(ctx, c.COMPONENT_GATEWAY, c.GATEWAY_PORT))
    out.objects.append(networking.service(ctx, c.COMPONENT_GUARDRAIL, c.GUARDRAIL_PORT))
    if spec.variants.a.enabled and spec.variants.a.autoscaling.enabled:
        out.objects.append(autoscaling.autoscaler(ctx, c.COMPONENT_AGENT, "A", spec.variants.a))
        out.objects.append(autoscaling.autoscaler(ctx, c.COMPONENT_AGENT_ENGLISH, "A", spec.variants.a))
    if spec.variants.b.autoscaling.enabled:
        out.objects.append(autoscaling.autoscaler(ctx, c.COMPONENT_GATEWAY, "B", spec.variants.b))
    out.objects.extend(disruption.pdb(ctx, component) for component in components)
    if spec.ingress.enabled:
        out.objects.append(networking.ingress(ctx))
    if spec.network_policies.enabled:
        out.objects.extend(networking.network_policies(ctx))
    return out
