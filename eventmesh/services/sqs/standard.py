"""The order of a standard SQS queue: at-least-once, best-effort order, per-message delays.

Everything that is particular to standard queues lives here: which messages a send admits (no
deduplication id; a group id only as a fair-queue tag), which visible messages a receive takes,
and that a stale receipt answers 200 (a delete with the latest receipt works even after the
visibility timeout ran out).
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues.html

A receive hands out visible messages oldest sent first, as AWS was recorded to do: a message whose
visibility ran out goes back ahead of messages sent after it. Freshly sent messages sit in a deque
in send order; messages visible *again* (visibility ran out or was changed, a delay passed, moved
in by a redrive) sit in a heap by send time, and a receive merges the two heads. Entries that left
without being received (expired, purged, deleted late) stay as tombstones and are skipped when
they reach a head. The common send, a plain ASCII body without attributes, ids or delays, is
checked inline. Cost: O(1) per message sent and received fresh; O(log n) per message that comes
back (n: messages waiting to come back).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from itertools import count

from eventmesh import twins
from eventmesh.effects import DELIVERED, Delivery, DeliveryResult
from eventmesh.services.sqs.errors import InvalidParameterValueException, SqsError
from eventmesh.services.sqs.message import (
    BODY_BYTE_TABLE,
    DELAYED,
    VISIBLE,
    Message,
    SendEntry,
    check_entry,
    check_group_id,
)
from eventmesh.services.sqs.order import ID_DIGITS, QueueStore, send_deliveries, split_batch
from eventmesh.services.sqs.retention import Retention

__all__ = ["ENGINE_ENV", "MAX_INFLIGHT_STANDARD", "StandardOrder", "compiled_accept"]

MAX_INFLIGHT_STANDARD = 120_000  # in-flight messages: short poll answers OverLimit, long poll empty

# The delivery path's implementation: ``auto`` (the default: the C twin of ``StandardOrder.accept``
# in _speedups.c when it was built at install, else Python), ``python``, or ``c`` (an error when
# it is not built). Read once, when this module is imported; ``compiled_accept`` is what queues
# created from then on bind (tests set it to compare the two).
ENGINE_ENV = "EVENTMESH_SQS_ENGINE"


class StandardOrder:
    """A standard queue's admission and receive order (see the module docstring)."""

    fifo = False
    max_inflight = MAX_INFLIGHT_STANDARD

    __slots__ = ("queue", "visible", "returned", "_tie")

    def __init__(self, queue: QueueStore) -> None:
        self.queue = queue
        self.visible: deque[Message] = deque()  # fresh sends, in send order
        # Messages visible again, by (send time, arrival): they go out before later sends.
        self.returned: list[tuple[float, int, Message]] = []
        self._tie = count()

    # -- sending -----------------------------------------------------------------------------

    def send_batch(self, entries: Sequence[SendEntry]) -> list[Message | SqsError]:
        """SendMessageBatch: one result per entry, in order: the message, or the entry's error."""
        if len(entries) > len(ID_DIGITS):
            return split_batch(self.send_batch, entries)
        queue = self.queue
        now = queue.clock.now()
        base = queue.next_id_base()
        max_size = queue.max_size
        table = BODY_BYTE_TABLE
        plain = not queue.delay_s  # with a queue delay every message takes the general path
        results: list[Message | SqsError] = []
        general: list[tuple[int, SendEntry]] | None = None
        size_total = 0
        for entry, digit in zip(entries, ID_DIGITS, strict=False):
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
        was_empty = not queue.n_visible
        self.visible.extend(ready)  # made_visible, inline
        queue.placed(ready, accepted, size_total, was_empty and bool(ready))
        return results

    def _send_general(self, results: list[Message | SqsError], general: list[tuple[int, SendEntry]],
                      base: str, now: float, size_total: int) -> tuple[list[Message], int, int]:
        """Entries with attributes, group ids, delays, non-ASCII bodies or errors. Fills their
        ``results`` slots; returns the messages visible now, the new size total and how many
        messages the batch accepted."""
        queue = self.queue
        max_size = queue.max_size
        delayed: dict[int, list[Message]] = {}
        for i, entry in general:
            try:
                size = self._check_entry(entry, max_size)
            except SqsError as error:
                results[i] = error
                continue
            msg = Message(base + ID_DIGITS[i], entry.body, entry.attributes or None, entry.trace_header,
                          now, now, size)
            msg.group_id = entry.group_id
            results[i] = msg
            size_total += size
            delay = queue.delay_s if entry.delay_seconds is None else entry.delay_seconds
            if delay:
                msg.state = DELAYED
                delayed.setdefault(delay, []).append(msg)
        for delay, msgs in delayed.items():
            queue.delay(delay, now, msgs)
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
        """A delivery from another core. Most carry plain ASCII bodies without attributes, group
        or deduplication ids, to a queue without a delay: ``send_batch``'s inline case, stored
        here without a ``SendEntry`` per item (a body its sender encoded as JSON, ``json_text``,
        has no raw control characters, so only other bodies are checked byte by byte); any other
        delivery takes the general path (:meth:`_accept_general`). Most deliveries are of one
        event (a rule's match in a PutEvents request, an SNS message to one subscription), so
        that case makes its message without a loop, and ``Queue.placed`` is inline (its call was
        10 % of this path; one 400-byte item: 15,400 -> 11,600 instructions with both changes).
        This method is the reference of its C twin (_speedups.c), which queues bind when it is
        built (:meth:`acceptor`): keep the two alike."""
        queue = self.queue
        if queue.delay_s or len(items) > len(ID_DIGITS) or not items:
            return self._accept_general(items)
        max_size = queue.max_size
        size_total = 0
        for item in items:   # checked before anything is stored
            body = item.body
            if (item.attributes or item.group_id is not None or item.deduplication_id is not None
                    or not body.isascii() or not 0 < len(body) <= max_size
                    or not (item.json_text or body.encode().translate(BODY_BYTE_TABLE).isascii())):
                return self._accept_general(items)
            size_total += len(body)
        now = queue.clock.now()
        base = queue.next_id_base()
        ready: tuple[Message, ...]
        if len(items) == 1:
            item = items[0]
            ready = (Message(base + "0", item.body, None, item.trace_header, now, now, size_total),)
        else:
            ready = tuple([Message(base + digit, item.body, None, item.trace_header, now, now, len(item.body))
                           for item, digit in zip(items, ID_DIGITS, strict=False)])
        was_empty = not queue.n_visible
        self.visible.extend(ready)   # made_visible, inline
        n = len(ready)   # Queue.placed, inline
        queue.n_visible += n
        if was_empty:
            queue.wake()
        retention = queue.retention
        batches = retention.batches
        batches.append(ready)   # Retention.keep, inline
        if retention.timer is None or len(batches) > retention.check_at:
            retention.checks()
        queue.sent += n
        queue.sent_bytes += size_total
        return DELIVERED

    def acceptor(self) -> Callable[[list[Delivery], str], DeliveryResult]:
        """What the queue binds as its ``accept``: the C twin of :meth:`accept` when it is built
        and chosen (``compiled_accept``; a partial calls it without a Python frame), else the
        method."""
        if compiled_accept is None:
            return self.accept
        return partial(compiled_accept, self)

    def _accept_general(self, items: list[Delivery]) -> DeliveryResult:
        """A delivery through ``send_batch``: every check, the queue's delay, split batches."""
        return send_deliveries(self.queue.send_batch, items)

    # -- receiving and leaving ---------------------------------------------------------------

    def made_visible(self, msgs: list[Message], was_empty: bool) -> bool:
        """Messages became receivable again (not fresh sends, which extend ``visible`` directly);
        True: wake the waiting receivers (the queue was empty)."""
        returned, tie = self.returned, self._tie
        for msg in msgs:
            heapq.heappush(returned, (msg.sent, next(tie), msg))
        return was_empty

    def take(self, wanted: int, max_receives: int) -> tuple[list[Message], list[Message] | None]:
        """Up to ``wanted`` visible messages, oldest sent first, and those past ``max_receives``."""
        visible = self.visible
        out: list[Message] = []
        dead: list[Message] | None = None
        returned = self.returned
        while wanted:
            if returned and (not visible or returned[0][0] <= visible[0].sent):
                msg = heapq.heappop(returned)[2]
            elif visible:
                msg = visible.popleft()
            else:
                break
            if msg.state != VISIBLE:
                continue  # tombstone: expired, purged or deleted while visible
            if max_receives and msg.receive_count >= max_receives:
                if dead is None:
                    dead = []
                dead.append(msg)
                continue
            out.append(msg)
            wanted -= 1
        return out, dead

    def released(self, msgs: list[Message]) -> None:
        """In-flight messages became visible again: nothing to do here."""

    def gone(self, msg: Message, was_inflight: bool) -> None:
        """A message left the queue: its deque entry is a tombstone now."""

    def stale_error(self, receipt: int) -> SqsError | None:
        """A receipt that is not the latest: AWS answers 200 and does nothing."""
        return None

    def late_delete_error(self, receipt: int) -> SqsError | None:
        """The latest receipt still deletes after the visibility ran out (AWS does)."""
        return None

    @staticmethod
    def retention_base(msg: Message) -> float:
        return msg.sent

    def redriven(self, msgs: list[Message], now: float) -> None:
        """Moved here from another queue: they keep their send time (retention counts from it)."""
        for msg in msgs:
            msg.enqueued = now

    def retry_attempt(self, attempt_id: str, now: float) -> list[Message] | None:
        """ReceiveRequestAttemptId applies to FIFO queues only."""
        return None

    def remember_attempt(self, attempt_id: str, now: float, msgs: list[Message]) -> None:
        """ReceiveRequestAttemptId applies to FIFO queues only."""

    def reset(self) -> None:
        self.visible.clear()
        self.returned.clear()

    def take_visible(self, limit: int) -> list[Message]:
        """Remove up to ``limit`` visible messages, oldest first (message move tasks)."""
        out, _ = self.take(limit, 0)
        drop = self.queue.drop
        for msg in out:
            drop(msg)
        return out


def _compiled() -> Callable[..., DeliveryResult] | None:
    """The C twin of ``StandardOrder.accept`` as the environment asks for it (see ENGINE_ENV)."""
    speedups, chosen = twins.load(ENGINE_ENV, "eventmesh.services.sqs._speedups", "the compiled SQS delivery path")
    if speedups is not None:  # told the classes it reads (their slot offsets), once
        speedups.init(Message, Delivery, StandardOrder, Retention, DELIVERED, ID_DIGITS, BODY_BYTE_TABLE)
    return speedups.accept if speedups is not None and chosen else None  # type: ignore[no-any-return]


compiled_accept = _compiled()
