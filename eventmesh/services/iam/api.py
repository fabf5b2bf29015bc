"""AWS IAM over the Query protocol (``Action=…&Version=2010-05-08``): adapters only.

Roles (Create/Get/List/Update/Delete, tags), their inline policies (Put/Get/List/Delete
RolePolicy) and attached managed policies (Attach/Detach/ListAttachedRolePolicies), managed
policies and their versions; stored by ``store.py``, never enforced. Lists page with
``Marker`` / ``MaxItems`` (default 100) and answer ``IsTruncated``.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from eventmesh.services.iam.errors import ValidationError
from eventmesh.services.iam.store import account_iam, encoded
from eventmesh.wire.service import RequestContext, Service
from eventmesh.wire.validate import Problem, validation_exception

__all__ = ["service"]

DEFAULT_MAX_ITEMS = 100
T = TypeVar("T")


def _validation_error(problems: list[Problem]) -> ValidationError:
    return ValidationError(validation_exception(problems).message)


service = Service("iam", validation_error=_validation_error)


def _tags(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or ()}


def _page(items: Sequence[T], params: dict[str, Any], key: str) -> dict[str, Any]:
    marker = params.get("Marker")
    start = int(marker) if marker and marker.isdigit() else 0
    end = start + (params.get("MaxItems") or DEFAULT_MAX_ITEMS)
    out: dict[str, Any] = {key: list(items[start:end]), "IsTruncated": end < len(items)}
    if end < len(items):
        out["Marker"] = str(end)
    return out


# -- roles ----------------------------------------------------------------------------------------

@service.operation("CreateRole")
def create_role(ctx: RequestContext, params: dict[str, Any]) -> Any:
    role = account_iam(ctx.mesh).create_role(
        params["RoleName"], params["AssumeRolePolicyDocument"], path=params.get("Path") or "/",
        description=params.get("Description") or "", max_session_s=params.get("MaxSessionDuration"),
        tags=_tags(params.get("Tags")))
    return {"Role": role.describe()}


@service.operation("GetRole")
def get_role(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return {"Role": account_iam(ctx.mesh).role(params["RoleName"]).describe()}


@service.operation("ListRoles")
def list_roles(ctx: RequestContext, params: dict[str, Any]) -> Any:
    prefix = params.get("PathPrefix") or "/"
    roles = sorted((r for r in account_iam(ctx.mesh).roles.values() if r.path.startswith(prefix)),
                   key=lambda r: r.name)
    out = _page(roles, params, "Roles")
    out["Roles"] = [{k: v for k, v in r.describe().items() if k != "Tags"} for r in out["Roles"]]
    return out


@service.operation("UpdateRole")
def update_role(ctx: RequestContext, params: dict[str, Any]) -> Any:
    role = account_iam(ctx.mesh).role(params["RoleName"])
    if params.get("Description") is not None:
        role.description = params["Description"]
    if params.get("MaxSessionDuration") is not None:
        role.max_session_s = params["MaxSessionDuration"]
    return {}


@service.operation("UpdateAssumeRolePolicy")
def update_assume_role_policy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    account_iam(ctx.mesh).update_assume_role_policy(params["RoleName"], params["PolicyDocument"])
    return None


@service.operation("DeleteRole")
def delete_role(ctx: RequestContext, params: dict[str, Any]) -> Any:
    account_iam(ctx.mesh).delete_role(params["RoleName"])
    return None


@service.operation("TagRole")
def tag_role(ctx: RequestContext, params: dict[str, Any]) -> Any:
    account_iam(ctx.mesh).role(params["RoleName"]).tags.update(_tags(params["Tags"]))
    return None


@service.operation("UntagRole")
def untag_role(ctx: RequestContext, params: dict[str, Any]) -> Any:
    role = account_iam(ctx.mesh).role(params["RoleName"])
    for key in params["TagKeys"]:
        role.tags.pop(key, None)
    return None


@service.operation("ListRoleTags")
def list_role_tags(ctx: RequestContext, params: dict[str, Any]) -> Any:
    role = account_iam(ctx.mesh).role(params["RoleName"])
    return _page([{"Key": k, "Value": v} for k, v in role.tags.items()], params, "Tags")


@service.operation("ListInstanceProfilesForRole")
def list_instance_profiles_for_role(ctx: RequestContext, params: dict[str, Any]) -> Any:
    account_iam(ctx.mesh).role(params["RoleName"])
    return {"InstanceProfiles": [], "IsTruncated": False}


# -- a role's policies ----------------------------------------------------------------------------

@service.operation("PutRolePolicy")
def put_role_policy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    account_iam(ctx.mesh).put_role_policy(params["RoleName"], params["PolicyName"], params["PolicyDocument"])
    return None


@service.operation("GetRolePolicy")
def get_role_policy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    document = account_iam(ctx.mesh).role_policy(params["RoleName"], params["PolicyName"])
    return {"RoleName": params["RoleName"], "PolicyName": params["PolicyName"], "PolicyDocument": encoded(document)}


@service.operation("DeleteRolePolicy")
def delete_role_policy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    account_iam(ctx.mesh).delete_role_policy(params["RoleName"], params["PolicyName"])
    return None


@service.operation("ListRolePolicies")
def list_role_policies(ctx: RequestContext, params: dict[str, Any]) -> Any:
    role = account_iam(ctx.mesh).role(params["RoleName"])
    return _page(sorted(role.inline), params, "PolicyNames")


@service.operation("AttachRolePolicy")
def attach_role_policy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    account_iam(ctx.mesh).attach(params["RoleName"], params["PolicyArn"])
    return None


@service.operation("DetachRolePolicy")
def detach_role_policy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    account_iam(ctx.mesh).detach(params["RoleName"], params["PolicyArn"])
    return None


@service.operation("ListAttachedRolePolicies")
def list_attached_role_policies(ctx: RequestContext, params: dict[str, Any]) -> Any:
    role = account_iam(ctx.mesh).role(params["RoleName"])
    attached = [{"PolicyName": name, "PolicyArn": arn} for arn, name in role.attached.items()]
    return _page(attached, params, "AttachedPolicies")


# -- managed policies -----------------------------------------------------------------------------

@service.operation("CreatePolicy")
def create_policy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    policy = account_iam(ctx.mesh).create_policy(
        params["PolicyName"], params["PolicyDocument"], path=params.get("Path") or "/",
        description=params.get("Description") or "", tags=_tags(params.get("Tags")))
    return {"Policy": policy.describe()}


@service.operation("GetPolicy")
def get_policy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return {"Policy": account_iam(ctx.mesh).policy(params["PolicyArn"]).describe()}


@service.operation("DeletePolicy")
def delete_policy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    account_iam(ctx.mesh).delete_policy(params["PolicyArn"])
    return None


@service.operation("ListPolicies")
def list_policies(ctx: RequestContext, params: dict[str, Any]) -> Any:
    scope = params.get("Scope") or "All"
    prefix = params.get("PathPrefix") or "/"
    only_attached = bool(params.get("OnlyAttached"))
    policies = [] if scope == "AWS" else sorted(
        (p for p in account_iam(ctx.mesh).policies.values()
         if p.path.startswith(prefix) and (not only_attached or p.attachments)), key=lambda p: p.name)
    out = _page(policies, params, "Policies")
    out["Policies"] = [p.describe() for p in out["Policies"]]
    return out


@service.operation("GetPolicyVersion")
def get_policy_version(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return {"PolicyVersion": account_iam(ctx.mesh).policy(params["PolicyArn"]).version(params["VersionId"])}


@service.operation("ListPolicyVersions")
def list_policy_versions(ctx: RequestContext, params: dict[str, Any]) -> Any:
    policy = account_iam(ctx.mesh).policy(params["PolicyArn"])
    versions = [{k: v for k, v in policy.version(vid).items() if k != "Document"}
                for vid in reversed(list(policy.versions))]
    return _page(versions, params, "Versions")


@service.operation("CreatePolicyVersion")
def create_policy_version(ctx: RequestContext, params: dict[str, Any]) -> Any:
    iam = account_iam(ctx.mesh)
    version = iam.create_policy_version(params["PolicyArn"], params["PolicyDocument"],
                                        bool(params.get("SetAsDefault")))
    found = iam.policy(params["PolicyArn"]).version(version)
    return {"PolicyVersion": {k: v for k, v in found.items() if k != "Document"}}


@service.operation("DeletePolicyVersion")
def delete_policy_version(ctx: RequestContext, params: dict[str, Any]) -> Any:
    account_iam(ctx.mesh).delete_policy_version(params["PolicyArn"], params["VersionId"])
    return None


@service.operation("ListEntitiesForPolicy")
def list_entities_for_policy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    iam = account_iam(ctx.mesh)
    arn = params["PolicyArn"]
    roles = [{"RoleName": r.name, "RoleId": r.role_id} for r in iam.roles.values() if arn in r.attached]
    return {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": roles, "IsTruncated": False}
