"""Payloads Lambda hands to destinations and dead-letter queues.

* :class:`InvocationRecord`: the JSON body an OnSuccess / OnFailure destination receives (SQS
  message body, SNS ``Message``, Lambda event, EventBridge ``detail``).
* :func:`dlq_attributes`: the message attributes of a DLQ message, whose body is the original
  event unchanged.

Key order and the absent-versus-null rules follow recordings of real AWS: ``functionError`` is
absent on success, ``responseContext`` and ``responsePayload`` are absent when the function never
ran (``ZeroReservedConcurrency``, an event that aged out while throttled), and
``responsePayload`` is ``null`` when the function returned ``None``.
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

__all__ = [
    "EVENT_AGE_EXCEEDED",
    "MAX_DLQ_ERROR_MESSAGE_BYTES",
    "RECORD_VERSION",
    "RETRIES_EXHAUSTED",
    "SUCCESS",
    "ZERO_RESERVED_CONCURRENCY",
    "InvocationRecord",
    "RequestContext",
    "ResponseContext",
    "dlq_attributes",
    "encode_record",
    "invocation_record",
    "iso_millis",
]

RECORD_VERSION = "1.0"
# requestContext.condition
SUCCESS = "Success"
RETRIES_EXHAUSTED = "RetriesExhausted"
EVENT_AGE_EXCEEDED = "EventAgeExceeded"
ZERO_RESERVED_CONCURRENCY = "ZeroReservedConcurrency"
MAX_DLQ_ERROR_MESSAGE_BYTES = 1_024  # first 1 KB of the error message

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


class RequestContext(msgspec.Struct, rename="camel"):
    """``requestContext`` of an invocation record."""

    request_id: str
    function_arn: str
    condition: str
    approximate_invoke_count: int


class ResponseContext(msgspec.Struct, rename="camel", omit_defaults=True):
    """``responseContext``: statusCode is 200 even for function errors; functionError absent on success."""

    status_code: int
    executed_version: str
    function_error: str | None = None


class InvocationRecord(msgspec.Struct, rename="camel"):
    """The asynchronous invocation record, fields in AWS's order."""

    version: str
    timestamp: str
    request_context: RequestContext
    request_payload: Any
    response_context: ResponseContext | msgspec.UnsetType = msgspec.UNSET
    response_payload: Any | msgspec.UnsetType = msgspec.UNSET


def iso_millis(epoch_s: float) -> str:
    """``2019-11-14T18:16:05.568Z``."""
    seconds = int(epoch_s)
    millis = int(round((epoch_s - seconds) * 1000))
    if millis == 1000:
        seconds, millis = seconds + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _json_or_text(payload: bytes) -> Any:
    """An event or response as parsed JSON (AWS re-serializes it); raw text if it is not JSON."""
    try:
        return _decode(payload)
    except msgspec.DecodeError:
        return payload.decode("utf-8", "replace")


def invocation_record(*, now: float, request_id: str, function_arn: str, condition: str,
                      invoke_count: int, request_payload: bytes, executed_version: str | None = None,
                      function_error: str | None = None, response_payload: bytes | None = None,
                      drop_payloads: bool = False) -> InvocationRecord:
    """Build the record; pass ``executed_version`` only when the function ran at least once."""
    record = InvocationRecord(
        RECORD_VERSION, iso_millis(now),
        RequestContext(request_id, function_arn, condition, invoke_count),
        None if drop_payloads else _json_or_text(request_payload))
    if executed_version is not None:
        record.response_context = ResponseContext(200, executed_version, function_error)
        if not drop_payloads:
            record.response_payload = _json_or_text(response_payload or b"null")
    return record


def encode_record(record: InvocationRecord) -> str:
    return _encode(record).decode()


def dlq_attributes(request_id: str, error_code: int, error_message: str) -> dict[str, Any]:
    """DLQ message attributes, in the SQS MessageAttributes shape Delivery carries."""
    message = error_message.encode()[:MAX_DLQ_ERROR_MESSAGE_BYTES].decode("utf-8", "ignore")
    return {
        "RequestID": {"DataType": "String", "StringValue": request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": str(error_code)},
        "ErrorMessage": {"DataType": "String", "StringValue": message},
    }
