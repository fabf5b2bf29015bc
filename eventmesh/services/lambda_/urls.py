"""Function URLs: a dedicated HTTP endpoint for a function (or one of its aliases).

CreateFunctionUrlConfig gives the function (unqualified, or an alias named by ``Qualifier``) an
endpoint ``https://<url-id>.lambda-url.<region>.on.aws``. Here it answers in two styles (the
``function_urls`` setting says which the API names): ``path`` (the default),
``http://<daemon>/lambda-url/<region>/<url-id>/``, which every client reaches; and ``host``,
``http://<url-id>.lambda-url.<region>.localhost:<port>/``, the same shape under ``localhost``,
which the daemon's host guard admits and curl and browsers resolve to loopback (the system
resolver, and so Python and Node.js, may not: they connect to the daemon and send that Host).
The function sees the path after the prefix as its ``rawPath`` in either style. The url-id is
32 lower-case letters and digits: 20 from a hash of the function's (qualified) ARN, then the
account id, so that a template knows a URL before it is created and any worker of a daemon of
several knows whose function it is (Lambda's are random: a URL deleted and created again gets a
new one there, the same one here).

A request to the endpoint becomes one synchronous invocation whose event is API Gateway's
payload format 2.0 (``version``, ``routeKey`` ``$default``, ``rawPath``, ``rawQueryString``,
``cookies``, ``headers``, ``queryStringParameters``, ``requestContext``, ``body``,
``isBase64Encoded``); the function's answer becomes the HTTP response: an object with
``statusCode`` is used as given (``headers``, ``cookies`` as ``Set-Cookie``, ``body``,
``isBase64Encoded``), any other JSON value is the body of a 200 ``application/json`` answer. A
function error is ``502 Internal Server Error``; a throttle ``429``. ``AuthType: AWS_IAM`` needs
a signed request (403 ``Forbidden`` without one; the signature is checked only when the daemon
checks access keys); ``NONE`` serves anyone. ``Cors`` answers preflights and adds the CORS
headers to responses. ``InvokeMode: RESPONSE_STREAM`` is kept and answered; the response is
buffered all the same.
https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html
https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html
https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import string
import time
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from eventmesh.mesh import Mesh
from eventmesh.services.lambda_.errors import (
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
)

__all__ = ["AUTH_TYPES", "INVOKE_MODES", "URL_HOST_MARK", "URL_PATH_PREFIX", "URL_STYLES", "FunctionUrls",
           "UrlConfig", "cors_grants", "count_answer", "function_url", "locate", "request_event", "url_id",
           "url_response"]

AUTH_TYPES = ("NONE", "AWS_IAM")
INVOKE_MODES = ("BUFFERED", "RESPONSE_STREAM")
DEFAULT_INVOKE_MODE = "BUFFERED"
URL_HOST_MARK = ".lambda-url."   # host style: <url-id>.lambda-url.<region>.<domain>
URL_PATH_PREFIX = "/lambda-url/"  # path style: /lambda-url/<region>/<url-id>/…
URL_STYLES = ("path", "host")     # the ``function_urls`` setting
DEFAULT_URL_STYLE = "path"
URL_ID_HASH_CHARS = 20           # then the 12-digit account id: 32 in all, as Lambda's
ACCOUNT_ID_CHARS = 12
_ALPHABET = string.ascii_lowercase + string.digits
_NOT_FOUND = "The resource you requested does not exist."
_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "application/x-www-form")
_json = msgspec.json.Decoder()


def _iso(epoch_s: float) -> str:
    """The configs' timestamps: ISO 8601 with microseconds and ``Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(epoch_s))) + f".{int(epoch_s % 1 * 1e6):06d}Z"


class UrlConfig:
    """One function URL: the function (and alias) it invokes and how it is reached."""

    def __init__(self, function: Any, qualifier: str | None, auth_type: str, cors: dict[str, Any] | None,
                 invoke_mode: str, now: float) -> None:
        self.function = function
        self.qualifier = qualifier
        self.url_id = url_id(self.function_arn)
        self.auth_type = auth_type
        self.cors = cors
        self.invoke_mode = invoke_mode
        self.created = self.modified = now

    @property
    def function_arn(self) -> str:
        arn: str = self.function.arn
        return f"{arn}:{self.qualifier}" if self.qualifier else arn

    def describe(self, host: str, style: str = DEFAULT_URL_STYLE, *, with_modified: bool = True) -> dict[str, Any]:
        """The configuration as the API answers it, its URL on the daemon reached at ``host``."""
        out: dict[str, Any] = {"FunctionUrl": function_url(self.function_arn, host, style),
                               "FunctionArn": self.function_arn,
                               "AuthType": self.auth_type, "CreationTime": _iso(self.created),
                               "InvokeMode": self.invoke_mode}
        if self.cors is not None:
            out["Cors"] = self.cors
        if with_modified:
            out["LastModifiedTime"] = _iso(self.modified)
        return out


def count_answer(function: Any, status: int) -> int:
    """Count one answer of a function URL in its function's Url* metrics; returns ``status``."""
    answers = function.url_answers
    answers[0] += 1
    if 400 <= status < 500:
        answers[1] += 1
    elif status >= 500:
        answers[2] += 1
    return status


def _check(auth_type: str | None, invoke_mode: str | None) -> None:
    if auth_type is not None and auth_type not in AUTH_TYPES:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{auth_type}' at 'authType' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(AUTH_TYPES)}]")
    if invoke_mode is not None and invoke_mode not in INVOKE_MODES:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{invoke_mode}' at 'invokeMode' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(INVOKE_MODES)}]")


class FunctionUrls:
    """The function URLs of one account and Region (``Mesh.state``), by url-id and by function."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.by_id: dict[str, UrlConfig] = {}
        self.by_function: dict[str, UrlConfig] = {}   # the qualified (or unqualified) function ARN

    def _live(self, config: UrlConfig | None) -> UrlConfig | None:
        """A config whose function (and alias) still exist; a deleted one's URL is gone with it."""
        if config is None:
            return None
        function: Any = config.function
        exists = self.mesh.find(function.arn, type(function)) is function
        if not exists or (config.qualifier is not None and config.qualifier not in function.aliases):
            self.by_id.pop(config.url_id, None)
            self.by_function.pop(config.function_arn, None)
            return None
        return config

    def create(self, function: Any, qualifier: str | None, auth_type: str, cors: dict[str, Any] | None,
               invoke_mode: str | None) -> UrlConfig:
        _check(auth_type, invoke_mode)
        key = f"{function.arn}:{qualifier}" if qualifier else function.arn
        if self._live(self.by_function.get(key)) is not None:
            raise ResourceConflictException(
                f"Failed to create function url config for [functionArn = {key}]. Error message:  "
                "FunctionUrlConfig exists for this Lambda function")
        config = UrlConfig(function, qualifier, auth_type, cors,
                           invoke_mode or DEFAULT_INVOKE_MODE, self.mesh.clock.now())
        self.by_id[config.url_id] = self.by_function[key] = config
        return config

    def get(self, function: Any, qualifier: str | None) -> UrlConfig:
        key = f"{function.arn}:{qualifier}" if qualifier else function.arn
        config = self._live(self.by_function.get(key))
        if config is None:
            raise ResourceNotFoundException(_NOT_FOUND)
        return config

    def update(self, function: Any, qualifier: str | None, auth_type: str | None, cors: dict[str, Any] | None,
               invoke_mode: str | None) -> UrlConfig:
        config = self.get(function, qualifier)
        _check(auth_type, invoke_mode)
        if auth_type is not None:
            config.auth_type = auth_type
        if cors is not None:
            config.cors = cors
        if invoke_mode is not None:
            config.invoke_mode = invoke_mode
        config.modified = self.mesh.clock.now()
        return config

    def delete(self, function: Any, qualifier: str | None) -> None:
        config = self.get(function, qualifier)
        del self.by_id[config.url_id], self.by_function[config.function_arn]

    def of_function(self, function: Any) -> list[UrlConfig]:
        """ListFunctionUrlConfigs: the function's and its aliases' URLs, unqualified first."""
        found = [c for c in list(self.by_function.values()) if c.function is function and self._live(c)]
        return sorted(found, key=lambda c: (c.qualifier is not None, c.qualifier or ""))

    def find(self, url_id: str) -> UrlConfig | None:
        return self._live(self.by_id.get(url_id))


def url_id(function_arn: str) -> str:
    """The url-id of the function URL of ``function_arn`` (qualified by its alias, if any)."""
    number = int.from_bytes(hashlib.sha256(function_arn.encode()).digest(), "big")
    chars = []
    for _ in range(URL_ID_HASH_CHARS):
        number, digit = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return "".join(chars) + function_arn.split(":")[4]


def function_url(function_arn: str, host: str, style: str = DEFAULT_URL_STYLE) -> str:
    """The FunctionUrl of ``function_arn`` on a daemon reached at ``host`` (``name:port``), in the
    ``function_urls`` setting's style."""
    the_id, region = url_id(function_arn), function_arn.split(":")[3]
    if style == "host":
        port = host[host.rindex(":"):] if host.count(":") == 1 else ""
        return f"http://{the_id}{URL_HOST_MARK}{region}.localhost{port}/"
    return f"http://{host}{URL_PATH_PREFIX}{region}/{the_id}/"


def _account_of(the_id: str) -> str | None:
    if len(the_id) != URL_ID_HASH_CHARS + ACCOUNT_ID_CHARS or not the_id.isalnum() \
            or not the_id[-ACCOUNT_ID_CHARS:].isdigit():
        return None
    return the_id[-ACCOUNT_ID_CHARS:]


def locate(host: str, path: str) -> tuple[str, str, str, str] | None:
    """``(url-id, account id, Region, the function's path)`` of a request to a function URL in
    either style, or None for any other request."""
    if path.startswith(URL_PATH_PREFIX):
        region, _, rest = path[len(URL_PATH_PREFIX):].partition("/")
        the_id, slash, tail = rest.partition("/")
        account = _account_of(the_id.lower())
        if account is None or not region:
            return None
        return the_id.lower(), account, region, slash + tail or "/"
    if URL_HOST_MARK not in host:
        return None
    name = host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()
    the_id, _, rest = name.partition(URL_HOST_MARK)
    region = rest.split(".", 1)[0]
    account = _account_of(the_id)
    if account is None or not region:
        return None
    return the_id, account, region, path or "/"


def _is_text(content_type: str) -> bool:
    return content_type.lower().startswith(_TEXT_TYPES) or "+json" in content_type or "+xml" in content_type


def request_event(config: UrlConfig, method: str, path: str, query: str, headers: dict[str, str], body: bytes,
                  request_id: str, now: float, source_ip: str = "127.0.0.1") -> dict[str, Any]:
    """The invocation event of one request (payload format 2.0). Headers are lower-case; repeated
    query parameters join with commas, as the format's ``queryStringParameters`` does."""
    event_headers = {k: v for k, v in headers.items() if k != "cookie"}
    event: dict[str, Any] = {"version": "2.0", "routeKey": "$default", "rawPath": path or "/",
                             "rawQueryString": query}
    if headers.get("cookie"):
        event["cookies"] = [c.strip() for c in headers["cookie"].split(";") if c.strip()]
    event["headers"] = event_headers
    if query:
        params: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    domain = f"{config.url_id}{URL_HOST_MARK}{config.function.mesh.region}.on.aws"   # the name Lambda gives it
    event["requestContext"] = {
        "accountId": "anonymous" if config.auth_type == "NONE" else config.function.mesh.account_id,
        "apiId": config.url_id, "domainName": domain, "domainPrefix": config.url_id,
        "http": {"method": method, "path": path or "/", "protocol": "HTTP/1.1", "sourceIp": source_ip,
                 "userAgent": headers.get("user-agent", "")},
        "requestId": request_id, "routeKey": "$default", "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(int(now))), "timeEpoch": int(now * 1000)}
    if body:
        text = _is_text(headers.get("content-type", "")) and _utf8(body)
        event["body"] = body.decode() if text else base64.b64encode(body).decode()
        event["isBase64Encoded"] = not text
    else:
        event["isBase64Encoded"] = False
    return event


def _utf8(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


BAD_GATEWAY = (502, [("Content-Type", "application/json")], b'{"Message":"Internal Server Error"}')
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")   # an HTTP header name (RFC 9110 token)
_FIELD_VALUE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")   # no CR, LF or other controls but tab


def url_response(payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """The HTTP answer a function's result stands for (the response format's rules above). A
    result that cannot be one (a status outside 100–599, a header name that is not a token, a
    value or cookie with a line break, a body that is not base64 when it says so) is Lambda's
    ``502``: nothing the function returns can add a header or split the response."""
    try:
        value = _json.decode(payload) if payload.strip() else None
    except msgspec.DecodeError:
        value = None
    if not (isinstance(value, dict) and "statusCode" in value):
        return 200, [("Content-Type", "application/json")], payload
    status = value["statusCode"]
    given_headers = value.get("headers") or {}
    cookies = value.get("cookies") or []
    if type(status) is not int or not 100 <= status <= 599 or not isinstance(given_headers, dict) \
            or not isinstance(cookies, list):
        return BAD_GATEWAY
    headers = []
    for name, field in given_headers.items():
        text = field if isinstance(field, str) else msgspec.json.encode(field).decode() \
            if isinstance(field, (int, float, bool)) else None
        if text is None or not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(text):
            return BAD_GATEWAY
        headers.append((name, text))
    for cookie in cookies:
        if not isinstance(cookie, str) or not _FIELD_VALUE.fullmatch(cookie):
            return BAD_GATEWAY
        headers.append(("Set-Cookie", cookie))
    body: Any = value.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        data = msgspec.json.encode(body)
    elif value.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return BAD_GATEWAY
    else:
        data = body.encode()
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return status, headers, data


def cors_grants(cors: dict[str, Any] | None, origin: str | None, *, preflight: bool) -> list[tuple[str, str]]:
    """The CORS headers a URL's ``Cors`` config grants ``origin`` (none when it does not allow it)."""
    if not cors or not origin:
        return []
    origins = [o.rstrip("/") for o in cors.get("AllowOrigins") or []]
    if "*" not in origins and origin.rstrip("/") not in origins:
        return []
    grants = [("Access-Control-Allow-Origin", "*" if "*" in origins and not cors.get("AllowCredentials")
               else origin)]
    if cors.get("AllowCredentials"):
        grants.append(("Access-Control-Allow-Credentials", "true"))
    if cors.get("ExposeHeaders") and not preflight:
        grants.append(("Access-Control-Expose-Headers", ", ".join(cors["ExposeHeaders"])))
    if preflight:
        if cors.get("AllowMethods"):
            grants.append(("Access-Control-Allow-Methods", ", ".join(cors["AllowMethods"])))
        if cors.get("AllowHeaders"):
            grants.append(("Access-Control-Allow-Headers", ", ".join(cors["AllowHeaders"])))
        if cors.get("MaxAge") is not None:
            grants.append(("Access-Control-Max-Age", str(cors["MaxAge"])))
    grants.append(("Vary", "Origin"))
    return grants
