"""The SNS filter-policy dialect on the shared machine.

Differences from EventBridge patterns, all decided here or in the Dialect passed to _parse.py:

* scope ``MessageAttributes`` (default): keys are attribute names, no nesting; ``String`` and
  ``String.Array`` values are strings / JSON arrays, ``Number`` values numbers, ``Binary`` attributes
  are ignored (as if absent). Scope ``MessageBody``: the body must be a JSON object, nesting allowed.
* numbers compare within +/-1e9 to 5 decimals (_numbers.sns_number); ``anything-but`` accepts only
  ``prefix`` and ``equals-ignore-case`` inside; there is no ``wildcard``.
* at most MAX_KEYS top-level keys and MAX_COMBINATIONS value combinations, counted as AWS documents
  it: the product over leaf arrays of (number of values x nesting depth), ``$or`` branches summed.
* ``{}`` means no filtering.
https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from eventmesh.patterns._errors import PatternSyntaxError
from eventmesh.patterns._json import JsonObject, JsonValue
from eventmesh.patterns._parse import OR_KEYWORD, _is_or

__all__ = [
    "SCOPES",
    "MAX_KEYS",
    "MAX_COMBINATIONS",
    "check_policy_limits",
    "attributes_to_event",
    "invalid_scope_message",
]

SCOPES = ("MessageAttributes", "MessageBody")
MAX_KEYS = 5  # "Filter policy can not have more than 5 keys"
MAX_COMBINATIONS = 150  # "Filter policy is too complex"


def invalid_scope_message(scope: str) -> str:
    return (
        f"Invalid parameter: FilterPolicyScope: Invalid value [{scope}]. "
        "Please use either MessageBody or MessageAttributes"
    )


def check_policy_limits(tree: JsonValue) -> None:
    if not isinstance(tree, JsonObject):
        return
    if len(tree.last()) > MAX_KEYS:
        raise PatternSyntaxError(f"Filter policy can not have more than {MAX_KEYS} keys")
    if _combinations(tree, 1, 1) > MAX_COMBINATIONS:
        raise PatternSyntaxError("Filter policy is too complex")


def _combinations(obj: JsonObject, depth: int, combinations: int) -> int:
    for key, value in obj.last().items():
        if isinstance(value, JsonObject):
            combinations = _combinations(value, depth + 1, combinations)
        elif key == OR_KEYWORD and _is_or(value) and isinstance(value, list):
            combinations = sum(_combinations(branch, depth, combinations) for branch in value)
        elif isinstance(value, list):
            combinations *= len(value) * depth
    return combinations


def attributes_to_event(attributes: Mapping[str, Any], decode: Any = msgspec.json.decode) -> dict[str, Any]:
    """SNS message attributes -> the object the policy is matched against.

    Accepts the notification shape ``{"Type": "String", "Value": "x"}`` and the API shape
    ``{"DataType": "String", "StringValue": "x"}``. Binary attributes are left out.
    """
    event: dict[str, Any] = {}
    for name, attribute in attributes.items():
        if not isinstance(attribute, Mapping):
            continue
        data_type = attribute.get("Type") or attribute.get("DataType") or "String"
        value = attribute.get("Value", attribute.get("StringValue"))
        if data_type.startswith("Binary") or value is None:
            continue
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("utf-8", "replace")
        if data_type.startswith("Number"):
            try:
                number = decode(value)
            except (msgspec.DecodeError, TypeError):
                continue
            if type(number) in (int, float):
                event[name] = number
        elif data_type == "String.Array":
            try:
                items = decode(value)
            except (msgspec.DecodeError, TypeError):
                items = None
            # a String.Array whose value is a JSON scalar ("100") is that scalar (moto's recorded tests)
            event[name] = items if items is not None or value.strip() == "null" else value
        else:
            event[name] = value
    return event
