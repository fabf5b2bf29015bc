from __future__ import annotations

import pytest

from eventmesh.clock import VIRTUAL_EPOCH, VirtualClock


def test_virtual_clock_runs_each_timer_at_its_deadline() -> None:
    clock = VirtualClock()
    seen: list[tuple[str, float]] = []
    clock.call_later(5, lambda: seen.append(("b", clock.now())))
    clock.call_later(1, lambda: seen.append(("a", clock.now())))
    assert clock.advance(10) == 2
    assert seen == [("a", VIRTUAL_EPOCH + 1), ("b", VIRTUAL_EPOCH + 5)]
    assert clock.now() == VIRTUAL_EPOCH + 10


def test_equal_deadlines_run_in_scheduling_order() -> None:
    clock = VirtualClock()
    seen: list[int] = []
    for i in range(5):
        clock.call_at(VIRTUAL_EPOCH + 3, lambda i=i: seen.append(i))
    clock.run_until_idle()
    assert seen == [0, 1, 2, 3, 4]


def test_timers_scheduled_by_callbacks_run_within_the_same_advance() -> None:
    clock = VirtualClock()
    seen: list[float] = []

    def tick() -> None:
        seen.append(clock.now())
        if len(seen) < 3:
            clock.call_later(2, tick)

    clock.call_later(2, tick)
    clock.advance(5)
    assert seen == [VIRTUAL_EPOCH + 2, VIRTUAL_EPOCH + 4]
    clock.advance(1)
    assert seen[-1] == VIRTUAL_EPOCH + 6


def test_cancelled_timer_never_runs_and_advance_cannot_go_back() -> None:
    clock = VirtualClock()
    seen: list[int] = []
    timer = clock.call_later(1, lambda: seen.append(1))
    clock.cancel(timer)
    clock.cancel(timer)  # idempotent
    assert clock.run_until_idle() == 0 and seen == []
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_run_until_idle_stops_at_the_limit() -> None:
    clock = VirtualClock()
    seen: list[int] = []
    clock.call_later(10, lambda: seen.append(10))
    clock.call_later(100, lambda: seen.append(100))
    clock.run_until_idle(max_seconds=50)
    assert seen == [10] and clock.now() == VIRTUAL_EPOCH + 50
    assert clock.pending() == 1
