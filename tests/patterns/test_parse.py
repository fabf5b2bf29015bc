"""Validation: what each service rejects, with the message it answers (spec eventbridge.md §4, sns.md §6)."""

from __future__ import annotations

import pytest

from eventmesh.patterns import InvalidPatternError, compile_filter_policy, compile_pattern


def eb_reason(pattern: str) -> str:
    with pytest.raises(InvalidPatternError) as info:
        compile_pattern(pattern)
    assert info.value.code == "InvalidEventPatternException"
    assert info.value.message == "Event pattern is not valid. Reason: " + info.value.reason
    return info.value.reason.split("\n")[0]


def sns_error(policy: str, scope: str = "MessageAttributes") -> InvalidPatternError:
    with pytest.raises(InvalidPatternError) as info:
        compile_filter_policy(policy, scope)
    return info.value


@pytest.mark.parametrize(
    "pattern, reason",
    [
        ('{"a": "x"}', '"a" must be an object or an array'),
        ('{"a": []}', "Empty arrays are not allowed"),
        ("[1, 2]", "Filter is not an object"),
        ('{"a": [{"NUMERIC": ["=", 1]}]}', "Unrecognized match type NUMERIC"),
        ('{"a": [{"numeric": 5}]}', "Value of numeric must be an array."),
        ('{"a": [{"numeric": [">", 0, ">", 1]}]}', "Bad numeric range operator: >"),
        ('{"a": [{"numeric": [">", 5, "<", 1]}]}', "Bottom must be less than top"),
        ('{"a": [{"numeric": [">", 0, "<"]}]}', "Value of < must be numeric"),
        ('{"a": [{"numeric": ["<", 1, ">", 0]}]}', "Too many elements in numeric expression"),
        ('{"a": [{"numeric": [">", 1, "<", 30, 1]}]}', "Too many terms in numeric range expression"),
        ('{"a": [{"numeric": ["=", 2.0e422]}]}', "Cannot compare number : 2.0e422"),
        ('{"a": [{"prefix": 1}]}', "prefix match pattern must be a string"),
        ('{"a": [{"suffix": ["x"]}]}', "suffix match pattern must be a string"),
        ('{"a": [{"prefix": "x", "suffix": "y"}]}', "Only one key allowed in match expression"),
        ('{"a": [{"equals-ignore-case": ["x"]}]}', "equals-ignore-case match pattern must be a string"),
        (
            '{"a": [{"anything-but": null}]}',
            "Value of anything-but must be an array or single string/number value.",
        ),
        (
            '{"a": [{"anything-but": ["x", null]}]}',
            "Inside anything but list, start|null|boolean is not supported.",
        ),
        (
            '{"a": [{"anything-but": ["x", 1]}]}',
            "Inside anything but list, either all values are number or string, mixed type is not supported",
        ),
        ('{"a": [{"anything-but": {"prefix": ""}}]}', "Null prefix/suffix not allowed"),
        ('{"a": [{"anything-but": {"suffix": 1}}]}', "prefix/suffix match pattern must be a string"),
        (
            '{"a": [{"anything-but": {"equals-ignore-case": 1}}]}',
            "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
        ),
        (
            '{"a": [{"anything-but": {"prefix": {"equals-ignore-case": "x"}}}]}',
            "Value of anything-but must be an array or single string/number value.",
        ),
        ('{"a": [{"anything-but": {"exists": true}}]}', "Unsupported anything-but pattern: exists"),
        ('{"a": [{"exists": "yes"}]}', "exists match pattern must be either true or false."),
        ('{"a": [{"cidr": "10.0.0.0"}]}', "Malformed CIDR, one '/' required"),
        ('{"a": [{"cidr": "10.0.0.0/x"}]}', "Malformed CIDR, mask bits must be an integer"),
        ('{"a": [{"cidr": "10.0.0.256/8"}]}', "Nonstandard IP address: 10.0.0.256"),
        ('{"a": [{"cidr": ["10.0.0.0/8"]}]}', "prefix match pattern must be a string"),
        ('{"a": [{"wildcard": "a**b"}]}', "Consecutive wildcard characters at pos 2"),
        ('{"a": [{"wildcard": "a\\\\b"}]}', "Invalid escape character at pos 2"),
        (
            '{"a": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}',
            "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
            "sequences "
            "after a wildcard character",
        ),
        ('{"a": [["x"]]}', "Match value must be String, number, true, false, or null"),
        ('{"$or": [{"a": ["x"]}]}', "Unrecognized match type a"),
        ('{"a": {}}', "Empty objects are not allowed"),
    ],
)
def test_eventbridge_rejects_with_aws_reason(pattern: str, reason: str) -> None:
    assert eb_reason(pattern) == reason


@pytest.mark.parametrize(
    "pattern",
    [
        '{"a": [{"wildcard": "*/lib/*"}]}',
        '{"a": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}',
        '{"a": [{"anything-but": {"wildcard": ["*.tmp", "*.bak"]}}]}',
        '{"a": [{"anything-but": {"prefix": ["a", "b"]}}]}',
        '{"a": [{"numeric": [">=", -5e9, "<=", 5e9]}]}',
        '{"a": [1e400]}',
    ],
)
def test_eventbridge_accepts(pattern: str) -> None:
    compile_pattern(pattern)


def test_or_with_a_single_branch_is_an_ordinary_key() -> None:
    assert eb_reason('{"$or": [{"source": ["x"]}]}') == "Unrecognized match type source"


def test_sns_messages_use_the_set_and_subscribe_wordings() -> None:
    error = sns_error('{"key": [{"suffix": 100}]}')
    assert error.code == "InvalidParameter"
    assert error.message == "Invalid parameter: FilterPolicy: suffix match pattern must be a string"
    assert error.subscribe_message == (
        "Invalid parameter: Attributes Reason: FilterPolicy: suffix match pattern must be a string"
    )


def test_sns_attribute_scope_rejects_nesting_but_checks_structure_first() -> None:
    assert sns_error('{"a": {"b": ["x"]}}').message == (
        "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
    )
    assert sns_error('{"a": {"suffix": "x"}}').reason == '"suffix" must be an object or an array'
    compile_filter_policy('{"a": {"b": ["x"]}}', "MessageBody")


def test_sns_anything_but_accepts_prefix_only_and_has_its_own_wording() -> None:
    assert (
        sns_error('{"k": [{"anything-but": {"suffix": "x"}}]}').reason
        == "Unsupported anything-but pattern: suffix"
    )
    assert (
        sns_error('{"k": [{"anything-but": {"prefix": false}}]}').reason
        == "prefix match pattern must be a string"
    )
    assert sns_error('{"k": [{"wildcard": "a*"}]}').reason == "Unrecognized match type wildcard"


def test_sns_limits_keys_and_combinations() -> None:
    six = ", ".join(f'"k{i}": ["v"]' for i in range(6))
    assert sns_error("{" + six + "}").reason == "Filter policy can not have more than 5 keys"
    values = ", ".join(f'"v{i}"' for i in range(151))
    assert sns_error('{"k": [' + values + "]}").reason == "Filter policy is too complex"
    # nested values count once per level of depth: 4*3 x 3*2 x 3*1 = 216 > 150
    nested = '{"a": {"b": {"c": ["1", "2", "3", "4"]}}, "d": {"e": ["1", "2", "3"]}, "f": ["1", "2", "3"]}'
    assert sns_error(nested, "MessageBody").reason == "Filter policy is too complex"
    compile_filter_policy('{"k": [' + ", ".join(f'"v{i}"' for i in range(150)) + "]}")


def test_sns_numbers_beyond_one_billion_are_a_server_error() -> None:
    error = sns_error('{"k": [1000000001]}')
    assert error.code == "InternalError"


def test_sns_policy_scope_must_be_known() -> None:
    error = sns_error('{"k": ["v"]}', scope="Body")
    assert error.message == (
        "Invalid parameter: FilterPolicyScope: Invalid value [Body]. "
        "Please use either MessageBody or MessageAttributes"
    )


def test_sns_json_errors_say_failed_to_parse() -> None:
    assert sns_error("{bad").reason.startswith("failed to parse JSON. Unexpected character")
