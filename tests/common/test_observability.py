"""Logging and tracing base: JSON lines with ids, Langfuse auth header, no-op tracing when unconfigured."""

from __future__ import annotations

import base64
import json
import logging
from typing import ClassVar

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tutorplane.common import metrics
from tutorplane.common.logging import JsonFormatter, request_id_var, session_id_var
from tutorplane.common.settings import ServiceSettings, TelemetrySettings
from tutorplane.common.telemetry import langfuse_auth_header, setup_tracing

pytestmark = pytest.mark.unit


class TracedSettings(ServiceSettings, TelemetrySettings):
    service_name: ClassVar[str] = "traced"


def test_json_log_line_carries_request_and_session_ids() -> None:
    formatter = JsonFormatter("gateway")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "turn done in %d ms", (12,), None)
    record.turn_id = "t-1"
    token_r, token_s = request_id_var.set("req-1"), session_id_var.set("sess-1")
    try:
        line = json.loads(formatter.format(record))
    finally:
        request_id_var.reset(token_r)
        session_id_var.reset(token_s)
    assert line["msg"] == "turn done in 12 ms"
    assert line["request_id"] == "req-1"
    assert line["session_id"] == "sess-1"
    assert line["turn_id"] == "t-1"
    assert line["service"] == "gateway"


def test_langfuse_basic_auth_header() -> None:
    header = langfuse_auth_header("pk-lf-1", "sk-lf-2")["Authorization"]
    assert header.startswith("Basic ")
    assert base64.b64decode(header.removeprefix("Basic ")).decode() == "pk-lf-1:sk-lf-2"


def test_tracing_is_a_noop_without_endpoint() -> None:
    assert setup_tracing(TracedSettings()) is None


def test_tracing_exports_spans_with_resource_attributes() -> None:
    exporter = InMemorySpanExporter()
    provider = setup_tracing(TracedSettings(deployment="demo-td", revision="r7"), exporter=exporter)
    assert provider is not None
    with provider.get_tracer("test").start_as_current_span("turn") as span:
        span.set_attribute("langfuse.session.id", "s-1")
    provider.force_flush()
    (finished,) = exporter.get_finished_spans()
    assert finished.name == "turn"
    assert finished.resource.attributes["service.name"] == "traced"
    assert finished.resource.attributes["tutorplane.deployment"] == "demo-td"
    assert finished.resource.attributes["service.version"] == "r7"


def test_metric_helpers_are_idempotent() -> None:
    first = metrics.counter("tutorplane_test_things_total", "things", ["kind"])
    again = metrics.counter("tutorplane_test_things_total", "things", ["kind"])
    assert first is again
    first.labels(kind="a").inc()
    assert b"tutorplane_test_things_total" in metrics.render_latest()
    with pytest.raises(TypeError):
        metrics.gauge("tutorplane_test_things_total", "not a gauge")
