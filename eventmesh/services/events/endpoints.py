"""Global endpoints: one PutEvents address for an event bus in two Regions.

Everything that decides what the endpoint operations answer lives here. An endpoint lives in
its home (primary) Region and names two buses of the same name, one there and one in the
secondary Region (``RoutingConfig.FailoverConfig.Secondary.Route``). Create answers
``CREATING`` and Update ``UPDATING``; the endpoint is ``ACTIVE`` from then on (AWS takes
seconds). Replication is ``ENABLED`` unless disabled, and then needs a ``RoleArn``. PutEvents
with ``EndpointId`` puts the events on the primary bus and, with replication, on the
secondary one too. The Route 53 health check is kept, never read: there is no failover, every
event goes to the primary Region.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-global-endpoints.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEndpoint.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeEndpoint.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_UpdateEndpoint.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from eventmesh.mesh import Mesh
from eventmesh.services.events.errors import (
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ValidationException,
)

__all__ = ["GlobalEndpoint", "GlobalEndpoints", "describe_endpoint", "endpoint_answer"]

ENDPOINT_ID_CHARS = (10, 3)  # EndpointId: "<10 characters>.<3 characters>"
ENDPOINT_URL = "https://{id}.endpoint.events.amazonaws.com"
_ID_ALPHABET = string.ascii_lowercase + string.digits


class GlobalEndpoint:
    def __init__(self, mesh: Mesh, name: str, endpoint_id: str, params: Mapping[str, Any]) -> None:
        self.account = mesh.account_id
        self.region = mesh.region
        self.name = name
        self.arn = mesh.arn("events", f"endpoint/{name}")
        self.endpoint_id = endpoint_id
        self.description: str | None = None
        self.routing: dict[str, Any] = {}
        self.replication: dict[str, Any] = {"State": "ENABLED"}
        self.buses: list[dict[str, str]] = []
        self.role_arn: str | None = None
        self.state = "CREATING"
        self.created = self.modified = mesh.clock.now()
        self.update(params)

    def update(self, params: Mapping[str, Any]) -> None:
        routing = params.get("RoutingConfig") or self.routing
        replication = params.get("ReplicationConfig") or self.replication
        buses = params.get("EventBuses") or self.buses
        role_arn = params.get("RoleArn", self.role_arn)
        if replication.get("State", "ENABLED") == "ENABLED" and not role_arn:
            raise ValidationException("RoleArn is required when ReplicationConfig State is ENABLED.")
        secondary = routing.get("FailoverConfig", {}).get("Secondary", {}).get("Route")
        if not secondary:
            raise ValidationException("RoutingConfig must name the secondary Region.")
        regions = [b["EventBusArn"].split(":")[3] for b in buses]
        names = {b["EventBusArn"].rsplit("event-bus/", 1)[-1] for b in buses}
        if len(names) != 1:
            raise ValidationException("The event buses of an endpoint must have the same name.")
        if sorted(regions) != sorted([self.region, secondary]):
            raise ValidationException(
                f"EventBuses must be one event bus in {self.region} and one in the secondary Region {secondary}.")
        self.routing, self.replication, self.buses, self.role_arn = dict(routing), dict(replication), list(buses), \
            role_arn
        if "Description" in params:
            self.description = params["Description"]

    @property
    def bus_name(self) -> str:
        return self.buses[0]["EventBusArn"].rsplit("event-bus/", 1)[-1]

    @property
    def secondary_region(self) -> str:
        return str(self.routing["FailoverConfig"]["Secondary"]["Route"])

    @property
    def replicated(self) -> bool:
        return self.replication.get("State", "ENABLED") == "ENABLED"


class GlobalEndpoints:
    """``mesh.root.state(GlobalEndpoints)``: every global endpoint, by account, Region and name."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh.root
        self.endpoints: dict[tuple[str, str, str], GlobalEndpoint] = {}

    def _new_id(self) -> str:
        pick = self.mesh.ids.random.choice
        head, tail = ENDPOINT_ID_CHARS
        return "".join(pick(_ID_ALPHABET) for _ in range(head)) + "." + "".join(
            pick(_ID_ALPHABET) for _ in range(tail))

    def create(self, mesh: Mesh, params: Mapping[str, Any]) -> GlobalEndpoint:
        key = (mesh.account_id, mesh.region, params["Name"])
        if key in self.endpoints:
            raise ResourceAlreadyExistsException(f"Endpoint {params['Name']} already exists.")
        endpoint = GlobalEndpoint(mesh, params["Name"], self._new_id(), params)
        self.endpoints[key] = endpoint
        return endpoint

    def get(self, mesh: Mesh, name: str, home_region: str | None = None) -> GlobalEndpoint:
        endpoint = self.endpoints.get((mesh.account_id, home_region or mesh.region, name))
        if endpoint is None:
            raise ResourceNotFoundException(f"Endpoint {name} does not exist.")
        endpoint.state = "ACTIVE" if endpoint.state in ("CREATING", "UPDATING") else endpoint.state
        return endpoint

    def update(self, mesh: Mesh, params: Mapping[str, Any]) -> GlobalEndpoint:
        endpoint = self.get(mesh, params["Name"])
        endpoint.update(params)
        endpoint.state = "UPDATING"
        endpoint.modified = mesh.clock.now()
        return endpoint

    def delete(self, mesh: Mesh, name: str) -> None:
        self.get(mesh, name)
        del self.endpoints[(mesh.account_id, mesh.region, name)]

    def listed(self, mesh: Mesh, prefix: str | None, home_region: str | None) -> list[GlobalEndpoint]:
        region = home_region or mesh.region
        found = [e for (account, r, name), e in self.endpoints.items()
                 if account == mesh.account_id and r == region and (not prefix or name.startswith(prefix))]
        for endpoint in found:
            endpoint.state = "ACTIVE" if endpoint.state in ("CREATING", "UPDATING") else endpoint.state
        return sorted(found, key=lambda e: e.name)

    def by_id(self, mesh: Mesh, endpoint_id: str) -> GlobalEndpoint:
        """The caller's endpoint with this EndpointId (PutEvents)."""
        for endpoint in self.endpoints.values():
            if endpoint.endpoint_id == endpoint_id and endpoint.account == mesh.account_id:
                return endpoint
        raise ResourceNotFoundException(f"Endpoint with id {endpoint_id} does not exist.")

    def targets(self, mesh: Mesh, endpoint_id: str) -> list[Mesh]:
        """The account-and-Region views PutEvents through this endpoint writes to: the primary,
        then (with replication) the secondary."""
        endpoint = self.by_id(mesh, endpoint_id)
        views = [self.mesh.scope(endpoint.account, endpoint.region)]
        if endpoint.replicated:
            views.append(self.mesh.scope(endpoint.account, endpoint.secondary_region))
        return views


def endpoint_answer(endpoint: GlobalEndpoint) -> dict[str, Any]:
    """What CreateEndpoint / UpdateEndpoint answer."""
    out: dict[str, Any] = {"Name": endpoint.name, "Arn": endpoint.arn, "RoutingConfig": endpoint.routing,
                           "ReplicationConfig": endpoint.replication, "EventBuses": endpoint.buses,
                           "RoleArn": endpoint.role_arn, "State": endpoint.state}
    if endpoint.state != "CREATING":
        out["EndpointId"] = endpoint.endpoint_id
        out["EndpointUrl"] = ENDPOINT_URL.format(id=endpoint.endpoint_id)
    return {k: v for k, v in out.items() if v is not None}


def describe_endpoint(endpoint: GlobalEndpoint) -> dict[str, Any]:
    """An endpoint as DescribeEndpoint and ListEndpoints show it."""
    out: dict[str, Any] = {
        "Name": endpoint.name, "Description": endpoint.description, "Arn": endpoint.arn,
        "RoutingConfig": endpoint.routing, "ReplicationConfig": endpoint.replication,
        "EventBuses": endpoint.buses, "RoleArn": endpoint.role_arn, "EndpointId": endpoint.endpoint_id,
        "EndpointUrl": ENDPOINT_URL.format(id=endpoint.endpoint_id), "State": endpoint.state,
        "CreationTime": endpoint.created, "LastModifiedTime": endpoint.modified}
    return {k: v for k, v in out.items() if v is not None}
