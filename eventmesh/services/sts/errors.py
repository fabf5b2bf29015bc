"""STS errors, named exactly as the AWS codes (Query protocol, XML error bodies).
https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
"""

from __future__ import annotations

from eventmesh.errors import ServiceError

__all__ = ["ValidationError"]


class ValidationError(ServiceError):
    code = "ValidationError"
