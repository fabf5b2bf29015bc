"""Placement: which partition runs which part of a scenario, and the lookahead that allows.

A partitioned run (``partitioned.py``) gives each partition some resources. What must stay
together is decided here, from the mesh the scenario builds:

* synchronous couplings, which no frame can carry: an event source mapping with its source and
  its function (the poller reads the queue or shard in place and invokes the function
  synchronously); a queue with its redrive DLQ (a message moves in place); a bus with its
  archives and with the API destinations (and their connections) its rules call; a load
  generator with its target (it calls the API in process);
* deliveries on an edge of latency 0 (``eventmesh/latency.py``): carried out inline;
* when asked (a first run found the shares too small, ``pool.py``): the functions of one account
  and Region that share its unreserved concurrency.

Children go with their parents as ``Ownership`` has them (subscriptions, rules, versions). The
groups are then balanced over the partitions by expected load (``ownership.balance``): each
generator's mean rate over its active time flows along the delivery edges (a bus passes it to
every rule target: an upper bound, as patterns are not evaluated here; a topic to every
subscription; a queue or stream to its mappings' functions), weighted by what an event costs
where it goes (``COST_US``, measured on ``benchmarks/simulate/bench_pipeline.py``).

The lookahead is the smallest latency of a delivery edge between two partitions: a partition
can run that far ahead of the others without missing anything they could send it, since an
answer travels back as long as its delivery took. No edge between partitions: no lookahead
needed (each partition runs to the end alone).

Shares of an account's unreserved concurrency go to the partitions in proportion to the expected
load of that account's unreserved functions in each; a partition holding all of them keeps the
whole pool (no share).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from eventmesh.mesh import Mesh
from eventmesh.partition import Ownership, balance
from eventmesh.services.esm.mapping import EventSourceMapping
from eventmesh.services.events.api_destinations import ApiDestination
from eventmesh.services.events.bus import EventBus
from eventmesh.services.lambda_.function import Function
from eventmesh.services.sns.topic import Topic
from eventmesh.services.sqs.queue import Queue

__all__ = ["COST_US", "Edge", "Placement", "delivery_edges", "plan"]

# Expected cost of one event where it lands, in µs of one core (the pipeline benchmark's profile:
# PutEvents and matching ≈6, an SQS message through its mapping into Lambda ≈7.5, a Kinesis
# record through its mapping ≈3); only the ratios matter.
COST_US = {"events": 6.0, "sqs": 7.5, "kinesis": 3.0, "sns": 4.0, "lambda": 5.0}
_EMPTY_WEIGHT = 1e-6     # a group with no expected load still counts a little (spreads them)
_FLOW_DEPTH = 8          # deliveries followed from a generator (cycles end there)


class Edge:
    """A delivery the topology can make: ``source`` (the Deliver's source ARN) → ``target``."""

    __slots__ = ("latency", "source", "target")

    def __init__(self, source: str, target: str, latency: float) -> None:
        self.source, self.target, self.latency = source, target, latency


class Placement:
    """The outcome of :func:`plan`: ownership, lookahead, shares, and the figures behind them."""

    def __init__(self, ownership: Ownership, lookahead_s: float, shares: dict[tuple[str, str], list[int | None]],
                 loads: list[float], groups: dict[str, list[str]]) -> None:
        self.ownership = ownership
        self.partitions = ownership.partitions
        self.lookahead_s = lookahead_s
        self.shares = shares
        self.loads = loads
        self.groups = groups          # root ARN → every ARN in its group (for reports and tests)

    def describe(self) -> list[str]:
        lines = []
        for p in range(self.partitions):
            roots = [root for root in self.groups if self.ownership.owner(root) == p]
            names = ", ".join(sorted(_name(arn) for root in roots for arn in self.groups[root]))
            lines.append(f"partition {p} (expected load {self.loads[p]:.3g}): {names}")
        return lines


def _name(arn: str) -> str:
    if arn.startswith("generator:"):
        return arn
    tail = arn.split(":", 5)[-1]
    return tail.split(":", 1)[1] if tail.startswith("function:") else tail.rsplit("/", 1)[-1]


def _service(arn: str) -> str:
    return arn.split(":", 3)[2] if arn.startswith("arn:") else "generator"


def delivery_edges(mesh: Mesh) -> list[Edge]:
    """Every delivery the built topology can emit, with its source ARN as the Deliver names it."""
    latency = mesh.latency
    pairs: list[tuple[str, str]] = []
    for resource in mesh.all_resources():
        if isinstance(resource, EventBus):
            for rule in resource.rules.values():
                for target in rule.target_list:
                    if target.kind != "api":   # API destinations are HTTP requests, answered here
                        pairs.append((rule.arn, target.arn))
                    if target.dlq_arn:
                        pairs.append((rule.arn, target.dlq_arn))
        elif isinstance(resource, Topic):
            for sub in resource.subscriptions:
                if sub.endpoint.startswith("arn:"):
                    pairs.append((resource.arn, sub.endpoint))
                if sub.dlq_arn:
                    pairs.append((sub.arn, sub.dlq_arn))
        elif isinstance(resource, Function):
            dead_letter = resource.latest.config.dead_letter_arn
            if dead_letter:
                pairs.append((resource.arn, dead_letter))
            for config in resource.invoke_configs.values():
                for destination in (config.on_success, config.on_failure):
                    if destination:
                        pairs.append((resource.arn, destination))
        elif isinstance(resource, EventSourceMapping) and resource.on_failure:
            pairs.append((resource.arn, resource.on_failure))
    return [Edge(s, t, latency.between(s, t) if latency is not None else 0.0) for s, t in dict.fromkeys(pairs)]


class _Groups:
    """Union-find over root ARNs."""

    def __init__(self, ownership: Ownership) -> None:
        self.ownership = ownership
        self.up: dict[str, str] = {}

    def find(self, arn: str) -> str:
        node = self.ownership.root(arn)
        up = self.up
        while up.get(node, node) != node:
            up[node] = up.get(up[node], up[node])
            node = up[node]
        return node

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            low, high = sorted((ra, rb))     # the smaller ARN names the group: deterministic
            self.up[high] = low
            self.up.setdefault(low, low)


def _generator_rate(spec: Any, duration_s: float) -> float:
    """Mean events/s a generator offers over the run."""
    start = spec.start_s
    stop = min(duration_s, spec.stop_s if spec.stop_s is not None else duration_s)
    if stop <= start:
        return 0.0
    steps = 1_000
    total = sum(spec.profile.rate(start + (stop - start) * (i + 0.5) / steps) for i in range(steps)) / steps
    return total * (stop - start) / duration_s


def plan(mesh: Mesh, generators: list[Any], partitions: int, duration_s: float,
         colocate_accounts: frozenset[tuple[str, str]] = frozenset()) -> Placement:
    """Place the scenario built in ``mesh`` (with its ``generators``, not started) on at most
    ``partitions`` partitions (fewer when there are fewer groups); see the module docstring."""
    resources = list(mesh.all_resources())
    arns = [r.arn for r in resources]
    parents: dict[str, str] = {}
    functions = [r for r in resources if isinstance(r, Function)]

    for resource in resources:
        if isinstance(resource, EventSourceMapping):
            parents[resource.arn] = resource.source_arn
    ownership = Ownership(1, parents=parents)
    groups = _Groups(ownership)
    for arn in arns:
        groups.find(arn)
    for resource in resources:
        if isinstance(resource, EventSourceMapping):
            groups.join(resource.source_arn, ":".join(resource.function_arn.split(":")[:7]))
        elif isinstance(resource, Queue) and resource.config.redrive_policy is not None:
            groups.join(resource.arn, resource.config.redrive_policy.dead_letter_target_arn)
        elif isinstance(resource, EventBus):
            for archive in resource.archives.values():
                groups.join(resource.arn, archive.arn)
            for rule in resource.rules.values():
                for target in rule.target_list:
                    if target.kind == "api":
                        groups.join(resource.arn, target.arn)
                        destination = mesh.find(target.arn, ApiDestination)
                        if destination is not None:
                            groups.join(resource.arn, destination.connection_arn)
    for generator in generators:
        groups.join(f"generator:{generator.name}", generator.target.arn)
    edges = delivery_edges(mesh)
    for edge in edges:
        if edge.latency <= 0.0:
            groups.join(edge.source, edge.target)
    for account, region in colocate_accounts:
        sharing = [f.arn for f in functions if f.concurrency.reserved is None
                   and f.arn.split(":")[3:5] == [region, account]]
        for arn in sharing[1:]:
            groups.join(sharing[0], arn)

    # Expected load: events/s into each resource, then µs per second per group.
    flow: dict[str, float] = defaultdict(float)
    outgoing: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        outgoing[ownership.root(edge.source)].append(edge.target)
    for resource in resources:
        if isinstance(resource, EventSourceMapping):
            outgoing[resource.source_arn].append(":".join(resource.function_arn.split(":")[:7]))

    def pour(arn: str, rate: float, depth: int) -> None:
        root = ownership.root(arn)
        flow[root] += rate
        if depth < _FLOW_DEPTH:
            for target in outgoing.get(root, ()):
                pour(target, rate, depth + 1)

    for generator in generators:
        pour(generator.target.arn, _generator_rate(generator.spec, duration_s), 0)
    members: dict[str, list[str]] = defaultdict(list)
    for arn in [*arns, *(f"generator:{g.name}" for g in generators)]:
        if arn not in parents:     # mappings are listed with their source
            members[groups.find(arn)].append(arn)
    weights = {root: _EMPTY_WEIGHT * len(items) + sum(flow.get(a, 0.0) * COST_US.get(_service(a), 0.0)
                                                     for a in items)
               for root, items in members.items()}
    used = max(1, min(partitions, len(weights)))
    assignment = balance(weights, used)

    final = Ownership(used, parents=parents)
    for root, items in members.items():
        for arn in items:
            final.assign(arn, assignment[root])
    loads = [0.0] * used
    for root, weight in weights.items():
        loads[assignment[root]] += weight

    crossing = [e.latency for e in edges if final.owner(e.source) != final.owner(e.target)]
    lookahead = min(crossing) if crossing else math.inf

    shares: dict[tuple[str, str], list[int | None]] = {}
    by_account: dict[tuple[str, str], list[Function]] = defaultdict(list)
    for function in functions:
        if function.concurrency.reserved is None:
            region, account = function.arn.split(":")[3:5]
            by_account[(account, region)].append(function)
    for key, unreserved in by_account.items():
        holders = {final.owner(f.arn) for f in unreserved}
        if len(holders) == 1:
            continue
        pool = unreserved[0].account
        capacity = pool.account_limit - pool.reserved_total
        demand = [0.0] * used
        for function in unreserved:
            demand[final.owner(function.arn)] += flow.get(function.arn, 0.0) + _EMPTY_WEIGHT
        shares[key] = [None if p not in holders else 0 for p in range(used)]
        split = _largest_remainder(capacity, [demand[p] if p in holders else 0.0 for p in range(used)])
        for p in holders:
            shares[key][p] = split[p]
    return Placement(final, lookahead, shares, loads, dict(members))


def _largest_remainder(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` in whole numbers that sum to it."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    out = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - out[i]), i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out
