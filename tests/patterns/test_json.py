from __future__ import annotations

import pytest

from eventmesh.patterns._errors import PatternSyntaxError
from eventmesh.patterns._json import JsonNumber, JsonObject, parse_json


def reason(text: str) -> str:
    with pytest.raises(PatternSyntaxError) as info:
        parse_json(text)
    return info.value.reason


def test_numbers_keep_their_text_and_objects_keep_repeated_keys() -> None:
    tree = parse_json('{"a": [3.018e2, -0, 10], "a": {"b": null}}')
    assert isinstance(tree, JsonObject)
    assert [k for k, _ in tree] == ["a", "a"]
    assert tree[0][1] == [JsonNumber("3.018e2"), JsonNumber("-0"), JsonNumber("10")]
    assert tree.last() == {"a": tree[1][1]}


def test_unrecognized_token_reads_like_jackson_with_location() -> None:
    assert reason("this is not json") == (
        "Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token 'null', "
        "'true' or 'false')\n at [Source: (String)\"this is not json\"; line: 1, column: 5]"
    )


def test_single_quoted_field_name_is_rejected_as_jackson_does() -> None:
    assert reason("{'bad': 'quotation'}").startswith(
        "Unexpected character (''' (code 39)): was expecting double-quote to start field name"
    )


def test_missing_comma_and_mismatched_close_marker() -> None:
    assert reason('{"a": [1, 2 3]}').startswith(
        "Unexpected character ('3' (code 51)): was expecting comma to separate Array entries"
    )
    assert reason('{"a": ["1", "2" }').startswith("Unexpected close marker '}': expected ']'")


def test_leading_zeroes_and_bad_escapes_are_rejected() -> None:
    assert reason('{"a": [01]}').startswith("Invalid numeric value: Leading zeroes not allowed")
    assert reason('{"a": ["\\q"]}').startswith("Unrecognized character escape")


def test_content_after_the_root_object_is_ignored() -> None:
    assert parse_json('{"a": ["b"]} trailing') is not None
