"""Topic access policies, data protection policies and the account's SMS settings at the core."""

from __future__ import annotations

import json

import pytest

from eventmesh.services.sns import policy
from eventmesh.services.sns.errors import InvalidParameter
from eventmesh.services.sns.sms import SmsSettings, check_publish_number
from eventmesh.testing import virtual_mesh

TOPIC = "arn:aws:sns:us-east-1:000000000000:t"


def test_the_default_policy_lets_the_owner_use_the_eight_topic_actions() -> None:
    document = json.loads(policy.default_policy(TOPIC, "000000000000"))
    (statement,) = document["Statement"]
    assert document["Id"] == "__default_policy_ID"
    assert statement["Action"] == ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                                   "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                                   "SNS:ListSubscriptionsByTopic", "SNS:Publish"]
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceOwner": "000000000000"}}


def test_add_permission_appends_a_labelled_statement_and_remove_drops_it() -> None:
    start = policy.default_policy(TOPIC, "000000000000")
    one = policy.add_permission(start, TOPIC, "one", ["111122223333"], ["Publish"])
    two = policy.add_permission(one, TOPIC, "two", ["111122223333", "444455556666"], ["Publish", "Subscribe"])
    statements = json.loads(two)["Statement"]
    assert [s["Sid"] for s in statements] == ["__default_statement_ID", "one", "two"]
    assert statements[1]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert statements[1]["Action"] == "SNS:Publish"
    assert statements[2]["Action"] == ["SNS:Publish", "SNS:Subscribe"]
    assert len(statements[2]["Principal"]["AWS"]) == 2
    with pytest.raises(InvalidParameter, match="Statement already exists"):
        policy.add_permission(two, TOPIC, "one", ["111122223333"], ["Publish"])
    kept = json.loads(policy.remove_permission(two, "one"))["Statement"]
    assert [s["Sid"] for s in kept] == ["__default_statement_ID", "two"]
    assert policy.remove_permission(start, "absent") == start


def test_only_topic_actions_may_be_granted() -> None:
    with pytest.raises(InvalidParameter, match="Policy statement action out of service scope!"):
        policy.add_permission(policy.default_policy(TOPIC, "0"), TOPIC, "x", ["1"], ["CreateTopic"])
    bad = json.dumps({"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]})
    with pytest.raises(InvalidParameter, match="out of service scope"):
        policy.check_policy(bad)
    policy.check_policy(json.dumps({"Statement": {"Effect": "Allow", "Action": "sns:publish", "Resource": "*"}}))
    with pytest.raises(InvalidParameter, match="Invalid parameter: Policy"):
        policy.check_policy("{not json")


def test_a_data_protection_policy_must_be_a_json_object() -> None:
    policy.check_data_protection_policy('{"Name": "p", "Version": "2021-06-01", "Statement": []}')
    with pytest.raises(InvalidParameter, match="DataProtectionPolicy Reason: failed to parse JSON"):
        policy.check_data_protection_policy("nope")
    with pytest.raises(InvalidParameter, match="DataProtectionPolicy"):
        policy.check_data_protection_policy("[]")


@pytest.mark.parametrize("number", ["+15555550100", "15555550100", "+447700900123"])
def test_e164_numbers_may_be_published_to(number: str) -> None:
    check_publish_number(number)


@pytest.mark.parametrize("number", ["", "+", "+0123", "555-0100", "+1234567890123456"])
def test_other_numbers_are_invalid_in_aws_words(number: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        check_publish_number(number)
    assert caught.value.message == f"Invalid parameter: PhoneNumber Reason: {number} is not valid to publish to"


def test_sms_settings_keep_attributes_and_the_opted_out_list() -> None:
    mesh, _ = virtual_mesh()
    settings = mesh.state(SmsSettings)
    assert settings.is_opted_out("+15555550100") is False
    settings.opted_out.extend(f"+1555555{n:04d}" for n in range(150))
    page, token = settings.list_opted_out(None)
    rest, end = settings.list_opted_out(token)
    assert (len(page), len(rest), end) == (100, 50, None)
    settings.opt_in("+15555550000")
    assert settings.is_opted_out("+15555550000") is False
    with pytest.raises(InvalidParameter, match="input incorrectly formatted"):
        settings.is_opted_out("call me")
    settings.set_attributes({"DefaultSMSType": "Transactional", "MonthlySpendLimit": "1"})
    assert settings.get_attributes(["DefaultSMSType", "Unset"]) == {"DefaultSMSType": "Transactional"}
    assert settings.get_attributes(None) == {"DefaultSMSType": "Transactional", "MonthlySpendLimit": "1"}
    with pytest.raises(InvalidParameter):
        settings.set_attributes({"DefaultSMSType": "Loud"})
