"""Fixed-bucket histograms the cores keep (plain ints, moved once per batch) and the snapshot
``statistics()`` hands to the metrics collector at scrape time.

Cores import this module, never the Prometheus exporter (``metrics.py``), so they stay free of
I/O and of the exposition format.
"""

from __future__ import annotations

import math
from bisect import bisect_left

import msgspec

__all__ = ["SKETCH_RATIO", "Histogram", "HistogramSnapshot", "Sketch", "sketch_key"]

# The sketch's buckets: each 1 % wider than the one below (a quantile read from them is within
# 1 % of the observed value, and exact where every value of its bucket is the same), as
# CloudWatch's own percentile statistics are approximations of about that precision:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Percentiles
SKETCH_RATIO = 1.01
_PER_LOG = 1.0 / math.log(SKETCH_RATIO)
ZERO_KEY = -(1 << 31)   # observations of 0 (or less): one bucket below every other


def sketch_key(value: float) -> int:
    """The sketch bucket of ``value``: floor(log(value) / log(SKETCH_RATIO))."""
    return math.floor(math.log(value) * _PER_LOG) if value > 0.0 else ZERO_KEY


class Sketch(msgspec.Struct, frozen=True):
    """A histogram's observations in buckets of SKETCH_RATIO, by bucket key (``sketch_key``):
    how many fell in each, and the least and greatest value each one ever held."""

    counts: dict[int, int]
    lows: dict[int, float]
    highs: dict[int, float]


class HistogramSnapshot(msgspec.Struct, frozen=True):
    """Bucket upper bounds, per-bucket counts (not cumulative; one past the last bound for the
    overflow), and the sum of observations; and, where the histogram keeps one (a simulation's,
    for CloudWatch's percentiles, Minimum and Maximum), its sketch."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    sum: float
    sketch: Sketch | None = None


class Histogram:
    """A fixed-bucket histogram (the buckets /metrics exports); ``observe_many`` adds a whole
    batch of equal values at once. With ``sketch`` (a simulation's mesh asks for it,
    ``Mesh.sketches``) it also keeps a :class:`Sketch`, from which a run's percentiles, Minimum
    and Maximum are read: the fixed buckets are too coarse for them (a Maximum would be a bound).

    Cores that update a histogram inline (once per batch on their hot paths) update ``counts``,
    ``sum`` and ``count``, and call :meth:`sketch_many` when ``fine`` is not None."""

    __slots__ = ("buckets", "count", "counts", "fine", "highs", "lows", "sum")

    def __init__(self, buckets: tuple[float, ...], sketch: bool = False) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0
        self.count = 0
        self.fine: dict[int, int] | None = {} if sketch else None
        self.lows: dict[int, float] = {}
        self.highs: dict[int, float] = {}

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1
        if self.fine is not None:
            self.sketch_many(value, 1)

    def observe_many(self, value: float, n: int) -> None:
        self.counts[bisect_left(self.buckets, value)] += n
        self.sum += value * n
        self.count += n
        if self.fine is not None:
            self.sketch_many(value, n)

    def sketch_many(self, value: float, n: int) -> None:
        """``n`` observations of ``value`` in the sketch (kept: ``fine`` is not None)."""
        fine = self.fine
        assert fine is not None
        key = sketch_key(value)
        seen = fine.get(key)
        if seen is None:
            fine[key] = n
            self.lows[key] = self.highs[key] = value
            return
        fine[key] = seen + n
        if value < self.lows[key]:
            self.lows[key] = value
        elif value > self.highs[key]:
            self.highs[key] = value

    def snapshot(self) -> HistogramSnapshot:
        fine = self.fine
        sketch = None if fine is None else Sketch(dict(fine), dict(self.lows), dict(self.highs))
        return HistogramSnapshot(self.buckets, tuple(self.counts), self.sum, sketch)
