"""Partner event sources and global endpoints at the core, in virtual time."""

from __future__ import annotations

from typing import Any

import pytest

from eventmesh.services.events.endpoints import GlobalEndpoints
from eventmesh.services.events.errors import (
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ValidationException,
)
from eventmesh.services.events.partners import PENDING_EXPIRY_S, PartnerSources, describe_source
from eventmesh.services.events.service import create_bus
from eventmesh.testing import virtual_mesh

pytestmark = pytest.mark.usefixtures("events_engine")  # the bus's Python loop and its C twin

NAME = "aws.partner/saas.example/t/orders"
CUSTOMER = "000000000000"
PARTNER = "111122223333"


def test_a_pending_source_expires_after_two_weeks_and_an_active_one_never() -> None:
    mesh, driver = virtual_mesh()
    partner = mesh.scope(PARTNER)
    sources = mesh.root.state(PartnerSources)
    pending = sources.create(partner, NAME, CUSTOMER)
    kept = sources.create(partner, NAME + "-kept", CUSTOMER)
    with pytest.raises(ResourceAlreadyExistsException):
        sources.create(partner, NAME, CUSTOMER)
    create_bus(mesh, kept.name, event_source_name=kept.name)
    shown = describe_source(sources, pending)
    assert shown["ExpirationTime"] == pending.created + PENDING_EXPIRY_S
    assert "ExpirationTime" not in describe_source(sources, kept)
    driver.advance(PENDING_EXPIRY_S - 1)
    assert sources.for_customer(mesh, NAME) is pending
    driver.advance(1)
    with pytest.raises(ResourceNotFoundException, match=f"Event source {NAME} does not exist."):
        sources.for_customer(mesh, NAME)
    assert [s.name for s in sources.of_customer(mesh, None)] == [kept.name]


def test_only_the_customer_sees_a_source_and_only_the_partner_owns_it() -> None:
    mesh, _ = virtual_mesh()
    sources = mesh.root.state(PartnerSources)
    sources.create(mesh.scope(PARTNER), NAME, CUSTOMER)
    with pytest.raises(ResourceNotFoundException):
        sources.for_customer(mesh.scope("222233334444"), NAME)
    with pytest.raises(ResourceNotFoundException):
        sources.owned(mesh, NAME)  # the customer is not the partner
    with pytest.raises(ValidationException, match="must match the event source name"):
        create_bus(mesh, "orders", event_source_name=NAME)


def _params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "Name": "ep", "RoleArn": "arn:aws:iam::000000000000:role/r",
        "RoutingConfig": {"FailoverConfig": {"Primary": {"HealthCheck": "arn:aws:route53:::healthcheck/h"},
                                             "Secondary": {"Route": "us-west-2"}}},
        "EventBuses": [{"EventBusArn": "arn:aws:events:us-east-1:000000000000:event-bus/b"},
                       {"EventBusArn": "arn:aws:events:us-west-2:000000000000:event-bus/b"}]}
    params.update(overrides)
    return params


def test_endpoint_buses_share_a_name_and_span_both_regions() -> None:
    mesh, _ = virtual_mesh()
    endpoints = mesh.root.state(GlobalEndpoints)
    with pytest.raises(ValidationException, match="same name"):
        endpoints.create(mesh, _params(EventBuses=[
            {"EventBusArn": "arn:aws:events:us-east-1:000000000000:event-bus/a"},
            {"EventBusArn": "arn:aws:events:us-west-2:000000000000:event-bus/b"}]))
    with pytest.raises(ValidationException, match="secondary Region us-west-2"):
        endpoints.create(mesh, _params(EventBuses=[
            {"EventBusArn": "arn:aws:events:us-east-1:000000000000:event-bus/b"},
            {"EventBusArn": "arn:aws:events:eu-west-1:000000000000:event-bus/b"}]))
    endpoint = endpoints.create(mesh, _params(ReplicationConfig={"State": "DISABLED"}, RoleArn=None))
    assert [(v.account_id, v.region) for v in endpoints.targets(mesh, endpoint.endpoint_id)] == [
        ("000000000000", "us-east-1")]
    with pytest.raises(ResourceNotFoundException):
        endpoints.targets(mesh.scope("222233334444"), endpoint.endpoint_id)
