"""SNS filter policies (spec sns.md §6)."""

from __future__ import annotations

from eventmesh.patterns import compile_filter_policy
from eventmesh.patterns.sns_policy import attributes_to_event


def attrs(**values: tuple[str, str]) -> dict:
    return {name: {"Type": t, "Value": v} for name, (t, v) in values.items()}


def test_string_number_and_string_array_attributes() -> None:
    policy = compile_filter_policy('{"price": [{"numeric": [">", 10]}], "tags": ["b"]}')
    assert policy.matches(attributes=attrs(price=("Number", "12.5"), tags=("String.Array", '["a", "b"]')))
    assert not policy.matches(attributes=attrs(price=("String", "12.5"), tags=("String.Array", '["a", "b"]')))


def test_binary_attributes_are_ignored() -> None:
    policy = compile_filter_policy('{"blob": [{"exists": false}]}')
    assert policy.matches(attributes=attrs(blob=("Binary", "AAEC")))
    assert not policy.matches(attributes=attrs(blob=("String", "AAEC")))


def test_api_shaped_attributes_are_accepted() -> None:
    assert attributes_to_event(
        {"a": {"DataType": "String", "StringValue": "x"}, "n": {"DataType": "Number", "StringValue": "5"}}
    ) == {"a": "x", "n": 5}


def test_numbers_compare_to_five_decimals() -> None:
    policy = compile_filter_policy('{"price": [100.123456789]}')
    assert policy.matches(attributes=attrs(price=("Number", "100.1234567")))
    assert not policy.matches(attributes=attrs(price=("Number", "100.1244")))


def test_body_scope_nesting_and_non_json_bodies() -> None:
    policy = compile_filter_policy('{"store": {"name": [{"prefix": "example"}]}}', scope="MessageBody")
    assert policy.matches(body='{"store": {"name": "example_corp"}}')
    assert policy.matches(body='{"store.name": "example_corp"}')
    assert not policy.matches(body="plain text")


def test_empty_policy_delivers_everything() -> None:
    # there is no non-matching message: "{}" means no filtering
    assert compile_filter_policy("{}").matches(attributes={})
    assert compile_filter_policy("{}", scope="MessageBody").matches(body="not json")
    assert not compile_filter_policy('{"a": ["b"]}', scope="MessageBody").matches(body="not json")


def test_missing_attribute_fails_unless_exists_false() -> None:
    assert not compile_filter_policy('{"store": ["x"]}').matches(attributes={})
    assert compile_filter_policy('{"store": [{"exists": false}]}').matches(attributes={})
    assert not compile_filter_policy('{"store": [{"anything-but": "x"}]}').matches(attributes={})
