"""One hierarchy of errors, named exactly as the AWS error codes.

Cores raise these; ``eventmesh.wire.render`` renders them to the wire once per protocol. Each
class also says what it means to a core that was delivering to the raiser (``outcome``, see
``effects.Outcome``). Per-entry failures of batch operations are values (:class:`EntryError`),
not exceptions, because AWS answers them inside a 200 response.

    EventMeshError
     └── ServiceError                  code, http_status, sender_fault, query_code, outcome
          ├── (common, here)  InvalidAction, MissingParameter, InvalidParameterValue,
          │                   MalformedRequest, SerializationException, ValidationException,
          │                   InternalFailure, ResourceInUseException, UnknownOperationException
          ├── ResourceNotFoundException       the family of "does not exist" (outcome MISSING):
          │                                   kinesis/events ResourceNotFoundException (400),
          │                                   sqs QueueDoesNotExist, sns NotFound, ResourceNotFound
          ├── AccessDenied                    (DENIED): sns AuthorizationError
          ├── ThrottlingError                 (THROTTLED): kinesis ProvisionedThroughputExceeded...,
          │                                   lambda TooManyRequestsException, sqs RequestThrottled,
          │                                   sns Throttled
          ├── services/sqs/errors.py          QueueDoesNotExist, ReceiptHandleIsInvalid, ... (JSON
          │                                   code + legacy Query code)
          ├── services/sns/errors.py          InvalidParameter, NotFound, ...
          ├── services/kinesis/errors.py      ResourceNotFoundException texts, ProvisionedThroughput...
          ├── services/events/errors.py       InvalidEventPatternException, ...
          └── services/lambda_/errors.py      TooManyRequestsException (Reason, Retry-After), ...

https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html
https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/CommonErrors.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html
https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
"""

from __future__ import annotations

import msgspec

from eventmesh.effects import DeliveryResult, Outcome

__all__ = [
    "AccessDenied",
    "EntryError",
    "EventMeshError",
    "InternalFailure",
    "InvalidAction",
    "InvalidParameterValue",
    "MalformedRequest",
    "MissingParameter",
    "ResourceInUseException",
    "ResourceNotFoundException",
    "SerializationException",
    "ServiceError",
    "ThrottlingError",
    "UnknownOperationException",
    "ValidationException",
]


class EventMeshError(Exception):
    """Base of every error eventmesh raises on purpose."""


class ServiceError(EventMeshError):
    """An error a real AWS service answers. Subclasses set the class attributes.

    ``code`` is the AWS error code (``__type`` in JSON protocols, ``<Code>`` in Query);
    ``query_code`` is the legacy code SQS puts in ``x-amzn-query-error`` (defaults to ``code``).
    """

    code: str = "InternalFailure"
    http_status: int = 400
    sender_fault: bool = True
    query_code: str | None = None
    # What a core that raised this while taking a delivery tells the sender (effects.Outcome);
    # None: INVALID for the sender's faults, FAILED (retryable) for the service's own.
    outcome: Outcome | None = None

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    @property
    def wire_query_code(self) -> str:
        return self.query_code or self.code

    def delivery_result(self) -> DeliveryResult:
        """This error as the answer to a delivery from another core."""
        kind = self.outcome
        if kind is None:
            kind = Outcome.INVALID if self.sender_fault else Outcome.FAILED
        return DeliveryResult(kind, self.code, self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class EntryError(msgspec.Struct, frozen=True):
    """One failed entry of a batch operation (BatchResultErrorEntry and friends)."""

    id: str
    code: str
    message: str
    sender_fault: bool = True

    def delivery_result(self) -> DeliveryResult:
        """This entry's failure as the answer to a delivery from another core."""
        return DeliveryResult(Outcome.INVALID if self.sender_fault else Outcome.FAILED, self.code, self.message)


class InvalidAction(ServiceError):
    code = "InvalidAction"


class MissingParameter(ServiceError):
    code = "MissingParameter"


class InvalidParameterValue(ServiceError):
    code = "InvalidParameterValue"


class MalformedRequest(ServiceError):
    code = "MalformedRequest"


class SerializationException(ServiceError):
    code = "SerializationException"


class ValidationException(ServiceError):
    code = "ValidationException"


class InternalFailure(ServiceError):
    code = "InternalFailure"
    http_status = 500
    sender_fault = False


class ResourceNotFoundException(ServiceError):
    """The family of every "it does not exist" error: services subclass it with their own code
    and status (JSON 1.1 services answer 400, REST services 404), so one ``except`` catches all."""

    code = "ResourceNotFoundException"
    http_status = 404
    outcome = Outcome.MISSING


class ResourceInUseException(ServiceError):
    code = "ResourceInUseException"


class UnknownOperationException(ServiceError):
    code = "UnknownOperationException"


class AccessDenied(ServiceError):
    code = "AccessDenied"
    http_status = 403
    outcome = Outcome.DENIED


class ThrottlingError(ServiceError):
    """The family of rate and concurrency limit errors (each service names its own code)."""

    code = "ThrottlingException"
    outcome = Outcome.THROTTLED
