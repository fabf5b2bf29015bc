"""Histograms: the fixed buckets /metrics exports and the sketch a simulation reads quantiles from."""

from __future__ import annotations

import math
import random

from eventmesh.histogram import SKETCH_RATIO, Histogram, sketch_key
from eventmesh.simulate.sampling import _sketch_quantiles


def test_without_a_sketch_a_histogram_keeps_only_its_buckets():
    hist = Histogram((1.0, 10.0))
    hist.observe(0.5)
    hist.observe_many(5.0, 3)
    snap = hist.snapshot()
    assert snap.counts == (1, 3, 0) and snap.sum == 15.5 and snap.sketch is None


def test_sketch_buckets_are_one_percent_wide_and_zero_has_its_own():
    assert sketch_key(1.0) == 0 and sketch_key(SKETCH_RATIO * 1.0001) == 1 and sketch_key(0.999) == -1
    assert sketch_key(0.0) == sketch_key(-1.0) < sketch_key(1e-300)
    for value in (1e-6, 0.04, 3.0, 7200.0):
        key = sketch_key(value)
        assert SKETCH_RATIO ** key <= value * (1 + 1e-12) and value < SKETCH_RATIO ** (key + 1)


def test_quantiles_between_two_snapshots_come_from_that_period_only():
    hist = Histogram((1.0,), sketch=True)
    for _ in range(100):
        hist.observe(2.0)
    first = hist.snapshot()
    rng = random.Random(5)
    values = sorted(rng.expovariate(1 / 0.04) for _ in range(20_000))
    for v in values:
        hist.observe(v)
    second = hist.snapshot()
    low, p50, p99, high = _sketch_quantiles(second.sketch, first.sketch, len(values), (0.0, 0.5, 0.99, 1.0))
    assert low == values[0] and high == values[-1]   # each bucket's least and greatest value, exact
    assert math.isclose(p50, values[9_999], rel_tol=0.01) and math.isclose(p99, values[19_799], rel_tol=0.01)
    # The first period: one value repeated, every quantile exactly it (not 2.0 ± 1 %).
    assert _sketch_quantiles(first.sketch, None, 100, (0.0, 0.5, 1.0)) == [2.0, 2.0, 2.0]
    assert sum(second.sketch.counts.values()) == 20_100
