"""Mobile push at the core: platform applications, endpoints, their idempotence and paging."""

from __future__ import annotations

import pytest

from eventmesh.services.sns.errors import EndpointDisabled, InvalidParameter, NotFound
from eventmesh.services.sns.platform import PlatformRegistry
from eventmesh.testing import virtual_mesh


@pytest.fixture
def registry() -> PlatformRegistry:
    mesh, _ = virtual_mesh()
    return mesh.state(PlatformRegistry)


def test_apns_needs_a_principal_and_shows_how_it_authenticates(registry: PlatformRegistry) -> None:
    with pytest.raises(InvalidParameter, match="PlatformPrincipal attribute is required"):
        registry.create_application("ios", "APNS", {"PlatformCredential": "private key"})
    cert = registry.create_application("ios", "APNS", {"PlatformCredential": "key", "PlatformPrincipal": "cert"})
    token = registry.create_application("ios-token", "APNS_SANDBOX", {
        "PlatformCredential": "signing key", "PlatformPrincipal": "key id", "ApplePlatformTeamID": "TEAM",
        "ApplePlatformBundleID": "com.example.app"})
    assert cert.shown() == {"Enabled": "true", "AuthenticationMethod": "Certificate"}
    assert token.shown() == {"Enabled": "true", "AuthenticationMethod": "Token", "ApplePlatformTeamID": "TEAM",
                             "ApplePlatformBundleID": "com.example.app"}
    fcm = registry.create_application("android", "GCM", {"PlatformCredential": '{"type": "service_account"}'})
    assert fcm.shown()["AuthenticationMethod"] == "Token"


def test_names_platforms_and_attribute_names_are_checked(registry: PlatformRegistry) -> None:
    with pytest.raises(InvalidParameter, match="Application names must be made up of"):
        registry.create_application("bad name", "GCM", {"PlatformCredential": "k"})
    with pytest.raises(InvalidParameter, match="^Invalid parameter: Platform$"):
        registry.create_application("app", "BLACKBERRY", {"PlatformCredential": "k"})
    with pytest.raises(InvalidParameter, match="Invalid attribute name: Colour"):
        registry.create_application("app", "GCM", {"PlatformCredential": "k", "Colour": "red"})
    app = registry.create_application("app", "GCM", {"PlatformCredential": "k"})
    with pytest.raises(InvalidParameter, match="Enabled must be true or false"):
        registry.create_endpoint(app.arn, "t", None, {"Enabled": "maybe"})
    with pytest.raises(NotFound, match="PlatformApplication does not exist"):
        registry.create_endpoint(app.arn + "x", "t", None, {})


def test_an_endpoint_can_be_disabled_re_tokened_and_goes_with_its_application(registry: PlatformRegistry) -> None:
    app = registry.create_application("app", "GCM", {"PlatformCredential": "k"})
    endpoint = registry.create_endpoint(app.arn, "t1", None, {})
    registry.publish(endpoint.arn)
    registry.set_endpoint_attributes(endpoint.arn, {"Token": "t2", "Enabled": "False"})
    assert endpoint.attributes() == {"Enabled": "false", "Token": "t2"}
    with pytest.raises(EndpointDisabled):
        registry.publish(endpoint.arn)
    assert endpoint.published == 1
    # The same token under another application is another endpoint.
    other = registry.create_application("other", "GCM", {"PlatformCredential": "k"})
    assert registry.create_endpoint(other.arn, "t2", None, {}).arn != endpoint.arn
    registry.delete_application(app.arn)
    assert endpoint.arn not in registry.endpoints
    assert len(registry.endpoints) == 1


def test_lists_page_by_100(registry: PlatformRegistry) -> None:
    app = registry.create_application("app", "GCM", {"PlatformCredential": "k"})
    arns = [registry.create_endpoint(app.arn, f"token-{n}", None, {}).arn for n in range(150)]
    first, token = registry.list_endpoints(app.arn, None)
    rest, end = registry.list_endpoints(app.arn, token)
    assert [e.arn for e in first + rest] == arns
    assert (len(first), end) == (100, None)
    with pytest.raises(InvalidParameter, match="Invalid parameter: NextToken"):
        registry.list_endpoints(app.arn, "not a token")
