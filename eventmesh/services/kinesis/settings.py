"""Stream settings beside the data path: enhanced (shard-level) monitoring and server-side
encryption.

EnableEnhancedMonitoring / DisableEnhancedMonitoring turn shard-level CloudWatch metrics on and
off by name (``ALL`` is every one) and answer the metrics before and after; DescribeStream and
DescribeStreamSummary report them as ``EnhancedMonitoring: [{"ShardLevelMetrics": [...]}]``.
UpdateMaxRecordSize changes the largest record a stream takes (1 MiB by default, up to 10 MiB).
StartStreamEncryption / StopStreamEncryption switch the stream between ``KMS`` (with its
``KeyId``) and ``NONE``; records read afterwards carry the stream's ``EncryptionType``. There is
no KMS here: any key id is accepted as given (AWS checks that the key exists and is enabled).
Each operation needs the stream ACTIVE; AWS then holds it UPDATING for a moment, here it stays
ACTIVE (the stream's update delay, 0 by default, is for resharding).
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_EnableEnhancedMonitoring.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_DisableEnhancedMonitoring.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_StartStreamEncryption.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_StopStreamEncryption.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_UpdateMaxRecordSize.html
https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html
"""

from __future__ import annotations

from collections.abc import Sequence

from eventmesh.services.kinesis.errors import InvalidArgumentException, ValidationException
from eventmesh.services.kinesis.stream import Stream

__all__ = ["SHARD_LEVEL_METRICS", "ENCRYPTION_KMS", "ENCRYPTION_NONE", "set_shard_level_metrics",
           "set_max_record_size", "shard_level_metrics", "start_encryption", "stop_encryption"]

# The shard-level metrics, in the order the API reference lists them; "ALL" names every one.
SHARD_LEVEL_METRICS = (
    "IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
    "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds",
)
ALL_METRICS = "ALL"
ENCRYPTION_KMS = "KMS"
ENCRYPTION_NONE = "NONE"
MAX_KEY_ID_CHARS = 2_048


def shard_level_metrics(stream: Stream) -> list[str]:
    """The enabled shard-level metrics, in the API reference's order."""
    enabled = stream.shard_level_metrics
    return [m for m in SHARD_LEVEL_METRICS if m in enabled]


def _named(metrics: Sequence[str]) -> set[str]:
    """The metrics a request names (``ALL``: every one); the model's enum and length checks."""
    allowed = (*SHARD_LEVEL_METRICS, ALL_METRICS)
    shown = "[" + ", ".join(metrics) + "]"
    if not metrics:
        raise ValidationException(
            f"1 validation error detected: Value '{shown}' at 'shardLevelMetrics' failed to satisfy "
            "constraint: Member must have length greater than or equal to 1")
    if any(m not in allowed for m in metrics):
        raise ValidationException(
            f"1 validation error detected: Value '{shown}' at 'shardLevelMetrics' failed to satisfy "
            f"constraint: Member must satisfy constraint: [Member must satisfy enum value set: "
            f"[{', '.join(allowed)}]]")
    return set(SHARD_LEVEL_METRICS) if ALL_METRICS in metrics else set(metrics)


def set_shard_level_metrics(stream: Stream, metrics: Sequence[str], *, enable: bool) -> tuple[list[str], list[str]]:
    """EnableEnhancedMonitoring (``enable``) or DisableEnhancedMonitoring: (current, desired)
    metrics, as the two operations answer them."""
    named = _named(metrics)
    stream.require_active()
    current = shard_level_metrics(stream)
    if enable:
        stream.shard_level_metrics |= named
    else:
        stream.shard_level_metrics -= named
    return current, shard_level_metrics(stream)


def _check_key(encryption_type: str, key_id: str) -> None:
    """The model's checks: EncryptionType is KMS or NONE (only KMS can be started or stopped),
    KeyId 1-2,048 characters."""
    if encryption_type not in (ENCRYPTION_KMS, ENCRYPTION_NONE):
        raise ValidationException(
            f"1 validation error detected: Value '{encryption_type}' at 'encryptionType' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{ENCRYPTION_KMS}, {ENCRYPTION_NONE}]")
    if encryption_type != ENCRYPTION_KMS:
        raise InvalidArgumentException(f"Encryption type {encryption_type} is not supported for this operation.")
    if not 1 <= len(key_id) <= MAX_KEY_ID_CHARS:
        raise ValidationException(
            f"1 validation error detected: Value '{key_id}' at 'keyId' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_KEY_ID_CHARS}" if key_id else
            "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: Member must "
            "have length greater than or equal to 1")


def set_max_record_size(stream: Stream, kib: int) -> None:
    """UpdateMaxRecordSize: the largest record the stream takes and serves, 1,024–10,240 KiB
    (the model's range, checked before this runs); the stream must be ACTIVE."""
    stream.require_active()
    stream.max_record_size_kib = kib


def start_encryption(stream: Stream, encryption_type: str, key_id: str) -> None:
    """StartStreamEncryption: KMS with ``key_id`` (again with another key: the new key)."""
    _check_key(encryption_type, key_id)
    stream.require_active()
    _set(stream, ENCRYPTION_KMS, key_id)


def stop_encryption(stream: Stream, encryption_type: str, key_id: str) -> None:
    """StopStreamEncryption: back to NONE."""
    _check_key(encryption_type, key_id)
    stream.require_active()
    _set(stream, ENCRYPTION_NONE, None)


def _set(stream: Stream, encryption_type: str, key_id: str | None) -> None:
    # Records report the stream's current type (AWS: the type each was written with).
    stream.encryption_type = encryption_type
    stream.key_id = key_id
    for shard in stream.shards:
        shard.encryption_type = encryption_type
