"""Which access keys the daemon accepts, and the account each acts in (``security.access_keys``).

By default any credentials are accepted: the daemon is a local tool bound to 127.0.0.1, and the
account of a request is its access key when that key is a 12-digit account id (else the
config's ``account_id``). With ``security.access_keys`` set, the access key of every request's
SigV4 credential (``Authorization`` header, or ``X-Amz-Credential`` of a presigned URL) must be
one of them: a shared secret for a daemon exposed beyond loopback. A list of keys acts in the
default account; a mapping names each key's account. Anything else is refused with the answer
AWS gives an unknown key (``UnrecognizedClientException`` / Query ``InvalidClientTokenId``, 403).
Signatures are not verified: the key is the secret. The two operations AWS serves unsigned (SNS
ConfirmSubscription and Unsubscribe, which endpoints reach through the URLs in notifications)
stay open when unsigned. The daemon's own Lambda functions get a key
minted for their account (:meth:`AccessKeys.mint`), so their SDK calls pass the same check.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-auth-elements.html
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping

from eventmesh.errors import ServiceError

__all__ = ["AccessKeys", "UnrecognizedClientException", "request_access_key"]

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
_PRESIGNED = re.compile(r"(?:^|&)X-Amz-Credential=([^/&%]+)(?:/|%2F)")
MINTED_KEY_PREFIX = "ASIAEVENTMESH"


class UnrecognizedClientException(ServiceError):
    code = "UnrecognizedClientException"
    query_code = "InvalidClientTokenId"
    http_status = 403


def request_access_key(headers: Mapping[str, str], query: str = "") -> str | None:
    """The access key a request is signed with, if any."""
    found = _CREDENTIAL.search(headers.get("authorization") or "")
    if found is None and query:
        found = _PRESIGNED.search(query)
    return found.group(1) if found else None


class AccessKeys:
    """The accepted keys (empty: accept any) and their accounts (None: the default account)."""

    def __init__(self, keys: Mapping[str, str | None] | Iterable[str] | None = None,
                 mint_secret: bytes | None = None) -> None:
        if keys is None:
            self.keys: dict[str, str | None] = {}
        elif isinstance(keys, Mapping):
            self.keys = {str(k): (str(v) if v is not None else None) for k, v in keys.items()}
        else:
            self.keys = {str(k): None for k in keys}
        self._minted: dict[str, str] = {}
        # With a secret, a minted key is derived from it and the account (the workers of a daemon
        # of several mint the same key, so a function's calls pass whichever worker they reach).
        self.mint_secret = mint_secret

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def account(self, key: str | None) -> str | None:
        """The account ``key`` acts in (None: the default), or UnrecognizedClientException."""
        if not self.enabled:
            return key if key is not None and len(key) == 12 and key.isdigit() else None
        if key is None:
            raise UnrecognizedClientException("The security token included in the request is invalid.")
        if key not in self.keys:
            account = self._derived(key)
            if account is None:
                raise UnrecognizedClientException("The security token included in the request is invalid.")
            self.keys[key] = account
        return self.keys[key]

    def allows_bearer(self, authorization: str | None) -> bool:
        """``Authorization: Bearer <key>`` (the daemon's own endpoints: metrics, the clock)."""
        if not self.enabled:
            return True
        scheme, _, token = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and token.strip() in self.keys

    def mint(self, account_id: str) -> str:
        """A key for the daemon's own functions in ``account_id`` (the account id itself when
        keys are not checked)."""
        if not self.enabled:
            return account_id
        key = self._minted.get(account_id)
        if key is None:
            if self.mint_secret is None:
                key = MINTED_KEY_PREFIX + secrets.token_hex(8).upper()
            else:
                key = MINTED_KEY_PREFIX + account_id + self._signature(account_id)
            self._minted[account_id] = key
            self.keys[key] = account_id
        return key

    def _signature(self, account_id: str) -> str:
        assert self.mint_secret is not None
        return hmac.new(self.mint_secret, account_id.encode(), hashlib.sha256).hexdigest()[:16].upper()

    def _derived(self, key: str) -> str | None:
        """The account of a key minted from the secret (by any worker), else None."""
        if self.mint_secret is None or not key.startswith(MINTED_KEY_PREFIX):
            return None
        account, signature = key[len(MINTED_KEY_PREFIX):-16], key[-16:]
        if len(account) == 12 and account.isdigit() and hmac.compare_digest(signature, self._signature(account)):
            return account
        return None
