"""Prometheus helpers. Metric names carry their unit (``_seconds``, ``_total``, ``_bytes``).

Each process uses the default registry; libraries create their metrics through :func:`counter`,
:func:`histogram` and :func:`gauge`, which return the already-registered collector when a module
is imported twice (tests, reloads) instead of raising ``Duplicated timeseries``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

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


def register_once(collector: Collector, registry: CollectorRegistry = REGISTRY) -> None:
    """Register a custom collector unless one of its type is registered already (re-imports)."""
    kind = (type(collector).__module__, type(collector).__qualname__)
    if any((type(c).__module__, type(c).__qualname__) == kind for c in registry._collector_to_names):
        return
    registry.register(collector)


def _samples(families: Iterable[Metric], sample_name: str, where: Mapping[str, str]) -> Iterator[Any]:
    for family in families:
        for sample in family.samples:
            if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in where.items()):
                yield sample


def counter_sums(
    families: Iterable[Metric], name: str, keep: Sequence[str], where: Mapping[str, str] | None = None
) -> dict[tuple[str, ...], float]:
    """A counter's ``<name>_total`` samples summed by the ``keep`` labels (others are added up)."""
    total = name if name.endswith("_total") else f"{name}_total"
    out: dict[tuple[str, ...], float] = {}
    for sample in _samples(families, total, where or {}):
        key = tuple(sample.labels.get(label, "") for label in keep)
        out[key] = out.get(key, 0.0) + sample.value
    return out


def gauge_values(
    families: Iterable[Metric], name: str, keep: Sequence[str], where: Mapping[str, str] | None = None
) -> dict[tuple[str, ...], float]:
    """A gauge's samples summed by the ``keep`` labels."""
    out: dict[tuple[str, ...], float] = {}
    for sample in _samples(families, name, where or {}):
        key = tuple(sample.labels.get(label, "") for label in keep)
        out[key] = out.get(key, 0.0) + sample.value
    return out


GUARDRAIL_DIRECTIONS = ("input", "output")
# The values of tutorplane.guardrail.policy.Direction and Action (common cannot import guardrail).
GUARDRAIL_ACTIONS = ("allow", "rewrite", "block", "escalate")


def with_every_action(decisions: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], float]:
    """Guardrail decision counts by (direction, action), zeros filled in once any decision exists.

    A block *rate* needs a ``block`` series even when nothing was blocked; with no decision at all
    the series stay absent, so a service that records none reads as "no data", never as a rate of 0.
    """
    if not decisions:
        return {}
    filled: dict[tuple[str, ...], float] = {
        (d, a): 0.0 for d in GUARDRAIL_DIRECTIONS for a in GUARDRAIL_ACTIONS
    }
    filled.update(decisions)
    return filled


def histogram_sums(
    families: Iterable[Metric], name: str, where: Mapping[str, str] | None = None
) -> tuple[list[tuple[str, float]], float] | None:
    """A histogram's series matching ``where`` merged into one (cumulative buckets, sum); None if none."""
    families = list(families)
    buckets: dict[str, float] = {}
    for sample in _samples(families, f"{name}_bucket", where or {}):
        le = sample.labels["le"]
        buckets[le] = buckets.get(le, 0.0) + sample.value
    if not buckets:
        return None
    total = sum(sample.value for sample in _samples(families, f"{name}_sum", where or {}))
    ordered = sorted(buckets.items(), key=lambda item: float(item[0]))
    return ordered, total


# --- The platform contract ----------------------------------------------------------------------
# What the operator's rollout analysis and the chart's alerts query. Each service computes the
# values from its own collectors; the names, help texts and labels live here, once.
TURN_LATENCY_STAGE = "first_sentence"  # end of the student's input -> first guarded sentence


def contract_turn_latency(
    deployment: str, variant: str, merged: tuple[list[tuple[str, float]], float] | None
) -> HistogramMetricFamily:
    """``tutorplane_turn_latency_seconds`` from a merged histogram (``histogram_sums``)."""
    family = HistogramMetricFamily(
        "tutorplane_turn_latency_seconds",
        "End of the student's input to the first guarded sentence, by TutorDeployment and variant.",
        labels=["deployment", "variant"],
    )
    if merged is not None:
        buckets, total = merged
        family.add_metric([deployment, variant], buckets, total)
    return family


def contract_session_errors(deployment: str, by_variant: Mapping[str, float]) -> CounterMetricFamily:
    """``tutorplane_session_errors_total``; give every variant served a value (0 reads as a rate of 0,
    an absent series as "no data")."""
    family = CounterMetricFamily(
        "tutorplane_session_errors",
        "Sessions that failed to start or hit an error, by TutorDeployment and variant.",
        labels=["deployment", "variant"],
    )
    for variant, value in sorted(by_variant.items()):
        family.add_metric([deployment, variant], value)
    return family


def contract_guardrail_decisions(
    deployment: str, variant: str, decisions: dict[tuple[str, ...], float]
) -> CounterMetricFamily:
    """``tutorplane_guardrail_decisions_total`` by direction and action (``with_every_action`` applied)."""
    family = CounterMetricFamily(
        "tutorplane_guardrail_decisions",
        "Guardrail decisions, by TutorDeployment, variant, direction and action.",
        labels=["deployment", "variant", "direction", "action"],
    )
    for (direction, action), value in sorted(with_every_action(decisions).items()):
        family.add_metric([deployment, variant, direction, action], value)
    return family
