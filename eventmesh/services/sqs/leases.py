"""Receipts and leases of one SQS queue (standard and FIFO alike): which message a receipt names,
and when each received batch becomes visible again.

Everything that decides how long a received message stays in flight lives here.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html

* A *lease* is the messages of one receive (or one message whose visibility was changed), in
  flight until its deadline; a message belongs to the lease whose number it carries in
  ``Message.lease``. Never one timer per message: leases with the same visibility timeout expire
  in the order they were made, so they sit in a deque per timeout value (a *lane*) with one clock
  timer for the lane's head. Each lease counts its messages still in flight (``live``, moved by
  deletes and visibility changes through ``left``): a fully deleted lease at a lane's tail is
  popped at once, and when the lane's timer fires, the fully deleted leases behind the expired
  ones go too, so a queue whose batches are deleted in time costs one timer per lane and
  visibility timeout, not one per received batch.
* ``by_receipt`` maps the latest receipt number of each received, undeleted message to it (O(1)
  delete). Wire handles are ``<queue prefix><receipt hex>`` (see ``Queue.receipt_handle``).
* ``superseded`` (standard queues only) maps the earlier receipts of messages received again:
  on a standard queue ChangeMessageVisibility with an earlier receipt still changes the message
  (recorded on AWS: a receipt from a receive with VisibilityTimeout 0 makes the message visible
  after a later receive). Entries of deleted messages are swept when they outnumber the rest.

Cost: O(1) amortised per message received, deleted or expired (one dict lookup per lease a
deleted batch names).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from eventmesh.clock import Clock
from eventmesh.services.sqs.message import GONE, INFLIGHT, Message
from eventmesh.timers import Timer

__all__ = ["Lane", "Lease", "Leases", "SUPERSEDED_SWEEP_MIN"]

SUPERSEDED_SWEEP_MIN = 1_024  # superseded receipts kept before a sweep of deleted messages' is worth it


class Lease:
    """Messages received together, in flight until ``deadline``."""

    __slots__ = ("no", "deadline", "messages", "live", "lane")

    def __init__(self, no: int, deadline: float, messages: list[Message], lane: Lane) -> None:
        self.no = no
        self.deadline = deadline
        self.messages = messages
        self.live = len(messages)
        self.lane = lane


class Lane:
    """Entries (leases, delay chunks) with one duration, hence in deadline order; one timer for the head."""

    __slots__ = ("entries", "timer", "fire")

    def __init__(self, fire: Callable[[Lane], None]) -> None:
        self.entries: deque[Any] = deque()
        self.timer: Timer | None = None
        self.fire = fire

    def arm(self, clock: Clock, deadline: float) -> None:
        self.timer = clock.call_at(deadline, lambda: self.fire(self))


class Leases:
    """The in-flight side of a queue. ``expired(msgs)`` is the queue's callback for messages whose
    visibility ran out (it makes them receivable again and keeps its counts)."""

    __slots__ = ("by_receipt", "clock", "expired", "receipt", "lease_no", "superseded", "_sweep_at",
                 "_lanes", "_by_no")

    def __init__(self, clock: Clock, expired: Callable[[list[Message]], None], *,
                 keep_superseded: bool = False) -> None:
        self.clock = clock
        self.expired = expired
        self.by_receipt: dict[int, Message] = {}
        self.superseded: dict[int, Message] | None = {} if keep_superseded else None
        self._sweep_at = SUPERSEDED_SWEEP_MIN
        self.receipt = 0          # the newest receipt number handed out
        self.lease_no = 0
        self._lanes: dict[int, Lane] = {}   # visibility timeout -> lane of leases
        self._by_no: dict[int, Lease] = {}  # the leases still in a lane, by number

    def grant(self, msgs: list[Message], now: float, timeout: int) -> None:
        """Put freshly received ``msgs`` in flight for ``timeout`` seconds, each with a new receipt
        (the previous one stops deleting); 0 hands them straight back to ``expired``."""
        by_receipt = self.by_receipt
        receipt = self.receipt
        lease_no = self.lease_no + 1
        superseded = self.superseded
        for msg in msgs:
            if msg.receipt:
                by_receipt.pop(msg.receipt, None)
                if superseded is not None:
                    superseded[msg.receipt] = msg
            receipt += 1
            by_receipt[receipt] = msg
            msg.receipt = receipt
            msg.state = INFLIGHT
            msg.lease = lease_no
            msg.receive_count += 1
            msg.received = now
            if not msg.first_receive:
                msg.first_receive = now
        self.receipt = receipt
        if superseded is not None and len(superseded) > self._sweep_at:
            self._sweep()
        if timeout:
            self._lease(lease_no, now + timeout, timeout, msgs)
        else:
            self.lease_no = lease_no
            self.expired(msgs)

    def find(self, receipt: int) -> Message | None:
        """The message a receipt names: its latest, or (standard queues) an earlier one."""
        msg = self.by_receipt.get(receipt)
        if msg is None and self.superseded is not None:
            msg = self.superseded.get(receipt)
        return msg

    def _sweep(self) -> None:
        kept = {r: m for r, m in self.superseded.items() if m.state != GONE}  # type: ignore[union-attr]
        self.superseded = kept
        self._sweep_at = max(SUPERSEDED_SWEEP_MIN, 2 * len(kept))

    def change(self, msg: Message, now: float, timeout: int) -> None:
        """ChangeMessageVisibility of one in-flight message: a lease of its own from now."""
        self.left(msg.lease)
        if timeout:
            self._lease(self.lease_no + 1, now + timeout, timeout, [msg])
            msg.lease = self.lease_no
        else:
            msg.lease = 0
            self.expired([msg])

    def find_lease(self, lease_no: int) -> Lease | None:
        """The lease of that number while it is in its lane (None once it expired or emptied)."""
        return self._by_no.get(lease_no)

    def left(self, lease_no: int, count: int = 1) -> None:
        """``count`` in-flight messages left lease ``lease_no`` (deleted, or their visibility
        changed): when none is left, the lease leaves its lane at once if it is the lane's tail,
        else when the lane's timer reaches it."""
        lease = self._by_no.get(lease_no)
        if lease is not None:
            lease.live -= count
            if lease.live <= 0:
                self.emptied(lease)

    def emptied(self, lease: Lease) -> None:
        """No message of ``lease`` is in flight any more (``live`` reached 0)."""
        entries = lease.lane.entries
        if entries and entries[-1] is lease:
            entries.pop()
            del self._by_no[lease.no]

    def clear(self) -> None:
        """Every message left at once (purge, delete): forget receipts and leases, keep the lanes."""
        self.by_receipt.clear()
        if self.superseded is not None:
            self.superseded.clear()
        for lane in self._lanes.values():
            lane.entries.clear()
        self._by_no.clear()

    def close(self) -> None:
        for lane in self._lanes.values():
            self.clock.cancel(lane.timer)
            lane.timer = None
        self.clear()

    def _lease(self, no: int, deadline: float, timeout: int, msgs: list[Message]) -> None:
        self.lease_no = no
        lane = self._lanes.get(timeout)
        if lane is None:
            lane = self._lanes[timeout] = Lane(self._on_lane)
        lease = Lease(no, deadline, msgs, lane)
        self._by_no[no] = lease
        lane.entries.append(lease)
        if lane.timer is None:
            lane.arm(self.clock, deadline)

    def _on_lane(self, lane: Lane) -> None:
        lane.timer = None
        now = self.clock.now()
        entries = lane.entries
        by_no = self._by_no
        expired: list[Message] = []
        while entries and entries[0].deadline <= now:
            lease = entries.popleft()
            no = lease.no
            del by_no[no]
            for msg in lease.messages:
                if msg.lease == no and msg.state == INFLIGHT:
                    expired.append(msg)
        while entries and entries[0].live <= 0:   # fully deleted: nothing left to expire
            del by_no[entries.popleft().no]
        if expired:
            self.expired(expired)
        if entries:
            lane.arm(self.clock, entries[0].deadline)
