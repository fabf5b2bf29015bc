"""``GET /metrics`` from any worker: every worker's series, in one exposition.

Each worker's collector (``eventmesh.metrics``) reads the cores it owns; the worker that is asked
gathers the families of all workers (as plain data over the channels), merges them by name and
renders them once. A resource lives on one worker, so its series come from one; should two
workers report the same series (an account-level figure), the lower worker index's is kept.

``GET /_eventmesh/workers`` lists each worker's own figures (``Node.statistics``: its process
CPU seconds, the requests it forwarded and served for its peers, the frames and messages it
wrote to them): what the daemon benchmarks read to tell the cost of forwarding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.samples import Sample

from eventmesh.wire.render import Response
from eventmesh.wire.router import Request
from eventmesh.wire.server import json_response

__all__ = ["families", "install", "merged_exposition"]

Family = list[Any]   # [name, documentation, type, unit, [[sample name, labels, value], ...]]


def families(registry: CollectorRegistry) -> list[Family]:
    """A registry's families as plain data (what a worker sends the one that is asked)."""
    return [[m.name, m.documentation, m.type, m.unit, [[s.name, s.labels, s.value] for s in m.samples]]
            for m in registry.collect()]


class _Merged(Collector):
    def __init__(self, parts: list[list[Family]]) -> None:
        self.parts = parts

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        for part in self.parts:
            for name, documentation, kind, unit, samples in part:
                metric = merged.get(name)
                if metric is None:
                    metric = merged[name] = Metric(name, documentation, kind, unit)
                for sample_name, labels, value in samples:
                    key = (sample_name, tuple(sorted(labels.items())))
                    if key not in seen:
                        seen.add(key)
                        metric.samples.append(Sample(sample_name, labels, value))
        yield from merged.values()


def merged_exposition(parts: list[list[Family]]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Merged(parts))
    return generate_latest(registry)


def install(daemon: Any) -> None:
    node = daemon.node
    registry = daemon.app.registry
    node.asks["metrics"] = lambda args: families(registry)

    async def metrics(request: Request) -> Response:
        answers = await node.ask_all("metrics")
        parts = [families(registry) if w == node.index else answers[w] for w in range(node.count)]
        return 200, [("Content-Type", CONTENT_TYPE_LATEST)], merged_exposition(parts)

    async def workers(request: Request) -> Response:
        answers = await node.ask_all("statistics")
        return json_response(200, {"workers": [node.statistics() if w == node.index else answers[w]
                                               for w in range(node.count)]})

    daemon.app.endpoints["/metrics"] = metrics
    daemon.app.endpoints["/_eventmesh/workers"] = workers
