"""One account's IAM: roles with inline and attached policies, managed policies with versions.

Everything that decides what IAM stores lives here. IAM is global: the account's store is the
account-level state of its ``aws-global`` scope (:func:`account_iam`). Policy documents are kept
as given and answered URL-encoded, as IAM does (the SDKs decode them). AWS managed policies
(``arn:aws:iam::aws:policy/…``) may be attached without being created. Names follow IAM's
patterns; a role has at most 10 managed policies attached by default, a policy at most 5 versions.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.parse
from typing import Any

from eventmesh.mesh import Mesh
from eventmesh.services.iam.errors import (
    DeleteConflict,
    EntityAlreadyExists,
    LimitExceeded,
    MalformedPolicyDocument,
    NoSuchEntity,
    ValidationError,
)

__all__ = ["IamAccount", "Policy", "Role", "account_iam", "GLOBAL_SCOPE", "MAX_POLICY_VERSIONS",
           "MAX_ATTACHED_POLICIES_PER_ROLE"]

GLOBAL_SCOPE = "aws-global"         # IAM's Region in the SDKs' partition data
MAX_POLICY_VERSIONS = 5             # Managed policy versions
MAX_ATTACHED_POLICIES_PER_ROLE = 10  # Managed policies attached to a role (default quota)
DEFAULT_MAX_SESSION_S = 3_600
_NAME = re.compile(r"[\w+=,.@-]{1,64}")
_POLICY_NAME = re.compile(r"[\w+=,.@-]{1,128}")
_PATH = re.compile(r"(/[\x21-\x7e]*/|/)")
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"


def _timestamp(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _document(text: str) -> str:
    try:
        parsed = json.loads(text)
    except ValueError:
        raise MalformedPolicyDocument("Syntax errors in policy.") from None
    if not isinstance(parsed, dict):
        raise MalformedPolicyDocument("Syntax errors in policy.")
    return text


def encoded(document: str) -> str:
    """A policy document as IAM answers it: URL-encoded (RFC 3986)."""
    return urllib.parse.quote(document, safe="")


def _check_name(name: str, member: str, pattern: re.Pattern[str] = _NAME) -> None:
    if not pattern.fullmatch(name):
        raise ValidationError(f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy "
                              f"constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+")


def _check_path(path: str) -> None:
    if not _PATH.fullmatch(path):
        raise ValidationError("The specified value for path is invalid. It must begin and end with / and "
                              "contain only alphanumeric characters and/or / characters.")


class Role:
    def __init__(self, account: str, name: str, path: str, document: str, description: str,
                 max_session_s: int, tags: dict[str, str], role_id: str, created: float) -> None:
        self.name = name
        self.path = path
        self.arn = f"arn:aws:iam::{account}:role{path}{name}"
        self.document = document
        self.description = description
        self.max_session_s = max_session_s
        self.tags = tags
        self.role_id = role_id
        self.created = created
        self.inline: dict[str, str] = {}
        self.attached: dict[str, str] = {}   # policy ARN -> policy name

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Path": self.path, "RoleName": self.name, "RoleId": self.role_id, "Arn": self.arn,
                               "CreateDate": _timestamp(self.created),
                               "AssumeRolePolicyDocument": encoded(self.document),
                               "MaxSessionDuration": self.max_session_s, "RoleLastUsed": {}}
        if self.description:
            out["Description"] = self.description
        if self.tags:
            out["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
        return out


class Policy:
    def __init__(self, arn: str, name: str, path: str, document: str, description: str, policy_id: str,
                 created: float, tags: dict[str, str]) -> None:
        self.arn = arn
        self.name = name
        self.path = path
        self.description = description
        self.policy_id = policy_id
        self.created = self.updated = created
        self.tags = tags
        self.versions: dict[str, tuple[str, float]] = {"v1": (document, created)}
        self.default = "v1"
        self.next_version = 2
        self.attachments = 0

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"PolicyName": self.name, "PolicyId": self.policy_id, "Arn": self.arn,
                               "Path": self.path, "DefaultVersionId": self.default,
                               "AttachmentCount": self.attachments, "PermissionsBoundaryUsageCount": 0,
                               "IsAttachable": True, "CreateDate": _timestamp(self.created),
                               "UpdateDate": _timestamp(self.updated)}
        if self.description:
            out["Description"] = self.description
        if self.tags:
            out["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
        return out

    def version(self, version_id: str) -> dict[str, Any]:
        found = self.versions.get(version_id)
        if found is None:
            raise NoSuchEntity(f"Policy {self.arn} version {version_id} does not exist or is not attachable.")
        return {"Document": encoded(found[0]), "VersionId": version_id, "IsDefaultVersion": version_id == self.default,
                "CreateDate": _timestamp(found[1])}


class IamAccount:
    """The roles and policies of one account (the account-level state of its global scope)."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.account = mesh.account_id
        self.roles: dict[str, Role] = {}
        self.policies: dict[str, Policy] = {}

    def _id(self, prefix: str) -> str:
        rng = self.mesh.ids.random
        return prefix + "".join(rng.choice(_ID_CHARS) for _ in range(17))

    # -- roles ---------------------------------------------------------------------------------

    def create_role(self, name: str, document: str, *, path: str = "/", description: str = "",
                    max_session_s: int | None = None, tags: dict[str, str] | None = None) -> Role:
        _check_name(name, "roleName")
        _check_path(path)
        if name.lower() in (n.lower() for n in self.roles):
            raise EntityAlreadyExists(f"Role with name {name} already exists.")
        role = Role(self.account, name, path, _document(document), description,
                    max_session_s or DEFAULT_MAX_SESSION_S, dict(tags or {}), self._id("AROA"),
                    self.mesh.clock.now())
        self.roles[name] = role
        return role

    def role(self, name: str) -> Role:
        role = self.roles.get(name)
        if role is None:
            raise NoSuchEntity(f"The role with name {name} cannot be found.")
        return role

    def update_assume_role_policy(self, name: str, document: str) -> None:
        self.role(name).document = _document(document)

    def delete_role(self, name: str) -> None:
        role = self.role(name)
        if role.inline or role.attached:
            raise DeleteConflict("Cannot delete entity, must detach all policies first." if role.attached
                                 else "Cannot delete entity, must delete policies first.")
        del self.roles[name]

    def put_role_policy(self, name: str, policy_name: str, document: str) -> None:
        _check_name(policy_name, "policyName", _POLICY_NAME)
        self.role(name).inline[policy_name] = _document(document)

    def role_policy(self, name: str, policy_name: str) -> str:
        document = self.role(name).inline.get(policy_name)
        if document is None:
            raise NoSuchEntity(f"The role policy with name {policy_name} cannot be found.")
        return document

    def delete_role_policy(self, name: str, policy_name: str) -> None:
        self.role_policy(name, policy_name)
        del self.role(name).inline[policy_name]

    def attach(self, name: str, policy_arn: str) -> None:
        role = self.role(name)
        if policy_arn in role.attached:
            return
        if policy_arn.startswith(AWS_MANAGED_PREFIX):
            policy_name = policy_arn.rsplit("/", 1)[-1]
        else:
            policy = self.policy(policy_arn)
            policy_name = policy.name
            policy.attachments += 1
        if len(role.attached) >= MAX_ATTACHED_POLICIES_PER_ROLE:
            raise LimitExceeded(f"Cannot exceed quota for PoliciesPerRole: {MAX_ATTACHED_POLICIES_PER_ROLE}")
        role.attached[policy_arn] = policy_name

    def detach(self, name: str, policy_arn: str) -> None:
        role = self.role(name)
        if role.attached.pop(policy_arn, None) is None:
            raise NoSuchEntity(f"Policy {policy_arn} was not found.")
        policy = self.policies.get(policy_arn)
        if policy is not None:
            policy.attachments -= 1

    # -- managed policies ----------------------------------------------------------------------

    def create_policy(self, name: str, document: str, *, path: str = "/", description: str = "",
                      tags: dict[str, str] | None = None) -> Policy:
        _check_name(name, "policyName", _POLICY_NAME)
        _check_path(path)
        arn = f"arn:aws:iam::{self.account}:policy{path}{name}"
        if arn in self.policies:
            raise EntityAlreadyExists(f"A policy called {name} already exists. Duplicate names are not allowed.")
        policy = Policy(arn, name, path, _document(document), description, self._id("ANPA"),
                        self.mesh.clock.now(), dict(tags or {}))
        self.policies[arn] = policy
        return policy

    def policy(self, arn: str) -> Policy:
        policy = self.policies.get(arn)
        if policy is None:
            raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")
        return policy

    def delete_policy(self, arn: str) -> None:
        policy = self.policy(arn)
        if policy.attachments:
            raise DeleteConflict("Cannot delete a policy attached to entities.")
        del self.policies[arn]

    def create_policy_version(self, arn: str, document: str, set_default: bool) -> str:
        policy = self.policy(arn)
        if len(policy.versions) >= MAX_POLICY_VERSIONS:
            raise LimitExceeded(f"A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you "
                                "create a new version, you must delete an existing version.")
        version = f"v{policy.next_version}"
        policy.next_version += 1
        policy.versions[version] = (_document(document), self.mesh.clock.now())
        policy.updated = self.mesh.clock.now()
        if set_default:
            policy.default = version
        return version

    def delete_policy_version(self, arn: str, version_id: str) -> None:
        policy = self.policy(arn)
        policy.version(version_id)
        if version_id == policy.default:
            raise DeleteConflict("Cannot delete the default version of a policy.")
        del policy.versions[version_id]


def account_iam(mesh: Mesh) -> IamAccount:
    """The caller's account's IAM (global: the same from every Region)."""
    return mesh.scope(mesh.account_id, GLOBAL_SCOPE).state(IamAccount)
