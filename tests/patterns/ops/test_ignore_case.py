"""equals-ignore-case: one dict of lower-cased values per edge."""

from __future__ import annotations

from conftest import RuleSetFactory, hits


def test_many_values_behind_one_anchor(rule_set: RuleSetFactory) -> None:
    rules = rule_set(
        {f"e{i}": {"t": ["Order"], "email": [{"equals-ignore-case": f"User{i}@Example.COM"}]} for i in range(300)}
    )
    assert hits(rules, {"t": "Order", "email": "user7@example.com"}) == {"e7"}
    assert hits(rules, {"t": "Order", "email": "USER7@EXAMPLE.COM"}) == {"e7"}
    assert hits(rules, {"t": "Order", "email": "user7@example.org"}) == set()
    assert hits(rules, {"t": "Refund", "email": "user7@example.com"}) == set()


def test_only_strings(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"r": {"a": [{"equals-ignore-case": "1"}]}})
    assert hits(rules, {"a": "1"}) == {"r"}
    assert hits(rules, {"a": 1}) == set()
