"""Prometheus metrics read from the cores' own counters at scrape time.

Each resource with ``statistics()`` returns a frozen Struct whose field names are CloudWatch
metric names in snake_case (``approximate_number_of_messages_visible``; a dot in the CloudWatch
name is a double underscore: ``get_records__records``). The Struct's ``counters`` class variable
names the monotonic counters; the other numeric fields are gauges and :class:`Histogram` fields
are histograms. Nothing is counted on a hot path: prometheus-client's ``Counter.inc`` costs 12x a
plain int (DESIGN.md).

Metric name: ``aws_<namespace>_<field>`` (``aws_sqs_number_of_messages_sent_total``), labels from
the resource's ``metric_dimensions()`` in snake_case (``queue_name``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import msgspec
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from eventmesh.mesh import Mesh

__all__ = ["Histogram", "MeshCollector", "metric_name", "registry_for"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class Histogram(msgspec.Struct, frozen=True):
    """Bucket upper bounds, per-bucket counts (not cumulative), and the sum of observations."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    sum: float


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def metric_name(namespace: str, field: str) -> str:
    """``("AWS/SQS", "number_of_messages_sent")`` → ``aws_sqs_number_of_messages_sent``."""
    return f"{namespace.replace('/', '_').lower()}_{field.replace('__', '_')}"


class MeshCollector(Collector):
    """Turns every resource's ``statistics()`` into metric families when Prometheus scrapes."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh

    def collect(self) -> Iterator[Any]:
        families: dict[str, Any] = {}
        for resource in self.mesh.resources():
            statistics = getattr(resource, "statistics", None)
            namespace = getattr(resource, "metric_namespace", None)
            if statistics is None or namespace is None:
                continue
            stats = statistics()
            dims = resource.metric_dimensions()
            labels = [_snake(k) for k in dims]
            values = [str(v) for v in dims.values()]
            counters: frozenset[str] = getattr(type(stats), "counters", frozenset())
            for field in stats.__struct_fields__:
                value = getattr(stats, field)
                name = metric_name(namespace, field)
                key = (name, tuple(labels))
                family = families.get(key)  # type: ignore[call-overload]
                if isinstance(value, Histogram):
                    if family is None:
                        family = families[key] = HistogramMetricFamily(name, f"{namespace} {field}", labels=labels)  # type: ignore[index]
                    cumulative, buckets = 0, []
                    for bound, count in zip(value.bounds, value.counts):
                        cumulative += count
                        buckets.append((repr(float(bound)), cumulative))
                    total = cumulative + (value.counts[len(value.bounds)] if len(value.counts) > len(value.bounds) else 0)
                    buckets.append(("+Inf", total))
                    family.add_metric(values, buckets, value.sum)
                    continue
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    continue
                if family is None:
                    kind = CounterMetricFamily if field in counters else GaugeMetricFamily
                    family = families[key] = kind(name, f"{namespace} {field}", labels=labels)  # type: ignore[index]
                family.add_metric(values, value)
        yield from families.values()


def registry_for(mesh: Mesh) -> CollectorRegistry:
    """A registry holding only this mesh's collector (no process-global registry)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MeshCollector(mesh))
    return registry
