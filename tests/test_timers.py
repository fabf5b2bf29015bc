from __future__ import annotations

from eventmesh.timers import TimerQueue


def test_pop_due_returns_live_timers_in_order_and_skips_cancelled() -> None:
    queue = TimerQueue()
    first = queue.push(2.0, lambda: None)
    queue.push(1.0, lambda: None)
    queue.push(3.0, lambda: None)
    queue.cancel(first)
    assert len(queue) == 2
    assert queue.next_deadline() == 1.0
    due = [queue.pop_due(2.5), queue.pop_due(2.5)]
    assert due[0] is not None and due[0].when == 1.0
    assert due[1] is None  # 2.0 was cancelled, 3.0 is not due
    assert queue.next_deadline() == 3.0


def test_heap_is_compacted_when_cancelled_entries_pile_up() -> None:
    queue = TimerQueue()
    timers = [queue.push(float(i), lambda: None) for i in range(5000)]
    for timer in timers[:4000]:
        queue.cancel(timer)
    assert len(queue) == 1000
    assert len(queue._heap) < 5000  # rebuilt without the stale entries
    assert queue.next_deadline() == 4000.0
