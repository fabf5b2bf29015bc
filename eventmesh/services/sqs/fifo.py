"""SQS FIFO queue core: order per message group, the group lock, deduplication, sequence numbers.

Everything FIFO-specific lives here (spec sqs.md §8); the rest is :class:`~eventmesh.services.sqs.queue.Queue`.
* Each message group is a deque of its undeleted messages in send order. Messages in flight are a
  prefix of it; while a group has any message in flight it is *locked*: no later message of the
  group is handed out, even after their own visibility ran out (§8 group lock).
* Groups that may have something to receive wait in ``_ready`` (each at most once); a receive takes
  a group's visible head run, then fills up from the next groups, keeping each group's order.
* Deduplication: ids (explicit, or SHA-256 of the body with ContentBasedDeduplication) are
  remembered 5 minutes, per queue or per group (DeduplicationScope), even after deletion; a
  duplicate is accepted (same MessageId and SequenceNumber) but not enqueued. Expiry is a deque in
  send order pruned on each send: no timer.
* ReceiveRequestAttemptId: retrying a receive within 5 minutes returns the same messages and
  receipts as long as none was deleted or changed.
Cost: O(1) per message sent; O(messages taken + groups looked at) per receive.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Sequence

from eventmesh.effects import Available
from eventmesh.mesh import Mesh
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
from eventmesh.services.sqs.queue import Queue

__all__ = ["FifoQueue", "DEDUPLICATION_INTERVAL_S", "MAX_INFLIGHT_FIFO"]

DEDUPLICATION_INTERVAL_S = 300  # §8: 5-minute deduplication interval
RECEIVE_ATTEMPT_INTERVAL_S = 300  # §8: ReceiveRequestAttemptId is honoured for 5 minutes
MAX_INFLIGHT_FIFO = 120_000  # §5: no error when reached, receives answer empty
# Sequence numbers: 128-bit, increasing, not consecutive; 20 decimal digits like AWS's.
_SEQUENCE_SCALE = 10_000


class _Group:
    """One message group: its messages in order and how many are in flight."""

    __slots__ = ("id", "messages", "inflight", "queued")

    def __init__(self, group_id: str) -> None:
        self.id = group_id
        self.messages: deque[Message] = deque()
        self.inflight = 0
        self.queued = False


class FifoQueue(Queue):
    """A FIFO SQS queue (name ends in ``.fifo``): exactly-once processing, order per group."""

    fifo = True

    def __init__(self, mesh: Mesh, name: str, config: QueueConfig | None = None,
                 tags: dict[str, str] | None = None) -> None:
        super().__init__(mesh, name, config, tags)
        self._groups: dict[str, _Group] = {}
        self._ready: deque[_Group] = deque()
        self._dedup: dict[object, tuple[float, str, int]] = {}
        self._dedup_order: deque[tuple[float, object]] = deque()
        self._attempts: dict[str, tuple[float, list[Message], list[int]]] = {}
        self._sequence = int(self.created * 1_000_000) * _SEQUENCE_SCALE

    # -- sending -----------------------------------------------------------------------------

    def _dedup_key(self, entry: SendEntry) -> object:
        dedup_id = entry.deduplication_id
        if dedup_id is None:
            dedup_id = hashlib.sha256(entry.body.encode("utf-8")).hexdigest()
        if self.config.deduplication_scope == "messageGroup":
            return (entry.group_id, dedup_id)
        return dedup_id

    def _check_fifo(self, entry: SendEntry) -> None:
        if entry.group_id is None:
            raise MissingRequiredParameterException("The request must contain the parameter MessageGroupId.")
        check_group_id(entry.group_id)
        if entry.deduplication_id is not None:
            check_deduplication_id(entry.deduplication_id)
        elif not self.config.content_based_deduplication:
            raise InvalidParameterValueException(
                "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId "
                "provided explicitly")
        if entry.delay_seconds:
            raise InvalidParameterValueException(
                f"Value {entry.delay_seconds} for parameter DelaySeconds is invalid. Reason: The request "
                "include parameter that is not valid for this queue type.")

    def _next_sequence(self) -> int:
        self._sequence = max(self._sequence + 1, int(self.clock.now() * 1_000_000) * _SEQUENCE_SCALE)
        return self._sequence

    def send_batch(self, entries: Sequence[SendEntry]) -> list[Message | SqsError]:
        """SendMessageBatch on a FIFO queue: entries are enqueued in entry order."""
        now = self.clock.now()
        self._prune_dedup(now)
        base = self._next_ids()
        delay = self._delay
        results: list[Message | SqsError] = []
        added: list[Message] = []
        size_total = 0
        for i, entry in enumerate(entries):
            try:
                self._check_fifo(entry)
                size = check_entry(entry, self._max_size)
            except SqsError as error:
                results.append(error)
                continue
            key = self._dedup_key(entry)
            seen = self._dedup.get(key)
            if i > 15 and not i & 15:
                base = self._next_ids()
            if seen is not None:
                self.deduplicated += 1
                # Accepted, not enqueued: the answer names the original message.
                results.append(Message(seen[1], entry.body, entry.attributes or None, entry.trace_header,
                                       now, now, size, state=GONE, group_id=entry.group_id,
                                       sequence_number=seen[2]))
                continue
            msg = Message(base + "0123456789abcdef"[i & 15], entry.body, entry.attributes or None,
                          entry.trace_header, now, now, size, state=DELAYED if delay else VISIBLE,
                          group_id=entry.group_id, deduplication_id=entry.deduplication_id,
                          sequence_number=self._next_sequence())
            self._dedup[key] = (now + DEDUPLICATION_INTERVAL_S, msg.id, msg.sequence_number)
            self._dedup_order.append((now + DEDUPLICATION_INTERVAL_S, key))
            size_total += size
            results.append(msg)
            added.append(msg)
        if added:
            self._enqueue(added, now, delay)
            self.sent += len(added)
            self.sent_bytes += size_total
        return results

    def _prune_dedup(self, now: float) -> None:
        order = self._dedup_order
        dedup = self._dedup
        while order and order[0][0] <= now:
            expiry, key = order.popleft()
            if (seen := dedup.get(key)) is not None and seen[0] == expiry:
                del dedup[key]

    def _enqueue(self, msgs: list[Message], now: float, delay: int) -> None:
        groups = self._groups
        for msg in msgs:
            group = groups.get(msg.group_id)  # type: ignore[arg-type]
            if group is None:
                group = groups[msg.group_id] = _Group(msg.group_id)  # type: ignore[index,arg-type]
            group.messages.append(msg)
        if delay:
            self._delay_chunk(delay, now, msgs)
        else:
            self._n_visible += len(msgs)
            self._retain(msgs)
            self._wake_groups(msgs)

    def _wake_groups(self, msgs: list[Message]) -> None:
        """Queue the groups of ``msgs`` that may now have something to receive; wake long polls."""
        woke = False
        groups = self._groups
        ready = self._ready
        for msg in msgs:
            group = groups.get(msg.group_id)  # type: ignore[arg-type]
            if group is not None and not group.queued and not group.inflight:
                group.queued = True
                ready.append(group)
                woke = True
        if woke:
            self.mesh.emit(Available(self.arn))

    def _make_visible(self, msgs: list[Message]) -> None:
        for msg in msgs:
            msg.state = VISIBLE
        self._n_visible += len(msgs)
        self._wake_groups(msgs)

    # -- receiving ---------------------------------------------------------------------------

    def receive(self, max_messages: int = 1, visibility_timeout: int | None = None, *, wait: bool = False,
                attempt_id: str | None = None, count_empty: bool = True) -> list[Message]:
        """ReceiveMessage on a FIFO queue: fill the batch from one group's head run, then from the
        next groups; each group taken is locked until its messages are deleted or visible again."""
        now = self.clock.now()
        if attempt_id is not None:
            again = self._retry_attempt(attempt_id, now)
            if again is not None:
                return again
        if self._n_inflight >= MAX_INFLIGHT_FIFO or not self._ready:
            self.empty_receives += count_empty
            return []
        timeout = self._visibility_timeout if visibility_timeout is None else visibility_timeout
        max_receives = self._max_receives if self._dead_letter_queue() is not None else 0
        out: list[Message] = []
        dead: list[Message] = []
        ready = self._ready
        while ready and len(out) < max_messages:
            group = ready.popleft()
            group.queued = False
            if group.inflight:
                continue
            msgs = group.messages
            while msgs and msgs[0].state == GONE:
                msgs.popleft()
            taken = 0
            for msg in msgs:
                state = msg.state
                if state == GONE:
                    continue
                if state != VISIBLE:
                    break
                if max_receives and msg.receive_count >= max_receives:
                    dead.append(msg)
                    continue
                out.append(msg)
                taken += 1
                if len(out) >= max_messages:
                    break
            group.inflight = taken
            if not msgs and self._groups.get(group.id) is group:
                del self._groups[group.id]
        if dead:
            self._n_visible -= len(dead)
            self._redrive(dead)
        if not out:
            self.empty_receives += count_empty
            return out
        by_receipt = self._by_receipt
        receipt = self._receipt
        lease_no = self._lease_no + 1
        for msg in out:
            if msg.receipt:
                by_receipt.pop(msg.receipt, None)
            receipt += 1
            by_receipt[receipt] = msg
            msg.receipt = receipt
            msg.state = INFLIGHT
            msg.lease = lease_no
            msg.receive_count += 1
            msg.received = now
            if not msg.first_receive:
                msg.first_receive = now
        self._receipt = receipt
        self._n_visible -= len(out)
        self._n_inflight += len(out)
        self.received += len(out)
        if attempt_id is not None:
            expiry = now + RECEIVE_ATTEMPT_INTERVAL_S
            self._attempts[attempt_id] = (expiry, list(out), [m.receipt for m in out])
        if timeout:
            self._lease(lease_no, now + timeout, timeout, out)
        else:
            self._lease_no = lease_no
            self._expire_now(out)
        return out

    def _retry_attempt(self, attempt_id: str, now: float) -> list[Message] | None:
        for key in [k for k, v in self._attempts.items() if v[0] <= now]:
            del self._attempts[key]
        attempt = self._attempts.get(attempt_id)
        if attempt is None:
            return None
        _, msgs, receipts = attempt
        if all(m.state == INFLIGHT and m.receipt == r for m, r in zip(msgs, receipts, strict=True)):
            return list(msgs)
        return None

    def _expire_now(self, msgs: list[Message]) -> None:
        groups = self._groups
        for msg in msgs:
            group = groups.get(msg.group_id)  # type: ignore[arg-type]
            if group is not None:
                group.inflight -= 1
        super()._expire_now(msgs)

    # -- deleting ----------------------------------------------------------------------------

    def _expired_handle(self, receipt: int) -> SqsError:
        return InvalidParameterValueException(
            f"Value {self.handle_prefix}{receipt:x} for parameter ReceiptHandle is invalid. Reason: The "
            "receipt handle has expired.")

    def _stale_error(self, receipt: int) -> SqsError | None:
        return self._expired_handle(receipt)

    def _delete_visible(self, msg: Message, receipt: int) -> SqsError | None:
        return self._expired_handle(receipt)  # FIFO: a handle past its visibility timeout is dead

    def _forget(self, msg: Message, was_inflight: bool) -> None:
        """A message left: drop it from its group's head; a group with nothing in flight unlocks."""
        group = self._groups.get(msg.group_id)  # type: ignore[arg-type]
        if group is None:
            return
        if was_inflight:
            group.inflight -= 1
        msgs = group.messages
        while msgs and msgs[0].state == GONE:
            msgs.popleft()
        if not group.inflight:
            if msgs:
                if not group.queued:
                    self._wake_groups([msgs[0]])
            elif not group.queued:
                del self._groups[group.id]

    # -- redrive and reset -------------------------------------------------------------------

    def _retention_base(self, msg: Message) -> float:
        return msg.enqueued  # FIFO resets the enqueue time when a message moves (§9)

    def take_redriven(self, msgs: list[Message], source_arn: str) -> None:
        """FIFO DLQ: the dedup id becomes the message id, a new sequence number, retention reset."""
        now = self.clock.now()
        for msg in msgs:
            msg.enqueued = now
            msg.deduplication_id = msg.id
            msg.sequence_number = self._next_sequence()
            if msg.group_id is None:
                msg.group_id = "default"
        self._enqueue(msgs, now, 0)

    def _reset_storage(self) -> None:
        super()._reset_storage()
        self._groups.clear()
        self._ready.clear()
        self._attempts.clear()

    def take_visible(self, limit: int) -> list[Message]:
        out: list[Message] = []
        for group in list(self._groups.values()):
            if group.inflight:
                continue
            for msg in list(group.messages):
                if len(out) >= limit:
                    return out
                if msg.state == VISIBLE:
                    self._drop(msg)
                    out.append(msg)
                elif msg.state != GONE:
                    break
        return out
