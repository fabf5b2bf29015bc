"""CloudWatch Logs errors, named exactly as the AWS codes (AWS JSON 1.1: every client error is 400).

    ServiceError
     ├── ResourceNotFoundException        unknown log group or stream
     ├── ResourceAlreadyExistsException   duplicate log group or stream
     ├── InvalidParameterException        bad names, retention, time ranges, unordered events
     └── (common) ValidationException     model constraints
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/CommonErrors.html
"""

from __future__ import annotations

from eventmesh import errors
from eventmesh.errors import ServiceError

__all__ = [
    "InvalidParameterException",
    "ResourceAlreadyExistsException",
    "ResourceNotFoundException",
    "group_not_found",
    "stream_not_found",
]


class ResourceNotFoundException(errors.ResourceNotFoundException):
    code = "ResourceNotFoundException"
    http_status = 400


class ResourceAlreadyExistsException(ServiceError):
    code = "ResourceAlreadyExistsException"


class InvalidParameterException(ServiceError):
    code = "InvalidParameterException"


def group_not_found() -> ResourceNotFoundException:
    return ResourceNotFoundException("The specified log group does not exist.")


def stream_not_found() -> ResourceNotFoundException:
    return ResourceNotFoundException("The specified log stream does not exist.")
