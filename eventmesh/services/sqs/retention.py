"""Message retention of one SQS queue: every message goes when its retention period has passed.

Everything that decides when a message expires lives here (``MessageRetentionPeriod``, 60 s to
14 days, default 4 days: counted from the send time on a standard queue, from the enqueue time on
a FIFO queue, whose redrive resets it).
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html

Messages sit in enqueue order in a deque of sent batches (never mutated afterwards), checked by one
clock timer at the oldest deadline; batches wholly deleted are dropped from the head as they go
and the deque is compacted when gone batches pile up. Redriven messages older than the tail go to
a small heap instead. Cost: O(1) amortised per message.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Sequence

from eventmesh.clock import Clock
from eventmesh.services.sqs.message import GONE, Message
from eventmesh.timers import Timer

__all__ = ["COMPACT_MIN_BATCHES", "Retention"]

COMPACT_MIN_BATCHES = 1024  # compact when gone batches pass this and outnumber live messages


class Retention:
    """``base(msg)`` is when a message's retention starts; ``expire(msgs)`` removes expired ones;
    ``live()`` counts the queue's messages (to decide when to compact)."""

    __slots__ = ("base", "batches", "check_at", "clock", "closed", "expire", "late", "late_seq", "live", "period_s",
                 "timer")

    def __init__(self, clock: Clock, period_s: float, base: Callable[[Message], float],
                 expire: Callable[[list[Message]], None], live: Callable[[], int]) -> None:
        self.clock = clock
        self.period_s = period_s
        self.base = base
        self.expire = expire
        self.live = live
        # Sent batches, in enqueue order, as tuples: Messages are not tracked by the cyclic GC, so a
        # tuple of them leaves the GC's lists at its first collection, where a list would stay and be
        # traversed by every older-generation collection.
        self.batches: deque[Sequence[Message]] = deque()
        self.late: list[tuple[float, int, Message]] = []  # redriven messages older than the tail
        self.late_seq = 0  # ties in ``late`` break by arrival (never by id(): it differs per process)
        self.timer: Timer | None = None
        self.closed = False
        # ``checks`` runs when the batches pass this count: COMPACT_MIN_BATCHES, then that many
        # more than a check left, so a queue that only fills (every batch live) looks once per
        # COMPACT_MIN_BATCHES sends, not at every send, and gone batches are compacted within
        # COMPACT_MIN_BATCHES sends of outnumbering the live messages.
        self.check_at = COMPACT_MIN_BATCHES

    def keep(self, msgs: list[Message]) -> None:
        """A sent batch, in enqueue order."""
        batches = self.batches
        batches.append(tuple(msgs))
        if len(batches) > self.check_at or self.timer is None:
            self.checks()

    def keep_moved(self, msgs: list[Message]) -> None:
        """Messages moved in from another queue (a redrive, a move task): their retention may start
        before the newest batch here (a standard queue keeps the send time)."""
        batches, base = self.batches, self.base
        tail = base(batches[-1][0]) if batches else None
        if tail is None or all(base(msg) >= tail for msg in msgs):
            batches.append(tuple(msgs))  # in order (FIFO resets the time to now): one batch
        else:
            for msg in msgs:
                start = base(msg)
                if batches and base(batches[-1][0]) > start:
                    self.late_seq += 1
                    heapq.heappush(self.late, (start, self.late_seq, msg))
                else:
                    batches.append((msg,))
        self.arm(rearm=True)

    def trim(self) -> None:
        """Drop wholly gone batches from the head (the common case: consumed in order)."""
        batches = self.batches
        while batches:
            for msg in batches[0]:
                if msg.state != GONE:
                    return
            batches.popleft()

    def oldest(self) -> float | None:
        """The earliest retention start of a message still here."""
        self.trim()
        late = self.late
        while late and late[0][2].state == GONE:
            heapq.heappop(late)
        bases = []
        if self.batches:
            bases.append(self.base(self.batches[0][0]))
        if late:
            bases.append(late[0][0])
        return min(bases) if bases else None

    def oldest_enqueued(self) -> float | None:
        """When the oldest message still here entered the queue (ApproximateAgeOfOldestMessage)."""
        oldest: float | None = None
        self.trim()
        if self.batches:
            oldest = self.batches[0][0].enqueued
        for _, _, msg in self.late:
            if msg.state != GONE and (oldest is None or msg.enqueued < oldest):
                oldest = msg.enqueued
        return oldest

    def arm(self, rearm: bool = False) -> None:
        if self.timer is not None:
            if not rearm:
                return
            self.clock.cancel(self.timer)
            self.timer = None
        oldest = self.oldest()
        if oldest is not None and not self.closed:
            self.timer = self.clock.call_at(oldest + self.period_s, self._on_timer)

    def set_period(self, period_s: float) -> None:
        """A new retention period: a shorter one expires messages now."""
        self.period_s = period_s
        self.arm(rearm=True)

    def mark_all_gone(self) -> None:
        """Purge: every message still kept goes."""
        for batch in self.batches:
            for msg in batch:
                msg.state = GONE
        for _, _, msg in self.late:
            msg.state = GONE
        self.clear()

    def clear(self) -> None:
        self.batches.clear()
        self.late.clear()
        self.check_at = COMPACT_MIN_BATCHES

    def close(self) -> None:
        self.closed = True
        self.clock.cancel(self.timer)
        self.timer = None
        self.clear()

    def checks(self) -> None:
        """After a batch was kept: compact when gone batches pile up (in place: the queue holds
        ``batches``), arm the timer when none is set."""
        batches = self.batches
        if len(batches) > self.check_at:
            if len(batches) > self.live():
                # More batches than live messages: most are wholly gone out of order; rebuild.
                kept = [kept for batch in batches if (kept := tuple(m for m in batch if m.state != GONE))]
                batches.clear()
                batches.extend(kept)
            self.check_at = len(batches) + COMPACT_MIN_BATCHES
        if self.timer is None:
            self.arm()

    def _on_timer(self) -> None:
        self.timer = None
        cutoff = self.clock.now() - self.period_s
        batches, late, base = self.batches, self.late, self.base
        expired: list[Message] = []
        while batches and base(batches[0][0]) <= cutoff:
            expired.extend(msg for msg in batches.popleft() if msg.state != GONE)
        while late and late[0][0] <= cutoff:
            msg = heapq.heappop(late)[2]
            if msg.state != GONE:
                expired.append(msg)
        if expired:
            self.expire(expired)
        self.arm()
