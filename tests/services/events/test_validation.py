"""EventBridge's model-driven request validation: AWS's order, paths and words."""

from __future__ import annotations

import botocore.session
import pytest

from eventmesh.services.events.errors import ValidationException
from eventmesh.services.events.validation import check_request, problems

_MODEL = botocore.session.get_session().get_service_model("events")


def shape(operation: str):  # type: ignore[no-untyped-def]
    return _MODEL.operation_model(operation).input_shape


def test_a_valid_request_has_no_problems() -> None:
    assert problems(shape("CreateConnection"), {
        "Name": "c", "AuthorizationType": "API_KEY",
        "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}}) == []
    check_request(shape("ListRules"), {})


def test_every_violation_of_a_member_is_listed_length_before_pattern() -> None:
    name = "x y" * 30
    found = problems(shape("CreateConnection"), {
        "Name": name, "AuthorizationType": "API_KEY",
        "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}})
    assert [(path, constraint.split(":")[0]) for path, _, constraint in found] == [
        ("name", "Member must have length less than or equal to 64"),
        ("name", "Member must satisfy regular expression pattern")]


def test_message_counts_errors_and_shows_values_in_aws_words() -> None:
    with pytest.raises(ValidationException) as caught:
        check_request(shape("CreateApiDestination"), {
            "Name": "d", "ConnectionArn": "arn:aws:events:us-east-1:000000000000:connection/c/1",
            "InvocationEndpoint": "https://example.com", "HttpMethod": "FETCH",
            "InvocationRateLimitPerSecond": 0})
    message = caught.value.message
    assert message.startswith("2 validation errors detected: ")
    assert ("Value 'FETCH' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: "
            "[HEAD, POST, PATCH, DELETE, PUT, GET, OPTIONS]") in message
    assert ("Value '0' at 'invocationRateLimitPerSecond' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1") in message


def test_a_single_error_is_singular_and_null_is_shown_for_a_missing_member() -> None:
    with pytest.raises(ValidationException) as caught:
        check_request(shape("DescribeConnection"), {})
    assert caught.value.message == ("1 validation error detected: Value null at 'name' failed to satisfy "
                                    "constraint: Member must not be null")


def test_list_members_are_numbered_from_one() -> None:
    found = problems(shape("PutTargets"), {"Rule": "r", "Targets": [
        {"Id": "ok", "Arn": "arn:aws:sqs:us-east-1:000000000000:q"},
        {"Id": "bad id!", "Arn": "arn:aws:sqs:us-east-1:000000000000:q"}]})
    assert [path for path, _, _ in found] == ["targets.2.member.id"]


def test_wrong_types_are_reported_not_crashed_on() -> None:
    found = problems(shape("ListRules"), {"Limit": "ten", "NamePrefix": 3})
    assert ("namePrefix", 3, "Member must be a string") in found
    assert ("limit", "ten", "Member must be an integer") in found
