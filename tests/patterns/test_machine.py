"""The machine: shared states, step order, and rules added and removed one at a time."""

from __future__ import annotations

import json

import pytest
from conftest import RuleSetFactory, hits

from eventmesh.patterns.ops.anything_but import AnythingButFamily
from eventmesh.patterns.ops.cidr import CidrFamily
from eventmesh.patterns.ops.numeric import RangeFamily

# One rule per operator family, all behind the anchor "t": "x", and the event each one matches.
FAMILY_RULES = {
    "exact": ({"t": ["x"], "v": ["a"]}, {"t": "x", "v": "a"}),
    "number": ({"t": ["x"], "n": [5]}, {"t": "x", "n": 5}),
    "range": ({"t": ["x"], "n": [{"numeric": [">", 10]}]}, {"t": "x", "n": 11}),
    "prefix": ({"t": ["x"], "v": [{"prefix": "pre"}]}, {"t": "x", "v": "prefix"}),
    "suffix": ({"t": ["x"], "v": [{"suffix": "fix"}]}, {"t": "x", "v": "suffix"}),
    "prefix-ic": ({"t": ["x"], "v": [{"prefix": {"equals-ignore-case": "UP"}}]}, {"t": "x", "v": "upper"}),
    "suffix-ic": ({"t": ["x"], "v": [{"suffix": {"equals-ignore-case": "ER"}}]}, {"t": "x", "v": "upper"}),
    "equals-ic": ({"t": ["x"], "v": [{"equals-ignore-case": "MiXeD"}]}, {"t": "x", "v": "mixed"}),
    "wildcard": ({"t": ["x"], "v": [{"wildcard": "w*d"}]}, {"t": "x", "v": "wild"}),
    "cidr": ({"t": ["x"], "ip": [{"cidr": "10.0.0.0/8"}]}, {"t": "x", "ip": "10.1.2.3"}),
    "exists": ({"t": ["x"], "e": [{"exists": True}]}, {"t": "x", "e": 0}),
    "absent": ({"t": ["x"], "gone": [{"exists": False}]}, {"t": "x"}),
    "anything-but": ({"t": ["x"], "v": [{"anything-but": "nope"}]}, {"t": "x", "v": "yes"}),
    "or": ({"t": ["x"], "$or": [{"o": ["1"]}, {"p": ["2"]}]}, {"t": "x", "p": "2"}),
}


def test_every_family_rule_matches_its_event(rule_set: RuleSetFactory) -> None:
    rules = rule_set({name: pattern for name, (pattern, _) in FAMILY_RULES.items()})
    for name, (_, event) in FAMILY_RULES.items():
        assert name in hits(rules, event), name
        assert name not in hits(rules, {**event, "t": "y"}), name


@pytest.mark.parametrize("removed", list(FAMILY_RULES))
def test_a_removed_rule_no_longer_matches_and_the_others_are_unaffected(
    rule_set: RuleSetFactory, removed: str
) -> None:
    rules = rule_set({name: pattern for name, (pattern, _) in FAMILY_RULES.items()})
    before = {name: hits(rules, event) for name, (_, event) in FAMILY_RULES.items()}
    assert rules.remove(removed)
    for name, (_, event) in FAMILY_RULES.items():
        assert hits(rules, event) == before[name] - {removed}, name
    rules.add(removed, json.dumps(FAMILY_RULES[removed][0]))
    for name, (_, event) in FAMILY_RULES.items():
        assert hits(rules, event) == before[name], name


def test_removing_every_rule_leaves_an_empty_machine(rule_set: RuleSetFactory) -> None:
    rules = rule_set({name: pattern for name, (pattern, _) in FAMILY_RULES.items()})
    for name in FAMILY_RULES:
        rules.remove(name)
    stats = rules.statistics()
    assert (stats.rules, stats.sub_rules, stats.states, stats.edges, stats.conditions) == (0, 0, 1, 0, 0)
    assert rules._machine.paths.ids == {}
    assert hits(rules, FAMILY_RULES["absent"][1]) == set()


def test_rules_sharing_an_anchor_share_its_state(rule_set: RuleSetFactory) -> None:
    rules = rule_set({f"r{i}": {"detail-type": ["shop"], "detail": {"n": [i]}} for i in range(100)})
    root = rules._machine.root
    assert len(root.edges) == 1
    ((_, edge),) = root.edges
    assert list(edge.exact) == ["shop"] and len(edge.exact["shop"]) == 1
    assert rules.statistics().states == 1 + 1 + 100


def test_steps_run_most_selective_first(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"r": {"a": [{"anything-but": "x"}], "m": [{"prefix": "p"}], "z": ["exact"]}})
    machine = rules._machine
    first = [path for path, fid in machine.paths.ids.items() if fid == machine.root.edges[0][0]]
    assert first == ["z"]
    assert hits(rules, {"a": "y", "m": "pq", "z": "exact"}) == {"r"}
    assert hits(rules, {"a": "x", "m": "pq", "z": "exact"}) == set()


@pytest.mark.parametrize(
    "family, pattern",
    [
        (RangeFamily, lambda i: {"t": ["x"], "n": [{"numeric": [">=", i, "<", i + 1]}]}),
        (CidrFamily, lambda i: {"t": ["x"], "ip": [{"cidr": f"10.{i}.0.0/16"}]}),
    ],
)
def test_a_large_rule_set_takes_a_rule_without_rebuilding(
    rule_set: RuleSetFactory, monkeypatch: pytest.MonkeyPatch, family: type, pattern: object
) -> None:
    make = pattern  # type: ignore[assignment]
    rules = rule_set({f"r{i}": make(i) for i in range(200)})  # type: ignore[operator]
    hits(rules, {"t": "x"})

    def no_rebuild(self: object) -> None:
        raise AssertionError("rebuilt")

    monkeypatch.setattr(family, "rebuild", no_rebuild)
    rules.add("new", json.dumps(make(250)))  # type: ignore[operator]
    event = {"t": "x", "n": 250.5, "ip": "10.250.1.1"}
    assert hits(rules, event) == {"new"}
    rules.remove("r3")
    assert hits(rules, {"t": "x", "n": 3.5, "ip": "10.3.0.1"}) == set()
    assert hits(rules, {"t": "x", "n": 4.5, "ip": "10.4.0.1"}) == {"r4"}


def test_anything_but_edges_are_rebuilt_once_before_the_next_match(
    rule_set: RuleSetFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = rule_set({f"r{i}": {"t": ["x"], "v": [{"anything-but": f"v{i}"}]} for i in range(20)})
    calls = []
    original = AnythingButFamily.rebuild

    def counting(self: AnythingButFamily) -> None:
        calls.append(1)
        original(self)

    monkeypatch.setattr(AnythingButFamily, "rebuild", counting)
    for i in range(20, 30):
        rules.add(f"r{i}", json.dumps({"t": ["x"], "v": [{"anything-but": f"v{i}"}]}))
    assert hits(rules, {"t": "x", "v": "v3"}) == {f"r{i}" for i in range(30)} - {"r3"}
    assert calls == [1]
