"""wildcard: patterns filed under a literal anchor (prefix, suffix, a middle piece) or matching all."""

from __future__ import annotations

import pytest
from conftest import RuleSetFactory, hits

from eventmesh.patterns.ops import wildcard
from eventmesh.patterns.ops.wildcard import Wildcard, WildcardIndex


def test_prefix_anchored_patterns_behind_one_anchor(rule_set: RuleSetFactory) -> None:
    rules = rule_set(
        {f"w{i}": {"t": ["Refund"], "res": [{"wildcard": f"arn:aws:s3:::b-{i}/*"}]} for i in range(300)}
    )
    assert hits(rules, {"t": "Refund", "res": "arn:aws:s3:::b-12/k.json"}) == {"w12"}
    assert hits(rules, {"t": "Refund", "res": ["x", "arn:aws:s3:::b-12/"]}) == {"w12"}
    assert hits(rules, {"t": "Refund", "res": "arn:aws:s3:::b-12"}) == set()
    assert hits(rules, {"t": "Order", "res": "arn:aws:s3:::b-12/k.json"}) == set()


def test_suffix_middle_and_general_shapes(rule_set: RuleSetFactory) -> None:
    rules = rule_set(
        {
            "suffix": {"a": [{"wildcard": "*.png"}]},
            "middle": {"a": [{"wildcard": "*/lib/*"}]},
            "both": {"a": [{"wildcard": "dir/*.png"}]},
            "general": {"a": [{"wildcard": "a*b*c"}]},
            "all": {"a": [{"wildcard": "*"}]},
            "no-star": {"a": [{"wildcard": "a\\*b"}]},
        }
    )
    assert hits(rules, {"a": "dir/x.png"}) == {"suffix", "both", "all"}
    assert hits(rules, {"a": "/usr/lib/x"}) == {"middle", "all"}
    assert hits(rules, {"a": "aXbYc"}) == {"general", "all"}
    assert hits(rules, {"a": "a*b"}) == {"no-star", "all"}
    assert hits(rules, {"a": "dir.png"}) == {"suffix", "all"}
    assert hits(rules, {"a": 5}) == set()


@pytest.mark.parametrize("count", [3, 40])  # scanned, then probed by piece
def test_many_middle_patterns_reach_only_their_own(rule_set: RuleSetFactory, count: int) -> None:
    rules = rule_set({f"m{i}": {"email": [{"wildcard": f"*@nomail-{i}.*"}]} for i in range(count)})
    assert hits(rules, {"email": "x@nomail-2.org"}) == {"m2"}
    assert hits(rules, {"email": "x@nomail-2x.org"}) == set()
    assert hits(rules, {"email": "x@Example.com"}) == set()


def test_index_files_each_shape_under_its_anchor() -> None:
    shapes = {"abc": "exact", "ab*": "prefix", "ab*cd": "prefix", "*cd": "suffix", "*": "every", "*b*": "middle"}
    for text, where in shapes.items():
        assert Wildcard(text).where == where


def test_index_items_are_counted_and_removed(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(wildcard, "MIDDLE_SCAN_MAX", 1)
    index = WildcardIndex()
    patterns = [Wildcard(t) for t in ("*abcd*", "*bcde*", "x*", "*y", "*", "q")]
    for i, w in enumerate(patterns):
        index.add(w, i)
    found: list[int] = []
    index.collect("xabcdey", found)
    assert sorted(found) == [0, 1, 2, 3, 4]
    for i, w in enumerate(patterns):
        index.remove(w, i)
    found = []
    index.collect("xabcdey", found)
    assert found == []
