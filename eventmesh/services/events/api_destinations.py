"""API destinations: rule targets that are HTTP endpoints (spec eventbridge.md §6).

A ``Connection`` holds the authorization (``API_KEY``, ``BASIC``; OAuth client credentials are
accepted but send no token) and extra invocation parameters; an ``ApiDestination`` names an
endpoint (``*`` placeholders filled from the target's ``HttpParameters.PathParameterValues``),
an HTTP method and a connection. AWS waits at most 5 s for an endpoint and retries 401, 407,
409, 429 and 5xx answers; other 4xx answers are not retried.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html

The core never does I/O: a target invocation becomes an :class:`ApiDestinationCall` effect.
The real-time driver runs it with :func:`install_http_delivery`; tests in virtual time
subscribe a double that answers synchronously.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Coroutine, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import msgspec

from eventmesh.effects import DeliveryResult
from eventmesh.mesh import Mesh

__all__ = ["Connection", "ApiDestination", "ApiDestinationCall", "call_api_destination",
           "http_status_result", "install_http_delivery", "HTTP_TIMEOUT_SECONDS"]

HTTP_TIMEOUT_SECONDS = 5.0                      # API destination endpoints must answer within 5 s
RETRIED_HTTP_STATUSES = frozenset({401, 407, 409, 429})  # plus every 5xx
DEFAULT_CONTENT_TYPE = "application/json; charset=utf-8"


class Connection:
    """An EventBridge connection: authorization for API destinations."""

    def __init__(self, arn: str, name: str, params: Mapping[str, Any], now: float) -> None:
        self.arn = arn
        self.name = name
        self.description: str = params.get("Description", "")
        self.authorization_type: str = params["AuthorizationType"]
        self.auth_parameters: dict[str, Any] = dict(params.get("AuthParameters") or {})
        self.state = "AUTHORIZED"
        self.created = now

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        auth = self.auth_parameters
        if self.authorization_type == "API_KEY":
            key = auth.get("ApiKeyAuthParameters") or {}
            out[key.get("ApiKeyName", "x-api-key")] = key.get("ApiKeyValue", "")
        elif self.authorization_type == "BASIC":
            basic = auth.get("BasicAuthParameters") or {}
            token = f"{basic.get('Username', '')}:{basic.get('Password', '')}".encode()
            out["Authorization"] = "Basic " + base64.b64encode(token).decode()
        extra = auth.get("InvocationHttpParameters") or {}
        for header in extra.get("HeaderParameters") or ():
            out[header["Key"]] = header["Value"]
        return out

    def query(self) -> dict[str, str]:
        extra = self.auth_parameters.get("InvocationHttpParameters") or {}
        return {q["Key"]: q["Value"] for q in extra.get("QueryStringParameters") or ()}


class ApiDestination:
    """An EventBridge API destination: endpoint, method and connection."""

    def __init__(self, arn: str, name: str, params: Mapping[str, Any], now: float) -> None:
        self.arn = arn
        self.name = name
        self.description: str = params.get("Description", "")
        self.connection_arn: str = params["ConnectionArn"]
        self.endpoint: str = params["InvocationEndpoint"]
        self.method: str = params["HttpMethod"]
        self.rate_limit: int | None = params.get("InvocationRateLimitPerSecond")
        self.state = "ACTIVE"
        self.created = now


class ApiDestinationCall(msgspec.Struct):
    """One HTTP request to an API destination; ``reply`` gets how it went."""

    url: str
    method: str
    headers: dict[str, str]
    body: str
    reply: Callable[[DeliveryResult], None]


def http_status_result(status: int) -> DeliveryResult:
    """How EventBridge reads an endpoint's status code (retried or not, see the module doc)."""
    if 200 <= status < 300:
        return DeliveryResult(True)
    message = f"Received HTTP {status} from the API destination endpoint"
    if status == 429:
        return DeliveryResult(False, "THROTTLING", message)
    if status >= 500 or status in RETRIED_HTTP_STATUSES:
        return DeliveryResult(False, "SDK_CLIENT_ERROR", message)
    if status == 404:
        return DeliveryResult(False, "NO_RESOURCE", message)
    if status == 403:
        return DeliveryResult(False, "NO_PERMISSIONS", message)
    return DeliveryResult(False, "INVALID_PARAMETER", message)


def call_api_destination(mesh: Mesh, arn: str, http_parameters: Mapping[str, Any] | None, body: str,
                         reply: Callable[[DeliveryResult], None]) -> None:
    """Emit the HTTP call for one event to the API destination at ``arn``."""
    destination = mesh.find(arn)
    connection = mesh.find(destination.connection_arn) if isinstance(destination, ApiDestination) else None
    if not isinstance(destination, ApiDestination) or not isinstance(connection, Connection):
        reply(DeliveryResult(False, "ResourceNotFoundException", f"API destination {arn} does not exist"))
        return
    params = http_parameters or {}
    url = destination.endpoint
    for value in params.get("PathParameterValues") or ():
        url = url.replace("*", value, 1)
    query = {**connection.query(), **(params.get("QueryStringParameters") or {})}
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    headers = {"Content-Type": DEFAULT_CONTENT_TYPE, **connection.headers(),
               **(params.get("HeaderParameters") or {})}
    mesh.emit(ApiDestinationCall(url, destination.method, headers, body, reply))


Spawn = Callable[[Coroutine[Any, Any, None]], None]


def install_http_delivery(mesh: Mesh, spawn: Spawn) -> None:
    """Carry out :class:`ApiDestinationCall` effects over the network (real-time driver).

    ``spawn(coroutine)`` starts one task per call. The 5 s timeout is a timer on the mesh clock,
    so it follows whatever clock drives the mesh.
    """

    def on_call(call: ApiDestinationCall) -> None:
        spawn(_perform(mesh, call))

    mesh.subscribe(ApiDestinationCall, on_call)


async def _perform(mesh: Mesh, call: ApiDestinationCall) -> None:
    task = asyncio.current_task()
    assert task is not None
    expired: list[bool] = []

    def expire() -> None:
        expired.append(True)
        task.cancel()

    timer = mesh.clock.call_later(HTTP_TIMEOUT_SECONDS, expire)
    try:
        result = http_status_result(await _request(call))
    except asyncio.CancelledError:
        if not expired:
            raise  # the daemon is stopping
        task.uncancel()
        result = DeliveryResult(False, "TIMEOUT", "The API destination endpoint did not answer in time")
    except (OSError, ValueError) as err:
        result = DeliveryResult(False, "SDK_CLIENT_ERROR", f"{type(err).__name__}: {err}")
    finally:
        mesh.clock.cancel(timer)
    call.reply(result)
    mesh.flush()


async def _request(call: ApiDestinationCall) -> int:
    """A minimal HTTP/1.1 request; returns the response status code."""
    parts = urlsplit(call.url)
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    body = call.body.encode()
    head = [f"{call.method} {target} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}",
            "Connection: close"]
    head += [f"{k}: {v}" for k, v in call.headers.items()]
    reader, writer = await asyncio.open_connection(parts.hostname or "", port, ssl=tls or None)
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()
        status_line = (await reader.readline()).split()
    finally:
        writer.close()
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise ValueError("malformed HTTP response")
    return int(status_line[1])
