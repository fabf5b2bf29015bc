"""Queue attributes: names, defaults, ranges and validation, as one table.

Everything that decides whether an attribute value is acceptable lives here, except the checks
that need other queues (the dead-letter target of a ``RedrivePolicy``), which ``service.py`` adds.
Values arrive and leave as strings, as on the wire; :class:`QueueConfig` holds them typed.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-queue-message-identifiers.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/high-throughput-fifo.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from eventmesh.services.sqs.errors import (
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidParameterValueException,
)

__all__ = [
    "DEFAULT_MESSAGE_SIZE_BYTES",
    "DEFAULT_RETENTION_S",
    "DEFAULT_VISIBILITY_TIMEOUT_S",
    "MAX_DELAY_S",
    "MAX_RECEIVE_COUNT",
    "MAX_VISIBILITY_TIMEOUT_S",
    "MAX_WAIT_TIME_S",
    "READ_ONLY_ATTRIBUTES",
    "SETTABLE_ATTRIBUTES",
    "QueueConfig",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "parse_attributes",
    "render_config",
    "validate_queue_name",
]

# ranges and defaults.
DEFAULT_DELAY_S = 0
MAX_DELAY_S = 900
MIN_MESSAGE_SIZE_BYTES = 1_024
DEFAULT_MESSAGE_SIZE_BYTES = 1_048_576  # 1 MiB since Aug 2025 (was 262,144)
MIN_RETENTION_S = 60
DEFAULT_RETENTION_S = 345_600  # 4 days
MAX_RETENTION_S = 1_209_600  # 14 days
MAX_WAIT_TIME_S = 20
DEFAULT_VISIBILITY_TIMEOUT_S = 30
MAX_VISIBILITY_TIMEOUT_S = 43_200  # 12 hours
MIN_KMS_REUSE_S = 60
DEFAULT_KMS_REUSE_S = 300
MAX_KMS_REUSE_S = 86_400
MAX_RECEIVE_COUNT = 1_000  # RedrivePolicy maxReceiveCount 1..1000
MAX_REDRIVE_ALLOW_SOURCES = 10  # RedriveAllowPolicy byQueue sourceQueueArns
# 1-80 characters [A-Za-z0-9_-]; FIFO names end in ".fifo", counted in the 80.
MAX_QUEUE_NAME_LENGTH = 80
_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_FIFO_NAME = re.compile(r"[A-Za-z0-9_-]{1,75}\.fifo")

READ_ONLY_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
)
FIFO_ONLY = frozenset({"FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"})


class RedrivePolicy(msgspec.Struct, frozen=True):
    """``RedrivePolicy``: move a message to ``dead_letter_target_arn`` on receive number
    ``max_receive_count + 1``."""

    dead_letter_target_arn: str
    max_receive_count: int


class RedriveAllowPolicy(msgspec.Struct, frozen=True):
    """``RedriveAllowPolicy`` on a dead-letter queue: which sources may use it."""

    redrive_permission: str = "allowAll"  # allowAll | denyAll | byQueue
    source_queue_arns: tuple[str, ...] = ()

    def allows(self, source_arn: str) -> bool:
        if self.redrive_permission == "allowAll":
            return True
        return self.redrive_permission == "byQueue" and source_arn in self.source_queue_arns


class QueueConfig(msgspec.Struct):
    """The settable attributes of a queue, typed. Raw JSON policies are kept to be echoed back."""

    delay_seconds: int = DEFAULT_DELAY_S
    maximum_message_size: int = DEFAULT_MESSAGE_SIZE_BYTES
    message_retention_period: int = DEFAULT_RETENTION_S
    receive_message_wait_time_seconds: int = 0
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT_S
    redrive_policy: RedrivePolicy | None = None
    redrive_policy_raw: str | None = None
    redrive_allow_policy: RedriveAllowPolicy | None = None
    redrive_allow_policy_raw: str | None = None
    policy: str | None = None
    kms_master_key_id: str | None = None
    kms_data_key_reuse_period_seconds: int = DEFAULT_KMS_REUSE_S
    sqs_managed_sse_enabled: bool = True
    fifo_queue: bool = False
    content_based_deduplication: bool = False
    deduplication_scope: str = "queue"  # queue | messageGroup
    fifo_throughput_limit: str = "perQueue"  # perQueue | perMessageGroupId


def _invalid(name: str) -> InvalidAttributeValue:
    return InvalidAttributeValue(f"Invalid value for the parameter {name}.")


def _int_range(low: int, high: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        text = raw.strip()
        if not text.lstrip("+-").isdigit():
            raise _invalid(name)
        value = int(text)
        if not low <= value <= high:
            raise _invalid(name)
        return value

    return parse


def _bool(name: str, raw: str) -> bool:
    text = raw.strip().lower()
    if text not in ("true", "false"):
        raise _invalid(name)
    return text == "true"


def _enum(*choices: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        if raw not in choices:
            raise _invalid(name)
        return raw

    return parse


def _text(name: str, raw: str) -> str | None:
    return raw or None


def _json_map(name: str, raw: str) -> dict[str, Any]:
    """A policy attribute's JSON object, or ``InvalidAttributeValue`` for the attribute."""
    try:
        document = json.loads(raw)
    except ValueError:
        raise _invalid(name) from None
    if not isinstance(document, dict):
        raise _invalid(name)
    return document


def _policy(name: str, raw: str) -> str | None:
    if raw == "":
        return None
    _json_map(name, raw)
    return raw


def _redrive_policy(name: str, raw: str) -> RedrivePolicy | None:
    """Shape checks only; the target queue is checked by the service (it needs the mesh)."""
    if raw == "":
        return None  # an empty string clears the policy

    def bad(reason: str) -> InvalidParameterValueException:
        return InvalidParameterValueException(
            f"Value {raw} for parameter RedrivePolicy is invalid. Reason: {reason}")

    try:
        document = json.loads(raw)
    except ValueError:
        raise bad("Redrive policy is not a valid JSON map.") from None
    if not isinstance(document, dict):
        raise bad("Redrive policy is not a valid JSON map.")
    unknown = set(document) - {"deadLetterTargetArn", "maxReceiveCount"}
    if unknown:
        raise bad("Only following attributes are supported:[deadLetterTargetArn, maxReceiveCount].")
    if "deadLetterTargetArn" not in document:
        raise bad("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
    if "maxReceiveCount" not in document:
        raise bad("Redrive policy does not contain mandatory attribute: maxReceiveCount.")
    count = document["maxReceiveCount"]
    try:
        number = int(count)
    except (TypeError, ValueError):
        number = 0
    if isinstance(count, bool) or not 1 <= number <= MAX_RECEIVE_COUNT:
        raise bad(f"Invalid value for maxReceiveCount: {count}, valid values are from 1 to "
                  f"{MAX_RECEIVE_COUNT} both inclusive.")
    target = document["deadLetterTargetArn"]
    if not isinstance(target, str) or not target.startswith("arn:") or target.count(":") < 5:
        raise bad("Invalid value for deadLetterTargetArn.")
    return RedrivePolicy(target, number)


def _redrive_allow_policy(name: str, raw: str) -> RedriveAllowPolicy | None:
    if raw == "":
        return None
    document = _json_map(name, raw)
    permission = document.get("redrivePermission")
    sources = document.get("sourceQueueArns")
    if permission not in ("allowAll", "denyAll", "byQueue"):
        raise InvalidAttributeValue(
            f"Value {raw} for parameter RedriveAllowPolicy is invalid. Reason: Invalid value for "
            "redrivePermission. Valid values are allowAll, denyAll and byQueue.")
    if permission == "byQueue":
        if (not isinstance(sources, list) or not 1 <= len(sources) <= MAX_REDRIVE_ALLOW_SOURCES
                or not all(isinstance(s, str) for s in sources)):
            raise InvalidAttributeValue(
                f"Value {raw} for parameter RedriveAllowPolicy is invalid. Reason: sourceQueueArns "
                f"must contain 1 to {MAX_REDRIVE_ALLOW_SOURCES} queue ARNs when redrivePermission is "
                "byQueue.")
        return RedriveAllowPolicy("byQueue", tuple(sources))
    if sources:
        raise InvalidAttributeValue(
            f"Value {raw} for parameter RedriveAllowPolicy is invalid. Reason: sourceQueueArns may "
            "only be specified when redrivePermission is byQueue.")
    return RedriveAllowPolicy(permission)


# name -> (QueueConfig field, parser). The order is the order GetQueueAttributes(All) answers in.
_SETTABLE: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "DelaySeconds": ("delay_seconds", _int_range(0, MAX_DELAY_S)),
    "MaximumMessageSize": ("maximum_message_size",
                           _int_range(MIN_MESSAGE_SIZE_BYTES, DEFAULT_MESSAGE_SIZE_BYTES)),
    "MessageRetentionPeriod": ("message_retention_period", _int_range(MIN_RETENTION_S, MAX_RETENTION_S)),
    "ReceiveMessageWaitTimeSeconds": ("receive_message_wait_time_seconds", _int_range(0, MAX_WAIT_TIME_S)),
    "VisibilityTimeout": ("visibility_timeout", _int_range(0, MAX_VISIBILITY_TIMEOUT_S)),
    "RedrivePolicy": ("redrive_policy", _redrive_policy),
    "RedriveAllowPolicy": ("redrive_allow_policy", _redrive_allow_policy),
    "Policy": ("policy", _policy),
    "KmsMasterKeyId": ("kms_master_key_id", _text),
    "KmsDataKeyReusePeriodSeconds": ("kms_data_key_reuse_period_seconds",
                                     _int_range(MIN_KMS_REUSE_S, MAX_KMS_REUSE_S)),
    "SqsManagedSseEnabled": ("sqs_managed_sse_enabled", _bool),
    "FifoQueue": ("fifo_queue", _bool),
    "ContentBasedDeduplication": ("content_based_deduplication", _bool),
    "DeduplicationScope": ("deduplication_scope", _enum("queue", "messageGroup")),
    "FifoThroughputLimit": ("fifo_throughput_limit", _enum("perQueue", "perMessageGroupId")),
}
SETTABLE_ATTRIBUTES = tuple(_SETTABLE)
_RAW_KEPT = {"RedrivePolicy": "redrive_policy_raw", "RedriveAllowPolicy": "redrive_allow_policy_raw"}


def validate_queue_name(name: str, fifo: bool) -> None:
    """Queue names: 1-80 of ``[A-Za-z0-9_-]``; a FIFO queue's name ends in ``.fifo``."""
    if fifo:
        if not _FIFO_NAME.fullmatch(name):
            raise InvalidParameterValueException(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or "
                "underscores, must end with .fifo suffix and be 1 to 80 in length.")
    elif not _NAME.fullmatch(name):
        raise InvalidParameterValueException(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")


def parse_attributes(raw: Mapping[str, str], *, fifo: bool, creating: bool) -> dict[str, Any]:
    """Validate wire attributes; return ``{field: typed value}`` changes (nothing applied yet,
    so one bad attribute leaves the queue untouched)."""
    changes: dict[str, Any] = {}
    for name, value in raw.items():
        entry = _SETTABLE.get(name)
        if entry is None:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        if name in FIFO_ONLY and not fifo:
            # A standard queue has no FIFO attributes at all, not even FifoQueue=false.
            if name in ("DeduplicationScope", "FifoThroughputLimit"):
                raise InvalidAttributeName(f"You can specify the {name} only when FifoQueue is set to true.")
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        if name == "FifoQueue" and not creating:
            if str(value).strip().lower() == "true":
                continue  # a FIFO queue, which this is
            raise InvalidAttributeValue(
                "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.")
        field, parse = entry
        changes[field] = parse(name, str(value))
        if name in _RAW_KEPT:
            changes[_RAW_KEPT[name]] = value or None
    return changes


def check_config(config: QueueConfig, changes: Mapping[str, Any], creating: bool = False) -> None:
    """Cross-attribute rules: SSE on the configuration the changes would produce; the FIFO
    throughput pair at creation, and afterwards only when one request sets both (a queue
    switches to high throughput, and back, one attribute at a time: "if you set these attributes
    to anything other than the values shown for enabling high throughput, normal throughput is
    in effect", high-throughput-fifo.html)."""
    if config.kms_master_key_id and config.sqs_managed_sse_enabled:
        raise InvalidAttributeName(
            "You can use one type of server-side encryption (SSE) at one time. You can either enable "
            "KMS SSE or SQS SSE.")
    scope = config.deduplication_scope if creating else changes.get("deduplication_scope", "messageGroup")
    if changes.get("fifo_throughput_limit") == "perMessageGroupId" and scope != "messageGroup":
        raise InvalidAttributeValue(
            "Invalid value for the parameter FifoThroughputLimit. Reason: The perMessageGroupId value is "
            "allowed only when the value for DeduplicationScope is messageGroup.")


def apply_changes(config: QueueConfig, changes: Mapping[str, Any], creating: bool = False) -> QueueConfig:
    """A new configuration with ``changes`` applied, cross-checked; the old one is not touched."""
    updated = msgspec.structs.replace(config, **changes)
    if changes.get("kms_master_key_id") and "sqs_managed_sse_enabled" not in changes:
        updated.sqs_managed_sse_enabled = False  # SSE-KMS replaces the default SSE-SQS
    check_config(updated, changes, creating)
    return updated


def _text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_config(config: QueueConfig) -> dict[str, str]:
    """The settable attributes as GetQueueAttributes answers them (strings; unset ones absent)."""
    out: dict[str, str] = {}
    for name, (field, _) in _SETTABLE.items():
        if name in FIFO_ONLY and not config.fifo_queue:
            continue
        if name == "RedrivePolicy":
            policy = config.redrive_policy
            if policy is not None:  # AWS answers the policy re-serialised, compact
                out[name] = json.dumps({"deadLetterTargetArn": policy.dead_letter_target_arn,
                                        "maxReceiveCount": policy.max_receive_count}, separators=(",", ":"))
            continue
        if name in _RAW_KEPT:
            raw = getattr(config, _RAW_KEPT[name])
            if raw is not None:
                out[name] = raw
            continue
        value = getattr(config, field)
        if value is None:
            continue
        if name == "KmsDataKeyReusePeriodSeconds" and not config.kms_master_key_id:
            continue
        out[name] = _text_of(value)
    return out


def config_mismatch(config: QueueConfig, changes: Mapping[str, Any]) -> str | None:
    """CreateQueue idempotence: the first given attribute whose value differs from ``config``."""
    by_field = {field: name for name, (field, _) in _SETTABLE.items()}
    for field, value in changes.items():
        if field.endswith("_raw"):
            continue
        if getattr(config, field) != value:
            return by_field[field]
    return None
