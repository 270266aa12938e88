"""Prometheus helpers. Metric names carry their unit (``_seconds``, ``_total``, ``_bytes``).

Each process uses the default registry; libraries create their metrics through :func:`counter`,
:func:`histogram` and :func:`gauge`, which return the already-registered collector when a module
is imported twice (tests, reloads) instead of raising ``Duplicated timeseries``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.registry import CollectorRegistry

# Latency buckets for in-process work and model round trips (seconds).
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

M = TypeVar("M", Counter, Gauge, Histogram)


def _get_or_create(cls: type[M], name: str, doc: str, labels: Sequence[str], **kwargs: Any) -> M:
    registry: CollectorRegistry = kwargs.pop("registry", REGISTRY)
    existing = registry._names_to_collectors.get(name)
    if existing is None and cls is Counter:
        existing = registry._names_to_collectors.get(f"{name}_total")
    if existing is not None:
        if not isinstance(existing, cls):
            raise TypeError(f"metric {name} already registered as {type(existing).__name__}")
        return existing
    return cls(name, doc, list(labels), registry=registry, **kwargs)


def counter(name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
    return _get_or_create(Counter, name, doc, labels)


def gauge(name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
    return _get_or_create(Gauge, name, doc, labels)


def histogram(
    name: str, doc: str, labels: Sequence[str] = (), buckets: Sequence[float] = LATENCY_BUCKETS
) -> Histogram:
    return _get_or_create(Histogram, name, doc, labels, buckets=tuple(buckets))


def render_latest() -> bytes:
    """The text exposition of the default registry (for a /metrics route)."""
    return generate_latest(REGISTRY)
