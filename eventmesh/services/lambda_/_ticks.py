"""Deadline groups: items due at the same millisecond share one clock timer.

The pool schedules completions (model handlers) and retries (async back-off) through this, so a
batch that starts together finishes on one timer, and a thousand throttled events retried at the
same instant cost one timer, never one each. Deadlines are rounded to the nearest millisecond
(Lambda bills and reports durations in milliseconds). Cost: O(1) per item, one timer per
distinct deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventmesh.clock import Clock, Timer

__all__ = ["Ticks", "TICK_RESOLUTION_DIGITS"]

TICK_RESOLUTION_DIGITS = 3  # milliseconds


class Ticks:
    """Collects items by deadline and calls ``fire(items)`` once per deadline."""

    __slots__ = ("_clock", "_fire", "_due", "_timers")

    def __init__(self, clock: Clock, fire: Callable[[list[Any]], None]) -> None:
        self._clock = clock
        self._fire = fire
        self._due: dict[float, list[Any]] = {}
        self._timers: dict[float, Timer] = {}

    def __len__(self) -> int:
        return sum(len(items) for items in self._due.values())

    def add(self, when: float, item: Any) -> None:
        key = round(when, TICK_RESOLUTION_DIGITS)
        items = self._due.get(key)
        if items is None:
            self._due[key] = [item]
            self._timers[key] = self._clock.call_at(key, lambda: self._run(key))
        else:
            items.append(item)

    def extend(self, when: float, items: list[Any]) -> None:
        key = round(when, TICK_RESOLUTION_DIGITS)
        due = self._due.get(key)
        if due is None:
            self._due[key] = list(items)
            self._timers[key] = self._clock.call_at(key, lambda: self._run(key))
        else:
            due.extend(items)

    def items(self) -> list[Any]:
        return [item for items in self._due.values() for item in items]

    def cancel_all(self) -> None:
        for timer in self._timers.values():
            self._clock.cancel(timer)
        self._timers.clear()
        self._due.clear()

    def _run(self, key: float) -> None:
        self._timers.pop(key, None)
        items = self._due.pop(key, None)
        if items:
            self._fire(items)
