"""Temporary credentials that remember whose they are.

A session token eventmesh issues (AssumeRole, GetSessionToken, the credentials of a Lambda
function) carries the assumed role and session name, so GetCallerIdentity answers the
``assumed-role`` ARN a tool expects (``arn:aws:sts::<account>:assumed-role/<role>/<session>``)
without the daemon keeping a table of sessions. The access key of such credentials is the
account id: the daemon acts in the account a key names (``wire/router.py``). Tokens are not
secrets here: credentials are not checked (see SECURITY.md for what is).
https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html
"""

from __future__ import annotations

import base64
import binascii
import json

__all__ = ["SessionIdentity", "TOKEN_PREFIX", "read_session_token", "session_token"]

TOKEN_PREFIX = "eventmesh-session."


class SessionIdentity:
    """The role and session name a token stands for."""

    __slots__ = ("role_arn", "session_name")

    def __init__(self, role_arn: str, session_name: str) -> None:
        self.role_arn = role_arn
        self.session_name = session_name


def session_token(role_arn: str, session_name: str) -> str:
    body = json.dumps({"role": role_arn, "session": session_name}, separators=(",", ":")).encode()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(body).decode().rstrip("=")


def read_session_token(token: str | None) -> SessionIdentity | None:
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    data = token[len(TOKEN_PREFIX):]
    try:
        body = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        return SessionIdentity(str(body["role"]), str(body["session"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
