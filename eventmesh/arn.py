"""ARN parse/format: ``arn:partition:service:region:account-id:resource``."""

from __future__ import annotations

import msgspec

from eventmesh.errors import InvalidParameterValue

__all__ = ["Arn", "format_arn", "parse_arn"]

ARN_FIELDS = 6  # arn, partition, service, region, account, resource (resource may hold ':')


class Arn(msgspec.Struct, frozen=True):
    """The parts of an Amazon Resource Name."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse_arn(text: str) -> Arn:
    parts = text.split(":", ARN_FIELDS - 1)
    if len(parts) != ARN_FIELDS or parts[0] != "arn" or not parts[2]:
        raise InvalidParameterValue(f"Invalid ARN: {text}")
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


def format_arn(service: str, region: str, account: str, resource: str, partition: str = "aws") -> str:
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"
