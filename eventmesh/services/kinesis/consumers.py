"""Enhanced fan-out: stream consumers and their shard subscriptions (SubscribeToShard).

Everything that decides whether a consumer may subscribe to a shard, where its subscription reads
and what each pushed event holds lives here; the wire adapter (``api.py``) turns a subscription
into an event stream, waiting on the mesh clock between events.

* A consumer is registered on one stream under a name unique on it (at most 20 per stream, 5 of
  them CREATING at once); its ARN is ``<stream arn>/consumer/<name>:<creation epoch seconds>``.
  It is CREATING, then ACTIVE (after ``consumer_delay_s``, default 0: at once, like streams), and
  DELETING until it goes. It goes with its stream.
* A subscription pushes ``SubscribeToShardEvent`` s for up to 5 minutes: at once from the
  starting position, then as records arrive, and at least every 5 seconds (an empty event carries
  the ContinuationSequenceNumber, so a consumer checkpoints even without data). Each consumer reads
  each shard at up to 2 MiB/s of its own: an event holds at most 2 MiB, and the next one after a
  full event waits for that budget. At the end of a closed shard the last event names the child
  shards and the subscription ends.
* A second SubscribeToShard for the same consumer and shard within 5 seconds of a successful one
  answers ResourceInUseException; later, it takes the subscription over and the earlier one ends
  with ResourceInUseException.
Cost: one shard slice per event; no timer but the subscription's own wait.
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_RegisterStreamConsumer.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_SubscribeToShard.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_SubscribeToShardEvent.html
https://docs.aws.amazon.com/streams/latest/dev/enhanced-consumers.html
"""

from __future__ import annotations

import base64
import binascii

import msgspec

from eventmesh.mesh import Mesh
from eventmesh.services.kinesis import errors
from eventmesh.services.kinesis.errors import (
    InvalidArgumentException,
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from eventmesh.services.kinesis.shards import MAX_GET_RECORDS, READ_BYTES_PER_S, Shard, StreamRecord
from eventmesh.services.kinesis.stream import Stream

__all__ = [
    "Consumer",
    "Subscription",
    "SubscriptionEvent",
    "deregister_consumer",
    "describe_consumer",
    "list_consumers",
    "register_consumer",
    "subscribe",
    "MAX_CONSUMERS_PER_STREAM",
    "SUBSCRIPTION_LIFETIME_S",
]

MAX_CONSUMERS_PER_STREAM = 20      # provisioned and on-demand standard streams
MAX_CONSUMERS_CREATING = 5         # consumers CREATING at once, per stream
DEFAULT_CONSUMER_DELAY_S = 0.0     # CREATING → ACTIVE and DELETING → gone (AWS: seconds; a setting)
SUBSCRIPTION_LIFETIME_S = 300.0    # a subscription pushes events for up to 5 minutes
RESUBSCRIBE_INTERVAL_S = 5.0       # a second call within 5 s of a successful one is refused
EVENT_INTERVAL_S = 5.0             # an event at least this often, empty if nothing arrived
CONSUMER_BYTES_PER_S = READ_BYTES_PER_S  # 2 MiB/s per consumer per shard
DEFAULT_LIST_CONSUMERS = 100       # ListStreamConsumers answers at most 100 a page


class Consumer:
    """One registered enhanced fan-out consumer of a stream."""

    def __init__(self, stream: Stream, name: str, created_at: float) -> None:
        self.stream = stream
        self.name = name
        self.created_at = created_at
        self.arn = f"{stream.arn}/consumer/{name}:{int(created_at)}"
        self.status = "CREATING"
        self.subscriptions: dict[int, Subscription] = {}   # by shard index
        self.tags: dict[str, str] = {}      # tagging.py
        self.policy: str | None = None      # its resource-based policy (tagging.py)

    def describe(self) -> dict[str, object]:
        """The ``Consumer`` shape (ListStreamConsumers, RegisterStreamConsumer); timestamps in seconds."""
        return {"ConsumerName": self.name, "ConsumerARN": self.arn, "ConsumerStatus": self.status,
                "ConsumerCreationTimestamp": self.created_at}


class SubscriptionEvent(msgspec.Struct, frozen=True):
    """One SubscribeToShardEvent: records, where to continue, lag, and (at the end of a closed
    shard) its children."""

    records: list[StreamRecord]
    continuation_sequence_number: int
    millis_behind_latest: int
    child_shards: list[Shard] | None


class Subscription:
    """One consumer's subscription to one shard (see the module docstring)."""

    def __init__(self, consumer: Consumer, shard: Shard, position: int, now: float) -> None:
        self.consumer = consumer
        self.stream = consumer.stream
        self.shard = shard
        self.position = position
        self.started_at = now
        self.ends_at = now + SUBSCRIPTION_LIFETIME_S
        self.last_event_at: float | None = None
        self.paced_until = now
        self.closed = False
        self.superseded = False
        self.ended = False   # the closed shard was read to its end

    def alive(self, now: float) -> bool:
        return (not self.closed and not self.ended and now < self.ends_at and self.consumer.status == "ACTIVE"
                and self.stream.status != "DELETING" and self.consumer.stream.consumers.get(
                    self.consumer.name) is self.consumer)

    def next_wake(self, now: float) -> float:
        """When the subscription must look again even if nothing arrives (heartbeat or the end)."""
        due = min(self.ends_at, now if self.last_event_at is None else self.last_event_at + EVENT_INTERVAL_S)
        return min(due, self.paced_until) if self.paced_until > now else due

    def poll(self, now: float) -> SubscriptionEvent | None:
        """The next event, if one is due now: records arrived, the heartbeat is due, or the shard
        ended; None otherwise (wait for ``Available`` of the stream or ``next_wake``)."""
        if now < self.paced_until:
            return None
        shard = self.shard
        result = shard.read(self.position, MAX_GET_RECORDS, CONSUMER_BYTES_PER_S)
        heartbeat = self.last_event_at is None or now >= self.last_event_at + EVENT_INTERVAL_S
        if not result.records and not result.end_of_shard and not heartbeat:
            return None
        self.position = result.next_position
        self.last_event_at = now
        if result.records and result.next_position < shard.latest:  # more waiting: keep to 2 MiB/s
            self.paced_until = now + result.nbytes / CONSUMER_BYTES_PER_S
        children = None
        if result.end_of_shard:
            self.ended = True
            children = self.stream.children_of(shard)
        return SubscriptionEvent(result.records, shard.sequence_before(result.next_position),
                                 result.millis_behind_latest, children)

    def close(self) -> None:
        self.closed = True
        if self.consumer.subscriptions.get(self.shard.index) is self:
            del self.consumer.subscriptions[self.shard.index]


# -- the stream's consumers -----------------------------------------------------------------------

def _consumer_not_found(what: str, stream: Stream) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        f"Consumer {what} under stream {stream.name} not found for account {stream.account_id}.")


def register_consumer(mesh: Mesh, stream: Stream, name: str, delay_s: float = DEFAULT_CONSUMER_DELAY_S) -> Consumer:
    """RegisterStreamConsumer: a new consumer, CREATING until ``delay_s`` has passed."""
    stream.require_active()
    consumers = stream.consumers
    if name in consumers:
        raise ResourceInUseException(
            f"Consumer {name} under stream {stream.name} already exists for account {stream.account_id}.")
    if len(consumers) >= MAX_CONSUMERS_PER_STREAM:
        raise LimitExceededException(
            f"Consumer limit of {MAX_CONSUMERS_PER_STREAM} exceeded for stream {stream.name} under account "
            f"{stream.account_id}.")
    if sum(1 for c in consumers.values() if c.status == "CREATING") >= MAX_CONSUMERS_CREATING:
        raise LimitExceededException(
            f"Only {MAX_CONSUMERS_CREATING} consumers can be in CREATING state at a time for stream "
            f"{stream.name} under account {stream.account_id}.")
    consumer = consumers[name] = Consumer(stream, name, mesh.clock.now())

    def activate() -> None:
        if consumer.status == "CREATING":
            consumer.status = "ACTIVE"

    if delay_s > 0:
        mesh.clock.call_later(delay_s, activate)
    else:
        activate()
    return consumer


def _stream_of_consumer_arn(mesh: Mesh, arn: str) -> tuple[Stream, str]:
    stream_arn, sep, rest = arn.partition("/consumer/")
    if not sep or ":" not in rest:
        raise InvalidArgumentException(f"Invalid ConsumerARN {arn}.")
    stream = mesh.find(stream_arn, Stream)
    if stream is None or stream.status == "DELETING":
        name = stream_arn.rsplit("/", 1)[-1]
        raise errors.stream_not_found(name, stream_arn.split(":")[4] if stream_arn.count(":") >= 5 else "")
    return stream, rest.rsplit(":", 1)[0]


def describe_consumer(mesh: Mesh, stream: Stream | None = None, name: str | None = None,
                      consumer_arn: str | None = None) -> Consumer:
    """The consumer named by its ARN, or by its stream and name (both given: they must agree)."""
    if consumer_arn is not None:
        by_arn, arn_name = _stream_of_consumer_arn(mesh, consumer_arn)
        if (stream is not None and stream is not by_arn) or (name is not None and name != arn_name):
            raise InvalidArgumentException("ConsumerARN does not match the StreamARN and ConsumerName given.")
        consumer = by_arn.consumers.get(arn_name)
        if consumer is None or consumer.arn != consumer_arn:
            raise _consumer_not_found(consumer_arn, by_arn)
        return consumer
    if stream is None or name is None:
        raise InvalidArgumentException("Either ConsumerARN or both StreamARN and ConsumerName must be provided.")
    found = stream.consumers.get(name)
    if found is None:
        raise _consumer_not_found(name, stream)
    return found


def deregister_consumer(mesh: Mesh, consumer: Consumer, delay_s: float = DEFAULT_CONSUMER_DELAY_S) -> None:
    """DeregisterStreamConsumer: DELETING, then gone; its subscriptions end."""
    consumer.status = "DELETING"
    for subscription in list(consumer.subscriptions.values()):
        subscription.close()

    def forget() -> None:
        if consumer.stream.consumers.get(consumer.name) is consumer:
            del consumer.stream.consumers[consumer.name]

    if delay_s > 0:
        mesh.clock.call_later(delay_s, forget)
    else:
        forget()


def list_consumers(stream: Stream, max_results: int | None = None,
                   next_token: str | None = None) -> tuple[list[Consumer], str | None]:
    """ListStreamConsumers: by creation, at most 100 a page, NextToken the last name listed."""
    consumers = sorted(stream.consumers.values(), key=lambda c: (c.created_at, c.name))
    if next_token:
        try:
            after = base64.urlsafe_b64decode(next_token.encode()).decode()
        except (ValueError, binascii.Error):
            raise InvalidArgumentException("Invalid NextToken.") from None
        names = [c.name for c in consumers]
        if after not in names:
            raise InvalidArgumentException("Invalid NextToken.")
        consumers = consumers[names.index(after) + 1:]
    limit = min(max_results or DEFAULT_LIST_CONSUMERS, DEFAULT_LIST_CONSUMERS)
    page = consumers[:limit]
    token = base64.urlsafe_b64encode(page[-1].name.encode()).decode() if len(consumers) > limit else None
    return page, token


def subscribe(mesh: Mesh, consumer_arn: str, shard_id: str, iterator_type: str,
              sequence_number: str | None = None, timestamp: float | None = None) -> Subscription:
    """SubscribeToShard: a subscription from the starting position (see the module docstring)."""
    consumer = describe_consumer(mesh, consumer_arn=consumer_arn)
    if consumer.status != "ACTIVE":
        raise ResourceInUseException(
            f"Consumer {consumer_arn} is not in ACTIVE state, instead in state {consumer.status}.")
    stream = consumer.stream
    stream.require_readable()
    shard = stream.shard(shard_id)
    now = mesh.clock.now()
    current = consumer.subscriptions.get(shard.index)
    if current is not None and current.alive(now):
        if now < current.started_at + RESUBSCRIBE_INTERVAL_S:
            raise ResourceInUseException(
                f"Another active subscription exists for consumer {consumer_arn} and shard {shard.shard_id}.")
        current.superseded = True
        current.closed = True
    position = stream.start_position(shard, iterator_type, sequence_number, timestamp)
    subscription = consumer.subscriptions[shard.index] = Subscription(consumer, shard, position, now)
    return subscription
