"""Every error SQS answers, named exactly as the JSON ``__type`` of the AWS SQS model.

``code`` is the JSON 1.0 ``__type`` short name; ``query_code`` is the legacy code of the Query
protocol, which JSON responses also carry in ``x-amzn-query-error: <query_code>;Sender`` so the
SDKs (query-compatible mode) raise the right exception; ``http_status`` is the Query protocol's
status. All SQS client errors have fault type ``Sender``.

    ServiceError
     ├── QueueDoesNotExist              AWS.SimpleQueueService.NonExistentQueue       400
     ├── QueueNameExists                QueueAlreadyExists                            400
     ├── QueueDeletedRecently           AWS.SimpleQueueService.QueueDeletedRecently   400
     ├── InvalidParameterValueException InvalidParameterValue                         400
     ├── MissingRequiredParameterException MissingParameter                           400
     ├── InvalidAttributeName / InvalidAttributeValue                                 400
     ├── ReceiptHandleIsInvalid, MessageNotInflight, InvalidMessageContents           400
     ├── OverLimit, PurgeQueueInProgress                                              403
     ├── TooManyEntriesInBatchRequest, EmptyBatchRequest, BatchEntryIdsNotDistinct,
     │   BatchRequestTooLong, InvalidBatchEntryId                                     400
     ├── UnsupportedOperation, RequestThrottled, InvalidAddress, InvalidSecurity      400
     ├── ResourceNotFoundException                                                    404
     ├── AccessDeniedException          AccessDenied                                  403
     └── ServiceUnavailable             (the service's fault, retryable)              503
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html
"""

from __future__ import annotations

from eventmesh import errors
from eventmesh.effects import Outcome
from eventmesh.errors import ServiceError

__all__ = [
    "SQS_ERRORS",
    "AccessDeniedException",
    "BatchEntryIdsNotDistinct",
    "BatchRequestTooLong",
    "EmptyBatchRequest",
    "InvalidAddress",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "InvalidBatchEntryId",
    "InvalidMessageContents",
    "InvalidParameterValueException",
    "InvalidSecurity",
    "MessageNotInflight",
    "MissingRequiredParameterException",
    "OverLimit",
    "PurgeQueueInProgress",
    "QueueDeletedRecently",
    "QueueDoesNotExist",
    "QueueNameExists",
    "ReceiptHandleIsInvalid",
    "RequestThrottled",
    "ResourceNotFoundException",
    "ServiceUnavailable",
    "SqsError",
    "TooManyEntriesInBatchRequest",
    "UnsupportedOperation",
]


class SqsError(ServiceError):
    """Base of the SQS errors; every one is the sender's fault unless it says otherwise."""

    sender_fault = True


class QueueDoesNotExist(SqsError, errors.ResourceNotFoundException):
    """Over the Query protocol AWS words it "... for this wsdl version." (``query_message``)."""

    code = "QueueDoesNotExist"
    http_status = 400
    query_code = "AWS.SimpleQueueService.NonExistentQueue"
    query_message = "The specified queue does not exist for this wsdl version."

    def __init__(self, message: str = "The specified queue does not exist.") -> None:
        super().__init__(message)


class QueueNameExists(SqsError):
    code = "QueueNameExists"
    query_code = "QueueAlreadyExists"


class QueueDeletedRecently(SqsError):
    code = "QueueDeletedRecently"
    query_code = "AWS.SimpleQueueService.QueueDeletedRecently"


class InvalidParameterValueException(SqsError):
    code = "InvalidParameterValueException"
    query_code = "InvalidParameterValue"


class MissingRequiredParameterException(SqsError):
    code = "MissingRequiredParameterException"
    query_code = "MissingParameter"


class InvalidAttributeName(SqsError):
    code = "InvalidAttributeName"
    query_code = "InvalidAttributeName"


class InvalidAttributeValue(SqsError):
    code = "InvalidAttributeValue"
    query_code = "InvalidAttributeValue"


class ReceiptHandleIsInvalid(SqsError):
    code = "ReceiptHandleIsInvalid"
    query_code = "ReceiptHandleIsInvalid"


class MessageNotInflight(SqsError):
    code = "MessageNotInflight"
    query_code = "AWS.SimpleQueueService.MessageNotInflight"


class OverLimit(SqsError):
    code = "OverLimit"
    query_code = "OverLimit"
    http_status = 403


class PurgeQueueInProgress(SqsError):
    code = "PurgeQueueInProgress"
    query_code = "AWS.SimpleQueueService.PurgeQueueInProgress"
    http_status = 403


class TooManyEntriesInBatchRequest(SqsError):
    code = "TooManyEntriesInBatchRequest"
    query_code = "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"


class EmptyBatchRequest(SqsError):
    code = "EmptyBatchRequest"
    query_code = "AWS.SimpleQueueService.EmptyBatchRequest"


class BatchEntryIdsNotDistinct(SqsError):
    code = "BatchEntryIdsNotDistinct"
    query_code = "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"


class BatchRequestTooLong(SqsError):
    code = "BatchRequestTooLong"
    query_code = "AWS.SimpleQueueService.BatchRequestTooLong"


class InvalidBatchEntryId(SqsError):
    code = "InvalidBatchEntryId"
    query_code = "AWS.SimpleQueueService.InvalidBatchEntryId"


class InvalidMessageContents(SqsError):
    code = "InvalidMessageContents"
    query_code = "InvalidMessageContents"


class UnsupportedOperation(SqsError):
    code = "UnsupportedOperation"
    query_code = "AWS.SimpleQueueService.UnsupportedOperation"


class ResourceNotFoundException(SqsError, errors.ResourceNotFoundException):
    code = "ResourceNotFoundException"
    query_code = "ResourceNotFoundException"
    http_status = 404


class RequestThrottled(SqsError, errors.ThrottlingError):
    code = "RequestThrottled"
    query_code = "RequestThrottled"


class InvalidAddress(SqsError):
    code = "InvalidAddress"
    query_code = "InvalidAddress"


class InvalidSecurity(SqsError):
    code = "InvalidSecurity"
    query_code = "InvalidSecurity"
    http_status = 403


class AccessDeniedException(SqsError):
    code = "AccessDeniedException"
    outcome = Outcome.DENIED
    query_code = "AccessDenied"
    http_status = 403


class ServiceUnavailable(SqsError):
    """503: "The request has failed due to a temporary failure of the server" (CommonErrors); an
    injected outage of a queue answers it, and senders retry it."""

    code = "ServiceUnavailable"
    query_code = "ServiceUnavailable"
    http_status = 503
    sender_fault = False

    def __init__(self, message: str = "The request has failed due to a temporary failure of the server.") -> None:
        super().__init__(message)


SQS_ERRORS: dict[str, type[SqsError]] = {
    cls.code: cls
    for cls in (
        QueueDoesNotExist, QueueNameExists, QueueDeletedRecently, InvalidParameterValueException,
        MissingRequiredParameterException, InvalidAttributeName, InvalidAttributeValue,
        ReceiptHandleIsInvalid, MessageNotInflight, OverLimit, PurgeQueueInProgress,
        TooManyEntriesInBatchRequest, EmptyBatchRequest, BatchEntryIdsNotDistinct, BatchRequestTooLong,
        InvalidBatchEntryId, InvalidMessageContents, UnsupportedOperation, ResourceNotFoundException,
        RequestThrottled, InvalidAddress, InvalidSecurity, AccessDeniedException, ServiceUnavailable,
    )
}
"""Error classes by JSON code: per-entry batch failures name their code and are rendered from here."""
