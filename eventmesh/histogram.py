"""Fixed-bucket histograms the cores keep (plain ints, moved once per batch) and the snapshot
``statistics()`` hands to the metrics collector at scrape time.

Cores import this module, never the Prometheus exporter (``metrics.py``), so they stay free of
I/O and of the exposition format.
"""

from __future__ import annotations

from bisect import bisect_left

import msgspec

__all__ = ["Histogram", "HistogramSnapshot"]


class HistogramSnapshot(msgspec.Struct, frozen=True):
    """Bucket upper bounds, per-bucket counts (not cumulative; one past the last bound for the
    overflow), and the sum of observations."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    sum: float


class Histogram:
    """A fixed-bucket histogram; ``observe_many`` adds a whole batch of equal values at once."""

    __slots__ = ("buckets", "counts", "sum", "count")

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def observe_many(self, value: float, n: int) -> None:
        self.counts[bisect_left(self.buckets, value)] += n
        self.sum += value * n
        self.count += n

    def snapshot(self) -> HistogramSnapshot:
        return HistogramSnapshot(self.buckets, tuple(self.counts), self.sum)
