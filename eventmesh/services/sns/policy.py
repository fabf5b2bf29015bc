"""A topic's access policy and data protection policy: the default policy, AddPermission,
RemovePermission and their checks.

Everything that decides what a topic's ``Policy`` attribute holds lives here. A new topic's policy
lets the owner account use the eight topic actions; AddPermission appends a statement ``Sid =
Label`` allowing the given accounts (``arn:aws:iam::<id>:root``) the given actions
(``SNS:<Action>``), RemovePermission drops the statement with that label. Only SNS topic actions
may appear in a topic policy (else ``Policy statement action out of service scope!``). Policies
are stored, not enforced. ``DataProtectionPolicy`` is a JSON document kept verbatim.
https://docs.aws.amazon.com/sns/latest/api/API_AddPermission.html
https://docs.aws.amazon.com/sns/latest/api/API_RemovePermission.html
https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html
https://docs.aws.amazon.com/sns/latest/api/API_PutDataProtectionPolicy.html
https://docs.aws.amazon.com/sns/latest/dg/sns-message-data-protection-policies.html
"""

from __future__ import annotations

from typing import Any

import msgspec

from eventmesh.services.sns.errors import InvalidParameter, invalid_parameter

__all__ = ["TOPIC_ACTIONS", "add_permission", "check_data_protection_policy", "check_policy", "default_policy",
           "remove_permission"]

# The actions a topic policy may grant (the default policy's eight, and Receive).
TOPIC_ACTIONS = ("GetTopicAttributes", "SetTopicAttributes", "AddPermission", "RemovePermission", "DeleteTopic",
                 "Subscribe", "ListSubscriptionsByTopic", "Publish", "Receive")
DEFAULT_POLICY_ACTIONS = TOPIC_ACTIONS[:-1]
POLICY_VERSION = "2008-10-17"
OUT_OF_SCOPE = "Policy statement action out of service scope!"
_ACTIONS = {f"sns:{name.lower()}" for name in TOPIC_ACTIONS}
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def default_policy(topic_arn: str, account: str) -> str:
    """The policy of a new topic: the owner account may use every topic action."""
    return _encode({
        "Version": POLICY_VERSION, "Id": "__default_policy_ID",
        "Statement": [{"Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
                       "Action": [f"SNS:{a}" for a in DEFAULT_POLICY_ACTIONS], "Resource": topic_arn,
                       "Condition": {"StringEquals": {"AWS:SourceOwner": account}}}]}).decode()


def _document(text: str) -> dict[str, Any]:
    try:
        document = _decode(text)
    except msgspec.DecodeError:
        raise invalid_parameter("Policy", "failed to parse JSON") from None
    if not isinstance(document, dict):
        raise invalid_parameter("Policy")
    return document


def _statements(document: dict[str, Any]) -> list[Any]:
    statements = document.get("Statement")
    if isinstance(statements, dict):
        return [statements]
    return statements if isinstance(statements, list) else []


def check_policy(text: str) -> None:
    """A Policy for SetTopicAttributes / CreateTopic: JSON, every action an SNS topic action."""
    for statement in _statements(_document(text)):
        actions = statement.get("Action", []) if isinstance(statement, dict) else []
        for action in [actions] if isinstance(actions, str) else actions:
            if not isinstance(action, str) or action.lower() not in _ACTIONS:
                raise invalid_parameter(OUT_OF_SCOPE)


def add_permission(policy: str, topic_arn: str, label: str, accounts: list[str], actions: list[str]) -> str:
    """AddPermission: the policy with one more statement, ``Sid`` = ``label``."""
    if any(action not in TOPIC_ACTIONS for action in actions):
        raise invalid_parameter(OUT_OF_SCOPE)
    document = _document(policy)
    statements = _statements(document)
    if any(isinstance(s, dict) and s.get("Sid") == label for s in statements):
        raise invalid_parameter("Statement already exists")
    principals = [f"arn:aws:iam::{account}:root" for account in accounts]
    granted = [f"SNS:{action}" for action in actions]
    statements.append({"Sid": label, "Effect": "Allow",
                       "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
                       "Action": granted[0] if len(granted) == 1 else granted, "Resource": topic_arn})
    document["Statement"] = statements
    return _encode(document).decode()


def remove_permission(policy: str, label: str) -> str:
    """RemovePermission: the policy without the statement labelled ``label`` (none: unchanged)."""
    document = _document(policy)
    document["Statement"] = [s for s in _statements(document) if not (isinstance(s, dict) and s.get("Sid") == label)]
    return _encode(document).decode()


def check_data_protection_policy(text: str) -> None:
    """A DataProtectionPolicy must be a JSON object (its statements are not enforced here)."""
    try:
        document = _decode(text)
    except msgspec.DecodeError:
        raise InvalidParameter("Invalid parameter: DataProtectionPolicy Reason: failed to parse JSON") from None
    if not isinstance(document, dict):
        raise invalid_parameter("DataProtectionPolicy")
