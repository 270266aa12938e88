"""Start the operator: settings, logging, metrics and liveness endpoints, peering, kopf."""

from __future__ import annotations

import asyncio
import logging

import kopf
from prometheus_client import start_http_server
from tutorplane.common.logging import configure_logging

from .handlers.registry import build_registry, configure_kopf
from .runtime import Runtime
from .settings import OperatorSettings

logger = logging.getLogger(__name__)


def login(kopf_settings: kopf.OperatorSettings) -> kopf.ConnectionInfo | None:
    try:
        return kopf.login_with_service_account(settings=kopf_settings) or kopf.login_with_kubeconfig(
            settings=kopf_settings
        )
    except OSError as exc:
        raise SystemExit(f"cannot read Kubernetes credentials: {exc}; check KUBECONFIG") from exc


async def serve(settings: OperatorSettings) -> None:
    kopf_settings = kopf.OperatorSettings()
    configure_kopf(kopf_settings, settings)
    conn = login(kopf_settings)
    if conn is None:
        raise SystemExit("no Kubernetes credentials: run in a pod with a service account, or set KUBECONFIG")
    rt = Runtime.create(settings, conn)
    # KEDA is optional; watch its ScaledObjects only where its CRD is served.
    rt.keda = await rt.client.serves("keda.sh/v1alpha1", "ScaledObject")
    registry = build_registry(rt, keda_watch=rt.keda, configure=False)
    namespaces = [] if settings.clusterwide else (settings.namespaces or [settings.own_namespace])
    logger.info(
        "starting: %s, keda=%s, peering=%s",
        "cluster-wide" if settings.clusterwide else f"namespaces {namespaces}",
        rt.keda,
        "off"
        if settings.standalone
        else f"{settings.peering_name} (priority {kopf_settings.peering.priority})",
    )
    await kopf.operator(
        registry=registry,
        settings=kopf_settings,
        standalone=settings.standalone,
        clusterwide=settings.clusterwide,
        namespaces=namespaces,
        # configure_kopf chose it (the configured one, or a random one for this process).
        priority=kopf_settings.peering.priority,
        peering_name=None if settings.standalone else settings.peering_name,
        liveness_endpoint=f"http://0.0.0.0:{settings.liveness_port}/healthz"
        if settings.liveness_port
        else None,
    )


def run() -> int:
    settings = OperatorSettings()
    configure_logging("tutorplane-operator", settings.log_level)
    if settings.log_level.upper() != "DEBUG":
        # kopf logs every handler run at INFO, including one per child watch event: keep its warnings.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    if settings.metrics_port:
        start_http_server(settings.metrics_port)
    asyncio.run(serve(settings))
    return 0
