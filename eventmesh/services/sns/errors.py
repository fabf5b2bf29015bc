"""SNS errors, named exactly as the Query error codes of the SNS service model.

    ServiceError
     ├── InvalidParameter             400  "Invalid parameter: <Name>[ Reason: …]"
     ├── ParameterValueInvalid        400  message-attribute problems
     ├── ValidationError              400  "1 validation error detected: …"
     ├── NotFound                     404  topic / subscription / endpoint does not exist
     ├── EndpointDisabled             400  Publish to a disabled mobile endpoint
     ├── VerificationException        400  a wrong SMS sandbox one-time password
     ├── OptedOut                     400  an opted-out number added to the SMS sandbox
     ├── ResourceNotFound             404  tagging an unknown resource
     ├── AuthorizationError           403
     ├── InternalError                500  (receiver fault)
     ├── Throttled                    429
     ├── TopicLimitExceeded, SubscriptionLimitExceeded, FilterPolicyLimitExceeded   403
     ├── TagLimitExceeded             400
     └── batch: TooManyEntriesInBatchRequest, BatchEntryIdsNotDistinct, BatchRequestTooLong,
                EmptyBatchRequest, InvalidBatchEntryId                               400
https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html
"""

from __future__ import annotations

from eventmesh import errors
from eventmesh.errors import ServiceError

__all__ = [
    "AuthorizationError",
    "BatchEntryIdsNotDistinct",
    "BatchRequestTooLong",
    "EmptyBatchRequest",
    "EndpointDisabled",
    "FilterPolicyLimitExceeded",
    "InternalError",
    "InvalidBatchEntryId",
    "InvalidParameter",
    "NotFound",
    "OptedOut",
    "ParameterValueInvalid",
    "ResourceNotFound",
    "SubscriptionLimitExceeded",
    "TagLimitExceeded",
    "Throttled",
    "TooManyEntriesInBatchRequest",
    "TopicLimitExceeded",
    "ValidationError",
    "VerificationException",
    "invalid_attribute",
    "invalid_parameter",
]


class InvalidParameter(ServiceError):
    code = "InvalidParameter"


class ParameterValueInvalid(ServiceError):
    code = "ParameterValueInvalid"


class ValidationError(ServiceError):
    code = "ValidationError"


class NotFound(errors.ResourceNotFoundException):
    code = "NotFound"
    http_status = 404


class EndpointDisabled(ServiceError):
    code = "EndpointDisabled"


class VerificationException(ServiceError):
    code = "VerificationException"


class OptedOut(ServiceError):
    code = "OptedOut"


class ResourceNotFound(errors.ResourceNotFoundException):
    code = "ResourceNotFound"
    http_status = 404


class AuthorizationError(errors.AccessDenied):
    code = "AuthorizationError"
    http_status = 403


class InternalError(ServiceError):
    code = "InternalError"
    http_status = 500
    sender_fault = False


class Throttled(errors.ThrottlingError):
    code = "Throttled"
    http_status = 429


class TopicLimitExceeded(ServiceError):
    code = "TopicLimitExceeded"
    http_status = 403


class SubscriptionLimitExceeded(ServiceError):
    code = "SubscriptionLimitExceeded"
    http_status = 403


class FilterPolicyLimitExceeded(ServiceError):
    code = "FilterPolicyLimitExceeded"
    http_status = 403


class TagLimitExceeded(ServiceError):
    code = "TagLimitExceeded"


class TooManyEntriesInBatchRequest(ServiceError):
    code = "TooManyEntriesInBatchRequest"


class BatchEntryIdsNotDistinct(ServiceError):
    code = "BatchEntryIdsNotDistinct"


class BatchRequestTooLong(ServiceError):
    code = "BatchRequestTooLong"


class EmptyBatchRequest(ServiceError):
    code = "EmptyBatchRequest"


class InvalidBatchEntryId(ServiceError):
    code = "InvalidBatchEntryId"


def invalid_parameter(name: str, reason: str | None = None) -> InvalidParameter:
    """``Invalid parameter: <name>[ Reason: <reason>]``, the form SNS uses for most input errors."""
    if reason is None:
        return InvalidParameter(f"Invalid parameter: {name}")
    return InvalidParameter(f"Invalid parameter: {name} Reason: {reason}")


def invalid_attribute(reason: str) -> InvalidParameter:
    """``Invalid parameter: Attributes Reason: <reason>`` (CreateTopic / Subscribe attribute maps)."""
    return invalid_parameter("Attributes", reason)
