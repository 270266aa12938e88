"""OpenTelemetry tracing setup: OTLP over HTTP/protobuf, Langfuse Basic auth, no-op when unconfigured.

Langfuse v3 ingests OTLP at ``<host>/api/public/otel/v1/traces`` with
``Authorization: Basic base64(public_key:secret_key)``; gRPC is not accepted there.
"""

from __future__ import annotations

import base64
import logging

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from tutorplane.common.settings import ServiceSettings, TelemetrySettings

log = logging.getLogger(__name__)

# Attribute names Langfuse uses to group traces into sessions and users.
SESSION_ID_ATTR = "langfuse.session.id"
USER_ID_ATTR = "langfuse.user.id"


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
