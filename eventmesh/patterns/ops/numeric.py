"""``numeric`` ranges (``>``, ``>=``, ``<``, ``<=``, at most one lower and one upper bound; spec
eventbridge.md §4, sns.md §6). ``=`` compiles to an exact number (ops/exact.py).

Index: the bounds of every range on a field cut the number line into elementary intervals; each
interval holds the hits of the ranges covering it, found with one bisect: O(log n) per value. When
overlapping ranges would make that table large (more than INTERVAL_TABLE_LIMIT entries) the index
falls back to scanning the ranges.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

from eventmesh.patterns.ops import Collectors, Condition, Hit, Masks, apply_hits

__all__ = ["NumericRange", "IntervalIndex", "build_ranges", "INTERVAL_TABLE_LIMIT"]

# Entries (hits summed over elementary intervals) an interval table may hold before the index scans.
INTERVAL_TABLE_LIMIT = 200_000
_INF = math.inf


class NumericRange(Condition):
    __slots__ = ("low", "low_open", "high", "high_open", "numkey", "text")
    family = "range"

    def __init__(
        self, low: float, low_open: bool, high: float, high_open: bool, numkey: Any, text: str
    ) -> None:
        self.low, self.low_open, self.high, self.high_open = low, low_open, high, high_open
        self.numkey = numkey
        self.text = text

    def contains(self, key: float) -> bool:
        if key < self.low or (self.low_open and key == self.low):
            return False
        return not (key > self.high or (self.high_open and key == self.high))

    def matches(self, value: Any) -> bool:
        if type(value) not in (int, float):
            return False
        key = self.numkey(value)
        return key is not None and self.contains(key)

    def predicate(self) -> Any:
        low, low_open, high, high_open, numkey = (
            self.low,
            self.low_open,
            self.high,
            self.high_open,
            self.numkey,
        )

        def test(value: Any) -> bool:
            t = type(value)
            if t is not int and t is not float:
                return False
            key = numkey(value)
            if key is None or key < low or key > high:
                return False
            return not ((low_open and key == low) or (high_open and key == high))

        return test

    def describe(self) -> str:
        return f'{{"numeric": {self.text}}}'

    def _key(self) -> Any:
        return (self.low, self.low_open, self.high, self.high_open)


class IntervalIndex:
    """Stabbing queries over closed/open intervals of comparable keys (floats or ints)."""

    __slots__ = ("points", "regions", "scan")

    def __init__(self, ranges: Sequence[tuple[Any, bool, Any, bool, Hit]]) -> None:
        points = sorted({b for lo, _, hi, _, _ in ranges for b in (lo, hi) if b not in (_INF, -_INF)})
        where = {p: i for i, p in enumerate(points)}
        m = len(points)
        spans = []
        total = 0
        for lo, lo_open, hi, hi_open, hit in ranges:
            first = 0 if lo == -_INF else 2 * where[lo] + (2 if lo_open else 1)
            last = 2 * m if hi == _INF else 2 * where[hi] + (0 if hi_open else 1)
            if first <= last:
                spans.append((first, last, hit))
                total += last - first + 1
        self.points = points
        if total > INTERVAL_TABLE_LIMIT:
            self.regions = None
            self.scan = tuple(ranges)
            return
        regions: list[list[Hit]] = [[] for _ in range(2 * m + 1)]
        for first, last, hit in spans:
            for r in range(first, last + 1):
                regions[r].append(hit)
        self.regions = tuple(tuple(r) for r in regions)
        self.scan = ()

    def hits(self, key: Any) -> Sequence[Hit]:
        regions = self.regions
        if regions is None:
            return [
                h
                for lo, lo_open, hi, hi_open, h in self.scan
                if (lo < key or (lo == key and not lo_open)) and (key < hi or (key == hi and not hi_open))
            ]
        points = self.points
        i = bisect.bisect_left(points, key)
        if i < len(points) and points[i] == key:
            return regions[2 * i + 1]
        return regions[2 * i]


def build_ranges(entries: Sequence[tuple[NumericRange, Hit]]) -> Collectors:
    index = IntervalIndex([(c.low, c.low_open, c.high, c.high_open, h) for c, h in entries])
    hits_for = index.hits

    def on_num(value: Any, key: float | None, masks: Masks) -> None:
        if key is not None:
            hits = hits_for(key)
            if hits:
                apply_hits(hits, masks)

    return Collectors(on_num=on_num)
