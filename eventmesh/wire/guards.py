"""Who may talk to the daemon: the DNS-rebinding and cross-site request guards local developer
servers use, and CORS for browser SDKs.

The daemon runs uploaded code, so a web page in the user's browser must not be able to reach it.
Every request passes, in order (see docs/http-door.md):

1. **Host.** DNS rebinding points an attacker's name at 127.0.0.1; the browser then sends
   ``Host: attacker.example``. Only loopback names (``localhost``, ``*.localhost``), IP literals
   (a rebinding needs a name), the bound address and the configured ``allowed_hosts`` are served.
2. **Origin and Fetch Metadata.** A browser names the page's origin (``Origin``) and whether the
   request is cross-site (``Sec-Fetch-Site``); AWS SDKs outside a browser send neither. A request
   from another origin is refused unless ``cors_origins`` allows it.
3. **Content type.** ``text/plain`` and ``multipart/form-data`` are what a page can post without a
   preflight, and no AWS SDK sends them: refused. (Query's form encoding is what the SDKs send, so
   it stays, guarded by rule 2.)

Preflights (``OPTIONS`` with ``Access-Control-Request-Method``) from an allowed origin are answered
here; responses to allowed cross-origin requests carry ``Access-Control-Allow-Origin``.
https://fetch.spec.whatwg.org/#http-cors-protocol
https://www.w3.org/TR/fetch-metadata/
https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/cors.html
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from eventmesh.errors import ServiceError
from eventmesh.wire.limits import HostNotAllowed, OriginNotAllowed, ServerSettings, UnsupportedMediaType

__all__ = ["Guard", "cors_headers"]

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
BROWSER_ONLY_TYPES = ("text/plain", "multipart/form-data")
# Fetch Metadata values a browser sends for a request it did not make on a page's behalf elsewhere.
_SAME_SITE_FETCH = frozenset({"same-origin", "none"})
PREFLIGHT_MAX_AGE_S = 600
HOST_MEMO_SIZE = 256   # Host headers whose verdict is remembered
EXPOSED_HEADERS = ("x-amzn-RequestId, x-amzn-ErrorType, x-amzn-query-error, x-amz-function-error, "
                   "x-amz-log-result, x-amz-executed-version, x-amzn-Remapped-Content-Length, ETag")
ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"


def _host_name(host: str) -> str:
    """``Host`` without its port, lower-case (``[::1]:4566`` → ``::1``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """The rules above for one daemon (its bound address and settings)."""

    def __init__(self, settings: ServerSettings, bind_host: str) -> None:
        self.settings = settings
        names = {n.lower() for n in settings.allowed_hosts}
        self._any_host = "*" in names
        self._suffixes = tuple(n[1:] for n in names if n.startswith("*."))
        self._names = LOOPBACK_NAMES | {n for n in names if not n.startswith("*")} | {bind_host.lower()}
        self._origins = frozenset(o.rstrip("/").lower() for o in settings.cors_origins)
        self._any_origin = "*" in self._origins
        self._hosts: dict[str, bool] = {}   # Host header -> verdict: clients send the same one

    def host_allowed(self, host: str | None) -> bool:
        if host is None or self._any_host:
            return True   # HTTP/1.0 and clients that send none: no browser is among them
        known = self._hosts.get(host)
        if known is not None:
            return known
        name = _host_name(host)
        allowed = (name in self._names or name.endswith(".localhost") or _is_ip(name)
                   or (bool(self._suffixes) and name.endswith(self._suffixes)))
        if len(self._hosts) >= HOST_MEMO_SIZE:
            self._hosts.clear()
        self._hosts[host] = allowed
        return allowed

    def origin_allowed(self, origin: str, host: str | None) -> bool:
        origin = origin.rstrip("/").lower()
        if self._any_origin or origin in self._origins:
            return True
        # Same origin: a page the daemon served itself (its console) calling back.
        return host is not None and urlsplit(origin).netloc == host.strip().lower()

    def refusal(self, method: str, headers: dict[str, str]) -> ServiceError | None:
        """Why this request may not be served, or None. ``headers`` are lower-case."""
        host = headers.get("host")
        allowed = self._hosts.get(host) if host is not None else True   # the memo first: no call
        if not (allowed if allowed is not None else self.host_allowed(host)):
            return HostNotAllowed(f"Host {host!r} is not allowed: requests must name a loopback host, an IP "
                                  "address or one of server.allowed_hosts.")
        origin = headers.get("origin")
        if origin is not None and origin != "null" and self.origin_allowed(origin, host):
            pass
        elif origin is not None or headers.get("sec-fetch-site", "none") not in _SAME_SITE_FETCH:
            return OriginNotAllowed(f"Cross-origin request from {origin or 'another site'} refused: add the "
                                    "origin to server.cors_origins to allow browser clients.")
        content_type = headers.get("content-type", "")
        if content_type[:1] in "tTmM" and content_type.lower().startswith(BROWSER_ONLY_TYPES):
            return UnsupportedMediaType(f"Content-Type {content_type.split(';')[0]} is not accepted: AWS APIs "
                                        "take their protocol's content type.")
        return None

    def preflight(self, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        """The answer to a CORS preflight: 204 with the grants, or 403."""
        origin = headers.get("origin", "")
        if not origin or not self.host_allowed(headers.get("host")) or not self.origin_allowed(
                origin, headers.get("host")):
            return 403, [("Content-Type", "text/plain")], b"CORS preflight refused: origin not allowed"
        grants = cors_headers(origin) + [
            ("Access-Control-Allow-Methods", ALLOWED_METHODS),
            ("Access-Control-Allow-Headers", headers.get("access-control-request-headers", "*")),
            ("Access-Control-Max-Age", str(PREFLIGHT_MAX_AGE_S)),
        ]
        return 204, grants, b""

    def response_headers(self, headers: dict[str, str]) -> list[tuple[str, str]]:
        """CORS headers for the response to an allowed cross-origin request (else none)."""
        origin = headers.get("origin")
        if origin is None or origin == "null" or not self._origins:
            return []
        return cors_headers(origin)


def cors_headers(origin: str) -> list[tuple[str, str]]:
    return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
            ("Access-Control-Expose-Headers", EXPOSED_HEADERS)]
