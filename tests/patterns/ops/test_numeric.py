"""Numeric ranges: interval tables and their segment-tree form, updated in place."""

from __future__ import annotations

import random

from conftest import RuleSetFactory, hits

from eventmesh.patterns.ops import numeric
from eventmesh.patterns.ops.numeric import IntervalIndex


def test_ranges_on_a_shared_edge_reach_only_the_ranges_holding_the_value(rule_set: RuleSetFactory) -> None:
    rules = rule_set(
        {f"r{i}": {"t": ["x"], "n": [{"numeric": [">=", i * 10, "<", i * 10 + 10]}]} for i in range(300)}
    )
    rules.add("open-top", '{"t": ["x"], "n": [{"numeric": [">", 2995]}]}')
    assert hits(rules, {"t": "x", "n": 25}) == {"r2"}
    assert hits(rules, {"t": "x", "n": 30}) == {"r3"}
    assert hits(rules, {"t": "x", "n": 2999.5}) == {"r299", "open-top"}
    assert hits(rules, {"t": "x", "n": -1}) == set()
    assert hits(rules, {"t": "x", "n": "25"}) == set()


def test_bounds_open_and_closed(rule_set: RuleSetFactory) -> None:
    rules = rule_set(
        {"open": {"n": [{"numeric": [">", 0, "<", 5]}]}, "closed": {"n": [{"numeric": [">=", 0, "<=", 5]}]}}
    )
    assert [hits(rules, {"n": v}) for v in (0, 2.5, 5, 5.0001)] == [{"closed"}, {"open", "closed"}, {"closed"}, set()]


def _brute(ranges: list[tuple[float, bool, float, bool, int]], key: float) -> list[int]:
    return sorted(
        item for lo, lo_open, hi, hi_open, item in ranges
        if (lo < key or (lo == key and not lo_open)) and (key < hi or (key == hi and not hi_open))
    )


def test_interval_index_in_place_updates_agree_with_a_fresh_build() -> None:
    rng = random.Random(7)
    index = IntervalIndex()
    live: list[tuple[float, bool, float, bool, int]] = []
    for step in range(400):
        if live and rng.random() < 0.3:
            span = live.pop(rng.randrange(len(live)))
            assert index.delete(span) or len(index.points) > 4 * len(live)
        else:
            lo = rng.randrange(0, 50)
            span = (float(lo), rng.random() < 0.5, float(lo + rng.randrange(1, 20)), rng.random() < 0.5, step)
            live.append(span)
            assert index.insert(span)
        for key in (rng.randrange(-2, 72) / 2 for _ in range(5)):
            assert sorted(index.hits(key)) == _brute(live, key)


def test_wide_overlapping_ranges_use_the_segment_tree(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(numeric, "INTERVAL_TABLE_LIMIT", 50)
    ranges = [(float(i), False, float(100 + i), True, i) for i in range(40)]
    index = IntervalIndex(ranges)
    assert index.regions is None
    for key in (-1.0, 0.0, 20.0, 99.5, 100.0, 139.0, 140.0):
        assert sorted(index.hits(key)) == _brute(ranges, key)
    assert not index.insert((1.0, False, 2.0, False, 99))  # asks for a rebuild
