"""Per-resource totals of a run, and the balance each one must keep.

Every resource's account is read from counters its core keeps independently of each other, so
a balance that fails means an event went missing (or was counted twice) in the engine:

==============  ===================================================================================
resource        balance
==============  ===================================================================================
generator       offered = accepted + failed + retrying
SQS queue       sent + moved in = deleted + moved out (DLQ) + expired + purged + remaining
Lambda (async)  received = succeeded + dropped (retries exhausted, event age) + queued + running
Kinesis stream  incoming = per mapping: delivered + dropped + filtered + held + unread
SNS topic       notifications = delivered + failed + retrying (on their way included)
EventBridge     bus: ingested = matched + unmatched (not failed: no rule wanted them)
                rule: matched × targets = invocations + sent to DLQ + failed to DLQ + loops + retrying
                + on their way (sent, the answer not back: a delivery's modelled latency)
==============  ===================================================================================

Columns of the totals table: ``sent`` (what entered), ``delivered`` (taken by its consumer),
``throttled`` (attempts refused by a limit, each retried or failed), ``failed`` (given up),
``dead_lettered``, ``dropped_by_age``, ``to_destinations``, ``remaining`` (still queued, in
flight or retrying at the end) and ``balanced``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from eventmesh.mesh import Mesh
from eventmesh.services.esm.service import registry
from eventmesh.services.events.bus import EventBus, Rule
from eventmesh.services.kinesis.stream import Stream
from eventmesh.services.lambda_.function import Function
from eventmesh.services.sns.topic import Topic
from eventmesh.services.sqs.queue import Queue

__all__ = ["ResourceTotals", "collect_totals"]


class ResourceTotals(msgspec.Struct, kw_only=True):
    """One row of the totals table (see the module docstring)."""

    kind: str
    name: str
    arn: str = ""
    sent: int = 0
    delivered: int = 0
    throttled: int = 0
    failed: int = 0
    dead_lettered: int = 0
    dropped_by_age: int = 0
    to_destinations: int = 0
    remaining: int = 0
    balanced: bool = True
    detail: dict[str, int] = {}


def collect_totals(mesh: Mesh, generators: list[Any]) -> list[ResourceTotals]:
    """The totals of every generator and resource, in a stable order."""
    rows: list[ResourceTotals] = []
    for generator in generators:
        t = generator.totals
        rows.append(ResourceTotals(
            kind="generator", name=generator.name, sent=t.offered, delivered=t.accepted, throttled=t.throttled,
            failed=t.failed, remaining=t.retrying, balanced=t.offered == t.accepted + t.failed + t.retrying,
            detail={"calls": t.calls, "retried": t.retried}))
    for queue in mesh.resources("sqs", Queue):
        rows.append(_queue(queue))
    for topic in mesh.resources("sns", Topic):
        rows.append(_topic(topic))
    for bus in mesh.resources("events", EventBus):
        rows.append(_bus(bus))
        rows += [_rule(rule) for rule in bus.rules.values() if rule.event_pattern is not None]
    for stream in mesh.resources("kinesis", Stream):
        rows.append(_stream(mesh, stream))
    for function in mesh.resources("lambda", Function):
        rows.append(_function(function))
    return rows


def _queue(queue: Queue) -> ResourceTotals:
    visible, inflight, delayed = queue.counts()
    remaining = visible + inflight + delayed
    sent = queue.sent + queue.moved_in
    out = queue.deleted + queue.moved_out + queue.expired + queue.purged + remaining
    return ResourceTotals(
        kind="sqs", name=queue.name, arn=queue.arn, sent=sent, delivered=queue.deleted,
        dead_lettered=queue.moved_out, dropped_by_age=queue.expired, failed=queue.purged, remaining=remaining,
        balanced=sent == out,
        detail={"received": queue.received, "moved_in": queue.moved_in, "visible": visible, "in_flight": inflight,
                "delayed": delayed})


def _function(function: Function) -> ResourceTotals:
    queue = function.async_queue
    depth = queue.depth()
    remaining = depth + queue.running
    stats = function.statistics()
    return ResourceTotals(
        kind="lambda", name=function.name, arn=function.arn, sent=queue.received, delivered=queue.succeeded,
        throttled=stats.throttles, failed=queue.dropped - queue.expired, dropped_by_age=queue.expired,
        dead_lettered=queue.dead_lettered, to_destinations=queue.destination_delivered, remaining=remaining,
        balanced=queue.received == queue.succeeded + queue.dropped + remaining,
        detail={"invocations": stats.invocations, "errors": stats.errors, "cold_starts": stats.cold_starts,
                "async_running": queue.running, "async_queued": depth,
                "dead_letter_errors": queue.dead_letter_errors, "records_in_flight": queue.records_in_flight,
                "destination_delivery_failures": queue.destination_delivery_failures})


def _stream(mesh: Mesh, stream: Stream) -> ResourceTotals:
    stats = stream.statistics()
    incoming = stats.incoming_records
    delivered = dropped = remaining = filtered = 0
    balanced = True
    mappings = registry(mesh).by_source.get(stream.arn, [])
    for mapping in mappings:
        poller: Any = mapping.poller
        held = sum(r.held for r in poller.readers.values()) if poller is not None else 0
        unread = sum(max(0, r.shard.latest - r.position) for r in poller.readers.values()) if poller else 0
        read_from_zero = poller is not None and len(poller.readers) == len(stream.shards)
        delivered += mapping.invoked
        dropped += mapping.dropped
        filtered += mapping.filtered_out
        remaining += held + unread
        if read_from_zero:
            balanced &= incoming == mapping.invoked + mapping.dropped + mapping.filtered_out + held + unread
    return ResourceTotals(
        kind="kinesis", name=stream.name, arn=stream.arn, sent=incoming, delivered=delivered,
        throttled=stats.write_provisioned_throughput_exceeded, failed=dropped, remaining=remaining,
        balanced=balanced, detail={"mappings": len(mappings), "filtered": filtered, "shards": len(stream.shards)})


def _topic(topic: Topic) -> ResourceTotals:
    d = topic.dispatch
    pending = d.pending_messages()
    stats = topic.statistics()
    return ResourceTotals(
        kind="sns", name=topic.name, arn=topic.arn, sent=d.submitted, delivered=d.delivered, failed=d.failed,
        dead_lettered=d.redriven_to_dlq, remaining=pending, balanced=d.submitted == d.delivered + d.failed + pending,
        detail={"published": stats.number_of_messages_published,
                "filtered_out": stats.number_of_notifications_filtered_out,
                "failed_to_redrive": d.failed_to_redrive_to_dlq})


def _bus(bus: EventBus) -> ResourceTotals:
    """An event no rule matches is not a failure (PutEvents accepted it, AWS counts no failed
    entry): ``delivered`` counts the matched ones and ``detail`` the rest."""
    return ResourceTotals(kind="events", name=bus.name, arn=bus.arn, sent=bus.ingested, delivered=bus.matched_events,
                          balanced=bus.matched_events <= bus.ingested,
                          detail={"unmatched": bus.ingested - bus.matched_events})


def _rule(rule: Rule) -> ResourceTotals:
    c = rule.counters
    offered = c.triggered_rules * len(rule.target_list)
    failed_no_dlq = c.failed_invocations - c.invocations_failed_to_be_sent_to_dlq
    accounted = (c.invocations + c.invocations_sent_to_dlq + c.invocations_failed_to_be_sent_to_dlq
                 + c.dead_letter_invocations + c.retrying + c.in_flight)
    return ResourceTotals(
        kind="rule", name=f"{rule.bus.name}/{rule.name}", arn=rule.arn, sent=offered,
        delivered=c.invocations - failed_no_dlq, failed=c.failed_invocations + c.dead_letter_invocations,
        dead_lettered=c.invocations_sent_to_dlq, remaining=c.retrying + c.in_flight, balanced=offered == accounted,
        detail={"matched": c.triggered_rules, "targets": len(rule.target_list)})
