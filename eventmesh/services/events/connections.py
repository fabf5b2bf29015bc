"""Connections and API destinations of an account: create, update, describe, delete, list.

Everything that decides what these operations answer lives here. A connection keeps its
secrets (as AWS keeps them in a Secrets Manager secret named ``events!connection/<name>/<uuid>``,
whose ARN Describe shows as ``SecretArn``) and shows only their public part; an update merges
the given AuthParameters into the stored ones. Deleting answers ``DELETING``, deauthorizing
``DEAUTHORIZING`` (then ``DEAUTHORIZED``). An unknown name is ``Failed to describe the
connection(s). Connection '<name>' does not exist.`` / ``... An api-destination '<name>' does
not exist.``
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateConnection.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_UpdateConnection.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeConnection.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DeauthorizeConnection.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateApiDestination.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_UpdateApiDestination.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventmesh.mesh import Mesh
from eventmesh.services.events.api_destinations import ApiDestination, Connection, destination_state
from eventmesh.services.events.errors import ResourceAlreadyExistsException, ResourceNotFoundException

__all__ = [
    "create_api_destination",
    "create_connection",
    "deauthorize_connection",
    "delete_api_destination",
    "delete_connection",
    "describe_api_destination",
    "describe_connection",
    "get_api_destination",
    "get_connection",
    "list_api_destinations",
    "list_connections",
    "summary_api_destination",
    "summary_connection",
    "update_api_destination",
    "update_connection",
]

SECRET_SUFFIX_CHARS = 6  # Secrets Manager appends "-" and 6 random characters to a secret's ARN
_SECRET_SUFFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _connections(mesh: Mesh) -> list[Connection]:
    return sorted(mesh.resources("events", Connection), key=lambda c: c.name)


def _destinations(mesh: Mesh) -> list[ApiDestination]:
    return sorted(mesh.resources("events", ApiDestination), key=lambda d: d.name)


def find_connection(mesh: Mesh, name: str) -> Connection | None:
    return next((c for c in mesh.resources("events", Connection) if c.name == name), None)


def get_connection(mesh: Mesh, name: str) -> Connection:
    connection = find_connection(mesh, name)
    if connection is None:
        raise ResourceNotFoundException(
            f"Failed to describe the connection(s). Connection '{name}' does not exist.")
    return connection


def _secret_arn(mesh: Mesh, name: str) -> str:
    suffix = "".join(mesh.ids.random.choice(_SECRET_SUFFIX_ALPHABET) for _ in range(SECRET_SUFFIX_CHARS))
    return (f"arn:aws:secretsmanager:{mesh.region}:{mesh.account_id}:secret:events!connection/"
            f"{name}/{mesh.ids.uuid()}-{suffix}")


def create_connection(mesh: Mesh, params: Mapping[str, Any]) -> Connection:
    name = params["Name"]
    if find_connection(mesh, name) is not None:
        raise ResourceAlreadyExistsException(f"Connection {name} already exists.")
    arn = mesh.arn("events", f"connection/{name}/{mesh.ids.uuid()}")
    connection = Connection(arn, name, params, mesh.clock.now(), _secret_arn(mesh, name))
    return mesh.add(connection)  # type: ignore[no-any-return]


def _merged(stored: dict[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Given AuthParameters over the stored ones, member by member (an update may send only the
    secret that changed)."""
    out = dict(stored)
    for key, value in given.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and key != "InvocationHttpParameters":
            out[key] = _merged(dict(out[key]), value)
        else:
            out[key] = value
    return out


def update_connection(mesh: Mesh, params: Mapping[str, Any]) -> Connection:
    """UpdateConnection: description, authorization type and parameters; re-authorizes."""
    connection = get_connection(mesh, params["Name"])
    now = mesh.clock.now()
    if "Description" in params:
        connection.description = params["Description"]
    if params.get("AuthorizationType"):
        connection.authorization_type = params["AuthorizationType"]
    if params.get("AuthParameters"):
        connection.auth_parameters = _merged(connection.auth_parameters, params["AuthParameters"])
    connection.state = "AUTHORIZING" if connection.authorization_type == "OAUTH_CLIENT_CREDENTIALS" \
        else "AUTHORIZED"
    connection.modified = connection.authorized = now
    _refresh_destinations(mesh, connection)
    return connection


def _refresh_destinations(mesh: Mesh, connection: Connection) -> None:
    for destination in mesh.resources("events", ApiDestination):
        if destination.connection_arn == connection.arn:
            destination.state = destination_state(connection.state)


def delete_connection(mesh: Mesh, name: str) -> Connection:
    connection = get_connection(mesh, name)
    mesh.remove(connection.arn)
    connection.state = "DELETING"
    connection.modified = mesh.clock.now()
    return connection


def deauthorize_connection(mesh: Mesh, name: str) -> Connection:
    """DeauthorizeConnection: the secrets go; the answer says DEAUTHORIZING, then DEAUTHORIZED."""
    connection = get_connection(mesh, name)
    connection.state = "DEAUTHORIZED"
    connection.modified = mesh.clock.now()
    _refresh_destinations(mesh, connection)
    return connection


def list_connections(mesh: Mesh, prefix: str | None, state: str | None) -> list[Connection]:
    return [c for c in _connections(mesh) if (not prefix or c.name.startswith(prefix))
            and state in (None, c.state)]


def _times(connection: Connection) -> dict[str, Any]:
    return {"CreationTime": connection.created, "LastModifiedTime": connection.modified,
            "LastAuthorizedTime": connection.authorized}


def summary_connection(connection: Connection) -> dict[str, Any]:
    """A connection as ListConnections shows it."""
    return {"ConnectionArn": connection.arn, "Name": connection.name, "ConnectionState": connection.state,
            "AuthorizationType": connection.authorization_type, **_times(connection)}


def describe_connection(connection: Connection) -> dict[str, Any]:
    out = {"ConnectionArn": connection.arn, "Name": connection.name, "Description": connection.description,
           "ConnectionState": connection.state, "AuthorizationType": connection.authorization_type,
           "SecretArn": connection.secret_arn, "AuthParameters": connection.public_auth_parameters(),
           **_times(connection)}
    return {k: v for k, v in out.items() if v is not None}


def state_answer(connection: Connection, state: str | None = None) -> dict[str, Any]:
    """What Update/Delete/DeauthorizeConnection answer."""
    return {"ConnectionArn": connection.arn, "ConnectionState": state or connection.state, **_times(connection)}


# -- API destinations -------------------------------------------------------------------------


def get_api_destination(mesh: Mesh, name: str) -> ApiDestination:
    destination = next((d for d in mesh.resources("events", ApiDestination) if d.name == name), None)
    if destination is None:
        raise ResourceNotFoundException(
            f"Failed to describe the api-destination(s). An api-destination '{name}' does not exist.")
    return destination


def _connection_of(mesh: Mesh, arn: str) -> Connection:
    connection = mesh.find(arn, Connection)
    if connection is None:
        name = arn.split("connection/", 1)[-1].split("/", 1)[0]
        raise ResourceNotFoundException(
            f"Failed to describe the connection(s). Connection '{name}' does not exist.")
    return connection


def create_api_destination(mesh: Mesh, params: Mapping[str, Any]) -> ApiDestination:
    name = params["Name"]
    if any(d.name == name for d in mesh.resources("events", ApiDestination)):
        raise ResourceAlreadyExistsException(f"An api-destination '{name}' already exists.")
    connection = _connection_of(mesh, params["ConnectionArn"])
    arn = mesh.arn("events", f"api-destination/{name}/{mesh.ids.uuid()}")
    destination = ApiDestination(arn, name, params, mesh.clock.now(), connection.state)
    return mesh.add(destination)  # type: ignore[no-any-return]


def update_api_destination(mesh: Mesh, params: Mapping[str, Any]) -> ApiDestination:
    destination = get_api_destination(mesh, params["Name"])
    if params.get("ConnectionArn"):
        connection = _connection_of(mesh, params["ConnectionArn"])
        destination.connection_arn = connection.arn
        destination.state = destination_state(connection.state)
    if "Description" in params:
        destination.description = params["Description"]
    if params.get("InvocationEndpoint"):
        destination.endpoint = params["InvocationEndpoint"]
    if params.get("HttpMethod"):
        destination.method = params["HttpMethod"]
    if params.get("InvocationRateLimitPerSecond"):
        destination.rate_limit = params["InvocationRateLimitPerSecond"]
    destination.modified = mesh.clock.now()
    return destination


def delete_api_destination(mesh: Mesh, name: str) -> None:
    mesh.remove(get_api_destination(mesh, name).arn)


def list_api_destinations(mesh: Mesh, prefix: str | None, connection_arn: str | None) -> list[ApiDestination]:
    return [d for d in _destinations(mesh) if (not prefix or d.name.startswith(prefix))
            and connection_arn in (None, d.connection_arn)]


def summary_api_destination(destination: ApiDestination) -> dict[str, Any]:
    """An API destination as ListApiDestinations shows it."""
    return {"ApiDestinationArn": destination.arn, "Name": destination.name,
            "ApiDestinationState": destination.state, "ConnectionArn": destination.connection_arn,
            "InvocationEndpoint": destination.endpoint, "HttpMethod": destination.method,
            "InvocationRateLimitPerSecond": destination.rate_limit, "CreationTime": destination.created,
            "LastModifiedTime": destination.modified}


def describe_api_destination(destination: ApiDestination) -> dict[str, Any]:
    out = summary_api_destination(destination)
    if destination.description is not None:
        out["Description"] = destination.description
    return out


def destination_answer(destination: ApiDestination) -> dict[str, Any]:
    """What Create/UpdateApiDestination answer."""
    return {"ApiDestinationArn": destination.arn, "ApiDestinationState": destination.state,
            "CreationTime": destination.created, "LastModifiedTime": destination.modified}
