"""``numeric`` ranges (``>``, ``>=``, ``<``, ``<=``, at most one lower and one upper bound;
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-numeric-matching).
``=`` compiles to an exact number (ops/exact.py).

Index (IntervalIndex, shared with CIDR blocks): the bounds of every range on an edge cut the line into
elementary intervals; one bisect finds the value's interval. When the ranges overlap little, each
interval holds the next states of the ranges covering it (O(log n) per value). When that table would
pass INTERVAL_TABLE_LIMIT entries (many wide, overlapping ranges), the ranges are stored on the
O(log n) canonical nodes of a segment tree instead and a value collects the nodes above its interval:
O(log n) plus the answer either way, never a scan. The table takes a range in place (it splits at
most two intervals); the segment tree is rebuilt lazily, before the next match, after add/remove.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

from eventmesh.patterns.ops import Condition, Family

__all__ = ["NumericRange", "IntervalIndex", "RangeFamily", "INTERVAL_TABLE_LIMIT"]

# Entries (next states summed over elementary intervals) the flat table may hold; past it, a segment tree.
INTERVAL_TABLE_LIMIT = 100_000
# Points of deleted ranges kept before a rebuild: up to 4 per live range plus this many.
REBUILD_SLACK_POINTS = 64
_INF = math.inf
Span = tuple[Any, bool, Any, bool, Any]  # (low, low open, high, high open, item)


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

    def describe(self) -> str:
        return f'{{"numeric": {self.text}}}'

    def _key(self) -> Any:
        return (self.low, self.low_open, self.high, self.high_open)


class IntervalIndex:
    """Stabbing queries over closed/open intervals of comparable keys (floats or ints).

    In table mode a range is inserted or deleted in place: its bounds split at most two elementary
    intervals, and it is appended to (removed from) the intervals it covers. Points left by deleted
    ranges stay until a rebuild; ``insert`` / ``delete`` answer False when the index wants one
    (segment-tree mode, or too many such points)."""

    __slots__ = ("points", "regions", "tree", "leaves", "total", "spans")

    def __init__(self, ranges: Sequence[Span] = ()) -> None:
        points = sorted({b for lo, _, hi, _, _ in ranges for b in (lo, hi) if b not in (_INF, -_INF)})
        self.points = points
        self.spans = len(ranges)
        spans = [(first, last, r[4]) for r in ranges for first, last in [self._cover(r)] if first <= last]
        self.total = sum(last - first + 1 for first, last, _ in spans)
        count = 2 * len(points) + 1
        self.regions: list[list[Any]] | None = None
        self.tree: list[list[Any]] = []
        self.leaves = 1
        if self.total <= INTERVAL_TABLE_LIMIT:
            regions: list[list[Any]] = [[] for _ in range(count)]
            for first, last, item in spans:
                for r in range(first, last + 1):
                    regions[r].append(item)
            self.regions = regions
            return
        while self.leaves < count:
            self.leaves *= 2
        tree: list[list[Any]] = [[] for _ in range(2 * self.leaves)]
        for first, last, item in spans:  # canonical cover of [first, last], bottom-up
            lo, hi = first + self.leaves, last + self.leaves + 1
            while lo < hi:
                if lo & 1:
                    tree[lo].append(item)
                    lo += 1
                if hi & 1:
                    hi -= 1
                    tree[hi].append(item)
                lo >>= 1
                hi >>= 1
        self.tree = tree

    def _cover(self, span: Span) -> tuple[int, int]:
        """The first and last elementary interval a range covers. Region 2i+1 is the point
        points[i]; region 2i the open interval below it; region 2m the one above the last point."""
        lo, lo_open, hi, hi_open, _ = span
        points = self.points
        first = 0 if lo == -_INF else 2 * bisect.bisect_left(points, lo) + (2 if lo_open else 1)
        last = 2 * len(points) if hi == _INF else 2 * bisect.bisect_left(points, hi) + (0 if hi_open else 1)
        return first, last

    def _split(self, point: Any) -> None:
        points = self.points
        i = bisect.bisect_left(points, point)
        if i < len(points) and points[i] == point:
            return
        points.insert(i, point)
        below = self.regions[2 * i]  # type: ignore[index]
        self.regions[2 * i : 2 * i + 1] = [below, list(below), list(below)]  # type: ignore[index]

    def insert(self, span: Span) -> bool:
        if self.regions is None:
            return False
        for bound in (span[0], span[2]):
            if bound not in (_INF, -_INF):
                self._split(bound)
        first, last = self._cover(span)
        item = span[4]
        for r in range(first, last + 1):
            self.regions[r].append(item)
        self.spans += 1
        self.total += max(0, last - first + 1)
        return self.total <= INTERVAL_TABLE_LIMIT

    def delete(self, span: Span) -> bool:
        if self.regions is None:
            return False
        first, last = self._cover(span)
        item = span[4]
        for r in range(first, last + 1):
            self.regions[r].remove(item)
        self.spans -= 1
        self.total -= max(0, last - first + 1)
        return len(self.points) <= 4 * self.spans + REBUILD_SLACK_POINTS

    def region(self, key: Any) -> int:
        points = self.points
        i = bisect.bisect_left(points, key)
        return 2 * i + 1 if i < len(points) and points[i] == key else 2 * i

    def hits(self, key: Any) -> Sequence[Any]:
        regions = self.regions
        if regions is not None:
            return regions[self.region(key)]
        found: list[Any] = []
        node = self.region(key) + self.leaves
        tree = self.tree
        while node:
            if tree[node]:
                found += tree[node]
            node >>= 1
        return found

    def sizeof_items(self) -> list[Any]:
        return [self.points, self.regions or (), self.tree, *(self.regions or ()), *(n for n in self.tree if n)]


class RangeFamily(Family):
    __slots__ = ("index",)
    name = "range"

    def __init__(self) -> None:
        super().__init__()
        self.index = IntervalIndex()

    @staticmethod
    def _span(c: Any, target: Any) -> Span:
        return (c.low, c.low_open, c.high, c.high_open, target)

    def _added(self, cond: Any, target: Any) -> bool:
        return not self.index.insert(self._span(cond, target))

    def _removed(self, cond: Any, target: Any) -> bool:
        return not self.index.delete(self._span(cond, target))

    def rebuild(self) -> None:
        self.index = IntervalIndex(
            [self._span(c, target) for c, targets in self.targets.items() for target in targets]
        )

    def on_num(self, value: Any, key: float | None, out: list[Any]) -> None:  # type: ignore[override]
        if key is not None:
            found = self.index.hits(key)
            if found:
                out += found

    def sizeof_items(self) -> list[Any]:
        return [self.targets, *self.index.sizeof_items()]
