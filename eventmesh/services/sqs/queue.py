"""SQS standard queue core: send, receive, visibility, delete, delays, retention, redrive.

Everything that decides where a standard queue's message is lives here. A message is
``DELAYED`` (its delay lane), ``VISIBLE`` (the visible deque), ``INFLIGHT`` (a lease) or ``GONE``.

Cost model, per message, O(1) amortised everywhere on the hot path (send + receive + delete):
* visible messages: a deque in the order they became visible (standard queues are only
  best-effort ordered); entries that left without being received (expired, purged) stay as
  tombstones and are skipped when they reach the head.
* in flight: one *lease* per received batch (never one timer per message). Leases with the
  same visibility timeout expire in the order they were made, so they sit in a deque per timeout
  value (a "lane") with one clock timer for the lane's head: receiving is a deque append, not a
  heap push. A fully deleted lease at a lane's tail is popped at once.
* receipts: ``_by_receipt`` maps the latest receipt number of each received, undeleted message
  to it (O(1) delete); handles on the wire are ``<queue prefix><receipt hex>``.
* delays: one chunk per sent batch per delay value, in a lane per delay value.
* retention: messages in enqueue order in a deque, checked by one timer at the oldest deadline;
  deleted ones are dropped from the head as they go and compacted when they pile up.
Counters are plain ints read by :meth:`statistics`.

Why this file passes 600 lines: the visible deque, receipts, leases and the retention deque are
one piece of state that every hot operation touches together (a delete updates the receipt map,
the lease tail and the retention head in one loop); split apart, each hot loop would go through
another object's methods, which costs ~10% of the 1 µs-per-message budget. FIFO-specific rules
live in ``fifo.py``, message rules in ``sqs_message.py``, attributes in ``sqs_attributes.py``.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import msgspec

from eventmesh.effects import DELIVERED, Available, Delivery, DeliveryResult
from eventmesh.mesh import Mesh
from eventmesh.services.sqs.attributes import MAX_VISIBILITY_TIMEOUT_S, QueueConfig
from eventmesh.services.sqs.errors import (
    InvalidParameterValueException,
    OverLimit,
    PurgeQueueInProgress,
    QueueDoesNotExist,
    ReceiptHandleIsInvalid,
    SqsError,
)
from eventmesh.services.sqs.md5 import md5_of_attributes, md5_of_body
from eventmesh.services.sqs.message import (
    BODY_BYTE_TABLE,
    DELAYED,
    GONE,
    INFLIGHT,
    VISIBLE,
    Message,
    SendEntry,
    check_entry,
    check_group_id,
)
from eventmesh.timers import Timer

__all__ = ["Queue", "QueueStatistics", "Lease", "MAX_INFLIGHT_STANDARD", "PURGE_INTERVAL_S"]

MAX_INFLIGHT_STANDARD = 120_000  # §5: short poll answers OverLimit, long poll answers empty
PURGE_INTERVAL_S = 60  # §7: one PurgeQueue per 60 s
_COMPACT_MIN = 1024  # retention deque: compact when tombstones pass this and outnumber live messages
_HEX = "0123456789abcdef"


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


class Lease:
    """Messages received together (or one message whose visibility was changed), in flight until
    ``deadline``. A message belongs to the lease whose number it carries in ``Message.lease``."""

    __slots__ = ("no", "deadline", "messages", "live", "lane")

    def __init__(self, no: int, deadline: float, messages: list[Message], lane: _Lane) -> None:
        self.no = no
        self.deadline = deadline
        self.messages = messages
        self.live = len(messages)
        self.lane = lane


class _Chunk:
    """Messages sent together with the same delay, visible at ``deadline``."""

    __slots__ = ("deadline", "messages")

    def __init__(self, deadline: float, messages: list[Message]) -> None:
        self.deadline = deadline
        self.messages = messages


class _Lane:
    """Leases (or delay chunks) with one duration, hence in deadline order; one timer for the head."""

    __slots__ = ("entries", "timer", "fire")

    def __init__(self, fire: Callable[[_Lane], None]) -> None:
        self.entries: deque[Any] = deque()
        self.timer: Timer | None = None
        self.fire = fire


class Queue:
    """A standard SQS queue: at-least-once, best-effort order (spec sqs.md §3-§7, §9)."""

    metric_namespace = "AWS/SQS"
    fifo = False

    def __init__(self, mesh: Mesh, name: str, config: QueueConfig | None = None,
                 tags: dict[str, str] | None = None) -> None:
        self.mesh = mesh
        self.clock = mesh.clock
        self.name = name
        self.arn = mesh.arn("sqs", name)
        self.account_id = mesh.account_id
        self.config = config if config is not None else QueueConfig(fifo_queue=self.fifo)
        self.tags: dict[str, str] = dict(tags or {})
        self.created = self.last_modified = self.clock.now()
        self.move_tasks: list[Any] = []  # MessageMoveTask, newest first (move_tasks.py)
        self.closed = False
        self._purged_at: float | None = None
        ids = mesh.ids
        # Message ids are UUID v4 strings: a random per-queue head and a counter in the last group
        # (one format per sent batch, one char per message: a uuid4() per message costs 1.4 µs).
        head = ids.uuid()
        self._id_head = head[:24]
        self._id_batch = ids.random.getrandbits(40)
        self.handle_prefix = "AQEB" + ids.token(30)
        self._available = Available(self.arn)  # one effect object, emitted again and again
        self._visible: deque[Message] = deque()
        self._n_visible = 0
        self._n_inflight = 0
        self._n_delayed = 0
        self._by_receipt: dict[int, Message] = {}
        self._receipt = 0
        self._lease_no = 0
        self._last_lease: Lease | None = None
        self._leases: dict[int, _Lane] = {}  # visibility timeout -> lane of leases
        self._delays: dict[int, _Lane] = {}  # delay seconds -> lane of chunks
        self._retained: deque[list[Message]] = deque()  # sent batches, in enqueue order
        self._late: list[tuple[float, int, Message]] = []  # redriven messages older than the tail
        self._retention_timer: Timer | None = None
        # Metrics: plain ints, read at scrape time.
        self.sent = self.received = self.deleted = self.empty_receives = self.deduplicated = 0
        self.sent_bytes = 0
        self._apply_config()

    # -- configuration -----------------------------------------------------------------------

    def _apply_config(self) -> None:
        config = self.config
        self._visibility_timeout = config.visibility_timeout
        self._delay = config.delay_seconds
        self._max_size = config.maximum_message_size
        self._retention = config.message_retention_period
        policy = config.redrive_policy
        self._max_receives = policy.max_receive_count if policy is not None else 0
        self._dlq_arn = policy.dead_letter_target_arn if policy is not None else None

    def configure(self, config: QueueConfig) -> None:
        """Install new attributes (already validated); a shorter retention expires messages now."""
        self.config = config
        self.last_modified = self.clock.now()
        self._apply_config()
        self._arm_retention(rearm=True)

    def metric_dimensions(self) -> dict[str, str]:
        return {"QueueName": self.name}

    # -- sending -----------------------------------------------------------------------------

    def _next_ids(self) -> str:
        self._id_batch += 1
        return f"{self._id_head}{self._id_batch & 0xFFFFFFFFFFF:011x}"

    def send(self, entry: SendEntry) -> Message:
        """SendMessage: raises the entry's error; returns the stored message."""
        result = self.send_batch([entry])[0]
        if isinstance(result, SqsError):
            raise result
        return result

    def send_batch(self, entries: Sequence[SendEntry]) -> list[Message | SqsError]:
        """SendMessageBatch: one result per entry, in order: the message, or the entry's error."""
        if len(entries) > len(_HEX):  # deliveries from other cores may be longer than 10
            step = len(_HEX)
            return [r for i in range(0, len(entries), step) for r in self.send_batch(entries[i:i + step])]
        now = self.clock.now()
        self._id_batch = batch = self._id_batch + 1
        base = f"{self._id_head}{batch & 0xFFFFFFFFFFF:011x}"
        max_size = self._max_size
        table = BODY_BYTE_TABLE
        plain = not self._delay  # with a queue delay every message takes the general path
        results: list[Message | SqsError] = []
        general: list[tuple[int, SendEntry]] | None = None
        size_total = 0
        for entry, digit in zip(entries, _HEX, strict=False):
            body = entry.body
            # The common case, a plain ASCII body, is checked inline (0.2 µs less per message than
            # the general path): forbidden control characters translate to non-ASCII bytes.
            if (plain and body.isascii() and not entry.attributes and entry.group_id is None
                    and entry.deduplication_id is None and entry.delay_seconds is None
                    and 0 < (size := len(body)) <= max_size and body.encode().translate(table).isascii()):
                results.append(Message(base + digit, body, None, entry.trace_header, now, now, size))
                size_total += size
            else:
                if general is None:
                    general = []
                general.append((len(results), entry))
                results.append(None)  # type: ignore[arg-type]  # filled in below
        ready: list[Message]
        if general is None:
            ready = results  # type: ignore[assignment]  # every entry became a visible message
            accepted = len(results)
        else:
            ready, size_total, accepted = self._send_general(results, general, base, now, size_total)
        if ready:
            self._store_visible(ready)
        self.sent += accepted
        self.sent_bytes += size_total
        return results

    def _store_visible(self, ready: list[Message]) -> None:
        """Messages sent visible now (once per batch): the visible queue, the wake-up, retention."""
        was_empty = not self._n_visible
        self._visible.extend(ready)
        self._n_visible += len(ready)
        if was_empty:
            self.mesh.emit(self._available)
        retained = self._retained
        retained.append(ready)  # never mutated afterwards
        if len(retained) > _COMPACT_MIN or self._retention_timer is None:
            self._retain_checks()

    def _send_general(self, results: list[Message | SqsError], general: list[tuple[int, SendEntry]],
                      base: str, now: float, size_total: int) -> tuple[list[Message], int, int]:
        """Entries with attributes, group ids, delays, non-ASCII bodies or errors. Fills their
        ``results`` slots; returns the messages visible now, the new size total and how many
        messages the batch accepted."""
        max_size = self._max_size
        delayed: dict[int, list[Message]] = {}
        for i, entry in general:
            try:
                size = self._check_entry(entry, max_size)
            except SqsError as error:
                results[i] = error
                continue
            msg = Message(base + _HEX[i], entry.body, entry.attributes or None, entry.trace_header,
                          now, now, size)
            msg.group_id = entry.group_id
            results[i] = msg
            size_total += size
            delay = self._delay if entry.delay_seconds is None else entry.delay_seconds
            if delay:
                msg.state = DELAYED
                delayed.setdefault(delay, []).append(msg)
        for delay, msgs in delayed.items():
            self._delay_chunk(delay, now, msgs)
        accepted = [r for r in results if isinstance(r, Message)]
        return [m for m in accepted if m.state == VISIBLE], size_total, len(accepted)

    @staticmethod
    def _check_entry(entry: SendEntry, max_size: int) -> int:
        """The general check of a standard queue's message: body, attributes, group id format
        (fair queues: validated, no ordering); no deduplication id on a standard queue."""
        size = check_entry(entry, max_size)
        if entry.group_id is not None:
            check_group_id(entry.group_id)
        if entry.deduplication_id is not None:
            raise InvalidParameterValueException(
                f"Value {entry.deduplication_id} for parameter MessageDeduplicationId is invalid. "
                "Reason: The request include parameter that is not valid for this queue type.")
        return size

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        """A delivery from another core (SNS subscription, EventBridge/Lambda target)."""
        if self.closed:
            return QueueDoesNotExist().delivery_result()
        if not self.fifo and not self._delay and len(items) <= len(_HEX) and self._accept_plain(items):
            return DELIVERED
        entries = [SendEntry(item.body, item.attributes or None, None, item.group_id, item.deduplication_id)
                   for item in items]
        for result in self.send_batch(entries):
            if isinstance(result, SqsError):
                return result.delivery_result()
        return DELIVERED

    def _accept_plain(self, items: list[Delivery]) -> bool:
        """``send_batch``'s inline case for deliveries (most carry one event each): plain ASCII
        bodies without attributes, group or deduplication ids, no queue delay; no ``SendEntry``
        per item. False, with nothing changed, when any item needs the general path."""
        now = self.clock.now()
        batch = self._id_batch + 1
        base = f"{self._id_head}{batch & 0xFFFFFFFFFFF:011x}"
        max_size = self._max_size
        table = BODY_BYTE_TABLE
        ready: list[Message] = []
        size_total = 0
        for item, digit in zip(items, _HEX, strict=False):
            body = item.body
            if not (body.isascii() and not item.attributes and item.group_id is None
                    and item.deduplication_id is None and 0 < (size := len(body)) <= max_size
                    and body.encode().translate(table).isascii()):
                return False
            ready.append(Message(base + digit, body, None, None, now, now, size))
            size_total += size
        if not ready:
            return False
        self._id_batch = batch
        self._store_visible(ready)
        self.sent += len(ready)
        self.sent_bytes += size_total
        return True

    def _delay_chunk(self, delay: int, now: float, msgs: list[Message]) -> None:
        lane = self._delays.get(delay)
        if lane is None:
            lane = self._delays[delay] = _Lane(self._on_delay_lane)
        lane.entries.append(_Chunk(now + delay, msgs))
        self._n_delayed += len(msgs)
        if lane.timer is None:
            lane.timer = self.clock.call_at(now + delay, lambda: lane.fire(lane))
        self._retain(msgs)

    def _on_delay_lane(self, lane: _Lane) -> None:
        lane.timer = None
        now = self.clock.now()
        entries = lane.entries
        woke: list[Message] = []
        while entries and entries[0].deadline <= now:
            for msg in entries.popleft().messages:
                if msg.state == DELAYED:
                    woke.append(msg)
        if woke:
            self._n_delayed -= len(woke)
            self._make_visible(woke)
        if entries:
            lane.timer = self.clock.call_at(entries[0].deadline, lambda: lane.fire(lane))

    def _make_visible(self, msgs: list[Message]) -> None:
        """Delayed or expired-in-flight messages become receivable again."""
        for msg in msgs:
            msg.state = VISIBLE
        was_empty = not self._n_visible
        self._visible.extend(msgs)
        self._n_visible += len(msgs)
        if was_empty:
            self.mesh.emit(self._available)

    # -- receiving ---------------------------------------------------------------------------

    def receive(self, max_messages: int = 1, visibility_timeout: int | None = None, *, wait: bool = False,
                attempt_id: str | None = None, count_empty: bool = True) -> list[Message]:
        """ReceiveMessage without waiting (the driver owns long polls): up to ``max_messages``
        visible messages, now in flight for ``visibility_timeout`` (queue default if None).
        Deviation: a short poll on AWS samples a subset of servers and may answer fewer messages
        (or none) than are visible; here it answers every visible one up to the maximum.
        Messages past the redrive policy's ``maxReceiveCount`` move to the dead-letter queue
        instead. ``wait``: a long poll is asking, so the in-flight limit answers empty, not OverLimit.
        ``count_empty=False``: a long poll's intermediate attempt (it counts one empty receive at the
        end, with :meth:`count_empty_receive`).
        """
        if self._n_inflight >= MAX_INFLIGHT_STANDARD:
            if wait:
                return []
            raise OverLimit(f"Too many messages in flight for queue {self.name}.")
        if not self._n_visible:
            self.empty_receives += count_empty
            return []
        now = self.clock.now()
        timeout = self._visibility_timeout if visibility_timeout is None else visibility_timeout
        visible = self._visible
        by_receipt = self._by_receipt
        max_receives = self._max_receives
        if max_receives and self._dead_letter_queue() is None:
            max_receives = 0
        dead: list[Message] | None = None
        out: list[Message] = []
        receipt = self._receipt
        lease_no = self._lease_no + 1
        wanted = max_messages
        while wanted and visible:
            msg = visible.popleft()
            if msg.state != VISIBLE:
                continue  # tombstone: expired or purged while visible
            if max_receives and msg.receive_count >= max_receives:
                if dead is None:
                    dead = []
                dead.append(msg)
                continue
            if msg.receipt:
                del by_receipt[msg.receipt]
            receipt += 1
            by_receipt[receipt] = msg
            msg.receipt = receipt
            msg.state = INFLIGHT
            msg.lease = lease_no
            msg.receive_count += 1
            msg.received = now
            if not msg.first_receive:
                msg.first_receive = now
            out.append(msg)
            wanted -= 1
        self._receipt = receipt
        taken = len(out)
        self._n_visible -= taken + (len(dead) if dead else 0)
        if dead:
            self._redrive(dead)
        if not taken:
            self.empty_receives += count_empty
            return out
        self._n_inflight += taken
        self.received += taken
        if timeout:
            self._lease(lease_no, now + timeout, timeout, out)
        else:
            self._lease_no = lease_no
            self._expire_now(out)
        return out

    def count_empty_receive(self) -> None:
        """A long poll ended with nothing: one NumberOfEmptyReceives for the whole call."""
        self.empty_receives += 1

    def _lease(self, no: int, deadline: float, timeout: int, msgs: list[Message]) -> None:
        self._lease_no = no
        lane = self._leases.get(timeout)
        if lane is None:
            lane = self._leases[timeout] = _Lane(self._on_lease_lane)
        lease = Lease(no, deadline, msgs, lane)
        self._last_lease = lease
        lane.entries.append(lease)
        if lane.timer is None:
            lane.timer = self.clock.call_at(deadline, lambda: lane.fire(lane))

    def _on_lease_lane(self, lane: _Lane) -> None:
        lane.timer = None
        now = self.clock.now()
        entries = lane.entries
        expired: list[Message] = []
        while entries and entries[0].deadline <= now:
            lease = entries.popleft()
            no = lease.no
            for msg in lease.messages:
                if msg.lease == no and msg.state == INFLIGHT:
                    expired.append(msg)
        if expired:
            self._expire_now(expired)
        if entries:
            lane.timer = self.clock.call_at(entries[0].deadline, lambda: lane.fire(lane))

    def _expire_now(self, msgs: list[Message]) -> None:
        """Visibility ran out: back to visible (the latest receipt stays valid until the next receive)."""
        self._n_inflight -= len(msgs)
        self._make_visible(msgs)

    # -- receipts ----------------------------------------------------------------------------

    def receipt_handle(self, msg: Message) -> str:
        """The wire receipt handle of the message's latest receive."""
        return f"{self.handle_prefix}{msg.receipt:x}"

    def parse_handle(self, handle: str) -> int:
        """The receipt number of a wire handle; ``ReceiptHandleIsInvalid`` if this queue never made it."""
        prefix = self.handle_prefix
        if handle.startswith(prefix):
            try:
                number = int(handle[len(prefix):], 16)
            except ValueError:
                number = 0
            if 0 < number <= self._receipt:
                return number
        raise ReceiptHandleIsInvalid(f'The input receipt handle "{handle}" is not a valid receipt handle.')

    def _stale_error(self, receipt: int) -> SqsError | None:
        """Standard queues answer 200 to a stale receipt (and do nothing); FIFO overrides."""
        return None

    def delete(self, receipt: int) -> None:
        """DeleteMessage by receipt number (see :meth:`parse_handle`)."""
        failures = self.delete_batch((receipt,))
        if failures:
            raise failures[0]

    def delete_batch(self, receipts: Sequence[int]) -> dict[int, SqsError]:
        """DeleteMessageBatch: the failures by entry index (none: all deleted, or stale on a
        standard queue, which AWS answers 200). The latest receipt deletes a message in flight or
        one whose visibility ran out."""
        by_receipt = self._by_receipt
        failures: dict[int, SqsError] = {}
        last = self._last_lease
        last_no = last.no if last is not None else -1
        forget = self._forget if self.fifo else None
        deleted = inflight = 0
        for i, receipt in enumerate(receipts):
            msg = by_receipt.pop(receipt, None)
            if msg is None:
                if (error := self._stale_error(receipt)) is not None:
                    failures[i] = error
                continue
            state = msg.state
            if state == INFLIGHT:
                inflight += 1
                if msg.lease == last_no:
                    last.live -= 1  # type: ignore[union-attr]
                    if not last.live:  # type: ignore[union-attr]
                        self._drop_last_lease()
            elif (error := self._delete_visible(msg, receipt)) is not None:
                by_receipt[receipt] = msg
                failures[i] = error
                continue
            msg.state = GONE
            if forget is not None:
                forget(msg, state == INFLIGHT)
            deleted += 1
        self._n_inflight -= inflight
        self.deleted += deleted
        self._trim_retained()
        return failures

    def _drop_last_lease(self) -> None:
        """Every message of the newest lease is gone: pop it from its lane's tail at once."""
        last = self._last_lease
        if last is not None:
            entries = last.lane.entries
            if entries and entries[-1] is last:
                entries.pop()

    def _delete_visible(self, msg: Message, receipt: int) -> SqsError | None:
        """Standard: the latest receipt still deletes after the visibility ran out (AWS does)."""
        self._n_visible -= 1
        return None

    def _forget(self, msg: Message, was_inflight: bool) -> None:
        """Hook: a message left the queue (FIFO releases its group)."""

    def change_visibility(self, receipt: int, timeout: int) -> None:
        """ChangeMessageVisibility: the new timeout counts from now, for this receipt only; 0 makes
        it visible at once; total visibility stays within 12 h of the receive (no clamping)."""
        error = self.change_visibility_batch(((receipt, timeout),))[0]
        if error is not None:
            raise error

    def change_visibility_batch(self, changes: Sequence[tuple[int, int]]) -> list[SqsError | None]:
        now = self.clock.now()
        results: list[SqsError | None] = []
        for receipt, timeout in changes:
            if not 0 <= timeout <= MAX_VISIBILITY_TIMEOUT_S:
                results.append(InvalidParameterValueException(
                    f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 "
                    f"and {MAX_VISIBILITY_TIMEOUT_S}, if provided."))
                continue
            msg = self._by_receipt.get(receipt)
            if msg is None or msg.state != INFLIGHT or msg.receipt != receipt:
                results.append(self._stale_error(receipt))  # standard: 200, nothing changes
                continue
            if now + timeout > msg.received + MAX_VISIBILITY_TIMEOUT_S:
                results.append(InvalidParameterValueException(
                    f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                    "VisibilityTimeout for the message is beyond the limit "
                    f"[{MAX_VISIBILITY_TIMEOUT_S} seconds]"))
                continue
            self._release_lease(msg)
            if timeout:
                self._lease(self._lease_no + 1, now + timeout, timeout, [msg])
                msg.lease = self._lease_no
            else:
                msg.lease = 0
                self._expire_now([msg])
            results.append(None)
        return results

    def _release_lease(self, msg: Message) -> None:
        last = self._last_lease
        if last is not None and msg.lease == last.no:
            last.live -= 1

    # -- redrive -----------------------------------------------------------------------------

    def _redrive(self, msgs: list[Message]) -> None:
        """Move messages past ``maxReceiveCount`` to the dead-letter queue, keeping id and body.
        Both queues live in this mesh (a DLQ is in the same account and Region), so the move is a
        synchronous hand-over inside the receive, as it is one step on AWS. A missing DLQ leaves
        the messages where they are."""
        dlq = self._dead_letter_queue()
        assert dlq is not None
        for msg in msgs:
            if msg.receipt:
                self._by_receipt.pop(msg.receipt, None)
            msg.state = GONE
            self._forget(msg, False)
        moved = [self._copy_for_move(msg) for msg in msgs]
        dlq.take_redriven(moved, self.arn)

    def _dead_letter_queue(self) -> Queue | None:
        """The redrive target, if the policy names one that exists (else messages stay here)."""
        if not self._max_receives:
            return None
        dlq = self.mesh.find(self._dlq_arn, Queue)  # type: ignore[arg-type]
        if dlq is None or dlq.closed or dlq is self:
            return None
        return dlq

    def _copy_for_move(self, msg: Message) -> Message:
        # A new record for the DLQ: this queue's retention deque may still hold the old one.
        return msgspec.structs.replace(msg, state=VISIBLE, receipt=0, lease=0, source_arn=self.arn)

    def take_redriven(self, msgs: list[Message], source_arn: str) -> None:
        """Messages moved here by a source queue's redrive policy (not counted as sent).
        Standard: they keep their original send time, so retention counts from it."""
        now = self.clock.now()
        for msg in msgs:
            msg.enqueued = now
        self._n_visible += len(msgs)
        was_empty = self._n_visible == len(msgs)
        self._visible.extend(msgs)
        for msg in msgs:
            self._retain_late(msg)
        if was_empty:
            self.mesh.emit(self._available)

    # -- retention ---------------------------------------------------------------------------

    def _retention_base(self, msg: Message) -> float:
        return msg.sent

    def _retain(self, msgs: list[Message]) -> None:
        """Keep a sent batch (never mutated afterwards) for retention expiry, in enqueue order."""
        self._retained.append(msgs)
        self._retain_checks()

    def _retain_checks(self) -> None:
        retained = self._retained
        live = self._n_visible + self._n_inflight + self._n_delayed
        if len(retained) > _COMPACT_MIN and len(retained) > live:
            # More batches than live messages: most are wholly gone out of order; rebuild.
            kept = ([m for m in batch if m.state != GONE] for batch in retained)
            self._retained = deque(batch for batch in kept if batch)
        if self._retention_timer is None:
            self._arm_retention()

    def _trim_retained(self) -> None:
        """Drop wholly gone batches from the head (the common case: consumed in order)."""
        retained = self._retained
        while retained:
            for msg in retained[0]:
                if msg.state != GONE:
                    return
            retained.popleft()

    def _retain_late(self, msg: Message) -> None:
        retained = self._retained
        base = self._retention_base(msg)
        if retained and self._retention_base(retained[-1][0]) > base:
            heapq.heappush(self._late, (base, id(msg), msg))
        else:
            retained.append([msg])
        self._arm_retention(rearm=True)

    def _oldest_retained(self) -> float | None:
        self._trim_retained()
        retained = self._retained
        late = self._late
        while late and late[0][2].state == GONE:
            heapq.heappop(late)
        bases = []
        if retained:
            bases.append(self._retention_base(retained[0][0]))
        if late:
            bases.append(late[0][0])
        return min(bases) if bases else None

    def _arm_retention(self, rearm: bool = False) -> None:
        if self._retention_timer is not None:
            if not rearm:
                return
            self.clock.cancel(self._retention_timer)
            self._retention_timer = None
        oldest = self._oldest_retained()
        if oldest is not None and not self.closed:
            self._retention_timer = self.clock.call_at(oldest + self._retention, self._on_retention)

    def _on_retention(self) -> None:
        self._retention_timer = None
        cutoff = self.clock.now() - self._retention
        retained = self._retained
        late = self._late
        expired: list[Message] = []
        while retained and self._retention_base(retained[0][0]) <= cutoff:
            expired.extend(msg for msg in retained.popleft() if msg.state != GONE)
        while late and late[0][0] <= cutoff:
            msg = heapq.heappop(late)[2]
            if msg.state != GONE:
                expired.append(msg)
        for msg in expired:
            self._drop(msg)
        self._arm_retention()

    def _drop(self, msg: Message) -> None:
        """Remove a message whatever its state (retention expiry, purge, move task)."""
        state = msg.state
        if state == VISIBLE:
            self._n_visible -= 1
        elif state == INFLIGHT:
            self._n_inflight -= 1
        elif state == DELAYED:
            self._n_delayed -= 1
        if msg.receipt:
            self._by_receipt.pop(msg.receipt, None)
        msg.state = GONE
        self._forget(msg, state == INFLIGHT)

    # -- queue-wide operations ---------------------------------------------------------------

    def purge(self) -> None:
        """PurgeQueue: every message goes, in flight or not (AWS takes up to 60 s; here at once).
        A second purge within 60 s answers ``PurgeQueueInProgress``."""
        now = self.clock.now()
        if self._purged_at is not None and now < self._purged_at + PURGE_INTERVAL_S:
            raise PurgeQueueInProgress(f"Only one PurgeQueue operation on {self.name} is allowed every "
                                       f"{PURGE_INTERVAL_S} seconds.")
        self._purged_at = now
        for batch in self._retained:
            for msg in batch:
                msg.state = GONE
        for _, _, msg in self._late:
            msg.state = GONE
        self._reset_storage()

    def _reset_storage(self) -> None:
        self._retained.clear()
        self._late.clear()
        self._visible.clear()
        self._by_receipt.clear()
        self._n_visible = self._n_inflight = self._n_delayed = 0
        for lane in (*self._leases.values(), *self._delays.values()):
            lane.entries.clear()
        self._last_lease = None

    def take_visible(self, limit: int) -> list[Message]:
        """Remove up to ``limit`` visible messages, oldest first (message move tasks)."""
        out: list[Message] = []
        visible = self._visible
        while visible and len(out) < limit:
            msg = visible.popleft()
            if msg.state == VISIBLE:
                self._drop(msg)
                out.append(msg)
        return out

    def close(self) -> None:
        """The queue was deleted: drop its timers and messages."""
        self.closed = True
        clock = self.clock
        for lane in (*self._leases.values(), *self._delays.values()):
            clock.cancel(lane.timer)
            lane.timer = None
        clock.cancel(self._retention_timer)
        self._retention_timer = None
        for task in self.move_tasks:
            task.stop()
        self._reset_storage()

    # -- reading -----------------------------------------------------------------------------

    def counts(self) -> tuple[int, int, int]:
        """(visible, not visible, delayed) — ApproximateNumberOfMessages*."""
        return self._n_visible, self._n_inflight, self._n_delayed

    def oldest_age(self) -> int:
        """ApproximateAgeOfOldestMessage: seconds since the oldest message entered this queue."""
        oldest: float | None = None
        self._trim_retained()
        if self._retained:
            oldest = self._retained[0][0].enqueued
        for _, _, msg in self._late:
            if msg.state != GONE and (oldest is None or msg.enqueued < oldest):
                oldest = msg.enqueued
        return 0 if oldest is None else max(0, int(self.clock.now() - oldest))

    def statistics(self) -> QueueStatistics:
        return QueueStatistics(
            self._n_visible, self._n_inflight, self._n_delayed, self.oldest_age(),
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
    def attributes_md5(msg: Message) -> str | None:
        if not msg.attributes:
            return None
        digest = msg.md5_attributes
        if digest is None:
            digest = msg.md5_attributes = md5_of_attributes(msg.attributes)
        return digest
