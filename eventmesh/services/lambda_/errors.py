"""Lambda errors, named exactly as the AWS codes.

Lambda speaks REST-JSON: the error code travels in the ``X-Amzn-ErrorType`` header and the body
is ``{"Type": "User", "message": "…"}``, the message member spelled as the Lambda model spells it
for that error (``message_key``): lower case for most, ``Message`` for ResourceNotFoundException
and ServiceException; SDKs read the member of that name, so a body with the other spelling
loses its message. Fields beyond those two (``Reason`` of a throttle) are in the instance
attribute ``extra``, which the renderer merges into the body.

    ServiceError
     ├── ResourceNotFoundException           404 (the common class of eventmesh.errors)
     ├── InvalidParameterValueException      400
     ├── InvalidRequestContentException      400  body not JSON
     ├── RequestTooLargeException            413  payload over 6 MB sync / 1 MB async
     ├── UnsupportedMediaTypeException       415
     ├── ResourceConflictException           409  alias exists, version in use, …
     ├── ProvisionedConcurrencyConfigNotFoundException  404
     ├── CodeSigningConfigNotFoundException  404
     ├── PreconditionFailedException         412  a RevisionId that is not the current one
     ├── TooManyRequestsException            429  extra={"Reason": …}, Retry-After header
     ├── ResourceNotReadyException           502  function inactive
     └── ServiceException                    500  system error (e.g. an http handler unreachable)
https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
https://docs.aws.amazon.com/lambda/latest/dg/invocation-retries.html
https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html
"""

from __future__ import annotations

from typing import Any

from eventmesh.errors import ResourceNotFoundException, ServiceError, ThrottlingError

__all__ = [
    "InvalidParameterValueException",
    "InvalidRequestContentException",
    "LambdaError",
    "RequestTooLargeException",
    "ResourceConflictException",
    "ResourceNotFoundException",
    "ResourceNotReadyException",
    "ServiceException",
    "CodeSigningConfigNotFoundException",
    "PreconditionFailedException",
    "ProvisionedConcurrencyConfigNotFoundException",
    "TooManyRequestsException",
    "UnsupportedMediaTypeException",
    "function_not_found",
    "stale_revision",
]


class LambdaError(ServiceError):
    """Base of Lambda's own errors: carries extra body fields and response headers."""

    message_key = "message"   # the model's member name (see the module docstring)

    def __init__(self, message: str = "", *, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.extra: dict[str, Any] = extra or {}
        self.headers: dict[str, str] = headers or {}


class InvalidParameterValueException(LambdaError):
    code = "InvalidParameterValueException"


class InvalidRequestContentException(LambdaError):
    code = "InvalidRequestContentException"


class RequestTooLargeException(LambdaError):
    code = "RequestTooLargeException"
    http_status = 413


class UnsupportedMediaTypeException(LambdaError):
    code = "UnsupportedMediaTypeException"
    http_status = 415


class ResourceConflictException(LambdaError):
    code = "ResourceConflictException"
    http_status = 409


class CodeSigningConfigNotFoundException(LambdaError):
    code = "CodeSigningConfigNotFoundException"
    http_status = 404


class ProvisionedConcurrencyConfigNotFoundException(LambdaError):
    code = "ProvisionedConcurrencyConfigNotFoundException"
    http_status = 404


class PreconditionFailedException(LambdaError):
    """A ``RevisionId`` that is not the resource's current one (412)."""

    code = "PreconditionFailedException"
    http_status = 412


def stale_revision(reader: str) -> PreconditionFailedException:
    """A RevisionId that is not the resource's current one; ``reader`` is the API that answers it."""
    return PreconditionFailedException(
        f"The Revision Id provided does not match the latest Revision Id. Call the {reader} API to retrieve "
        "the latest Revision Id")


class TooManyRequestsException(LambdaError, ThrottlingError):
    """429 ``Rate Exceeded.`` with ``Reason``, e.g.
    ``ReservedFunctionConcurrentInvocationLimitExceeded``."""

    code = "TooManyRequestsException"
    http_status = 429

    def __init__(self, reason: str, message: str = "Rate Exceeded.", retry_after_s: int = 1) -> None:
        super().__init__(message, extra={"Reason": reason},
                         headers={"Retry-After": str(retry_after_s)})
        self.reason = reason


class ResourceNotReadyException(LambdaError):
    code = "ResourceNotReadyException"
    http_status = 502
    sender_fault = False


class ServiceException(LambdaError):
    code = "ServiceException"
    http_status = 500
    sender_fault = False
    message_key = "Message"


def function_not_found(arn: str) -> ResourceNotFoundException:
    """``Function not found: arn:…:function:name[:qualifier]``."""
    return ResourceNotFoundException(f"Function not found: {arn}")
