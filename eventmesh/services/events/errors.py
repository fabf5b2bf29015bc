"""EventBridge errors, named exactly as the AWS codes.

EventBridge speaks AWS JSON 1.1, where every client error is HTTP 400 (only
``InternalException`` is 500), so these shadow the common classes of ``eventmesh.errors``
that carry other statuses (``ResourceNotFoundException`` is 404 there, for Lambda).

    ServiceError
     ├── ResourceNotFoundException        unknown bus/rule/archive/replay/connection
     ├── ResourceAlreadyExistsException   duplicate bus/archive/replay/connection
     ├── ValidationException              size, schedule, bus rules, "Parameter … is not valid."
     ├── InvalidEventPatternException     bad pattern ("Event pattern is not valid. Reason: …")
     ├── LimitExceededException           targets per rule, rules per bus, buses, active replays
     ├── ManagedRuleException             rules created by AWS services
     ├── IllegalStatusException           archive/replay state
     ├── InvalidStateException            archive/replay state
     ├── ConcurrentModificationException
     └── InternalException                HTTP 500
https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html
"""

from __future__ import annotations

from eventmesh import errors
from eventmesh.errors import ServiceError
from eventmesh.errors import ValidationException as _CommonValidationException

__all__ = [
    "LIMIT_EXCEEDED_MESSAGE",
    "PATTERN_REASON_PREFIX",
    "ConcurrentModificationException",
    "IllegalStatusException",
    "InternalException",
    "InvalidEventPatternException",
    "InvalidStateException",
    "LimitExceededException",
    "ManagedRuleException",
    "ResourceAlreadyExistsException",
    "ResourceNotFoundException",
    "ValidationException",
]

# every pattern error message starts with this.
PATTERN_REASON_PREFIX = "Event pattern is not valid. Reason: "
# the message of every quota error (targets per rule, rules per bus, buses).
LIMIT_EXCEEDED_MESSAGE = "The requested resource exceeds the maximum number allowed."


class ResourceNotFoundException(errors.ResourceNotFoundException):
    code = "ResourceNotFoundException"
    http_status = 400


class ResourceAlreadyExistsException(ServiceError):
    code = "ResourceAlreadyExistsException"


# The common model-validation error: one class, so every raiser and catcher agrees.
ValidationException = _CommonValidationException


class InvalidEventPatternException(ServiceError):
    code = "InvalidEventPatternException"


class LimitExceededException(ServiceError):
    code = "LimitExceededException"


class ManagedRuleException(ServiceError):
    code = "ManagedRuleException"


class IllegalStatusException(ServiceError):
    code = "IllegalStatusException"


class InvalidStateException(ServiceError):
    code = "InvalidStateException"


class ConcurrentModificationException(ServiceError):
    code = "ConcurrentModificationException"


class InternalException(errors.InternalFailure):
    code = "InternalException"
    http_status = 500
    sender_fault = False
