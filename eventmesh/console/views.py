"""What the console shows, read from the mesh without changing it: resources by service with
their live gauges, the topology as a graph, a queue's messages (peek) and recent invocations.

Every view is a plain JSON document; nothing here counts as an AWS call (a peek is no receive,
reading an invocation draws no request id), so looking at the console never changes a run.
"""

from __future__ import annotations

import math
from typing import Any

from eventmesh.mesh import Mesh
from eventmesh.services.esm.mapping import EventSourceMapping
from eventmesh.services.events.bus import EventBus
from eventmesh.services.kinesis.stream import Stream
from eventmesh.services.lambda_.function import Function
from eventmesh.services.lambda_.jobs import Invocation
from eventmesh.services.sns.topic import Topic
from eventmesh.services.sqs.queue import Queue

__all__ = ["invocation_log", "messages", "recent_invocations", "resources", "topology"]

MAX_PEEK = 100
MAX_INVOCATIONS = 100


def _function_arn(arn: str) -> str:
    """A function's own ARN from a qualified one (``...:function:name:alias``)."""
    parts = arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 and parts[5] == "function" else arn


def _dead_letter_targets(mesh: Mesh) -> set[str]:
    """ARNs that something sends its failures to (redrive, DLQs, on-failure destinations)."""
    found: set[str] = set()
    for queue in mesh.resources("sqs", Queue):
        policy = queue.config.redrive_policy
        if policy is not None:
            found.add(policy.dead_letter_target_arn)
    for edge in topology(mesh)["edges"]:
        if edge["kind"] in ("dlq", "on-failure"):
            found.add(edge["to"])
    return found


def resources(mesh: Mesh) -> dict[str, Any]:
    """Every resource by service, with the gauges a person watches."""
    dead_letter = _dead_letter_targets(mesh)
    queues = []
    for q in mesh.resources("sqs", Queue):
        policy = q.config.redrive_policy
        queues.append({"name": q.name, "arn": q.arn, "fifo": q.fifo, "visible": q.n_visible,
                       "in_flight": q.n_inflight, "delayed": q.n_delayed, "oldest_age_s": q.oldest_age(),
                       "dlq": policy.dead_letter_target_arn if policy is not None else None,
                       "is_dlq": q.arn in dead_letter})
    topics = []
    for t in mesh.resources("sns", Topic):
        topic_stats = t.statistics()
        topics.append({"name": t.name, "arn": t.arn, "subscriptions": len(t.subscriptions),
                       "published": topic_stats.number_of_messages_published,
                       "delivered": topic_stats.number_of_notifications_delivered,
                       "failed": topic_stats.number_of_notifications_failed})
    streams = [{"name": s.name, "arn": s.arn, "status": s.status,
                "open_shards": sum(1 for shard in s.shards if shard.is_open),
                "records": sum(shard.incoming_records for shard in s.shards)}
               for s in mesh.resources("kinesis", Stream)]
    buses = [{"name": b.name, "arn": b.arn, "rules": len(b.rules), "matched": b.matched_events}
             for b in mesh.resources("events", EventBus)]
    functions = []
    for f in mesh.resources("lambda", Function):
        stats = f.statistics()
        functions.append({"name": f.name, "arn": f.arn, "concurrent": stats.concurrent_executions,
                          "reserved": f.concurrency.reserved, "invocations": stats.invocations,
                          "errors": stats.errors, "throttles": stats.throttles,
                          "async_queue": stats.async_queue_depth})
    mappings = [{"uuid": m.uuid, "source": m.source_arn, "function": m.function_arn, "state": m.state,
                 "kind": m.kind, "batch_size": m.batch_size}
                for m in mesh.resources("lambda", EventSourceMapping)]
    return {"now": mesh.clock.now(), "account_id": mesh.account_id, "region": mesh.region,
            "sqs": queues, "sns": topics, "kinesis": streams, "events": buses, "lambda": functions,
            "event_source_mappings": mappings}


class _Graph:
    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: list[dict[str, str]] = []

    def node(self, node_id: str, kind: str, label: str) -> None:
        self.nodes.setdefault(node_id, {"id": node_id, "kind": kind, "label": label})

    def edge(self, source: str, target: str, kind: str, label: str = "") -> None:
        if target not in self.nodes:
            self.node(target, _kind_of(target), _label_of(target))
        self.edges.append({"from": source, "to": target, "kind": kind, "label": label})


def _kind_of(arn: str) -> str:
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        return "external"
    return {"sqs": "queue", "sns": "topic", "kinesis": "stream", "lambda": "function",
            "events": "bus" if "event-bus/" in parts[5] else "rule"}.get(parts[2], "external")


def _label_of(arn: str) -> str:
    if not arn.startswith("arn:"):
        return arn
    tail = arn.split(":", 5)[5]
    return tail.split("/", 1)[-1] if "/" in tail else tail.removeprefix("function:")


def topology(mesh: Mesh) -> dict[str, Any]:
    """Nodes (resources) and edges: bus → rule → targets; topic → subscriptions; source →
    mapping → function; function → destinations and DLQ; queue → its redrive DLQ."""
    g = _Graph(mesh)
    for q in mesh.resources("sqs", Queue):
        g.node(q.arn, "queue", q.name)
    for t in mesh.resources("sns", Topic):
        g.node(t.arn, "topic", t.name)
    for s in mesh.resources("kinesis", Stream):
        g.node(s.arn, "stream", s.name)
    for f in mesh.resources("lambda", Function):
        g.node(f.arn, "function", f.name)
    for b in mesh.resources("events", EventBus):
        g.node(b.arn, "bus", b.name)
    for q in mesh.resources("sqs", Queue):
        if q.config.redrive_policy is not None:
            g.edge(q.arn, q.config.redrive_policy.dead_letter_target_arn, "dlq", "redrive")
    for t in mesh.resources("sns", Topic):
        for sub in t.subscriptions:
            g.edge(t.arn, _function_arn(sub.endpoint), "subscription", sub.protocol)
            if sub.dlq_arn:
                g.edge(t.arn, sub.dlq_arn, "dlq", f"dlq of {sub.protocol} subscription")
    for b in mesh.resources("events", EventBus):
        for rule in b.rules.values():
            g.node(rule.arn, "rule", rule.name)
            g.edge(b.arn, rule.arn, "rule", rule.schedule_expression or "")
            for target in rule.target_list:
                g.edge(rule.arn, _function_arn(target.arn), "target", target.id)
                if target.dlq_arn:
                    g.edge(rule.arn, target.dlq_arn, "dlq", f"dlq of {target.id}")
    for f in mesh.resources("lambda", Function):
        for qualifier, config in f.invoke_configs.items():
            suffix = "" if qualifier == "$LATEST" else f" ({qualifier})"
            if config.on_success:
                g.edge(f.arn, config.on_success, "on-success", "on success" + suffix)
            if config.on_failure:
                g.edge(f.arn, config.on_failure, "on-failure", "on failure" + suffix)
        dead_letter = f.latest.config.dead_letter_arn
        if dead_letter:
            g.edge(f.arn, dead_letter, "dlq", "dead-letter queue")
    for m in mesh.resources("lambda", EventSourceMapping):
        g.node(m.arn, "mapping", f"mapping {m.uuid[:8]}")
        g.edge(m.source_arn, m.arn, "poll", "polls")
        g.edge(m.arn, _function_arn(m.function_arn), "invoke", "invokes")
        if m.on_failure:
            g.edge(m.arn, m.on_failure, "on-failure", "on failure")
    return {"nodes": list(g.nodes.values()), "edges": g.edges}


def _queue(mesh: Mesh, name: str) -> Queue | None:
    return mesh.find(name, Queue) if name.startswith("arn:") else mesh.find(mesh.arn("sqs", name), Queue)


def messages(mesh: Mesh, name: str, limit: int) -> dict[str, Any] | None:
    """A queue's messages, oldest first, unchanged (no receive counted, no visibility moved)."""
    queue = _queue(mesh, name)
    if queue is None:
        return None
    states = {1: "visible", 2: "in flight", 3: "delayed"}
    found = [{"message_id": m.id, "body": m.body, "state": states.get(m.state, "?"),
              "sent": m.sent, "receive_count": m.receive_count, "group_id": m.group_id,
              "message_attributes": m.attributes or {}}
             for m in queue.peek(max(1, min(limit, MAX_PEEK)))]
    return {"queue": queue.name, "arn": queue.arn, "messages": found}


def invocation_log(function: Function, inv: Invocation) -> str:
    """The log lines of one invocation as Lambda writes them (START, the handler's output, END,
    REPORT). Today from the function's recent invocations; the one place to read CloudWatch Logs
    instead once functions write there."""
    rid = inv.request_id or "-"
    version = getattr(inv.version, "name", inv.qualifier)
    duration_ms = inv.duration_s * 1000.0
    memory = getattr(getattr(inv.version, "config", None), "memory_mb", 128)
    return (f"START RequestId: {rid} Version: {version}\n{inv.log or ''}END RequestId: {rid}\n"
            f"REPORT RequestId: {rid}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, math.ceil(duration_ms))} ms\tMemory Size: {memory} MB\n")


def recent_invocations(mesh: Mesh, name: str, limit: int) -> dict[str, Any] | None:
    """A function's last finished invocations, newest first, each with its log."""
    function = mesh.find(mesh.arn("lambda", f"function:{name}"), Function)
    if function is None:
        return None
    recent = list(function.recent)[-max(1, min(limit, MAX_INVOCATIONS)):]
    out = [{"request_id": inv.request_id, "version": getattr(inv.version, "name", inv.qualifier),
            "started_at": inv.started_at, "duration_ms": round(inv.duration_s * 1000.0, 3),
            "async": inv.is_async, "attempts": inv.attempts, "error_type": inv.error_type,
            "error_message": inv.error_message, "log": invocation_log(function, inv)}
           for inv in reversed(recent)]
    return {"function": function.name, "invocations": out}
