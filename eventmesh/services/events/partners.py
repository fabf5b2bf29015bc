"""Partner event sources: a SaaS partner's events reaching a customer account's partner bus.

Everything that decides what the partner operations answer lives here. A partner (any account
calling the partner operations) creates a source ``aws.partner/<partner>/<namespace>/<name>``
for one customer account (CreatePartnerEventSource); the customer sees it (ListEventSources,
DescribeEventSource) as ``PENDING`` until it creates the matching partner event bus
(CreateEventBus with ``EventSourceName``, the bus named as the source), then ``ACTIVE``.
DeactivateEventSource makes it ``PENDING`` again (ActivateEventSource undoes it). A source that
stays ``PENDING`` for two weeks is deleted. PutPartnerEvents delivers each event to the
partner bus while the source is ``ACTIVE`` (else accepted and dropped); its ``account`` is the
customer's.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-saas.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreatePartnerEventSource.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeEventSource.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DeactivateEventSource.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutPartnerEvents.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from eventmesh.ids import uuid4_from
from eventmesh.mesh import Mesh
from eventmesh.services.events.bus import EventBus, bus_arn
from eventmesh.services.events.errors import ResourceAlreadyExistsException, ResourceNotFoundException
from eventmesh.services.events.records import iso_seconds

__all__ = ["PARTNER_PREFIX", "EventSource", "PartnerSources", "describe_source", "put_partner_events"]

PARTNER_PREFIX = "aws.partner/"
PENDING_EXPIRY_S = 14 * 86_400.0  # a source left PENDING for two weeks is deleted
_decode = msgspec.json.Decoder().decode


class EventSource:
    """One partner event source, for one customer account."""

    def __init__(self, name: str, region: str, partner_account: str, account: str, now: float) -> None:
        self.name = name
        self.region = region
        self.partner_account = partner_account
        self.account = account
        self.created = now
        self.deactivated = False
        self.pending_since = now

    @property
    def arn(self) -> str:
        return f"arn:aws:events:{self.region}::event-source/{self.name}"

    @property
    def created_by(self) -> str:
        """The partner's name: the second part of ``aws.partner/<partner>/...``."""
        return self.name[len(PARTNER_PREFIX):].split("/", 1)[0]


class PartnerSources:
    """``mesh.root.state(PartnerSources)``: every partner event source, by Region and name."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh.root
        self.sources: dict[tuple[str, str], EventSource] = {}

    def bus_of(self, source: EventSource) -> EventBus | None:
        customer = self.mesh.scope(source.account, source.region)
        return customer.find(bus_arn(customer, source.name), EventBus)

    def state(self, source: EventSource) -> str:
        return "ACTIVE" if not source.deactivated and self.bus_of(source) is not None else "PENDING"

    def live(self, region: str, name: str) -> EventSource | None:
        """The source, unless it expired (two weeks PENDING): then it is deleted."""
        source = self.sources.get((region, name))
        if source is None:
            return None
        if self.state(source) == "ACTIVE":
            source.pending_since = self.mesh.clock.now()
        elif self.mesh.clock.now() - source.pending_since >= PENDING_EXPIRY_S:
            del self.sources[(region, name)]
            return None
        return source

    # -- the partner's side ------------------------------------------------------------------

    def create(self, mesh: Mesh, name: str, account: str) -> EventSource:
        if self.live(mesh.region, name) is not None:
            raise ResourceAlreadyExistsException(f"Event source {name} already exists.")
        source = EventSource(name, mesh.region, mesh.account_id, account, mesh.clock.now())
        self.sources[(mesh.region, name)] = source
        return source

    def owned(self, mesh: Mesh, name: str) -> EventSource:
        """A source the calling partner created."""
        source = self.live(mesh.region, name)
        if source is None or source.partner_account != mesh.account_id:
            raise ResourceNotFoundException(f"Event source {name} does not exist.")
        return source

    def delete(self, mesh: Mesh, name: str, account: str) -> None:
        """DeletePartnerEventSource: idempotent; the customer's partner bus stays."""
        source = self.live(mesh.region, name)
        if source is not None and source.partner_account == mesh.account_id and source.account == account:
            del self.sources[(mesh.region, name)]

    def of_partner(self, mesh: Mesh, prefix: str) -> list[EventSource]:
        return sorted((s for (region, name) in list(self.sources) if region == mesh.region
                       and name.startswith(prefix) and (s := self.live(region, name)) is not None
                       and s.partner_account == mesh.account_id), key=lambda s: s.name)

    # -- the customer's side -----------------------------------------------------------------

    def for_customer(self, mesh: Mesh, name: str) -> EventSource:
        source = self.live(mesh.region, name)
        if source is None or source.account != mesh.account_id:
            raise ResourceNotFoundException(f"Event source {name} does not exist.")
        return source

    def of_customer(self, mesh: Mesh, prefix: str | None) -> list[EventSource]:
        return sorted((s for (region, name) in list(self.sources) if region == mesh.region
                       and (not prefix or name.startswith(prefix)) and (s := self.live(region, name)) is not None
                       and s.account == mesh.account_id), key=lambda s: s.name)

    def set_active(self, mesh: Mesh, name: str, active: bool) -> None:
        """ActivateEventSource / DeactivateEventSource."""
        source = self.for_customer(mesh, name)
        source.deactivated = not active
        if not active:
            source.pending_since = mesh.clock.now()


def describe_source(sources: PartnerSources, source: EventSource) -> dict[str, Any]:
    """An event source as the customer sees it (DescribeEventSource, ListEventSources)."""
    state = sources.state(source)
    out: dict[str, Any] = {"Arn": source.arn, "CreatedBy": source.created_by, "CreationTime": source.created,
                           "Name": source.name, "State": state}
    if state == "PENDING":
        out["ExpirationTime"] = source.pending_since + PENDING_EXPIRY_S
    return out


def _missing(field: str) -> dict[str, str]:
    return {"ErrorCode": "InvalidArgument",
            "ErrorMessage": f"Parameter {field} is not valid. Reason: {field} is a required argument."}


def put_partner_events(mesh: Mesh, entries: list[Mapping[str, Any]]) -> dict[str, Any]:
    """PutPartnerEvents: one result per entry; events reach the customer's partner bus."""
    sources = mesh.root.state(PartnerSources)
    now = mesh.clock.now()
    results: list[dict[str, str]] = []
    batches: dict[EventBus, list[dict[str, Any]]] = {}
    for entry in entries:
        source_name, detail_type, detail_text = entry.get("Source"), entry.get("DetailType"), entry.get("Detail")
        if not source_name or not detail_type or not detail_text:
            results.append(_missing("Source" if not source_name else "DetailType" if not detail_type else "Detail"))
            continue
        try:
            detail = _decode(detail_text)
        except msgspec.DecodeError:
            detail = None
        if not isinstance(detail, dict):
            results.append({"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."})
            continue
        source = sources.live(mesh.region, source_name)
        if source is None or source.partner_account != mesh.account_id:
            results.append({"ErrorCode": "NotAuthorizedForSourceException",
                            "ErrorMessage": "Not authorized for the source."})
            continue
        event_id = uuid4_from(mesh.ids.random.getrandbits(128))
        results.append({"EventId": event_id})
        bus = sources.bus_of(source) if sources.state(source) == "ACTIVE" else None
        if bus is None:
            continue  # no active partner bus: accepted and dropped
        time = entry.get("Time")
        batches.setdefault(bus, []).append({
            "version": "0", "id": event_id, "detail-type": detail_type, "source": source_name,
            "account": source.account, "time": iso_seconds(now if time is None else time),
            "region": source.region, "resources": list(entry.get("Resources") or ()), "detail": detail})
    for bus, events in batches.items():
        bus.ingest(events, now)
    return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}
