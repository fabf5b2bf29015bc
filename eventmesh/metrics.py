"""Prometheus metrics read from the cores' own counters at scrape time.

Each resource with ``statistics()`` returns a frozen Struct whose field names are CloudWatch
metric names in snake_case (``approximate_number_of_messages_visible``; a dot in the CloudWatch
name is a double underscore: ``get_records__records``). The Struct's ``counters`` class variable
names the monotonic counters; the other numeric fields are gauges and :class:`Histogram` fields
are histograms. A resource that owns parts with their own metrics (a stream's shards, a stream
mapping's shards) lists them in ``metric_sources()``. Nothing is counted on a hot path:
prometheus-client's ``Counter.inc`` costs 12x a plain int (DESIGN.md).

Metric name: ``aws_<namespace>_<field>[_<unit>]`` (``aws_sqs_number_of_messages_sent_total``),
labels from the resource's ``metric_dimensions()`` in snake_case (``queue_name``). A Struct's
``units`` class variable names each field's unit; Prometheus wants base units in the name
(https://prometheus.io/docs/practices/naming/), so milliseconds are scaled to ``_seconds``
(``aws_lambda_duration_seconds``). The help text keeps CloudWatch's own metric name.
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

__all__ = ["MeshCollector", "cloudwatch_name", "metric_name", "registry_for"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_MS_PER_S = 1000.0
# unit in a Struct's ``units`` → (suffix of the Prometheus name, factor to that base unit)
_UNITS = {"seconds": ("seconds", 1.0), "milliseconds": ("seconds", 1 / _MS_PER_S), "bytes": ("bytes", 1.0)}


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def metric_name(namespace: str, field: str, unit: str | None = None) -> str:
    """``("AWS/SQS", "number_of_messages_sent")`` → ``aws_sqs_number_of_messages_sent``;
    a unit the field's name does not already end with is appended."""
    prefix = "_".join(_snake(part) for part in namespace.split("/"))
    name = f"{prefix}_{field.replace('__', '_')}"
    if unit is not None:
        suffix = _UNITS[unit][0]
        name = name.removesuffix("_milliseconds")
        if not name.endswith(suffix):
            name += f"_{suffix}"
    return name


def cloudwatch_name(stats_type: type, field: str) -> str:
    """The CloudWatch metric name of a statistics field (``get_records__records`` →
    ``GetRecords.Records``), or the Struct's own spelling where CloudWatch's has a dash."""
    names: dict[str, str] = getattr(stats_type, "cloudwatch_names", {})
    if field in names:
        return names[field]
    return ".".join("".join(w.capitalize() for w in part.split("_")) for part in field.split("__"))


def _help(namespace: str, stats_type: type, field: str, unit: str | None) -> str:
    helps: dict[str, str] = getattr(stats_type, "helps", {})
    if field in helps:
        return helps[field]
    extras: frozenset[str] = getattr(stats_type, "extras", frozenset())
    if field in extras:
        return f"eventmesh {field.replace('_', ' ')} (no CloudWatch metric)"
    text = f"CloudWatch {namespace} {cloudwatch_name(stats_type, field)}"
    if unit == "milliseconds":
        text += " (milliseconds in CloudWatch, seconds here)"
    return text


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
        stats_type = type(stats)
        dims = {**resource.metric_dimensions(), **scope}
        labels = [_snake(k) for k in dims]
        values = [str(v) for v in dims.values()]
        counters: frozenset[str] = getattr(stats_type, "counters", frozenset())
        units: dict[str, str] = getattr(stats_type, "units", {})
        for field in stats.__struct_fields__:
            value = getattr(stats, field)
            unit = units.get(field)
            factor = _UNITS[unit][1] if unit else 1.0
            name = metric_name(namespace, field, unit)
            # One family per name; samples may carry different label sets (an account-wide figure
            # beside per-function ones, as CloudWatch has ConcurrentExecutions with and without
            # FunctionName), which a family with fixed label names cannot take through add_metric.
            family = families.get(name)
            if isinstance(value, HistogramSnapshot):
                if family is None:
                    family = HistogramMetricFamily(name, _help(namespace, stats_type, field, unit), labels=labels)
                    families[name] = family
                family.add_metric(values, _cumulative_buckets(value, factor), value.sum * factor)
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            if family is None:
                kind = CounterMetricFamily if field in counters else GaugeMetricFamily
                family = families[name] = kind(name, _help(namespace, stats_type, field, unit), labels=labels)
            suffix = "_total" if isinstance(family, CounterMetricFamily) else ""
            sample = value * factor if factor != 1.0 else value
            family.samples.append(Sample(name + suffix, dict(zip(labels, values, strict=True)), sample))


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


def _cumulative_buckets(histogram: HistogramSnapshot, factor: float = 1.0) -> list[tuple[str, float]]:
    """Prometheus buckets (cumulative, ``+Inf`` last) from per-bucket counts; a count past the
    last bound is the overflow bucket."""
    buckets: list[tuple[str, float]] = []
    cumulative = 0
    for bound, count in zip(histogram.bounds, histogram.counts, strict=False):
        cumulative += count
        buckets.append((repr(float(bound) * factor), cumulative))
    overflow = histogram.counts[len(histogram.bounds)] if len(histogram.counts) > len(histogram.bounds) else 0
    buckets.append(("+Inf", cumulative + overflow))
    return buckets


def registry_for(mesh: Mesh) -> CollectorRegistry:
    """A registry holding only this mesh's collector (no process-global registry)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MeshCollector(mesh))
    return registry
