"""The less common paths of the hot loop, on each engine: the compiled one answers some of them in C
and hands others to the Python family indexes (_speedups.c), and both must agree with Python's."""

from __future__ import annotations

import json

from conftest import RuleSetFactory, hits


def test_a_state_with_many_edges_and_an_event_with_few_fields(rule_set: RuleSetFactory) -> None:
    rules = rule_set({f"f{i}": {f"field{i}": ["v"]} for i in range(20)})  # 20 root edges
    assert hits(rules, {"field7": "v"}) == {"f7"}
    assert hits(rules, {"field7": "w", "other": 1}) == set()


def test_many_duplicate_states_from_one_lookup_count_once(rule_set: RuleSetFactory) -> None:
    # one array value per anything-but state, each state reached by every element: more than the
    # compiled engine's DEDUP_SCAN_MAX duplicates to drop
    rules = rule_set({f"r{i}": {"t": ["x"], "v": [{"anything-but": f"no{i}"}], "w": [str(i)]} for i in range(40)})
    event = {"t": "x", "v": ["a", "b", "c"], "w": "7"}
    assert hits(rules, event) == {"r7"}
    assert hits(rules, {**event, "v": ["no7", "no7"]}) == set()


def test_non_ascii_text_through_ignore_case_and_affixes(rule_set: RuleSetFactory) -> None:
    rules = rule_set(
        {
            "eq": {"a": [{"equals-ignore-case": "ÉTÉ"}]},
            "prefix": {"a": [{"prefix": {"equals-ignore-case": "Ét"}}]},
            "suffix": {"a": [{"suffix": "é"}]},
            "exact-prefix": {"a": [{"prefix": "ét"}]},
        }
    )
    assert hits(rules, {"a": "été"}) == {"eq", "prefix", "suffix", "exact-prefix"}
    assert hits(rules, {"a": "ÉTÉ"}) == {"eq", "prefix"}
    assert hits(rules, {"a": "ete"}) == set()


def test_the_empty_prefix_matches_every_string(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"empty": {"a": [{"prefix": ""}]}, "suffix": {"a": [{"suffix": ""}]}})
    assert hits(rules, {"a": ""}) == {"empty", "suffix"}
    assert hits(rules, {"a": "x"}) == {"empty", "suffix"}
    assert hits(rules, {"a": 1}) == set()


def test_ipv6_values_and_uncomparable_numbers_go_through_python(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"v6": '{"ip": [{"cidr": "2001:db8::/32"}]}', "huge": '{"n": [1E400, 5]}'})
    assert hits(rules, {"ip": "2001:db8::1"}) == {"v6"}
    assert hits(rules, {"ip": "2001:db9::1"}) == set()
    assert hits(rules, '{"n": 5}') == {"huge"}
    assert hits(rules, '{"n": 6}') == set()


def test_sns_numbers_use_the_sns_key(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"p": '{"price": [100.123456789], "q": [{"numeric": [">", 10]}]}'}, flavor="sns")
    number = {"Type": "Number", "Value": "100.1234567"}
    assert rules.matches(attributes={"price": number, "q": {"Type": "Number", "Value": "11"}}) == {"p"}
    assert rules.matches(attributes={"price": number, "q": {"Type": "Number", "Value": "10"}}) == set()


def test_wildcard_shapes_that_need_the_regex(rule_set: RuleSetFactory) -> None:
    rules = rule_set(
        {
            "two-stars": {"a": [{"wildcard": "a*b*c"}]},
            "one-star": {"a": [{"wildcard": "ab*yz"}]},
            **{f"middle{i}": {"a": [{"wildcard": f"*m{i}x*y"}]} for i in range(20)},
        }
    )
    assert hits(rules, {"a": "aXbYc"}) == {"two-stars"}
    assert hits(rules, {"a": "abyz"}) == {"one-star"}
    assert hits(rules, {"a": "aby"}) == set()
    assert hits(rules, {"a": "__m7x__m7x_y"}) == {"middle7"}
    assert hits(rules, {"a": "__m7x__m7x_"}) == set()


def test_ranges_in_segment_tree_mode(rule_set: RuleSetFactory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from eventmesh.patterns.ops import numeric

    monkeypatch.setattr(numeric, "INTERVAL_TABLE_LIMIT", 10)
    rules = rule_set({f"r{i}": {"n": [{"numeric": [">=", i, "<", 100 + i]}]} for i in range(30)})
    assert hits(rules, {"n": 50}) == {f"r{i}" for i in range(30)}
    assert hits(rules, {"n": 110}) == {f"r{i}" for i in range(11, 30)}
    assert hits(rules, {"n": 200}) == set()


def test_many_events_leave_no_garbage(rule_set: RuleSetFactory) -> None:
    import gc
    import sys

    rules = rule_set(
        {
            "arr": {"items": {"sku": ["a"], "qty": [{"numeric": [">", 1]}]}, "gone": [{"exists": False}]},
            "wild": {"s": [{"wildcard": "x*y*z"}]},
            "ab": {"s": [{"anything-but": ["q"]}]},
        }
    )
    events = [
        json.dumps({"items": [{"sku": "a", "qty": i % 3}, {"sku": "b"}], "s": f"x{i}y{i}z", "gone": [{"x": 1}]})
        for i in range(50)
    ]
    for e in events:
        rules.matches(e)
    gc.collect()
    before = len(gc.get_objects())
    refs = sys.getrefcount(rules)
    for _ in range(20):
        for e in events:
            rules.matches(e)
    gc.collect()
    assert len(gc.get_objects()) <= before + 10
    assert sys.getrefcount(rules) == refs
