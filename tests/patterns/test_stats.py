"""RuleSet.statistics(): what a compiled rule set holds and the memory it takes per rule."""

from __future__ import annotations

import json

from eventmesh.patterns import RuleSet


def test_counts_rules_branches_states_and_conditions() -> None:
    rules = RuleSet()
    rules.add("a", '{"source": ["s"], "detail": {"n": [{"numeric": [">", 1]}]}}')
    rules.add("b", '{"source": ["s"], "$or": [{"x": ["1", "2"]}, {"y": [{"prefix": "p"}]}]}')
    stats = rules.statistics()
    assert (stats.rules, stats.sub_rules) == (2, 3)
    assert stats.states == 5  # root, source=s (shared), and one state per remaining step
    assert stats.conditions == 1 + 1 + 2 + 1
    assert stats.memory_bytes > 0 and stats.bytes_per_rule == stats.memory_bytes / 2


def test_memory_per_rule_stays_flat_as_rules_grow() -> None:
    per_rule = []
    for n in (100, 1000):
        rules = RuleSet()
        for i in range(n):
            rules.add(i, json.dumps({"source": [f"s{i % 10}"], "detail": {"id": [{"prefix": f"p{i}-"}]}}))
        per_rule.append(rules.statistics().bytes_per_rule)
    assert 0.5 < per_rule[1] / per_rule[0] < 2


def test_an_empty_rule_set_reports_nothing_per_rule() -> None:
    stats = RuleSet().statistics()
    assert (stats.rules, stats.states, stats.edges, stats.bytes_per_rule) == (0, 1, 0, 0.0)
