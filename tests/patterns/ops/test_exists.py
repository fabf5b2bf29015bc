"""exists true (any leaf value) and false (the edge's absent transition)."""

from __future__ import annotations

from conftest import RuleSetFactory, hits


def test_exists_true_on_a_shared_edge(rule_set: RuleSetFactory) -> None:
    rules = rule_set({f"r{i}": {"s": [f"s{i}"], "err": [{"exists": True}]} for i in range(100)})
    assert hits(rules, {"s": "s4", "err": None}) == {"r4"}
    assert hits(rules, {"s": "s4", "err": 0}) == {"r4"}
    assert hits(rules, {"s": "s4"}) == set()
    assert hits(rules, {"s": "s4", "err": {"code": 1}}) == set()
    assert hits(rules, {"s": "s4", "err": []}) == set()


def test_exists_false_behind_many_anchors(rule_set: RuleSetFactory) -> None:
    rules = rule_set({f"r{i}": {"s": [f"s{i}"], "coupon": [{"exists": False}]} for i in range(100)})
    assert hits(rules, {"s": "s4"}) == {"r4"}
    assert hits(rules, {"s": "s4", "coupon": "X"}) == set()
    assert hits(rules, {"s": "s4", "coupon": {"code": "X"}}) == {"r4"}


def test_rules_of_only_absences_and_absence_or_value(rule_set: RuleSetFactory) -> None:
    rules = rule_set(
        {"quiet": {"error": [{"exists": False}]}, "tier": {"tier": [{"anything-but": ["gold"]}, {"exists": False}]}}
    )
    assert hits(rules, {"ok": 1}) == {"quiet", "tier"}
    assert hits(rules, {"tier": "bronze"}) == {"quiet", "tier"}
    assert hits(rules, {"tier": "gold", "error": "x"}) == set()
