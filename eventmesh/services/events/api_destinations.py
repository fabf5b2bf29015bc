"""API destinations: rule targets that are HTTP endpoints.

A ``Connection`` holds the authorization (``API_KEY``, ``BASIC``; OAuth client credentials are
accepted but send no token) and extra invocation parameters; an ``ApiDestination`` names an
endpoint (``*`` placeholders filled from the target's ``HttpParameters.PathParameterValues``),
an HTTP method and a connection. AWS waits at most 5 s for an endpoint and retries 401, 407,
409, 429 and 5xx answers; other 4xx answers are not retried.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html

The core never does I/O: a target invocation becomes an ``HttpRequest`` effect, which the
driver's HTTP client (``drivers/http.py``) carries out; tests in virtual time subscribe a double
that answers synchronously. An injected outage (a fault, ``ApiDestination.down``) answers each
call as a refused connection, which EventBridge retries.
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from eventmesh.effects import DeliveryResult, HttpRequest, HttpResponse, Outcome
from eventmesh.mesh import Mesh

__all__ = ["Connection", "ApiDestination", "call_api_destination", "destination_state", "http_result",
           "initial_state", "API_DESTINATION_TIMEOUT_S", "DEFAULT_INVOCATION_RATE_LIMIT"]

API_DESTINATION_TIMEOUT_S = 5.0                            # API destination endpoints must answer within 5 s
RETRIED_HTTP_STATUSES = frozenset({401, 407, 409, 429})  # plus every 5xx
API_DESTINATION_CONTENT_TYPE = "application/json; charset=utf-8"
DEFAULT_INVOCATION_RATE_LIMIT = 300  # InvocationRateLimitPerSecond when not given (per second)
ENDPOINT_DOWN_RESPONSE = HttpResponse(None, "ConnectionRefusedError: the endpoint is down (injected fault)")


class Connection:
    """An EventBridge connection: authorization for API destinations.

    ``auth_parameters`` keeps the secrets (they would be in the connection's Secrets Manager
    secret, ``secret_arn``); :meth:`public_auth_parameters` is what Describe shows. OAuth
    connections stay ``AUTHORIZING``: no token is fetched.
    """

    def __init__(self, arn: str, name: str, params: Mapping[str, Any], now: float,
                 secret_arn: str | None = None) -> None:
        self.arn = arn
        self.name = name
        self.description: str | None = params.get("Description")
        self.authorization_type: str = params["AuthorizationType"]
        self.auth_parameters: dict[str, Any] = dict(params.get("AuthParameters") or {})
        self.secret_arn = secret_arn
        self.state = initial_state(self.authorization_type)
        self.created = self.modified = self.authorized = now

    def public_auth_parameters(self) -> dict[str, Any]:
        """AuthParameters without the secrets: the user name, the API key's name, the OAuth
        client id, endpoint and method, and the invocation parameters not marked secret."""
        auth = self.auth_parameters
        out: dict[str, Any] = {}
        if self.authorization_type == "BASIC" and "BasicAuthParameters" in auth:
            out["BasicAuthParameters"] = {"Username": auth["BasicAuthParameters"].get("Username")}
        elif self.authorization_type == "API_KEY" and "ApiKeyAuthParameters" in auth:
            out["ApiKeyAuthParameters"] = {"ApiKeyName": auth["ApiKeyAuthParameters"].get("ApiKeyName")}
        elif self.authorization_type == "OAUTH_CLIENT_CREDENTIALS" and "OAuthParameters" in auth:
            oauth = auth["OAuthParameters"]
            shown: dict[str, Any] = {"AuthorizationEndpoint": oauth.get("AuthorizationEndpoint"),
                                     "ClientParameters": {"ClientID": (oauth.get("ClientParameters") or {})
                                                          .get("ClientID")},
                                     "HttpMethod": oauth.get("HttpMethod")}
            if "OAuthHttpParameters" in oauth:
                shown["OAuthHttpParameters"] = _public_http_parameters(oauth["OAuthHttpParameters"])
            out["OAuthParameters"] = shown
        if "InvocationHttpParameters" in auth:
            out["InvocationHttpParameters"] = _public_http_parameters(auth["InvocationHttpParameters"])
        if "ConnectivityParameters" in auth:
            out["ConnectivityParameters"] = auth["ConnectivityParameters"]
        return out

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
    """An EventBridge API destination: endpoint, method and connection; ``INACTIVE`` while its
    connection is not authorized (an OAuth connection here, which is still delivered to)."""

    def __init__(self, arn: str, name: str, params: Mapping[str, Any], now: float,
                 connection_state: str = "AUTHORIZED") -> None:
        self.arn = arn
        self.name = name
        self.description: str | None = params.get("Description")
        self.connection_arn: str = params["ConnectionArn"]
        self.endpoint: str = params["InvocationEndpoint"]
        self.method: str = params["HttpMethod"]
        self.rate_limit: int = params.get("InvocationRateLimitPerSecond") or DEFAULT_INVOCATION_RATE_LIMIT
        self.state = destination_state(connection_state)
        self.created = self.modified = now
        self.down = False   # an injected outage of the endpoint


def initial_state(authorization_type: str) -> str:
    """A new connection is AUTHORIZED at once, but OAuth ones (which fetch a token) AUTHORIZING."""
    return "AUTHORIZING" if authorization_type == "OAUTH_CLIENT_CREDENTIALS" else "AUTHORIZED"


def destination_state(connection_state: str) -> str:
    return "ACTIVE" if connection_state == "AUTHORIZED" else "INACTIVE"


def _public_http_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Invocation (or OAuth) HTTP parameters with every parameter marked secret left out."""
    out: dict[str, Any] = {}
    for kind in ("HeaderParameters", "QueryStringParameters", "BodyParameters"):
        shown = [p for p in parameters.get(kind) or () if not p.get("IsValueSecret")]
        if shown:
            out[kind] = shown
    return out


def http_result(response: HttpResponse) -> DeliveryResult:
    """How EventBridge reads an endpoint's answer (retried or not, see the module doc)."""
    status = response.status
    if status is None:
        timed_out = response.error == "timeout"
        return DeliveryResult(Outcome.TIMEOUT if timed_out else Outcome.FAILED, "Timeout" if timed_out else "",
                              "The API destination endpoint did not answer in time" if timed_out
                              else response.error or "no response")
    if 200 <= status < 300:
        return DeliveryResult()
    message = f"Received HTTP {status} from the API destination endpoint"
    code = f"HTTP {status}"
    if status == 429:
        return DeliveryResult(Outcome.THROTTLED, code, message)
    if status >= 500 or status in RETRIED_HTTP_STATUSES:
        return DeliveryResult(Outcome.FAILED, code, message)
    if status == 404:
        return DeliveryResult(Outcome.MISSING, code, message)
    if status == 403:
        return DeliveryResult(Outcome.DENIED, code, message)
    return DeliveryResult(Outcome.INVALID, code, message)


def call_api_destination(mesh: Mesh, arn: str, http_parameters: Mapping[str, Any] | None, body: str,
                         on_response: Callable[[HttpResponse], None],
                         on_missing: Callable[[DeliveryResult], None]) -> None:
    """Emit the HTTP request for one event to the API destination at ``arn``: ``on_response`` gets
    the endpoint's answer; ``on_missing`` is told at once when the destination or its connection
    does not exist."""
    destination = mesh.find(arn, ApiDestination)
    connection = mesh.find(destination.connection_arn, Connection) if destination is not None else None
    if destination is None or connection is None:
        on_missing(DeliveryResult(Outcome.MISSING, "ResourceNotFoundException",
                                  f"API destination {arn} does not exist"))
        return
    if destination.down:
        on_response(ENDPOINT_DOWN_RESPONSE)
        return
    params = http_parameters or {}
    url = destination.endpoint
    for value in params.get("PathParameterValues") or ():
        url = url.replace("*", value, 1)
    query = {**connection.query(), **(params.get("QueryStringParameters") or {})}
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    headers = {"Content-Type": API_DESTINATION_CONTENT_TYPE, **connection.headers(),
               **(params.get("HeaderParameters") or {})}
    mesh.emit(HttpRequest(url, destination.method, headers, body, API_DESTINATION_TIMEOUT_S, mesh.expect(on_response)))
