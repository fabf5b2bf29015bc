"""The topology of a run as a graph: who sends to whom (producers, rules, subscriptions,
mappings, redrive policies, destinations), read from the mesh after the resources were made.

Nodes are resources (kind, name, ARN); edges carry a label (the rule, ``redrive``,
``OnFailure``…). The report draws it; nothing here depends on a plotting library.
"""

from __future__ import annotations

from typing import Any

import msgspec

from eventmesh.mesh import Mesh
from eventmesh.services.esm.service import registry
from eventmesh.services.events.bus import EventBus
from eventmesh.services.kinesis.stream import Stream
from eventmesh.services.lambda_.function import Function
from eventmesh.services.sns.topic import Topic
from eventmesh.services.sqs.queue import Queue

__all__ = ["Edge", "Node", "Topology", "read_topology"]

# Columns of the drawing, left to right: where events enter, then each hop.
LAYERS = {"generator": 0, "events": 1, "sns": 1, "kinesis": 1, "sqs": 2, "lambda": 3, "dlq": 4, "other": 4}


class Node(msgspec.Struct, frozen=True):
    id: str
    kind: str
    name: str


class Edge(msgspec.Struct, frozen=True):
    source: str
    target: str
    label: str = ""


class Topology(msgspec.Struct):
    nodes: list[Node]
    edges: list[Edge]
    labels: dict[str, str] = {}   # dimension values → what a reader calls them (mapping UUIDs)


def _kind(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 else "other"


def _name(arn: str) -> str:
    tail = arn.split(":", 5)[-1]
    if ":function:" in arn:
        return arn.split(":function:", 1)[1]
    return tail.rsplit("/", 1)[-1]


def read_topology(mesh: Mesh, generators: list[Any]) -> Topology:
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []

    def node(arn: str, kind: str | None = None, name: str | None = None) -> str:
        if arn not in nodes:
            nodes[arn] = Node(arn, kind or _kind(arn), name or _name(arn))
        return arn

    for queue in mesh.resources("sqs", Queue):
        node(queue.arn, "sqs", queue.name)
    for topic in mesh.resources("sns", Topic):
        node(topic.arn, "sns", topic.name)
        for sub in topic.subscriptions:
            if not sub.active:
                continue
            target = node(sub.endpoint) if sub.endpoint.startswith("arn:") else node(
                sub.endpoint, "other", sub.endpoint.split("//", 1)[-1][:40])
            edges.append(Edge(topic.arn, target, sub.protocol))
            if sub.dlq_arn:
                edges.append(Edge(target, node(sub.dlq_arn), "DLQ"))
    for stream in mesh.resources("kinesis", Stream):
        node(stream.arn, "kinesis", stream.name)
    for function in mesh.resources("lambda", Function):
        node(function.arn, "lambda", function.name)
        dead_letter = function.latest.config.dead_letter_arn
        if dead_letter:
            edges.append(Edge(function.arn, node(dead_letter), "DLQ"))
        for config in function.invoke_configs.values():
            for label, destination in (("OnSuccess", config.on_success), ("OnFailure", config.on_failure)):
                if destination:
                    edges.append(Edge(function.arn, node(destination), label))
    for bus in mesh.resources("events", EventBus):
        if bus.rules or bus.name != "default" or any(g.target is bus for g in generators):
            node(bus.arn, "events", bus.name)
        for rule in bus.rules.values():
            for rule_target in rule.target_list:
                edges.append(Edge(bus.arn, node(rule_target.arn), rule.name))
                if rule_target.dlq_arn:
                    edges.append(Edge(bus.arn, node(rule_target.dlq_arn), f"{rule.name} DLQ"))
    for queue in mesh.resources("sqs", Queue):
        policy = queue.config.redrive_policy
        if policy is not None:
            edges.append(Edge(queue.arn, node(policy.dead_letter_target_arn), "redrive"))
    labels: dict[str, str] = {}
    for mapping in registry(mesh).by_uuid.values():
        function_arn = ":".join(mapping.function_arn.split(":")[:7])
        labels[mapping.uuid] = f"{_name(mapping.source_arn)} → {_name(function_arn)}"
        edges.append(Edge(node(mapping.source_arn), node(function_arn), f"batch {mapping.batch_size}"))
        if mapping.on_failure:
            edges.append(Edge(function_arn, node(mapping.on_failure), "OnFailure"))
    for generator in generators:
        gid = f"generator:{generator.name}"
        nodes[gid] = Node(gid, "generator", generator.name)
        edges.append(Edge(gid, node(generator.target.arn), generator.spec.api))
    dead_letters = {e.target for e in edges if "DLQ" in e.label or e.label in ("redrive", "OnFailure")}
    out = [Node(n.id, "dlq", n.name) if n.id in dead_letters and n.kind == "sqs"
           and not any(e.source == n.id for e in edges) else n for n in nodes.values()]
    return Topology(out, edges, labels)
