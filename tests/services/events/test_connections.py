"""Connections and API destinations at the core: secrets kept, shown redacted, states, updates."""

from __future__ import annotations

from typing import Any

import pytest

from eventmesh.mesh import Mesh
from eventmesh.services.events import connections
from eventmesh.services.events.api_destinations import Connection
from eventmesh.services.events.errors import ResourceAlreadyExistsException, ResourceNotFoundException
from eventmesh.testing import virtual_mesh

SECRET_HEADER = {"Key": "X-Secret", "Value": "hush", "IsValueSecret": True}
PUBLIC_HEADER = {"Key": "X-Team", "Value": "blue", "IsValueSecret": False}


@pytest.fixture
def mesh() -> Mesh:
    return virtual_mesh()[0]


def basic(mesh: Mesh, name: str = "c", **extra: Any) -> Connection:
    return connections.create_connection(mesh, {
        "Name": name, "AuthorizationType": "BASIC",
        "AuthParameters": {"BasicAuthParameters": {"Username": "u", "Password": "p"},
                           "InvocationHttpParameters": {"HeaderParameters": [SECRET_HEADER, PUBLIC_HEADER]}},
        **extra})


def test_describe_shows_the_secret_arn_and_only_the_public_parameters(mesh: Mesh) -> None:
    connection = basic(mesh)
    shown = connections.describe_connection(connection)
    assert shown["SecretArn"].startswith(
        "arn:aws:secretsmanager:us-east-1:000000000000:secret:events!connection/c/")
    assert shown["AuthParameters"] == {"BasicAuthParameters": {"Username": "u"},
                                       "InvocationHttpParameters": {"HeaderParameters": [PUBLIC_HEADER]}}
    assert "Description" not in shown  # AWS omits a description never given
    assert shown["ConnectionState"] == "AUTHORIZED"
    # The secrets are still used on the wire.
    assert connection.headers()["X-Secret"] == "hush"
    assert connection.headers()["Authorization"].startswith("Basic ")


def test_update_merges_the_given_secret_and_keeps_the_rest(mesh: Mesh) -> None:
    basic(mesh)
    mesh.clock.advance(10)  # type: ignore[attr-defined]
    updated = connections.update_connection(mesh, {
        "Name": "c", "Description": "new", "AuthParameters": {"BasicAuthParameters": {"Password": "p2"}}})
    assert updated.auth_parameters["BasicAuthParameters"] == {"Username": "u", "Password": "p2"}
    assert updated.description == "new"
    assert updated.modified == updated.created + 10


def test_names_are_unique_and_unknown_names_answer_in_aws_words(mesh: Mesh) -> None:
    basic(mesh)
    with pytest.raises(ResourceAlreadyExistsException, match="Connection c already exists."):
        basic(mesh)
    with pytest.raises(ResourceNotFoundException) as caught:
        connections.get_connection(mesh, "nope")
    assert caught.value.message == "Failed to describe the connection(s). Connection 'nope' does not exist."
    with pytest.raises(ResourceNotFoundException) as caught:
        connections.get_api_destination(mesh, "nope")
    assert caught.value.message == ("Failed to describe the api-destination(s). "
                                    "An api-destination 'nope' does not exist.")


def test_api_destination_defaults_its_rate_and_follows_its_connection_state(mesh: Mesh) -> None:
    connection = basic(mesh)
    destination = connections.create_api_destination(mesh, {
        "Name": "d", "ConnectionArn": connection.arn, "InvocationEndpoint": "https://example.com/*",
        "HttpMethod": "POST"})
    assert destination.rate_limit == 300
    assert destination.state == "ACTIVE"
    connections.deauthorize_connection(mesh, "c")
    assert connection.state == "DEAUTHORIZED"
    assert destination.state == "INACTIVE"
    connections.update_connection(mesh, {"Name": "c", "AuthParameters": {
        "BasicAuthParameters": {"Username": "u", "Password": "p"}}})
    assert destination.state == "ACTIVE"
    updated = connections.update_api_destination(mesh, {"Name": "d", "HttpMethod": "PUT",
                                                        "InvocationRateLimitPerSecond": 5})
    assert (updated.method, updated.rate_limit, updated.endpoint) == ("PUT", 5, "https://example.com/*")
    assert "Description" not in connections.describe_api_destination(updated)


def test_oauth_connections_stay_authorizing_and_hide_the_client_secret(mesh: Mesh) -> None:
    connection = connections.create_connection(mesh, {
        "Name": "o", "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS",
        "AuthParameters": {"OAuthParameters": {
            "ClientParameters": {"ClientID": "id", "ClientSecret": "s3cret"},
            "AuthorizationEndpoint": "https://auth.example.com/token", "HttpMethod": "POST"}}})
    assert connection.state == "AUTHORIZING"
    shown = connections.describe_connection(connection)["AuthParameters"]["OAuthParameters"]
    assert shown == {"AuthorizationEndpoint": "https://auth.example.com/token",
                     "ClientParameters": {"ClientID": "id"}, "HttpMethod": "POST"}


def test_lists_filter_by_prefix_state_and_connection(mesh: Mesh) -> None:
    first, second = basic(mesh, "alpha"), basic(mesh, "beta")
    connections.deauthorize_connection(mesh, "beta")
    assert [c.name for c in connections.list_connections(mesh, "al", None)] == ["alpha"]
    assert [c.name for c in connections.list_connections(mesh, None, "DEAUTHORIZED")] == ["beta"]
    for name, connection in (("d1", first), ("d2", second)):
        connections.create_api_destination(mesh, {"Name": name, "ConnectionArn": connection.arn,
                                                  "InvocationEndpoint": "https://e", "HttpMethod": "GET"})
    assert [d.name for d in connections.list_api_destinations(mesh, None, second.arn)] == ["d2"]
    connections.delete_connection(mesh, "alpha")
    assert [c.name for c in connections.list_connections(mesh, None, None)] == ["beta"]
