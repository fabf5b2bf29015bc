"""Matching semantics of compiled patterns (spec eventbridge.md §4)."""

from __future__ import annotations

import json

import pytest

from eventmesh.patterns import compile_pattern

pytestmark = pytest.mark.usefixtures("engine")  # every test runs on each pattern engine


def match(pattern: object, event: object) -> bool:
    return compile_pattern(json.dumps(pattern)).matches(json.dumps(event))


def test_every_field_must_match_and_other_fields_are_ignored() -> None:
    pattern = {"source": ["aws.ec2"], "detail": {"state": ["running", "stopped"]}}
    assert match(pattern, {"source": "aws.ec2", "detail": {"state": "stopped", "x": 1}, "y": 2})
    assert not match(pattern, {"source": "aws.ec2", "detail": {"state": "pending"}})
    assert not match(pattern, {"source": "aws.ec2"})


def test_event_arrays_match_on_any_element() -> None:
    assert match({"resources": ["r2"]}, {"resources": ["r1", "r2"]})
    assert not match({"resources": ["r3"]}, {"resources": ["r1", "r2"]})
    assert not match({"resources": [None]}, {"resources": []})


def test_null_empty_string_and_missing_are_different() -> None:
    assert match({"a": [None]}, {"a": None})
    assert not match({"a": [None]}, {})
    assert match({"a": [""]}, {"a": ""})
    assert not match({"a": [""]}, {"a": None})
    assert not match({"a": ["null"]}, {"a": None})


def test_numbers_match_by_value_whatever_their_notation_and_never_strings() -> None:
    assert compile_pattern('{"a": [300]}').matches('{"a": 300.0}')
    assert compile_pattern('{"a": [3.0e2]}').matches('{"a": 300}')
    assert not compile_pattern('{"a": [300]}').matches('{"a": "300"}')
    assert not compile_pattern('{"a": ["300"]}').matches('{"a": 300}')


def test_booleans_are_not_numbers() -> None:
    assert match({"a": [True]}, {"a": True})
    assert not match({"a": [1]}, {"a": True})
    assert not match({"a": [True]}, {"a": 1})


def test_numeric_ranges() -> None:
    pattern = {"n": [{"numeric": [">", 0, "<=", 5]}]}
    assert [match(pattern, {"n": v}) for v in (0, 0.000001, 5, 5.000001, "3", None)] == [
        False,
        True,
        True,
        False,
        False,
        False,
    ]
    assert match({"n": [{"numeric": ["=", 301.8]}]}, {"n": 3.018e2})
    assert not match({"n": [{"numeric": ["=", 301.8]}]}, {"n": 301.81})


def test_prefix_suffix_and_ignore_case_forms_apply_to_strings_only() -> None:
    assert match({"a": [{"prefix": "us-"}]}, {"a": "us-east-1"})
    assert not match({"a": [{"prefix": "us-"}]}, {"a": "eu-west-1"})
    assert not match({"a": [{"prefix": "1"}]}, {"a": 10})
    assert match({"a": [{"suffix": ".png"}]}, {"a": "x.png"})
    assert not match({"a": [{"suffix": ".png"}]}, {"a": "x.PNG"})
    assert match({"a": [{"prefix": {"equals-ignore-case": "EventB"}}]}, {"a": "eventbridge"})
    assert not match({"a": [{"prefix": {"equals-ignore-case": "EventB"}}]}, {"a": "event-bridge"})
    assert match({"a": [{"suffix": {"equals-ignore-case": ".PNG"}}]}, {"a": "x.png"})
    assert not match({"a": [{"suffix": {"equals-ignore-case": ".PNG"}}]}, {"a": "x.jpg"})
    assert match({"a": [{"equals-ignore-case": "AlIcE"}]}, {"a": "alice"})
    assert not match({"a": [{"equals-ignore-case": "AlIcE"}]}, {"a": "alicia"})


def test_anything_but_matches_null_and_other_types_but_never_a_missing_field() -> None:
    pattern = {"a": [{"anything-but": ["x", "y"]}]}
    assert match(pattern, {"a": None})
    assert match(pattern, {"a": 5})
    assert not match(pattern, {"a": "x"})
    assert not match(pattern, {})
    assert match(pattern, {"a": ["x", "z"]})  # some element is not excluded
    assert not match({"a": [{"anything-but": [1, 2]}]}, {"a": 1.0})
    assert match({"a": [{"anything-but": [1, 2]}]}, {"a": "1"})


def test_anything_but_forms() -> None:
    assert not match({"a": [{"anything-but": {"prefix": "init"}}]}, {"a": "init-x"})
    assert match({"a": [{"anything-but": {"prefix": "init"}}]}, {"a": "x-init"})
    assert match({"a": [{"anything-but": {"suffix": ".txt"}}]}, {"a": "x.png"})
    assert not match({"a": [{"anything-but": {"suffix": ".txt"}}]}, {"a": "x.txt"})
    assert not match({"a": [{"anything-but": {"equals-ignore-case": ["Stopped"]}}]}, {"a": "STOPPED"})
    assert match({"a": [{"anything-but": {"equals-ignore-case": ["Stopped"]}}]}, {"a": "STARTED"})
    assert not match({"a": [{"anything-but": {"wildcard": "*/lib/*"}}]}, {"a": "/usr/lib/x"})
    assert match({"a": [{"anything-but": {"wildcard": "*/lib/*"}}]}, {"a": "/usr/bin/x"})


def test_two_anything_but_conditions_in_one_list_are_alternatives() -> None:
    pattern = {"a": [{"anything-but": "x"}, {"anything-but": "y"}]}
    assert match(pattern, {"a": "x"})  # the second lets it through
    assert not match(pattern, {})  # neither matches a missing field


def test_exists_looks_at_leaf_values() -> None:
    assert match({"a": [{"exists": True}]}, {"a": None})
    assert not match({"a": [{"exists": True}]}, {"a": {"b": 1}})
    assert not match({"a": [{"exists": True}]}, {"a": []})
    assert match({"a": [{"exists": False}]}, {"b": 1})
    assert match({"a": [{"exists": False}]}, {"a": {"b": 1}})
    assert not match({"a": [{"exists": False}]}, {"a": 1})


def test_exists_false_combined_with_a_value_condition() -> None:
    pattern = {"tier": [{"anything-but": ["gold"]}, {"exists": False}], "source": ["s"]}
    assert match(pattern, {"source": "s"})
    assert match(pattern, {"source": "s", "tier": "bronze"})
    assert not match(pattern, {"source": "s", "tier": "gold"})


def test_cidr_and_exact_ip_addresses() -> None:
    assert match({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.0.255"})
    assert not match({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.1.0"})
    assert match(
        {"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]}, {"ip": "2001:0db8:1234:1a00:0000:0000:0000:0001"}
    )
    assert not match({"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]}, {"ip": "2001:db8:1234:1a01::1"})
    assert match({"ip": ["2001:db8::1"]}, {"ip": "2001:0db8:0:0:0:0:0:1"})
    assert not match({"ip": ["2001:db8::1"]}, {"ip": "2001:db8::2"})


def test_wildcards_and_escapes() -> None:
    assert match({"a": [{"wildcard": "dir/*.png"}]}, {"a": "dir/x/y.png"})
    assert not match({"a": [{"wildcard": "dir/*.png"}]}, {"a": "dir/x/y.jpg"})
    assert match({"a": [{"wildcard": "a\\*b"}]}, {"a": "a*b"})
    assert not match({"a": [{"wildcard": "a\\*b"}]}, {"a": "axb"})
    assert match({"a": [{"wildcard": "*"}]}, {"a": ""})
    assert not match({"a": [{"wildcard": "*"}]}, {"a": 1})


def test_or_at_any_level() -> None:
    pattern = {"source": ["s"], "$or": [{"a": ["1"]}, {"detail": {"$or": [{"b": ["2"]}, {"c": ["3"]}]}}]}
    assert match(pattern, {"source": "s", "a": "1"})
    assert match(pattern, {"source": "s", "detail": {"c": "3"}})
    assert not match(pattern, {"source": "s", "detail": {"d": "3"}})


def test_dotted_keys_name_the_same_field_as_nesting() -> None:
    assert match({"detail": {"state": ["on"]}}, {"detail.state": "on"})
    assert match({"detail.state": ["on"]}, {"detail": {"state": "on"}})
    assert not match({"detail.state": ["on"]}, {"detail": {"state": "off"}, "detail.stat": "on"})


def test_array_consistency_values_of_one_rule_come_from_one_element() -> None:
    pattern = {"items": {"name": ["a"], "size": ["big"]}}
    assert match(pattern, {"items": [{"name": "a", "size": "big"}, {"name": "b", "size": "small"}]})
    assert not match(pattern, {"items": [{"name": "a", "size": "small"}, {"name": "b", "size": "big"}]})


def test_exists_false_inside_arrays_is_judged_against_the_chosen_element() -> None:
    pattern = {"d": {"a": [{"exists": True}], "b": [{"exists": False}]}}
    assert match(pattern, {"d": [{"a": 1}, {"b": 2}]})
    assert not match(pattern, {"d": [{"a": 1, "b": 2}]})


def test_repeated_key_last_occurrence_wins() -> None:
    assert compile_pattern('{"a": ["x"], "a": ["y"]}').matches('{"a": "y"}')
    assert not compile_pattern('{"a": ["x"], "a": ["y"]}').matches('{"a": "x"}')


def test_events_that_are_not_objects_never_match() -> None:
    pattern = compile_pattern('{"a": [{"exists": false}]}')
    assert not pattern.matches("[1]")
    assert not pattern.matches("not json")
    assert pattern.matches({"b": 1})


def test_explain_names_the_failing_field_and_condition() -> None:
    pattern = compile_pattern('{"source": ["aws.ec2"], "detail": {"state": [{"anything-but": "stopped"}]}}')
    assert pattern.explain('{"source": "aws.ec2", "detail": {"state": "running"}}') is None
    assert pattern.explain('{"source": "aws.ec2", "detail": {"state": "stopped"}}') == (
        'detail.state: "stopped" does not match [{"anything-but": "stopped"}]'
    )
    assert pattern.explain('{"source": "aws.ec2"}') == (
        'detail.state: the event has no value at this path (pattern wants [{"anything-but": "stopped"}])'
    )


def test_explain_names_array_consistency_and_missing_fields() -> None:
    pattern = compile_pattern('{"items": {"sku": ["a"], "qty": [{"numeric": [">", 2]}]}, "x": [{"exists": false}]}')
    event = {"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 5}]}
    assert pattern.explain(event) == (
        "every field has a matching value, but not all from the same element of an array "
        "(array-consistent matching)"
    )
    assert pattern.explain({"items": [{"sku": "a", "qty": 3}]}) is None
    assert pattern.explain({"items": [{"sku": "a", "qty": 3}], "x": 1}) == (
        'x: 1 does not match [{"exists": false}]'
    )
