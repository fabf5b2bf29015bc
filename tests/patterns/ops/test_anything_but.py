"""anything-but in every form: satisfied unless the value proves otherwise."""

from __future__ import annotations

from conftest import RuleSetFactory, hits


def test_each_form_on_a_shared_edge(rule_set: RuleSetFactory) -> None:
    rules = rule_set(
        {
            "values": {"a": [{"anything-but": ["x", "y"]}]},
            "numbers": {"a": [{"anything-but": [1, 2]}]},
            "prefix": {"a": [{"anything-but": {"prefix": "in"}}]},
            "suffix": {"a": [{"anything-but": {"suffix": ".txt"}}]},
            "ignore-case": {"a": [{"anything-but": {"equals-ignore-case": ["STOP"]}}]},
            "wildcard": {"a": [{"anything-but": {"wildcard": "*/lib/*"}}]},
        }
    )
    everything = {"values", "numbers", "prefix", "suffix", "ignore-case", "wildcard"}
    assert hits(rules, {"a": "x"}) == everything - {"values"}
    assert hits(rules, {"a": 1.0}) == everything - {"numbers"}
    assert hits(rules, {"a": "init"}) == everything - {"prefix"}
    assert hits(rules, {"a": "a.txt"}) == everything - {"suffix"}
    assert hits(rules, {"a": "stop"}) == everything - {"ignore-case"}
    assert hits(rules, {"a": "/usr/lib/z"}) == everything - {"wildcard"}
    assert hits(rules, {"a": None}) == everything
    assert hits(rules, {}) == set()


def test_a_value_most_rules_exclude_reaches_only_the_others(rule_set: RuleSetFactory) -> None:
    rules = rule_set({f"r{i}": {"t": ["Refund"], "tier": [{"anything-but": ["gold", f"t{i}"]}]} for i in range(50)})
    rules.add("lets-gold-through", '{"t": ["Refund"], "tier": [{"anything-but": ["silver"]}]}')
    assert hits(rules, {"t": "Refund", "tier": "gold"}) == {"lets-gold-through"}
    assert hits(rules, {"t": "Refund", "tier": "gold"}) == {"lets-gold-through"}  # the kept answer
    assert hits(rules, {"t": "Refund", "tier": "t3"}) == {f"r{i}" for i in range(50) if i != 3} | {"lets-gold-through"}
    assert hits(rules, {"t": "Order", "tier": "bronze"}) == set()


def test_on_an_array_some_element_must_not_be_excluded(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"r": {"a": [{"anything-but": ["x"]}]}})
    assert hits(rules, {"a": ["x", "z"]}) == {"r"}
    assert hits(rules, {"a": ["x", "x"]}) == set()
