"""The order of a FIFO SQS queue: order per message group, the group lock, deduplication, sequence numbers.

Everything FIFO-specific lives here; the storage every queue has is the queue's (``queue.py``).
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues.html

* Each message group is a deque of its undeleted messages in send order. A group is receivable
  while its head (oldest undeleted message) is visible: a receive hands out the visible run from
  the head, so while the head is in flight no later message of the group is handed out, even after
  their own visibility ran out; and as soon as the head is visible again (its visibility ran out or
  was changed) the group is receivable again, though later messages may still be in flight (as
  recorded on AWS).
* Groups that may have something to receive wait in ``ready`` (each at most once); a receive takes
  a group's visible head run, then fills up from the next groups, keeping each group's order.
* Deduplication: ids (explicit, or SHA-256 of the body with ContentBasedDeduplication) are
  remembered 5 minutes, per queue or per group (DeduplicationScope), even after deletion; a
  duplicate is accepted (same MessageId and SequenceNumber) but not enqueued. Expiry is a deque in
  send order pruned on each send: no timer.
* ReceiveRequestAttemptId: retrying a receive within 5 minutes returns the same messages and
  receipts as long as none was deleted or changed.
* A receipt that is not the latest, or one whose visibility ran out, is refused.
* PurgeQueue forgets the deduplication ids too: a message sent after a purge is enqueued.
Cost: O(1) per message sent; O(messages taken + groups looked at) per receive.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eventmesh.effects import Delivery, DeliveryResult
from eventmesh.services.sqs.attributes import QueueConfig
from eventmesh.services.sqs.errors import (
    InvalidParameterValueException,
    MissingRequiredParameterException,
    SqsError,
)
from eventmesh.services.sqs.message import (
    DELAYED,
    GONE,
    INFLIGHT,
    VISIBLE,
    Message,
    SendEntry,
    check_deduplication_id,
    check_entry,
    check_group_id,
)
from eventmesh.services.sqs.order import ID_DIGITS, QueueStore, send_deliveries, split_batch

__all__ = ["FifoOrder", "DEDUPLICATION_INTERVAL_S", "MAX_INFLIGHT_FIFO", "RECEIVE_ATTEMPT_INTERVAL_S", "check_batch"]

DEDUPLICATION_INTERVAL_S = 300  # the 5-minute deduplication interval
RECEIVE_ATTEMPT_INTERVAL_S = 300  # ReceiveRequestAttemptId is honoured for 5 minutes
MAX_INFLIGHT_FIFO = 120_000  # no error when reached: receives answer empty
DEFAULT_GROUP_ID = "default"  # the group of a redriven message that had none
# Sequence numbers: 128-bit, increasing, not consecutive; 20 decimal digits like AWS's.
_SEQUENCE_SCALE = 10_000
_NO_DEDUPLICATION_ID = ("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId "
                        "provided explicitly")


class _Group:
    """One message group: its undeleted messages in order, and whether it waits in ``ready``."""

    __slots__ = ("id", "messages", "queued")

    def __init__(self, group_id: str) -> None:
        self.id = group_id
        self.messages: deque[Message] = deque()
        self.queued = False

    def head(self) -> Message | None:
        """The oldest undeleted message (deleted ones are dropped from the front on the way)."""
        msgs = self.messages
        while msgs and msgs[0].state == GONE:
            msgs.popleft()
        return msgs[0] if msgs else None


def check_batch(config: QueueConfig, entries: Sequence[Mapping[str, Any]]) -> None:
    """SendMessageBatch on a FIFO queue: an entry without ``MessageGroupId``, or without
    ``MessageDeduplicationId`` on a queue without content-based deduplication, fails the whole
    request (not the entry), with InvalidParameterValue, as AWS answers."""
    for entry in entries:
        if entry.get("MessageGroupId") is None:
            raise InvalidParameterValueException("The request must contain the parameter MessageGroupId.")
        if entry.get("MessageDeduplicationId") is None and not config.content_based_deduplication:
            raise InvalidParameterValueException(_NO_DEDUPLICATION_ID)


class FifoOrder:
    """A FIFO queue's admission and receive order (see the module docstring)."""

    fifo = True
    max_inflight = MAX_INFLIGHT_FIFO

    def __init__(self, queue: QueueStore) -> None:
        self.queue = queue
        self.groups: dict[str, _Group] = {}
        self.ready: deque[_Group] = deque()
        self._dedup: dict[object, tuple[float, str, int]] = {}
        self._dedup_order: deque[tuple[float, object]] = deque()
        self._attempts: dict[str, tuple[float, list[Message], list[int]]] = {}
        self._sequence = int(queue.clock.now() * 1_000_000) * _SEQUENCE_SCALE

    # -- sending -----------------------------------------------------------------------------

    def _dedup_key(self, entry: SendEntry) -> object:
        dedup_id = entry.deduplication_id
        if dedup_id is None:
            dedup_id = hashlib.sha256(entry.body.encode("utf-8")).hexdigest()
        if self.queue.config.deduplication_scope == "messageGroup":
            return (entry.group_id, dedup_id)
        return dedup_id

    def _check(self, entry: SendEntry) -> None:
        if entry.group_id is None:
            raise MissingRequiredParameterException("The request must contain the parameter MessageGroupId.")
        check_group_id(entry.group_id)
        if entry.deduplication_id is not None:
            check_deduplication_id(entry.deduplication_id)
        elif not self.queue.config.content_based_deduplication:
            raise InvalidParameterValueException(_NO_DEDUPLICATION_ID)
        if entry.delay_seconds:
            raise InvalidParameterValueException(
                f"Value {entry.delay_seconds} for parameter DelaySeconds is invalid. Reason: The request "
                "include parameter that is not valid for this queue type.")

    def _next_sequence(self) -> int:
        now = self.queue.clock.now()
        self._sequence = max(self._sequence + 1, int(now * 1_000_000) * _SEQUENCE_SCALE)
        return self._sequence

    def send_batch(self, entries: Sequence[SendEntry]) -> list[Message | SqsError]:
        """SendMessageBatch on a FIFO queue: entries are enqueued in entry order."""
        if len(entries) > len(ID_DIGITS):
            return split_batch(self.send_batch, entries)
        queue = self.queue
        now = queue.clock.now()
        self._prune_dedup(now)
        base = queue.next_id_base()
        delay = queue.delay_s
        results: list[Message | SqsError] = []
        added: list[Message] = []
        size_total = 0
        for i, entry in enumerate(entries):
            try:
                self._check(entry)
                size = check_entry(entry, queue.max_size)
            except SqsError as error:
                results.append(error)
                continue
            key = self._dedup_key(entry)
            seen = self._dedup.get(key)
            if seen is not None:
                queue.deduplicated += 1
                # Accepted, not enqueued: the answer names the original message.
                results.append(Message(seen[1], entry.body, entry.attributes or None, entry.trace_header,
                                       now, now, size, state=GONE, group_id=entry.group_id,
                                       sequence_number=seen[2]))
                continue
            msg = Message(base + ID_DIGITS[i], entry.body, entry.attributes or None,
                          entry.trace_header, now, now, size, state=DELAYED if delay else VISIBLE,
                          group_id=entry.group_id, deduplication_id=entry.deduplication_id,
                          sequence_number=self._next_sequence())
            self._dedup[key] = (now + DEDUPLICATION_INTERVAL_S, msg.id, msg.sequence_number)
            self._dedup_order.append((now + DEDUPLICATION_INTERVAL_S, key))
            size_total += size
            results.append(msg)
            added.append(msg)
        if added:
            self._enqueue(added)
            if delay:
                queue.delay(delay, now, added)
                queue.store_visible([], len(added), size_total)
            else:
                queue.store_visible(added, len(added), size_total)
        return results

    def acceptor(self) -> Callable[[list[Delivery], str], DeliveryResult]:
        """What the queue binds as its ``accept``: the method (a FIFO queue has no compiled path)."""
        return self.accept

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        """A delivery from another core (an SNS FIFO topic, an EventBridge target with a group id)."""
        return send_deliveries(self.queue.send_batch, items)

    def _prune_dedup(self, now: float) -> None:
        order = self._dedup_order
        dedup = self._dedup
        while order and order[0][0] <= now:
            expiry, key = order.popleft()
            if (seen := dedup.get(key)) is not None and seen[0] == expiry:
                del dedup[key]

    def _enqueue(self, msgs: list[Message]) -> None:
        groups = self.groups
        for msg in msgs:
            group = groups.get(msg.group_id)  # type: ignore[arg-type]
            if group is None:
                group = groups[msg.group_id] = _Group(msg.group_id)  # type: ignore[index,arg-type]
            group.messages.append(msg)

    # -- receiving ---------------------------------------------------------------------------

    def made_visible(self, msgs: list[Message], was_empty: bool) -> bool:
        """Queue the groups of ``msgs`` whose head is now visible; True when one woke."""
        woke = False
        groups = self.groups
        ready = self.ready
        for msg in msgs:
            group = groups.get(msg.group_id)  # type: ignore[arg-type]
            if group is not None and not group.queued:
                head = group.head()
                if head is not None and head.state == VISIBLE:
                    group.queued = True
                    ready.append(group)
                    woke = True
        return woke

    def take(self, wanted: int, max_receives: int) -> tuple[list[Message], list[Message] | None]:
        """Fill the batch from one group's visible head run, then from the next groups; a group
        whose head is taken stays out of ``ready`` until its head is visible again or deleted."""
        out: list[Message] = []
        dead: list[Message] = []
        ready = self.ready
        groups = self.groups
        while ready and len(out) < wanted:
            group = ready.popleft()
            group.queued = False
            head = group.head()
            if head is None:
                if groups.get(group.id) is group:
                    del groups[group.id]
                continue
            for msg in group.messages:
                state = msg.state
                if state == GONE:
                    continue
                if state != VISIBLE:
                    break
                if max_receives and msg.receive_count >= max_receives:
                    dead.append(msg)
                    continue
                out.append(msg)
                if len(out) >= wanted:
                    break
        return out, dead

    def released(self, msgs: list[Message]) -> None:
        """In-flight messages are about to become visible again (``made_visible`` queues their groups)."""

    def gone(self, msg: Message, was_inflight: bool) -> None:
        """A message left: a group whose head is now visible is receivable; an empty one goes."""
        group = self.groups.get(msg.group_id)  # type: ignore[arg-type]
        if group is None or group.queued:
            return
        head = group.head()
        if head is None:
            del self.groups[group.id]
        elif head.state == VISIBLE and self.made_visible([head], False):
            self.queue.wake()

    def retry_attempt(self, attempt_id: str, now: float) -> list[Message] | None:
        """The messages of an earlier receive with this ReceiveRequestAttemptId, while still valid."""
        for key in [k for k, v in self._attempts.items() if v[0] <= now]:
            del self._attempts[key]
        attempt = self._attempts.get(attempt_id)
        if attempt is None:
            return None
        _, msgs, receipts = attempt
        if all(m.state == INFLIGHT and m.receipt == r for m, r in zip(msgs, receipts, strict=True)):
            return list(msgs)
        return None

    def remember_attempt(self, attempt_id: str, now: float, msgs: list[Message]) -> None:
        self._attempts[attempt_id] = (now + RECEIVE_ATTEMPT_INTERVAL_S, list(msgs), [m.receipt for m in msgs])

    # -- receipts ----------------------------------------------------------------------------

    def _expired_handle(self, receipt: int) -> SqsError:
        return InvalidParameterValueException(
            f"Value {self.queue.handle_prefix}{receipt:x} for parameter ReceiptHandle is invalid. Reason: The "
            "receipt handle has expired.")

    def stale_error(self, receipt: int) -> SqsError | None:
        return self._expired_handle(receipt)

    def late_delete_error(self, receipt: int) -> SqsError | None:
        return self._expired_handle(receipt)  # a handle past its visibility timeout is dead

    # -- redrive and reset -------------------------------------------------------------------

    @staticmethod
    def retention_base(msg: Message) -> float:
        return msg.enqueued  # FIFO resets the enqueue time when a message moves

    def redriven(self, msgs: list[Message], now: float) -> None:
        """FIFO DLQ: the dedup id becomes the message id, a new sequence number, retention reset."""
        for msg in msgs:
            msg.enqueued = now
            msg.deduplication_id = msg.id
            msg.sequence_number = self._next_sequence()
            if msg.group_id is None:
                msg.group_id = DEFAULT_GROUP_ID
        self._enqueue(msgs)

    def reset(self) -> None:
        """Purge (and delete): every message goes, and with them the deduplication ids."""
        self.groups.clear()
        self.ready.clear()
        self._attempts.clear()
        self._dedup.clear()
        self._dedup_order.clear()

    def take_visible(self, limit: int) -> list[Message]:
        """Remove up to ``limit`` visible messages, group by group in order (message move tasks)."""
        out: list[Message] = []
        drop = self.queue.drop
        for group in list(self.groups.values()):
            head = group.head()
            if head is None or head.state != VISIBLE:
                continue
            for msg in list(group.messages):
                if len(out) >= limit:
                    return out
                if msg.state == VISIBLE:
                    drop(msg)
                    out.append(msg)
                elif msg.state != GONE:
                    break
        return out
