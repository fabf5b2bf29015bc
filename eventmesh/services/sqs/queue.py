"""SQS queue core, standard and FIFO: send, receive, visibility, delete, delays, retention, redrive.

Everything that decides where a queue's message is lives here. A message is ``DELAYED`` (its
delay lane), ``VISIBLE`` (receivable), ``INFLIGHT`` (a lease) or ``GONE``. One :class:`Queue` class
serves both kinds by composition: the parts every queue has are components of their own
(``leases.py``: receipts and leases; ``retention.py``: expiry), and what differs by kind is the
queue's *order* (``standard.py``: best-effort order, at-least-once; ``fifo.py``: message groups,
deduplication, sequence numbers), which decides how sent messages are admitted, which visible
messages a receive takes, and what a stale receipt means. The receive loop, receipts, leases,
delays, redrive and retention are written once, here and in those components.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/welcome.html

Cost model, per message, O(1) amortised everywhere on the hot path (send + receive + delete):
one lease per received batch (never one timer per message), one delay chunk per sent batch per
delay value, retention by sent batch. Counters are plain ints read by :meth:`statistics`.

An outage (a fault a simulation or ``/_eventmesh/faults`` injects, :meth:`set_available`) swaps
the send and delivery entry points for ones answering ``ServiceUnavailable`` (503, retryable), as
:meth:`close` swaps them for ``QueueDoesNotExist``: nothing is checked on the hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import msgspec

from eventmesh.effects import Available, Delivery, DeliveryResult
from eventmesh.mesh import Mesh
from eventmesh.services.sqs.attributes import MAX_VISIBILITY_TIMEOUT_S, QueueConfig
from eventmesh.services.sqs.errors import (
    InvalidParameterValueException,
    OverLimit,
    PurgeQueueInProgress,
    QueueDoesNotExist,
    ReceiptHandleIsInvalid,
    ServiceUnavailable,
    SqsError,
)
from eventmesh.services.sqs.fifo import FifoOrder
from eventmesh.services.sqs.leases import Lane, Leases
from eventmesh.services.sqs.md5 import md5_of_attributes, md5_of_body
from eventmesh.services.sqs.message import DELAYED, GONE, INFLIGHT, VISIBLE, Message, SendEntry
from eventmesh.services.sqs.order import ID_DIGITS
from eventmesh.services.sqs.polls import LongPoll, Polls, Waiter
from eventmesh.services.sqs.retention import Retention
from eventmesh.services.sqs.standard import StandardOrder

__all__ = ["Queue", "QueueStatistics", "PURGE_INTERVAL_S"]

PURGE_INTERVAL_S = 60  # one PurgeQueue per 60 s (API_PurgeQueue.html)


class QueueStatistics(msgspec.Struct, frozen=True):
    """CloudWatch ``AWS/SQS`` metrics of one queue (dimension ``QueueName``), snake_case."""

    approximate_number_of_messages_visible: int
    approximate_number_of_messages_not_visible: int
    approximate_number_of_messages_delayed: int
    approximate_age_of_oldest_message: int
    number_of_messages_sent: int
    number_of_messages_received: int
    number_of_messages_deleted: int
    number_of_empty_receives: int
    number_of_deduplicated_sent_messages: int
    sent_message_size: int

    counters: ClassVar[frozenset[str]] = frozenset({
        "number_of_messages_sent", "number_of_messages_received", "number_of_messages_deleted",
        "number_of_empty_receives", "number_of_deduplicated_sent_messages", "sent_message_size",
    })
    units: ClassVar[dict[str, str]] = {"approximate_age_of_oldest_message": "seconds", "sent_message_size": "bytes"}


class RedriveLinkStatistics(msgspec.Struct, frozen=True):
    """1 for a queue that another queue's RedrivePolicy sends to: lets a dashboard or an alert
    pick out dead-letter queues (``... and on (queue_name) eventmesh_sqs_dead_letter_queue``)."""

    dead_letter_queue: int = 1
    extras: ClassVar[frozenset[str]] = frozenset({"dead_letter_queue"})
    helps: ClassVar[dict[str, str]] = {
        "dead_letter_queue": "eventmesh: 1 for each queue (queue_name) that the RedrivePolicy of another "
                             "queue (source_queue_name) names as its dead-letter queue"}


class _RedriveLink:
    metric_namespace = "eventmesh/SQS"

    def __init__(self, dead_letter_arn: str, source_name: str) -> None:
        self._dimensions = {"QueueName": dead_letter_arn.rsplit(":", 1)[-1], "SourceQueueName": source_name}

    def metric_dimensions(self) -> dict[str, str]:
        return self._dimensions

    @staticmethod
    def statistics() -> RedriveLinkStatistics:
        return RedriveLinkStatistics()


class _Chunk:
    """Messages sent together with the same delay, visible at ``deadline``."""

    __slots__ = ("deadline", "messages")

    def __init__(self, deadline: float, messages: list[Message]) -> None:
        self.deadline = deadline
        self.messages = messages


class Queue:
    """An SQS queue (a FIFO queue when its config says ``FifoQueue``; its name then ends ``.fifo``)."""

    metric_namespace = "AWS/SQS"

    def __init__(self, mesh: Mesh, name: str, config: QueueConfig | None = None,
                 tags: dict[str, str] | None = None) -> None:
        self.mesh = mesh
        self.clock = mesh.clock
        self.name = name
        self.arn = mesh.arn("sqs", name)
        self.account_id = mesh.account_id
        self.config = config if config is not None else QueueConfig(fifo_queue=name.endswith(".fifo"))
        self.fifo = self.config.fifo_queue
        self.tags: dict[str, str] = dict(tags or {})
        self.created = self.last_modified = self.clock.now()
        self.closed = False
        self._purged_at: float | None = None
        ids = mesh.ids
        # Message ids are UUID v4 strings: a random per-queue head and a counter in the last group
        # (one format per 16 sent batches, one char per batch and per message: a uuid4() per
        # message costs 1.4 µs).
        self._id_head = ids.uuid()[:24]
        self._id_batch = ids.random.getrandbits(40)
        self._id_block = -1      # the batch counter without its last hex digit ...
        self._id_block_text = ""  # ... and the head with that block's 10 hex digits
        self.handle_prefix = "AQEB" + ids.token(30)
        self.available = Available(self.arn)  # one effect object, emitted again and again
        self.n_visible = 0
        self.n_inflight = 0
        self.n_delayed = 0
        self.leases = Leases(self.clock, self._expire_now, keep_superseded=not self.fifo)
        self.polls = Polls(self.clock, self._receive_for, self.count_empty_receive)
        self._delays: dict[int, Lane] = {}  # delay seconds -> lane of chunks
        self.order: StandardOrder | FifoOrder = FifoOrder(self) if self.fifo else StandardOrder(self)
        self.retention = Retention(self.clock, self.config.message_retention_period, self.order.retention_base,
                                   self._expire_retained, self._live)
        # One call less per batch and per delivery: the order's own methods, bound here.
        self.send_batch = self.order.send_batch  # type: ignore[method-assign]
        self.accept = self.order.acceptor()  # type: ignore[method-assign, assignment]
        # Metrics: plain ints, read at scrape time.
        self.sent = self.received = self.deleted = self.empty_receives = self.deduplicated = 0
        self.sent_bytes = 0
        # Where messages went besides deletes (a simulation's totals balance on them): moved in
        # from a source queue or a move task, moved out (to the dead-letter queue, by a move
        # task), expired, purged.
        self.moved_in = self.moved_out = self.expired = self.purged = 0
        self.unavailable = False
        self._apply_config()

    # -- configuration -----------------------------------------------------------------------

    def _apply_config(self) -> None:
        config = self.config
        self.visibility_timeout = config.visibility_timeout
        self.delay_s = config.delay_seconds
        self.max_size = config.maximum_message_size
        policy = config.redrive_policy
        self._max_receives = policy.max_receive_count if policy is not None else 0
        self._dlq_arn = policy.dead_letter_target_arn if policy is not None else ""

    def configure(self, config: QueueConfig) -> None:
        """Install new attributes (already validated); a shorter retention expires messages now."""
        self.config = config
        self.last_modified = self.clock.now()
        self._apply_config()
        self.retention.set_period(config.message_retention_period)

    def metric_dimensions(self) -> dict[str, str]:
        return {"QueueName": self.name}

    # -- sending (the order admits, the queue stores) ----------------------------------------

    def next_id_base(self) -> str:
        """The first 35 characters of the ids of one sent batch (``ID_DIGITS`` gives the last):
        the head and the batch counter's low 44 bits in 11 hex digits, of which the first 10 are
        formatted once per 16 batches."""
        self._id_batch = batch = self._id_batch + 1
        block = batch >> 4
        if block != self._id_block:
            self._id_block = block
            self._id_block_text = f"{self._id_head}{block & 0xFFFFFFFFFF:010x}"
        return self._id_block_text + ID_DIGITS[batch & 15]

    def send(self, entry: SendEntry) -> Message:
        """SendMessage: raises the entry's error; returns the stored message."""
        result = self.send_batch([entry])[0]
        if isinstance(result, SqsError):
            raise result
        return result

    def send_batch(self, entries: Sequence[SendEntry]) -> list[Message | SqsError]:
        """SendMessageBatch: one result per entry, in order: the message, or the entry's error.
        (Replaced in ``__init__`` by the order's own, which this documents.)"""
        return self.order.send_batch(entries)

    def store_visible(self, ready: list[Message], accepted: int, size_total: int) -> None:
        """A sent batch: ``ready`` (receivable now) handed to the order, woken and kept for
        retention, and the batch's NumberOfMessagesSent and SentMessageSize (``accepted`` may
        count delayed messages too)."""
        wake = bool(ready) and self.order.made_visible(ready, not self.n_visible)
        self.placed(ready, accepted, size_total, wake)

    def placed(self, ready: list[Message], accepted: int, size_total: int, wake: bool) -> None:
        """``store_visible`` for an order that placed ``ready`` itself (the standard send path;
        ``StandardOrder.accept`` has it inline: keep the two alike)."""
        if ready:
            self.n_visible += len(ready)
            if wake:
                self.wake()
            retention = self.retention
            retention.batches.append(tuple(ready))  # Retention.keep inline (once per sent batch)
            if retention.timer is None or len(retention.batches) > retention.check_at:
                retention.checks()
        self.sent += accepted
        self.sent_bytes += size_total

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        """A delivery from another core (SNS subscription, EventBridge/Lambda target): the
        order's ``accept``, bound in ``__init__``. A deleted queue is gone from the mesh, so
        deliveries by ARN never reach it; one that still holds it gets QueueDoesNotExist."""
        return self.order.accept(items, source_arn)

    def delay(self, delay: int, now: float, msgs: list[Message]) -> None:
        """Messages sent with a delay: visible at ``now + delay`` (one chunk and lane timer)."""
        lane = self._delays.get(delay)
        if lane is None:
            lane = self._delays[delay] = Lane(self._on_delay_lane)
        lane.entries.append(_Chunk(now + delay, msgs))
        self.n_delayed += len(msgs)
        if lane.timer is None:
            lane.arm(self.clock, now + delay)
        self.retention.keep(msgs)

    def _on_delay_lane(self, lane: Lane) -> None:
        lane.timer = None
        now = self.clock.now()
        entries = lane.entries
        woke: list[Message] = []
        while entries and entries[0].deadline <= now:
            for msg in entries.popleft().messages:
                if msg.state == DELAYED:
                    woke.append(msg)
        if woke:
            self.n_delayed -= len(woke)
            self._make_visible(woke)
        if entries:
            lane.arm(self.clock, entries[0].deadline)

    def wake(self) -> None:
        """Something became receivable: serve the waiting long polls, then wake the mappings'
        pollers (``Available``)."""
        if self.polls.waiting:
            self.polls.serve()
        self.mesh.emit(self.available)

    def _make_visible(self, msgs: list[Message]) -> None:
        """Delayed or expired-in-flight messages become receivable again."""
        for msg in msgs:
            msg.state = VISIBLE
        was_empty = not self.n_visible
        self.n_visible += len(msgs)
        if self.order.made_visible(msgs, was_empty):
            self.wake()

    # -- receiving ---------------------------------------------------------------------------

    def receive(self, max_messages: int = 1, visibility_timeout: int | None = None, *, wait: bool = False,
                attempt_id: str | None = None, count_empty: bool = True) -> list[Message]:
        """ReceiveMessage without waiting (the driver owns long polls): up to ``max_messages``
        visible messages, now in flight for ``visibility_timeout`` (queue default if None), taken
        in the queue's order. Deviation: a short poll on AWS samples a subset of servers and may
        answer fewer messages (or none) than are visible; here it answers every visible one up to
        the maximum. Messages past the redrive policy's ``maxReceiveCount`` move to the dead-letter
        queue instead. Past the in-flight limit a standard queue's short poll answers OverLimit
        (``wait``: a long poll is asking, which answers empty), a FIFO queue's answers empty.
        ``count_empty=False``: a long poll's intermediate attempt (it counts one empty receive at
        the end, with :meth:`count_empty_receive`).
        """
        if self.unavailable:
            raise ServiceUnavailable()
        order = self.order
        now = self.clock.now()
        if attempt_id is not None:
            again = order.retry_attempt(attempt_id, now)
            if again is not None:
                return again
        if self.n_inflight >= order.max_inflight:
            if wait or order.fifo:
                self.empty_receives += count_empty
                return []
            raise OverLimit(f"Too many messages in flight for queue {self.name}.")
        if not self.n_visible:
            self.empty_receives += count_empty
            return []
        max_receives = self._max_receives
        if max_receives and self._dead_letter_queue() is None:
            max_receives = 0
        out, dead = order.take(max_messages, max_receives)
        if dead:
            self.n_visible -= len(dead)
            self._redrive(dead)
        if not out:
            self.empty_receives += count_empty
            return out
        taken = len(out)
        self.n_visible -= taken
        self.n_inflight += taken
        self.received += taken
        self.leases.grant(out, now, self.visibility_timeout if visibility_timeout is None else visibility_timeout)
        if attempt_id is not None:
            order.remember_attempt(attempt_id, now, out)
        return out

    def wait_for(self, count: int, visibility_timeout: int | None, wait_s: float, attempt_id: str | None,
                  waiter: Waiter) -> None:
        """A long poll found nothing: the queue answers ``waiter`` as soon as messages are
        receivable (see polls.py), or with none after ``wait_s``."""
        self.polls.add(LongPoll(count, visibility_timeout, attempt_id, waiter), wait_s)

    def _receive_for(self, poll: LongPoll) -> list[Message]:
        return self.receive(poll.count, poll.visibility_timeout, wait=True, attempt_id=poll.attempt_id,
                            count_empty=False)

    def count_empty_receive(self, calls: int = 1) -> None:
        """Long polls ended with nothing: one NumberOfEmptyReceives for each whole call."""
        self.empty_receives += calls

    def _expire_now(self, msgs: list[Message]) -> None:
        """Visibility ran out: back to visible (the latest receipt stays valid until the next receive)."""
        self.n_inflight -= len(msgs)
        self.order.released(msgs)
        self._make_visible(msgs)

    # -- receipts ----------------------------------------------------------------------------

    def receipt_handle(self, msg: Message) -> str:
        """The wire receipt handle of the message's latest receive."""
        return f"{self.handle_prefix}{msg.receipt:x}"

    def receipt_handles(self, msgs: list[Message]) -> list[str]:
        """``receipt_handle`` of each message (one call for a received batch)."""
        prefix = self.handle_prefix
        return [f"{prefix}{msg.receipt:x}" for msg in msgs]

    def parse_handle(self, handle: str) -> int:
        """The receipt number of a wire handle; ``ReceiptHandleIsInvalid`` if this queue never made it."""
        prefix = self.handle_prefix
        if handle.startswith(prefix):
            try:
                number = int(handle[len(prefix):], 16)
            except ValueError:
                number = 0
            if 0 < number <= self.leases.receipt:
                return number
        raise ReceiptHandleIsInvalid(f'The input receipt handle "{handle}" is not a valid receipt handle.')

    def delete(self, receipt: int) -> None:
        """DeleteMessage by receipt number (see :meth:`parse_handle`)."""
        failures = self.delete_batch((receipt,))
        if failures:
            raise failures[0]

    def delete_batch(self, receipts: Sequence[int]) -> dict[int, SqsError]:
        """DeleteMessageBatch: the failures by entry index (none: all deleted, or a stale receipt
        the order answers 200 to). The latest receipt deletes a message in flight, or (standard)
        one whose visibility ran out."""
        if self.unavailable:
            return dict.fromkeys(range(len(receipts)), ServiceUnavailable())
        leases, order = self.leases, self.order
        by_receipt = leases.by_receipt
        failures: dict[int, SqsError] = {}
        gone = order.gone if order.fifo else None
        deleted = inflight = 0
        lease_no, lease = -1, None  # a deleted batch is mostly the messages of one lease
        for i, receipt in enumerate(receipts):
            msg = by_receipt.pop(receipt, None)
            if msg is None:
                if (error := order.stale_error(receipt)) is not None:
                    failures[i] = error
                continue
            state = msg.state
            if state == INFLIGHT:
                inflight += 1
                if msg.lease != lease_no:
                    lease_no, lease = msg.lease, leases.find_lease(msg.lease)
                if lease is not None:
                    lease.live -= 1
                    if not lease.live:
                        leases.emptied(lease)
                        lease = None
            elif (error := order.late_delete_error(receipt)) is not None:
                by_receipt[receipt] = msg
                failures[i] = error
                continue
            else:
                self.n_visible -= 1  # its visibility ran out: it was receivable (a tombstone now)
            msg.state = GONE
            if gone is not None:
                gone(msg, state == INFLIGHT)
            deleted += 1
        self.n_inflight -= inflight
        self.deleted += deleted
        self.retention.trim()
        return failures

    def change_visibility(self, receipt: int, timeout: int) -> None:
        """ChangeMessageVisibility: the new timeout counts from now, for this message only; 0 makes
        it visible at once; total visibility stays within 12 h of the receive (no clamping). A
        deleted message answers InvalidParameterValue; on a standard queue an earlier receipt of
        the message still changes it, and a message already visible again is left as it is (200);
        a FIFO queue honours only the latest receipt of a message in flight."""
        error = self.change_visibility_batch(((receipt, timeout),))[0]
        if error is not None:
            raise error

    def change_visibility_batch(self, changes: Sequence[tuple[int, int]]) -> list[SqsError | None]:
        now = self.clock.now()
        results: list[SqsError | None] = []
        leases = self.leases
        for receipt, timeout in changes:
            if not 0 <= timeout <= MAX_VISIBILITY_TIMEOUT_S:
                results.append(InvalidParameterValueException(
                    f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 "
                    f"and {MAX_VISIBILITY_TIMEOUT_S}, if provided."))
                continue
            msg = leases.find(receipt)
            if msg is None or msg.state == GONE:
                results.append(self.order.stale_error(receipt) if self.fifo else InvalidParameterValueException(
                    f"Value {self.handle_prefix}{receipt:x} for parameter ReceiptHandle is invalid. Reason: Message "
                    "does not exist or is not available for visibility timeout change."))
                continue
            if msg.state != INFLIGHT or (self.fifo and msg.receipt != receipt):
                results.append(self.order.stale_error(receipt))  # standard: 200, nothing changes
                continue
            if now + timeout > msg.received + MAX_VISIBILITY_TIMEOUT_S:
                results.append(InvalidParameterValueException(
                    f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                    "VisibilityTimeout for the message is beyond the limit "
                    f"[{MAX_VISIBILITY_TIMEOUT_S} seconds]"))
                continue
            leases.change(msg, now, timeout)
            results.append(None)
        return results

    # -- redrive -----------------------------------------------------------------------------

    def _redrive(self, msgs: list[Message]) -> None:
        """Move messages past ``maxReceiveCount`` to the dead-letter queue, keeping id and body.
        Both queues live in this mesh (a DLQ is in the same account and Region), so the move is a
        synchronous hand-over inside the receive, as it is one step on AWS."""
        dlq = self._dead_letter_queue()
        assert dlq is not None
        by_receipt = self.leases.by_receipt
        gone = self.order.gone
        for msg in msgs:
            if msg.receipt:
                by_receipt.pop(msg.receipt, None)
            msg.state = GONE
            gone(msg, False)
        moved = [self._copy_for_move(msg) for msg in msgs]
        self.moved_out += len(moved)
        dlq.take_redriven(moved, self.arn)

    def _dead_letter_queue(self) -> Queue | None:
        """The redrive target, if the policy names one that exists (else messages stay here)."""
        if not self._max_receives:
            return None
        dlq = self.mesh.find(self._dlq_arn, Queue)
        if dlq is None or dlq.closed or dlq is self:
            return None
        return dlq

    def _copy_for_move(self, msg: Message) -> Message:
        # A new record for the DLQ: this queue's retention deque may still hold the old one.
        return msgspec.structs.replace(msg, state=VISIBLE, receipt=0, lease=0, source_arn=self.arn)

    def take_redriven(self, msgs: list[Message], source_arn: str) -> None:
        """Messages moved here by a source queue's redrive policy or a move task (not counted as
        sent): the order prepares them (a standard queue keeps their send time, so retention counts
        from it; FIFO gives them a new sequence number and resets retention)."""
        now = self.clock.now()
        self.moved_in += len(msgs)
        self.order.redriven(msgs, now)
        was_empty = not self.n_visible
        self.n_visible += len(msgs)
        self.retention.keep_moved(msgs)
        if self.order.made_visible(msgs, was_empty):
            self.wake()

    # -- retention and queue-wide operations -------------------------------------------------

    def _live(self) -> int:
        return self.n_visible + self.n_inflight + self.n_delayed

    def _expire_retained(self, msgs: list[Message]) -> None:
        self.expired += len(msgs)
        for msg in msgs:
            self.drop(msg)

    def drop(self, msg: Message) -> None:
        """Remove a message whatever its state (retention expiry, purge, move task)."""
        state = msg.state
        if state == VISIBLE:
            self.n_visible -= 1
        elif state == INFLIGHT:
            self.n_inflight -= 1
        elif state == DELAYED:
            self.n_delayed -= 1
        if msg.receipt:
            self.leases.by_receipt.pop(msg.receipt, None)
        msg.state = GONE
        self.order.gone(msg, state == INFLIGHT)

    def purge(self) -> None:
        """PurgeQueue: every message goes, in flight or not (AWS takes up to 60 s; here at once).
        A second purge within 60 s answers ``PurgeQueueInProgress``."""
        now = self.clock.now()
        if self._purged_at is not None and now < self._purged_at + PURGE_INTERVAL_S:
            raise PurgeQueueInProgress(f"Only one PurgeQueue operation on {self.name} is allowed every "
                                       f"{PURGE_INTERVAL_S} seconds.")
        self._purged_at = now
        self.purged += self._live()
        self.retention.mark_all_gone()
        self._reset_storage()

    def _reset_storage(self) -> None:
        self.n_visible = self.n_inflight = self.n_delayed = 0
        self.leases.clear()
        for lane in self._delays.values():
            lane.entries.clear()
        self.order.reset()

    @staticmethod
    def _accept_closed(items: list[Delivery], source_arn: str) -> DeliveryResult:
        return QueueDoesNotExist().delivery_result()

    # -- outages (injected faults) -----------------------------------------------------------

    def set_available(self, available: bool) -> None:
        """An outage begins (``False``) or ends: meanwhile sends, receives and deletes answer
        ``ServiceUnavailable`` and deliveries fail as retryable; messages stay where they are
        (in flight ones reappear when their visibility runs out). When it ends, waiting
        receivers and pollers are woken."""
        if self.closed or available != self.unavailable:
            return
        self.unavailable = not available
        if self.unavailable:
            self.send_batch = self._send_unavailable  # type: ignore[method-assign]
            self.accept = self._accept_unavailable  # type: ignore[method-assign]
            return
        self.send_batch = self.order.send_batch  # type: ignore[method-assign]
        self.accept = self.order.acceptor()  # type: ignore[method-assign, assignment]
        if self.n_visible:
            self.mesh.emit(self.available)

    @staticmethod
    def _send_unavailable(entries: Sequence[SendEntry]) -> list[Message | SqsError]:
        raise ServiceUnavailable()

    @staticmethod
    def _accept_unavailable(items: list[Delivery], source_arn: str) -> DeliveryResult:
        return ServiceUnavailable().delivery_result()

    def take_visible(self, limit: int) -> list[Message]:
        """Remove up to ``limit`` visible messages, oldest first (message move tasks)."""
        taken = self.order.take_visible(limit)
        self.moved_out += len(taken)
        return taken

    def close(self) -> None:
        """The queue was deleted: drop its timers and messages."""
        self.closed = True
        self.accept = self._accept_closed  # type: ignore[method-assign]
        for lane in self._delays.values():
            self.clock.cancel(lane.timer)
            lane.timer = None
        self.leases.close()
        self.retention.close()
        self.polls.close()
        self._reset_storage()

    # -- reading -----------------------------------------------------------------------------

    def counts(self) -> tuple[int, int, int]:
        """(visible, not visible, delayed) — ApproximateNumberOfMessages*."""
        return self.n_visible, self.n_inflight, self.n_delayed

    def oldest_age(self) -> int:
        """ApproximateAgeOfOldestMessage: seconds since the oldest message entered this queue."""
        oldest = self.retention.oldest_enqueued()
        return 0 if oldest is None else max(0, int(self.clock.now() - oldest))

    def peek(self, limit: int) -> list[Message]:
        """Up to ``limit`` messages still in the queue, oldest first, left exactly as they are
        (the console's view of a DLQ; not an SQS operation, so no receive is counted)."""
        found: list[Message] = []
        for batch in self.retention.batches:
            for msg in batch:
                if msg.state != GONE:
                    found.append(msg)
                    if len(found) >= limit:
                        return found
        late = sorted((m for _, _, m in self.retention.late if m.state != GONE), key=lambda m: m.enqueued)
        return (found + late)[:limit]

    def metric_sources(self) -> list[object]:
        """The queue, and the link to its dead-letter queue when it has a redrive policy."""
        if not self._dlq_arn:
            return [self]
        return [self, _RedriveLink(self._dlq_arn, self.name)]

    def statistics(self) -> QueueStatistics:
        return QueueStatistics(
            self.n_visible, self.n_inflight, self.n_delayed, self.oldest_age(),
            self.sent, self.received, self.deleted, self.empty_receives, self.deduplicated, self.sent_bytes,
        )

    @staticmethod
    def body_md5(msg: Message) -> str:
        """MD5OfBody, computed once per message when first asked for (never on the core path)."""
        digest = msg.md5_body
        if digest is None:
            digest = msg.md5_body = md5_of_body(msg.body)
        return digest

    @staticmethod
    def body_md5s(msgs: list[Message]) -> list[str]:
        """``body_md5`` of each message (one call for a received batch)."""
        out = []
        for msg in msgs:
            digest = msg.md5_body
            if digest is None:
                digest = msg.md5_body = md5_of_body(msg.body)
            out.append(digest)
        return out

    @staticmethod
    def attributes_md5(msg: Message) -> str | None:
        if not msg.attributes:
            return None
        digest = msg.md5_attributes
        if digest is None:
            digest = msg.md5_attributes = md5_of_attributes(msg.attributes)
        return digest
