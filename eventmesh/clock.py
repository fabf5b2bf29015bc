"""One clock for the whole engine: ``now()``, ``call_at()``, ``call_later()``, ``cancel()``.

Nothing outside this module and ``eventmesh.drivers`` reads the wall clock or sleeps. The same
cores run on :class:`RealClock` (the daemon) and :class:`VirtualClock` (tests and simulations,
where time jumps straight to the next deadline). Timer callbacks are plain synchronous calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from eventmesh.timers import Timer, TimerQueue

__all__ = ["MAX_ADVANCE_S", "RFC3339_MAX_S", "RFC3339_MIN_S", "VIRTUAL_EPOCH", "Clock", "RealClock", "Timer",
           "VirtualClock", "advance_problem"]

# 2023-11-14T22:13:20Z: a fixed, recognisable start so virtual runs are reproducible.
VIRTUAL_EPOCH = 1_700_000_000.0
# The instants an RFC 3339 date-time can write (a four-digit year: 0001-01-01T00:00:00Z to
# 9999-12-31T23:59:59Z), as epoch seconds: what a timestamp in a request may carry, since the
# services write timestamps back in that form (EventBridge's event ``time``, Kinesis'
# ApproximateArrivalTimestamp...). https://www.rfc-editor.org/rfc/rfc3339#section-5.6
RFC3339_MIN_S = -62_135_596_800
RFC3339_MAX_S = 253_402_300_799
# The most one request to a daemon's virtual clock may move it: a year (366 days), past the
# longest retention any modelled service keeps (Kinesis, 365 days). The periodic work on the way
# (long polls, stream polls, schedules) runs at every instant it is due, so an advance of
# centuries would hold the daemon for hours; a longer jump is several requests.
MAX_ADVANCE_S = 366 * 86_400


def advance_problem(seconds: float | None) -> str | None:
    """What is wrong with a request to advance a virtual clock by ``seconds`` (None: nothing)."""
    if seconds is None or not seconds >= 0:
        return "advance must be a number of seconds >= 0"
    if seconds > MAX_ADVANCE_S:
        return f"advance must be at most {MAX_ADVANCE_S} seconds (366 days) per request"
    return None


class Clock:
    """Time source and scheduler. Times are epoch seconds (float)."""

    def __init__(self) -> None:
        self._timers = TimerQueue()
        # Called after every timer callback (the mesh flushes its outbox there).
        self.after_callback: Callable[[], None] | None = None
        # Called when a timer earlier than every other is scheduled (the real-time driver wakes).
        self.on_earlier_deadline: Callable[[], None] | None = None

    def now(self) -> float:
        raise NotImplementedError

    def call_at(self, when: float, callback: Callable[[], object]) -> Timer:
        first = self._timers.next_deadline()
        timer = self._timers.push(when, callback)
        if self.on_earlier_deadline is not None and (first is None or when < first):
            self.on_earlier_deadline()
        return timer

    def call_keyed(self, when: float, seq: int, callback: Callable[[], object]) -> Timer:
        """``call_at`` with the caller's order among equal deadlines (``TimerQueue.push_keyed``)."""
        first = self._timers.next_deadline()
        timer = self._timers.push_keyed(when, seq, callback)
        if self.on_earlier_deadline is not None and (first is None or when < first):
            self.on_earlier_deadline()
        return timer

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        return self.call_at(self.now() + delay, callback)

    def cancel(self, timer: Timer | None) -> None:
        if timer is not None:
            self._timers.cancel(timer)

    def next_deadline(self) -> float | None:
        return self._timers.next_deadline()

    def scheduled(self) -> list[Timer]:
        """The live timers, in no particular order (for checks, not for hot paths)."""
        return self._timers.live()

    def pending(self) -> int:
        """Number of live timers."""
        return len(self._timers)

    def run_due(self, until: float | None = None, *, strictly_before: bool = False) -> int:
        """Run every timer due at or before ``until`` (default: now), or only those due strictly
        before it (a partition's window of virtual time). Returns how many ran."""
        limit = self.now() if until is None else until
        ran = 0
        pop = self._timers.pop_before if strictly_before else self._timers.pop_due
        while (timer := pop(limit)) is not None:
            callback = timer.callback
            timer.callback = None
            self._before_run(timer.when)
            assert callback is not None
            callback()
            ran += 1
            if self.after_callback is not None:
                self.after_callback()
        return ran

    def _before_run(self, when: float) -> None:
        """Hook: the virtual clock moves its time to the timer's deadline."""

    def hold(self, at: float) -> None:
        """Keep ``now()`` at ``at`` until :meth:`release` (the engine takes one input at one
        instant; a journaled input is replayed at that instant). Virtual time never moves on
        its own, so only the real clock needs it."""

    def release(self) -> None:
        """Let ``now()`` follow its source again."""


class RealClock(Clock):
    """Wall-clock time; the real-time driver sleeps until ``next_deadline()`` and calls ``run_due()``."""

    def __init__(self) -> None:
        super().__init__()
        self.held_at: float | None = None

    def now(self) -> float:
        held = self.held_at
        return time.time() if held is None else held

    def hold(self, at: float) -> None:
        self.held_at = at

    def release(self) -> None:
        self.held_at = None


class VirtualClock(Clock):
    """Virtual time: nothing happens until the clock is advanced; then each timer runs at its deadline.

    Equal deadlines run in the order they were scheduled, so a run is deterministic.
    """

    def __init__(self, start: float = VIRTUAL_EPOCH) -> None:
        super().__init__()
        self._now = start

    def now(self) -> float:
        return self._now

    def _before_run(self, when: float) -> None:
        self._now = max(self._now, when)

    def advance(self, seconds: float) -> int:
        """Move time forward by ``seconds``, running every timer that falls due on the way."""
        if seconds < 0:
            raise ValueError("virtual time cannot go backwards")
        target = self._now + seconds
        ran = self.run_due(target)
        self._now = target
        return ran

    def advance_to(self, when: float) -> int:
        return self.advance(max(0.0, when - self._now))

    def run_until_idle(self, max_seconds: float | None = None) -> int:
        """Jump from deadline to deadline until no timer is left (or ``max_seconds`` have passed)."""
        limit = None if max_seconds is None else self._now + max_seconds
        ran = 0
        while (deadline := self.next_deadline()) is not None:
            if limit is not None and deadline > limit:
                break
            ran += self.run_due(deadline)
        if limit is not None and limit > self._now:
            self._now = limit
        return ran
