"""Kinesis Data Streams errors, named exactly as the AWS codes.

Kinesis speaks AWS JSON 1.1 (and CBOR), where every client error is HTTP 400 and only
``InternalFailure`` is 500, so the classes that exist in ``eventmesh.errors`` with another
status (``ResourceNotFoundException`` is 404 there, for Lambda) are subclassed with 400:
``except eventmesh.errors.ResourceNotFoundException`` still catches them.

    ServiceError
     ├── ResourceNotFoundException               unknown stream / shard
     ├── ResourceInUseException                  stream exists, or not ACTIVE for the operation
     ├── InvalidArgumentException                bad parameter (sequence number, hash key, retention…)
     ├── ValidationException                     model validation; not allowed in on-demand mode
     ├── LimitExceededException                  shard quota
     ├── ProvisionedThroughputExceededException  per-shard read/write rate exceeded
     ├── ExpiredIteratorException                iterator older than 5 minutes
     ├── ExpiredNextTokenException               ListShards token older than 300 s
     └── InternalFailure                         HTTP 500
https://docs.aws.amazon.com/kinesis/latest/APIReference/CommonErrors.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetShardIterator.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html
"""

from __future__ import annotations

from datetime import UTC, datetime

from eventmesh import errors
from eventmesh.errors import ServiceError
from eventmesh.errors import ValidationException as _CommonValidationException

__all__ = [
    "ExpiredIteratorException",
    "ExpiredNextTokenException",
    "InternalFailure",
    "InvalidArgumentException",
    "LimitExceededException",
    "ProvisionedThroughputExceededException",
    "ResourceInUseException",
    "ResourceNotFoundException",
    "ValidationException",
    "rate_exceeded_message",
    "shard_not_found",
    "stream_not_found",
]


class ResourceNotFoundException(errors.ResourceNotFoundException):
    code = "ResourceNotFoundException"
    http_status = 400


class ResourceInUseException(errors.ResourceInUseException):
    code = "ResourceInUseException"


class InvalidArgumentException(ServiceError):
    code = "InvalidArgumentException"


# The common model-validation error: one class, so every raiser and catcher agrees.
ValidationException = _CommonValidationException


class LimitExceededException(ServiceError):
    code = "LimitExceededException"


class ProvisionedThroughputExceededException(errors.ThrottlingError):
    code = "ProvisionedThroughputExceededException"


class ExpiredIteratorException(ServiceError):
    code = "ExpiredIteratorException"


class ExpiredNextTokenException(ServiceError):
    code = "ExpiredNextTokenException"


class InternalFailure(errors.InternalFailure):
    code = "InternalFailure"


# The texts AWS answers, kept in one place.

def stream_not_found(name: str, account: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Stream {name} under account {account} not found.")


def shard_not_found(shard_id: str, name: str, account: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        f"Shard {shard_id} in stream {name} under account {account} does not exist")


def rate_exceeded_message(shard_id: str, name: str, account: str) -> str:
    """The per-record ``ErrorMessage`` of a throttled PutRecords entry."""
    return f"Rate exceeded for shard {shard_id} in stream {name} under account {account}."


def throttled(shard_id: str, name: str, account: str) -> ProvisionedThroughputExceededException:
    return ProvisionedThroughputExceededException(rate_exceeded_message(shard_id, name, account))


def not_active(name: str, account: str, status: str) -> ResourceInUseException:
    return ResourceInUseException(
        f"Stream {name} under account {account} not ACTIVE, instead in state {status}")


def _amz_time(at: float) -> str:
    """``Thu Dec 10 01:59:39 UTC 2015``, the form AWS writes in ExpiredIteratorException."""
    return datetime.fromtimestamp(at, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


def expired_iterator(issued_at: float, now: float, lifetime_ms: int) -> ExpiredIteratorException:
    return ExpiredIteratorException(
        f"Iterator expired. The iterator was created at time {_amz_time(issued_at)} while right now it is "
        f"{_amz_time(now)} which is further in the future than the tolerated delay of {lifetime_ms} "
        "milliseconds.")


def iterator_type_mismatch(iterator_type: str, what: str) -> InvalidArgumentException:
    return InvalidArgumentException(
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber "
        "or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
        f"Request specified {iterator_type} and {what}.")


def invalid_sequence(text: str, shard_id: str, name: str, account: str, *, encodes: str | None = None,
                     foreign: bool = False) -> InvalidArgumentException:
    """A StartingSequenceNumber that is malformed, names another shard, or another stream."""
    if encodes is not None:
        return InvalidArgumentException(
            f"Invalid StartingSequenceNumber. It encodes {encodes}, while it was used in a call to a shard "
            f"with {shard_id}")
    reason = " because it did not come from this stream" if foreign else ""
    return InvalidArgumentException(
        f"StartingSequenceNumber {text} used in GetShardIterator on shard {shard_id} in stream {name} "
        f"under account {account} is invalid{reason}.")


def retention_out_of_range(hours: int, low: int, high: int) -> InvalidArgumentException:
    if hours < low:
        return InvalidArgumentException(f"Minimum allowed retention period is {low} hours. "
                                        f"Requested retention period ({hours} hours) is too short.")
    return InvalidArgumentException(f"Maximum allowed retention period is {high} hours. "
                                    f"Requested retention period ({hours} hours) is too long.")


def retention_wrong_direction(name: str, hours: int, current: int, *,
                              increase: bool) -> InvalidArgumentException:
    if increase:
        return InvalidArgumentException(
            f"Requested retention period ({hours} hours) for stream {name} can not be shorter than existing "
            f"retention period ({current} hours). Use DecreaseRetentionPeriod API.")
    return InvalidArgumentException(
        f"Requested retention period ({hours} hours) for stream {name} can not be longer than existing "
        f"retention period ({current} hours). Use IncreaseRetentionPeriod API.")


def already_resharded(shard_id: str, name: str, account: str) -> ResourceInUseException:
    return ResourceInUseException(
        f"Shard {shard_id} in stream {name} under account {account} has already been merged or split, "
        "and thus is not eligible for merging or splitting.")


def bad_split_key(key: str, shard_id: str, name: str, account: str, start: int,
                  end: int) -> InvalidArgumentException:
    return InvalidArgumentException(
        f"NewStartingHashKey {key} used in SplitShard() on shard {shard_id} in stream {name} under account "
        f"{account} is not both greater than one plus the shard's StartingHashKey {start} and less than "
        f"the shard's EndingHashKey {end}.")


def not_adjacent(first: str, second: str, name: str, account: str) -> InvalidArgumentException:
    return InvalidArgumentException(f"Shards {first} and {second} in stream {name} under account {account} "
                                    "are not an adjacent pair of shards eligible for merging")


def shard_limit_exceeded(account: str, region: str, current: int, limit: int,
                         adding: int) -> LimitExceededException:
    return LimitExceededException(
        f"This request would exceed the shard limit for the account {account} in {region}. Current shard "
        f"count for the account: {current}. Limit: {limit}. Number of additional shards that would have "
        f"resulted from this request: {adding}.")
