"""Prometheus metrics read from the cores' own counters at scrape time.

Each resource with ``statistics()`` returns a frozen Struct whose field names are CloudWatch
metric names in snake_case (``approximate_number_of_messages_visible``; a dot in the CloudWatch
name is a double underscore: ``get_records__records``). The Struct's ``counters`` class variable
names the monotonic counters; the other numeric fields are gauges and :class:`Histogram` fields
are histograms. A resource that owns parts with their own metrics (a stream's shards) lists them
in ``metric_sources()``. Nothing is counted on a hot path: prometheus-client's ``Counter.inc`` costs 12x a
plain int (DESIGN.md).

Metric name: ``aws_<namespace>_<field>`` (``aws_sqs_number_of_messages_sent_total``), labels from
the resource's ``metric_dimensions()`` in snake_case (``queue_name``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.samples import Sample

from eventmesh.histogram import HistogramSnapshot
from eventmesh.mesh import Mesh

__all__ = ["MeshCollector", "metric_name", "registry_for"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


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
        mesh = self.mesh.root
        home = (mesh.region, mesh.account_id)
        owners: list[tuple[Any, dict[str, str]]] = [(r, _scope_labels(_arn_scope(r), home))
                                                    for r in mesh.all_resources()]
        owners += [(state, _scope_labels((view.region, view.account_id), home))
                   for view in mesh.scopes() for state in view._state.values()]
        for owner, scope in owners:
            sources = owner.metric_sources() if hasattr(owner, "metric_sources") else (owner,)
            for resource in sources:
                self._collect(resource, families, scope)
        yield from families.values()

    @staticmethod
    def _collect(resource: Any, families: dict[Any, Any], scope: dict[str, str]) -> None:
        statistics = getattr(resource, "statistics", None)
        namespace = getattr(resource, "metric_namespace", None)
        if statistics is None or namespace is None:
            return
        stats = statistics()
        dims = {**resource.metric_dimensions(), **scope}
        labels = [_snake(k) for k in dims]
        values = [str(v) for v in dims.values()]
        counters: frozenset[str] = getattr(type(stats), "counters", frozenset())
        for field in stats.__struct_fields__:
            value = getattr(stats, field)
            name = metric_name(namespace, field)
            # One family per name; samples may carry different label sets (an account-wide figure
            # beside per-function ones, as CloudWatch has ConcurrentExecutions with and without
            # FunctionName), which a family with fixed label names cannot take through add_metric.
            key = name
            family = families.get(key)
            if isinstance(value, HistogramSnapshot):
                if family is None:
                    family = HistogramMetricFamily(name, f"{namespace} {field}", labels=labels)
                    families[key] = family
                family.add_metric(values, _cumulative_buckets(value), value.sum)
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            if family is None:
                kind = CounterMetricFamily if field in counters else GaugeMetricFamily
                family = families[key] = kind(name, f"{namespace} {field}", labels=labels)
            suffix = "_total" if isinstance(family, CounterMetricFamily) else ""
            family.samples.append(Sample(name + suffix, dict(zip(labels, values, strict=True)), value))


def _arn_scope(resource: Any) -> tuple[str, str] | None:
    parts = str(getattr(resource, "arn", "")).split(":", 5)
    return (parts[3], parts[4]) if len(parts) == 6 else None


def _scope_labels(scope: tuple[str, str] | None, home: tuple[str, str]) -> dict[str, str]:
    """``region`` and ``account_id`` labels for resources outside the daemon's own account and
    Region (CloudWatch keeps metrics per account and Region; one Prometheus needs the labels to
    tell them apart). The home scope's series stay as CloudWatch names them."""
    if scope is None or scope == home:
        return {}
    return {"Region": scope[0], "AccountId": scope[1]}


def _cumulative_buckets(histogram: HistogramSnapshot) -> list[tuple[str, float]]:
    """Prometheus buckets (cumulative, ``+Inf`` last) from per-bucket counts; a count past the
    last bound is the overflow bucket."""
    buckets: list[tuple[str, float]] = []
    cumulative = 0
    for bound, count in zip(histogram.bounds, histogram.counts, strict=False):
        cumulative += count
        buckets.append((repr(float(bound)), cumulative))
    overflow = histogram.counts[len(histogram.bounds)] if len(histogram.counts) > len(histogram.bounds) else 0
    buckets.append(("+Inf", cumulative + overflow))
    return buckets


def registry_for(mesh: Mesh) -> CollectorRegistry:
    """A registry holding only this mesh's collector (no process-global registry)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MeshCollector(mesh))
    return registry
