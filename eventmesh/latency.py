"""Delivery latency between services: how long a ``Deliver`` takes to reach its target.

On AWS an event published to a bus, a topic or a function's destination reaches its target some
time later; a simulation models that time explicitly. A mesh with a latency model
(``mesh.latency``, set by simulations; the daemon and tests have none and deliver at once) turns
each ``Deliver`` whose edge has a latency L > 0 into a timer: the target takes the items L after
they were sent, and the answer (a ``DeliveryResult``) reaches the sender L after that, so a sender
sees a round trip of 2 L before it retries, dead-letters or counts. An edge of latency 0 is
carried out inline, as without a model.

The same model holds in one process and in a partitioned run, and it is what makes a partitioned
run exact: a delivery between two partitions can only arrive L later, so each partition may run
L ahead of the others without missing anything (the lookahead of conservative synchronisation,
``eventmesh.partition``). Resources joined by a 0-latency edge must therefore share a partition.

Edges are named by service, ``source->target`` (``events->sqs``), either side ``*``; a Deliver's
source is the ARN it names (a rule, a topic or subscription, a function, a mapping), its target
the resource it addresses. The most specific edge wins: ``events->sqs``, then ``events->*``, then
``*->sqs``, then the default. Defaults (seconds), from AWS's published figures where there are
some:

==================  ========  ====================================================================
edge                default   source
==================  ========  ====================================================================
``events->*``       0.13      EventBridge event buses, end to end, P99 129.33 ms (the one figure
                              AWS publishes):
                              https://aws.amazon.com/about-aws/whats-new/2024/11/amazon-eventbridge-improvement-latency-event-buses/
``sns->*``          0.1       AWS publishes no typical SNS delivery latency: an emulation choice of
                              the order of EventBridge's
``lambda->*``       0.1       destinations, DLQs and a stream mapping's OnFailure records: no
                              published figure, the same choice
``*`` (default)     0.1       anything else that is delivered
==================  ========  ====================================================================

Not deliveries, so not in this model: an event source mapping reads its queue or shard in
place, and its polling is the propagation delay AWS documents for Kinesis ("typically below 1
second" with a poll each second:
https://docs.aws.amazon.com/streams/latest/dev/kinesis-low-latency.html); a queue moves a
message to its redrive DLQ in place. Those pairs always share a partition.

Cost: one dict lookup per Deliver (the latency of each source/target pair is cached).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["AWS_DEFAULT_LATENCY_S", "DEFAULT_LATENCY_S", "LatencyModel", "parse_edge"]

EVENTBRIDGE_P99_LATENCY_S = 0.13       # 129.33 ms P99, AWS What's New, November 2024
UNPUBLISHED_LATENCY_S = 0.1            # SNS, Lambda destinations: AWS publishes no figure
DEFAULT_LATENCY_S = UNPUBLISHED_LATENCY_S
AWS_DEFAULT_LATENCY_S: dict[tuple[str, str], float] = {
    ("events", "*"): EVENTBRIDGE_P99_LATENCY_S,
    ("sns", "*"): UNPUBLISHED_LATENCY_S,
    ("lambda", "*"): UNPUBLISHED_LATENCY_S,
}


def _service(arn: str) -> str:
    parts = arn.split(":", 3)
    return parts[2] if len(parts) > 3 else "*"


def parse_edge(key: str) -> tuple[str, str]:
    """``events->sqs`` → ("events", "sqs"); ``events`` → ("events", "*"); ``*`` → ("*", "*")."""
    source, arrow, target = key.partition("->")
    source, target = source.strip(), target.strip() if arrow else "*"
    if not source or not target or not all(part == "*" or part.isidentifier() for part in (source, target)):
        raise ValueError(f"{key!r} is not an edge: write source->target with service names or * (events->sqs)")
    return source, target


class LatencyModel:
    """Seconds from a ``Deliver`` leaving its source to its target taking it (see the module
    docstring). ``edges`` maps (source service, target service) to seconds, ``*`` matching any
    service; ``pairs`` maps exact (source ARN, target ARN) pairs, for a single edge that differs."""

    def __init__(self, edges: Mapping[tuple[str, str], float] | None = None, *,
                 default: float = DEFAULT_LATENCY_S, pairs: Mapping[tuple[str, str], float] | None = None) -> None:
        for value in [default, *(edges or {}).values(), *(pairs or {}).values()]:
            if value < 0:
                raise ValueError("a delivery latency cannot be negative")
        self.edges = dict(edges or {})
        self.default = default
        self.pairs = dict(pairs or {})
        self._cache: dict[tuple[str, str], float] = {}

    @classmethod
    def aws_defaults(cls, overrides: Mapping[tuple[str, str], float] | None = None,
                     default: float | None = None) -> LatencyModel:
        """AWS's figures (the module docstring), with ``overrides`` on top."""
        edges = {**AWS_DEFAULT_LATENCY_S, **(overrides or {})}
        if ("*", "*") in edges:
            default = edges.pop(("*", "*"))
        return cls(edges, default=DEFAULT_LATENCY_S if default is None else default)

    def between(self, source_arn: str, target_arn: str) -> float:
        """The latency of a delivery from ``source_arn`` to ``target_arn`` (and of its answer back)."""
        key = (source_arn, target_arn)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._lookup(source_arn, target_arn)
        return found

    def _lookup(self, source_arn: str, target_arn: str) -> float:
        pair = self.pairs.get((source_arn, target_arn))
        if pair is not None:
            return pair
        source, target = _service(source_arn), _service(target_arn)
        edges = self.edges
        for key in ((source, target), (source, "*"), ("*", target)):
            if key in edges:
                return edges[key]
        return self.default

    def describe(self) -> dict[str, float]:
        """The model as a scenario writes it (``source->target: seconds``), for results and docs."""
        out = {f"{s}->{t}": v for (s, t), v in sorted(self.edges.items())}
        out["*"] = self.default
        return out
