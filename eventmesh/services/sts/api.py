"""AWS STS over the Query protocol (``Action=…&Version=2011-06-15``): adapters only.

GetCallerIdentity answers the account of the caller's access key (a 12-digit key is that
account, any other the daemon's account, as everywhere in eventmesh) and, for a session token
eventmesh issued, the assumed role (``sessions.py``); otherwise the account's root. AssumeRole and
GetSessionToken issue credentials whose key is the role's account, valid for the requested
duration (900–43,200 s; default 3,600). Nothing is checked or enforced: IAM is not modelled.
https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from eventmesh.services.sts.errors import ValidationError
from eventmesh.services.sts.sessions import read_session_token, session_token
from eventmesh.wire.service import RequestContext, Service
from eventmesh.wire.validate import Problem, validation_exception

__all__ = ["service"]


def _validation_error(problems: list[Problem]) -> ValidationError:
    return ValidationError(validation_exception(problems).message)


service = Service("sts", validation_error=_validation_error)

DEFAULT_SESSION_S = 3_600
MIN_SESSION_S = 900
MAX_SESSION_S = 43_200
_ROLE_ARN = re.compile(r"arn:aws[\w-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})")
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _unique_id(ctx: RequestContext, prefix: str) -> str:
    rng = ctx.mesh.ids.random
    return prefix + "".join(rng.choice(_ID_CHARS) for _ in range(17))


def _expiration(ctx: RequestContext, seconds: int) -> str:
    moment = dt.datetime.fromtimestamp(ctx.mesh.clock.now() + seconds, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(params: dict[str, Any]) -> int:
    seconds = params.get("DurationSeconds") or DEFAULT_SESSION_S
    if not MIN_SESSION_S <= seconds <= MAX_SESSION_S:
        raise ValidationError(f"1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to "
                              f"satisfy constraint: Member must have value "
                              f"{'greater' if seconds < MIN_SESSION_S else 'less'} than or equal to "
                              f"{MIN_SESSION_S if seconds < MIN_SESSION_S else MAX_SESSION_S}")
    return int(seconds)


@service.operation("GetCallerIdentity")
def get_caller_identity(ctx: RequestContext, params: dict[str, Any]) -> Any:
    account = ctx.account_id
    session = read_session_token(ctx.headers.get("x-amz-security-token"))
    if session is not None:
        found = _ROLE_ARN.fullmatch(session.role_arn)
        if found is not None:
            role = found.group(2)
            return {"UserId": f"AROA{account}:{session.session_name}", "Account": found.group(1),
                    "Arn": f"arn:aws:sts::{found.group(1)}:assumed-role/{role}/{session.session_name}"}
    return {"UserId": account, "Account": account, "Arn": f"arn:aws:iam::{account}:root"}


@service.operation("AssumeRole")
def assume_role(ctx: RequestContext, params: dict[str, Any]) -> Any:
    role_arn, session = params["RoleArn"], params["RoleSessionName"]
    found = _ROLE_ARN.fullmatch(role_arn)
    if found is None:
        raise ValidationError(f"{role_arn} is invalid")
    account, role = found.group(1), found.group(2)
    role_id = _unique_id(ctx, "AROA")
    return {
        "Credentials": {"AccessKeyId": account, "SecretAccessKey": ctx.mesh.ids.token(40),
                        "SessionToken": session_token(role_arn, session),
                        "Expiration": _expiration(ctx, _duration(params))},
        "AssumedRoleUser": {"AssumedRoleId": f"{role_id}:{session}",
                            "Arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}"},
        "PackedPolicySize": 0,
    }


@service.operation("GetSessionToken")
def get_session_token(ctx: RequestContext, params: dict[str, Any]) -> Any:
    account = ctx.account_id
    return {"Credentials": {"AccessKeyId": account, "SecretAccessKey": ctx.mesh.ids.token(40),
                            "SessionToken": ctx.mesh.ids.token(64), "Expiration": _expiration(ctx, _duration(params))}}


@service.operation("GetAccessKeyInfo")
def get_access_key_info(ctx: RequestContext, params: dict[str, Any]) -> Any:
    key = params["AccessKeyId"]
    return {"Account": key if len(key) == 12 and key.isdigit() else ctx.account_id}
