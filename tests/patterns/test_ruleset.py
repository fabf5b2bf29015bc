"""RuleSet: many rules, one pass per event; add, replace and remove."""

from __future__ import annotations

import json

import pytest

from eventmesh.patterns import InvalidPatternError, RuleSet


def test_returns_the_names_of_every_matching_rule() -> None:
    rules = RuleSet()
    rules.add("ec2", '{"source": ["aws.ec2"]}')
    rules.add("running", '{"detail": {"state": ["running"]}}')
    rules.add("s3", '{"source": ["aws.s3"]}')
    event = '{"source": "aws.ec2", "detail": {"state": "running"}}'
    assert rules.matches(event) == {"ec2", "running"}
    assert rules.matches(event.encode()) == {"ec2", "running"}
    assert rules.matches(json.loads(event)) == {"ec2", "running"}
    assert len(rules) == 3 and "s3" in rules


def test_add_replaces_and_remove_forgets() -> None:
    rules = RuleSet()
    rules.add("r", '{"a": ["1"]}')
    rules.add("r", '{"a": ["2"]}')
    assert rules.matches('{"a": "1"}') == set()
    assert rules.matches('{"a": "2"}') == {"r"}
    assert rules.remove("r") is True
    assert rules.remove("r") is False
    assert rules.matches('{"a": "2"}') == set()
    assert len(rules) == 0


def test_an_invalid_rule_is_not_added() -> None:
    rules = RuleSet()
    with pytest.raises(InvalidPatternError):
        rules.add("bad", '{"a": "x"}')
    assert "bad" not in rules


def test_many_rules_sharing_values_answer_exactly() -> None:
    rules = RuleSet()
    for i in range(300):
        rules.add(f"r{i}", json.dumps({"source": [f"s{i % 30}"], "detail-type": [f"t{i % 7}"]}))
    got = rules.matches('{"source": "s3", "detail-type": "t5"}')
    assert got == {f"r{i}" for i in range(300) if i % 30 == 3 and i % 7 == 5}


def test_rules_added_after_matching_started_are_seen() -> None:
    rules = RuleSet()
    rules.add("a", '{"x": ["1"]}')
    assert rules.matches('{"x": "1", "y": "2"}') == {"a"}
    rules.add("b", '{"y": ["2"], "x": [{"prefix": "1"}]}')
    assert rules.matches('{"x": "1", "y": "2"}') == {"a", "b"}
    rules.remove("a")
    assert rules.matches('{"x": "1", "y": "2"}') == {"b"}


def test_a_rule_of_only_absences_matches_events_without_those_fields() -> None:
    rules = RuleSet()
    rules.add("quiet", '{"error": [{"exists": false}]}')
    assert rules.matches('{"ok": 1}') == {"quiet"}
    assert rules.matches('{"error": "x"}') == set()


def test_sns_rule_set_matches_attributes_and_bodies() -> None:
    attributes = RuleSet(flavor="sns")
    attributes.add("sub-1", '{"color": ["red"]}')
    attributes.add("sub-2", "{}")
    hit = attributes.matches(attributes={"color": {"Type": "String", "Value": "red"}})
    assert hit == {"sub-1", "sub-2"}
    assert attributes.matches(attributes={"color": {"Type": "String", "Value": "blue"}}) == {"sub-2"}
    body = RuleSet(flavor="sns", scope="MessageBody")
    body.add("sub-3", '{"order": {"total": [{"numeric": [">", 100]}]}}')
    assert body.matches(body='{"order": {"total": 150}}') == {"sub-3"}
    assert body.matches(body='{"order": {"total": 50}}') == set()
    assert body.matches(body="not json") == set()


def test_unknown_flavor_is_refused() -> None:
    with pytest.raises(ValueError):
        RuleSet(flavor="kafka")


def test_anchors_are_rechosen_as_rules_accumulate_without_changing_answers() -> None:
    rules = RuleSet()
    # early rules would anchor on detail-type (no counts yet); later ones reveal it is crowded
    for i in range(200):
        rules.add(
            f"r{i}", json.dumps({"detail-type": ["T"], "source": [f"s{i}"], "gone": [{"exists": False}]})
        )
        if i in (0, 50, 150):
            assert rules.matches('{"detail-type": "T", "source": "s0"}') == {"r0"}
    assert rules.matches('{"detail-type": "T", "source": "s7"}') == {"r7"}
    assert rules.matches('{"detail-type": "T", "source": "s7", "gone": 1}') == set()
    assert rules.matches('{"detail-type": "U", "source": "s7"}') == set()


def test_match_event_answers_as_matches_for_a_decoded_event_and_follows_rule_changes(rule_set) -> None:
    rules = rule_set({"ec2": {"source": ["aws.ec2"]}, "running": {"detail": {"state": ["running"]}}})
    event = {"source": "aws.ec2", "detail": {"state": "running"}}
    assert rules.match_event(event) == rules.matches(event) == {"ec2", "running"}
    rules.add("new-path", '{"detail": {"zone": ["a"]}}')   # a new path voids the trie it walks
    rules.remove("running")
    assert rules.match_event({**event, "detail": {"state": "running", "zone": "a"}}) == {"ec2", "new-path"}


def test_a_batch_matcher_answers_as_match_event_until_the_rules_change(engine: str) -> None:
    rules = RuleSet(engine=engine)
    rules.add("a", '{"source": ["x"], "detail": {"n": [{"numeric": [">", 1]}]}}')
    batch = rules.batch_matcher()
    for event in ({"source": "x", "detail": {"n": 2}}, {"source": "x", "detail": {"n": 1}}, {"source": "y"}):
        assert batch(event) == rules.match_event(event)
    assert batch({"source": "x", "detail": {"n": 2}}) == {"a"}
    rules.add("b", '{"source": ["y"]}')  # a new batch after a change sees the new rule
    assert rules.batch_matcher()({"source": "y"}) == {"b"}
    rules.remove("a")
    assert rules.batch_matcher()({"source": "x", "detail": {"n": 2}}) == set()
