"""IAM errors, named exactly as the AWS codes (Query protocol, XML error bodies).

    ServiceError
     ├── NoSuchEntity               404  unknown role, policy, version
     ├── EntityAlreadyExists        409  duplicate role or policy
     ├── DeleteConflict             409  a role with policies, a policy still attached
     ├── MalformedPolicyDocument    400  a document that is not a JSON object
     ├── LimitExceeded              409  too many policy versions
     └── ValidationError            400  names, paths, model constraints
https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
"""

from __future__ import annotations

from eventmesh import errors
from eventmesh.errors import ServiceError

__all__ = ["DeleteConflict", "EntityAlreadyExists", "LimitExceeded", "MalformedPolicyDocument", "NoSuchEntity",
           "ValidationError"]


class NoSuchEntity(errors.ResourceNotFoundException):
    code = "NoSuchEntity"
    http_status = 404


class EntityAlreadyExists(ServiceError):
    code = "EntityAlreadyExists"
    http_status = 409


class DeleteConflict(ServiceError):
    code = "DeleteConflict"
    http_status = 409


class MalformedPolicyDocument(ServiceError):
    code = "MalformedPolicyDocument"


class LimitExceeded(ServiceError):
    code = "LimitExceeded"
    http_status = 409


class ValidationError(ServiceError):
    code = "ValidationError"
