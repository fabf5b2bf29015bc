"""Kinesis Data Streams errors, named exactly as the AWS codes (spec kinesis.md §9).

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
"""

from __future__ import annotations

from eventmesh import errors
from eventmesh.errors import ServiceError

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


class ValidationException(errors.ValidationException):
    code = "ValidationException"


class LimitExceededException(ServiceError):
    code = "LimitExceededException"


class ProvisionedThroughputExceededException(ServiceError):
    code = "ProvisionedThroughputExceededException"


class ExpiredIteratorException(ServiceError):
    code = "ExpiredIteratorException"


class ExpiredNextTokenException(ServiceError):
    code = "ExpiredNextTokenException"


class InternalFailure(errors.InternalFailure):
    code = "InternalFailure"


# The texts AWS answers (spec §6.1, §9), kept in one place.

def stream_not_found(name: str, account: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Stream {name} under account {account} not found.")


def shard_not_found(shard_id: str, name: str, account: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Shard {shard_id} in stream {name} under account {account} does not exist")


def rate_exceeded_message(shard_id: str, name: str, account: str) -> str:
    """The per-record ``ErrorMessage`` of a throttled PutRecords entry (spec §5.2)."""
    return f"Rate exceeded for shard {shard_id} in stream {name} under account {account}."
