"""OpenTelemetry tracing setup: OTLP over HTTP/protobuf, Langfuse Basic auth, no-op when unconfigured.

Langfuse v3 ingests OTLP at ``<host>/api/public/otel/v1/traces`` with
``Authorization: Basic base64(public_key:secret_key)``; gRPC is not accepted there.
"""

from __future__ import annotations

import base64
import logging
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from tutorplane.common.settings import ServiceSettings, TelemetrySettings

if TYPE_CHECKING:
    from fastapi.telemetry import TelemetryConfig

log = logging.getLogger(__name__)

# Attribute names Langfuse uses to group traces into sessions and users.
SESSION_ID_ATTR = "langfuse.session.id"
USER_ID_ATTR = "langfuse.user.id"


def fastapi_telemetry(tracer_provider: trace.TracerProvider | None = None) -> TelemetryConfig:
    """``FastAPI(telemetry=...)`` for every Tutorplane HTTP service: FastAPI's own telemetry off.

    Once a tracer provider is installed, FastAPI traces each request by itself: an HTTP span plus
    dependency, endpoint and serialization spans, for kubelet probes and metrics scrapes as well. In
    Langfuse every probe would become a trace, and a turn's trace would hang under an HTTP span
    instead of being the root that carries the session and user ids. The services record their own
    spans (a turn, a guardrail check, a browser event) and Prometheus counts requests, so FastAPI
    records nothing and does not configure exporters from the environment either.

    ``tracer_provider``: the service's own provider when it is not the global one (tests), so that
    FastAPI would report to the same place if its tracing were on.
    """
    return {
        "tracer_provider": tracer_provider,
        "tracing": False,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
        "auto_configure": False,
    }


def langfuse_auth_header(public_key: str, secret_key: str) -> dict[str, str]:
    token = base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def build_resource(settings: ServiceSettings) -> Resource:
    return Resource.create(
        {
            "service.name": settings.service_name,
            "service.version": settings.revision,
            "deployment.environment": settings.environment.value,
            "tutorplane.deployment": settings.deployment,
        }
    )


def setup_tracing(settings: ServiceSettings, exporter: SpanExporter | None = None) -> TracerProvider | None:
    """Install a global tracer provider. Returns None (tracing stays a no-op) when nothing is configured.

    ``exporter`` lets tests pass an in-memory exporter; otherwise OTLP/HTTP is used.
    """
    endpoint = settings.otlp_endpoint if isinstance(settings, TelemetrySettings) else None
    if exporter is None and not endpoint:
        return None
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        assert isinstance(settings, TelemetrySettings)
        headers: dict[str, str] = {}
        if settings.langfuse_public_key and settings.langfuse_secret_key:
            headers = langfuse_auth_header(
                settings.langfuse_public_key, settings.langfuse_secret_key.get_secret_value()
            )
        exporter = OTLPSpanExporter(endpoint=f"{str(endpoint).rstrip('/')}/v1/traces", headers=headers)
    provider = TracerProvider(resource=build_resource(settings))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    log.info("tracing enabled", extra={"otlp_endpoint": endpoint})
    return provider
