"""Exact strings, literals and numbers on one shared edge: each value reaches only its own rules."""

from __future__ import annotations

from conftest import RuleSetFactory, hits


def test_many_exact_strings_behind_one_anchor_each_reach_only_their_rule(rule_set: RuleSetFactory) -> None:
    rules = rule_set({f"r{i}": {"source": ["shop"], "detail": {"sku": [f"sku-{i}"]}} for i in range(500)})
    assert hits(rules, {"source": "shop", "detail": {"sku": "sku-42"}}) == {"r42"}
    assert hits(rules, {"source": "shop", "detail": {"sku": "sku-500"}}) == set()
    assert hits(rules, {"source": "other", "detail": {"sku": "sku-42"}}) == set()


def test_value_lists_share_a_state_per_distinct_list(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"a": {"s": ["x", "y"]}, "b": {"s": ["y", "x"]}, "c": {"s": ["y"]}})
    assert hits(rules, {"s": "x"}) == {"a", "b"}
    assert hits(rules, {"s": "y"}) == {"a", "b", "c"}
    assert hits(rules, {"s": "z"}) == set()


def test_literals_never_equal_their_text_or_numbers(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"null": {"a": [None]}, "true": {"a": [True]}, "one": {"a": [1]}, "text": {"a": ["true"]}})
    assert hits(rules, {"a": None}) == {"null"}
    assert hits(rules, {"a": True}) == {"true"}
    assert hits(rules, {"a": 1}) == {"one"}
    assert hits(rules, {"a": "true"}) == {"text"}
    assert hits(rules, {"a": False}) == set()
    assert hits(rules, {}) == set()


def test_numbers_match_by_value_on_a_shared_edge(rule_set: RuleSetFactory) -> None:
    rules = rule_set({f"n{i}": {"k": ["x"], "n": [i * 10]} for i in range(100)})
    rules.add("written-differently", '{"k": ["x"], "n": [3.0e2, 300.0]}')
    assert hits(rules, '{"k": "x", "n": 300.0}') == {"n30", "written-differently"}
    assert hits(rules, {"k": "x", "n": 305}) == set()
    assert hits(rules, {"k": "x", "n": "300"}) == set()


def test_numbers_beyond_doubles_are_kept_as_text_and_never_equal_others(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"huge": '{"n": [1E309]}', "one": '{"n": [1]}'})
    assert hits(rules, '{"n": 1}') == {"one"}
    assert hits(rules, '{"n": 1E308}') == set()
    assert hits(rules, '{"n": "1E309"}') == set()


def test_a_number_written_twice_in_one_list_is_removed_with_its_rule(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"twice": '{"n": [300, 3.0e2]}', "once": '{"n": [300]}'})
    assert hits(rules, {"n": 300}) == {"twice", "once"}
    rules.remove("twice")
    assert hits(rules, {"n": 300}) == {"once"}
    rules.remove("once")
    assert hits(rules, {"n": 300}) == set()
