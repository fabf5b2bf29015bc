"""A function's resource-based policy (AddPermission / RemovePermission / GetPolicy), stored and
not enforced: SNS, EventBridge and S3 deliver whatever the policy says, as tools expect to set it.

Each statement is what Lambda writes for AddPermission: ``Effect: Allow``, the principal (a
service name or an account / ARN), the action, the function (or qualified) ARN as resource, and
``ArnLike AWS:SourceArn`` / ``StringEquals AWS:SourceAccount`` / ``aws:PrincipalOrgID``
conditions. Statement ids are unique per policy; the policy has its own revision id.
https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html
https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html
"""

from __future__ import annotations

import json
import re
from typing import Any

from eventmesh.services.lambda_.errors import (
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
)

__all__ = ["FunctionPolicy", "MAX_POLICY_BYTES"]

MAX_POLICY_BYTES = 20_480   # Function resource-based policy: 20 KB
_ACCOUNT = re.compile(r"\d{12}")


class FunctionPolicy:
    """The statements of one function qualifier's resource-based policy."""

    def __init__(self) -> None:
        self.statements: dict[str, dict[str, Any]] = {}
        self.revision_id = ""

    def add(self, resource_arn: str, params: dict[str, Any], revision_id: str) -> dict[str, Any]:
        sid = params["StatementId"]
        if sid in self.statements:
            raise ResourceConflictException(
                f"The statement id ({sid}) provided already exists. Please provide a new statement id, or "
                f"remove the existing statement.")
        principal = params["Principal"]
        if principal == "*":
            who: Any = "*"
        elif _ACCOUNT.fullmatch(principal):
            who = {"AWS": f"arn:aws:iam::{principal}:root"}
        elif principal.startswith("arn:"):
            who = {"AWS": principal}
        else:
            who = {"Service": principal}
        statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Principal": who,
                                     "Action": params["Action"], "Resource": resource_arn}
        condition: dict[str, dict[str, str]] = {}
        if params.get("SourceAccount"):
            condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = params["SourceAccount"]
        if params.get("PrincipalOrgID"):
            condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = params["PrincipalOrgID"]
        if params.get("FunctionUrlAuthType"):
            condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = params["FunctionUrlAuthType"]
        if params.get("SourceArn"):
            condition["ArnLike"] = {"AWS:SourceArn": params["SourceArn"]}
        if condition:
            statement["Condition"] = condition
        if len(self.document({**self.statements, sid: statement})) > MAX_POLICY_BYTES:
            raise InvalidParameterValueException(
                f"The final policy size ({len(self.document(self.statements))}) is bigger than the limit "
                f"({MAX_POLICY_BYTES}).")
        self.statements[sid] = statement
        self.revision_id = revision_id
        return statement

    def remove(self, sid: str, revision_id: str) -> None:
        if self.statements.pop(sid, None) is None:
            raise ResourceNotFoundException(f"Statement {sid} is not found in resource policy.")
        self.revision_id = revision_id

    @staticmethod
    def document(statements: dict[str, dict[str, Any]]) -> str:
        return json.dumps({"Version": "2012-10-17", "Id": "default", "Statement": list(statements.values())},
                          separators=(",", ":"))
