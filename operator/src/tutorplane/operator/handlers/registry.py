"""Wire the handlers to one runtime in a fresh kopf registry (no import-time global state).

Every choice kopf leaves open is made here explicitly: namespaced or cluster-wide, peering,
server-side label selectors for child watches, no kopf finalizer on TutorDeployments (deletion
relies on owner references; nothing outside the cluster needs cleaning), webhook server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from pathlib import Path
from typing import Any

import kopf

from .. import constants as c
from ..promotion import PrometheusFactory, default_prometheus
from ..resources import CHILD_KINDS, DEPENDENCY_KINDS, lookup_builtin
from ..runtime import Runtime
from ..settings import OperatorSettings
from . import handle_admission, handle_children, handle_deployment

logger = logging.getLogger(__name__)
MANAGED_SELECTOR = f"{c.LABEL_MANAGED_BY}={c.OPERATOR_NAME}"


def watched_child_kinds() -> list[tuple[str, str]]:
    kinds = list(dict.fromkeys([*CHILD_KINDS, *DEPENDENCY_KINDS]))
    # Secrets are create-only: the operator never reads them, so it never watches them.
    return [kind for kind in kinds if kind[1] != "Secret"]


# Peering priorities drawn when none is configured: wide enough that two replicas drawing the same
# one (which pauses both) is a one-in-a-billion event, and within a 32-bit signed integer.
RANDOM_PRIORITIES = 2**31 - 1


def peering_priority(ours: OperatorSettings) -> int:
    """This process's kopf peering priority: the configured one, else a random one.

    kopf pauses an operator that sees a live peer of higher *or equal* priority, so replicas
    started with one fixed priority all pause and none works; distinct priorities let exactly one
    (the highest) work while the others stand by.
    """
    if ours.peering_priority is not None:
        return ours.peering_priority
    return 1 + secrets.randbelow(RANDOM_PRIORITIES)


def configure_kopf(settings: kopf.OperatorSettings, ours: OperatorSettings) -> None:
    settings.peering.name = ours.peering_name
    settings.peering.priority = peering_priority(ours)
    settings.peering.standalone = ours.standalone
    settings.peering.clusterwide = ours.clusterwide
    settings.peering.mandatory = not ours.standalone
    # kopf's own per-handler Events are noise next to ours; keep only its warnings and errors.
    settings.posting.level = logging.WARNING
    settings.posting.enabled = ours.post_events
    settings.networking.request_timeout = ours.request_timeout_seconds * 6
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    # Scanning needs cluster-wide CRD and namespace reads; namespaced mode does without it.
    settings.scanning.disabled = not ours.clusterwide
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=c.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=c.GROUP)
    for api_version, kind in watched_child_kinds():
        rt = lookup_builtin(api_version, kind)
        settings.watching.label_selectors[rt.group, rt.plural] = MANAGED_SELECTOR
    if ours.webhook_port:
        cert = ours.webhook_cert_dir
        settings.admission.server = kopf.WebhookServer(
            addr="0.0.0.0",
            port=ours.webhook_port,
            host=ours.webhook_host,
            certfile=str(Path(cert) / "tls.crt") if cert else None,
            pkeyfile=str(Path(cert) / "tls.key") if cert else None,
        )
        if ours.webhooks_managed:
            settings.admission.managed = f"{c.PLURAL}.{c.GROUP}"


def _without_finalizers(registry: kopf.OperatorRegistry) -> None:
    """kopf puts a finalizer on objects with timers; TutorDeployments need none (owner references
    delete the children, nothing outside the cluster is created), and a finalizer would block
    deletion whenever the operator is down. Timers still stop when the object disappears."""
    spawning = registry._spawning
    spawning._handlers[:] = [
        dataclasses.replace(handler, requires_finalizer=False) for handler in spawning._handlers
    ]


def build_registry(
    rt: Runtime,
    admission: bool = True,
    prometheus: PrometheusFactory = default_prometheus,
    configure: bool = True,
    keda_watch: bool = False,
    registry: kopf.OperatorRegistry | None = None,
) -> kopf.OperatorRegistry:
    registry = registry if registry is not None else kopf.OperatorRegistry()
    td = (c.GROUP, c.VERSION, c.PLURAL)

    @kopf.on.login(id="login", registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        conn = (
            rt.connection or kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
        )
        if conn is not None:
            rt.set_connection(conn)
        return conn

    if configure:

        @kopf.on.startup(id="configure", registry=registry)
        def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
            configure_kopf(settings, rt.settings)

    @kopf.on.cleanup(id="close", registry=registry)
    async def cleanup(**_: Any) -> None:
        await rt.close()

    @kopf.on.probe(id="tutordeployments", registry=registry)
    def probe_count(**_: Any) -> int:
        return len(rt.deployments())

    @kopf.on.event(*td, id="observe", registry=registry)
    async def td_event(event: Any, **_: Any) -> None:
        await handle_deployment.on_event(rt, event)

    async def ensure_cluster_facts() -> None:
        if rt.keda is None:
            rt.keda = await rt.client.serves("keda.sh/v1alpha1", "ScaledObject")

    @kopf.on.create(*td, id="create", registry=registry)
    async def created(body: Any, **_: Any) -> None:
        await ensure_cluster_facts()
        await handle_deployment.on_change(rt, body, "create")

    @kopf.on.update(*td, field="spec", id="update", registry=registry)
    async def updated(body: Any, **_: Any) -> None:
        await ensure_cluster_facts()
        await handle_deployment.on_change(rt, body, "update")

    @kopf.on.resume(*td, id="resume", registry=registry)
    async def resumed(body: Any, **_: Any) -> None:
        await ensure_cluster_facts()
        await handle_deployment.on_change(rt, body, "resume")

    interval = rt.settings.resync_seconds

    @kopf.timer(*td, id="resync", interval=interval, initial_delay=interval, registry=registry)
    async def resync(body: Any, **_: Any) -> None:
        _stop_if_gone(rt, body)
        await handle_deployment.on_resync(rt, body, prometheus)

    tick = rt.settings.rollout_tick_seconds

    @kopf.timer(*td, id="rollout", interval=tick, initial_delay=tick, registry=registry)
    async def rollout(body: Any, **_: Any) -> None:
        _stop_if_gone(rt, body)
        await handle_deployment.on_rollout_tick(rt, body, prometheus)

    for api_version, kind in watched_child_kinds():
        if kind == "ScaledObject" and not keda_watch:
            continue
        res = lookup_builtin(api_version, kind)
        group = res.group or ""
        kopf.on.event(
            group=group,
            version=res.version,
            plural=res.plural,
            labels={c.LABEL_MANAGED_BY: c.OPERATOR_NAME},
            id=f"child-{res.plural}",
            registry=registry,
        )(_child_handler(rt))

    if admission:
        kopf.on.validate(*td, id="validate", registry=registry)(_validate)
        kopf.on.mutate(*td, id="mutate", registry=registry)(_mutate)

    _without_finalizers(registry)
    return registry


def _stop_if_gone(rt: Runtime, body: Any) -> None:
    """End this timer for good once its object is deleted.

    Without a finalizer kopf never sees a deletion in progress, so it does not stop the object's
    timers; it only forgets the object. Cancelling the timer's own task from inside the handler ends
    it the way an operator shutdown would (kopf's runner cleans up in ``finally``).
    """
    if handle_deployment.gone(rt, body):
        raise asyncio.CancelledError


def _child_handler(rt: Runtime) -> Any:
    async def child_event(event: Any, **_: Any) -> None:
        await handle_children.on_child_event(rt, event)

    return child_event


def _validate(body: Any, warnings: list[str], **_: Any) -> None:
    handle_admission.on_validate(body, warnings)


def _mutate(body: Any, patch: kopf.Patch, warnings: list[str], **_: Any) -> None:
    handle_admission.on_mutate(body, patch, warnings)
