"""EventBridge over AWS JSON 1.1 (``X-Amz-Target: AWSEvents.<Operation>``): adapters only.

Each handler turns the request (the botocore ``events`` model's JSON shape) into calls on the
cores of this package (``bus.py``, ``service.py``, ``archive.py``, ``api_destinations.py``) and
their results into the model's output shape. PutEvents skips the generic model walk and is
converted once into typed Structs; the core checks its limits itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from eventmesh import patterns
from eventmesh.mesh import Mesh
from eventmesh.services.events import archive as archives
from eventmesh.services.events.api_destinations import ApiDestination, Connection
from eventmesh.services.events.bus import DEFAULT_BUS_NAME, EventBus, Rule, compile_event_pattern
from eventmesh.services.events.errors import (
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ValidationException,
)
from eventmesh.services.events.records import PutEventsRequest
from eventmesh.services.events.service import (
    MAX_REQUEST_BYTES,
    create_bus,
    delete_bus,
    get_bus,
    list_buses,
    put_events,
)
from eventmesh.wire.limits import JSON_STRING_EXPANSION, request_bytes
from eventmesh.wire.service import RequestContext, Service

__all__ = ["service"]

# PutEvents: 256 KB of entries, each Detail a JSON document inside a JSON string.
service = Service("events", max_request_bytes=request_bytes(MAX_REQUEST_BYTES, JSON_STRING_EXPANSION))

DEFAULT_PAGE_LIMIT = 100
T = TypeVar("T")


def _page(items: Sequence[T], params: dict[str, Any]) -> tuple[list[T], dict[str, str]]:
    """A page of ``items`` from ``NextToken`` (an offset) and ``Limit``; the next token if any."""
    token = params.get("NextToken")
    start = int(token) if token and token.isdigit() else 0
    end = start + (params.get("Limit") or DEFAULT_PAGE_LIMIT)
    more = {"NextToken": str(end)} if end < len(items) else {}
    return list(items[start:end]), more


def _tags(tags: Iterable[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or ()}


def _prefixed(items: Iterable[T], prefix: str | None, name: Callable[[T], str]) -> list[T]:
    return [i for i in items if not prefix or name(i).startswith(prefix)]


# -- buses ----------------------------------------------------------------------------------------

def _bus_entry(bus: EventBus) -> dict[str, Any]:
    out = {"Name": bus.name, "Arn": bus.arn, "Description": bus.description, "CreationTime": bus.created,
           "LastModifiedTime": bus.created}
    return {k: v for k, v in out.items() if v is not None}


@service.operation("CreateEventBus")
def create_event_bus(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bus = create_bus(ctx.mesh, params["Name"], description=params.get("Description"),
                     kms_key_identifier=params.get("KmsKeyIdentifier"),
                     dead_letter_config=params.get("DeadLetterConfig"), tags=_tags(params.get("Tags")))
    out = {"EventBusArn": bus.arn, "Description": bus.description, "KmsKeyIdentifier": bus.kms_key_identifier,
           "DeadLetterConfig": bus.dead_letter_config}
    return {k: v for k, v in out.items() if v is not None}


@service.operation("DeleteEventBus")
def delete_event_bus(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    delete_bus(ctx.mesh, params["Name"])
    return {}


@service.operation("DescribeEventBus")
def describe_event_bus(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bus = get_bus(ctx.mesh, params.get("Name"))
    out = _bus_entry(bus)
    if bus.kms_key_identifier:
        out["KmsKeyIdentifier"] = bus.kms_key_identifier
    if bus.dead_letter_config:
        out["DeadLetterConfig"] = bus.dead_letter_config
    return out


@service.operation("ListEventBuses")
def list_event_buses(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    buses = _prefixed(list_buses(ctx.mesh), params.get("NamePrefix"), lambda b: b.name)
    page, more = _page(buses, params)
    return {"EventBuses": [_bus_entry(b) for b in page], **more}


# -- events ---------------------------------------------------------------------------------------

@service.operation("PutEvents", request_type=PutEventsRequest)
def put_events_op(ctx: RequestContext, request: PutEventsRequest) -> Any:
    return put_events(ctx.mesh, request.entries)


@service.operation("TestEventPattern")
def test_event_pattern(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    compile_event_pattern(params["EventPattern"])
    try:
        return {"Result": patterns.test_event_pattern(params["EventPattern"], params["Event"])}
    except patterns.InvalidEventError:
        raise ValidationException("Parameter Event is not valid.") from None


# -- rules and targets ----------------------------------------------------------------------------

def _rule_entry(rule: Rule) -> dict[str, Any]:
    return rule.describe()


@service.operation("PutRule")
def put_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bus = get_bus(ctx.mesh, params.get("EventBusName"))
    rule = bus.put_rule(params["Name"], event_pattern=params.get("EventPattern"),
                        schedule_expression=params.get("ScheduleExpression"), state=params.get("State"),
                        description=params.get("Description"), role_arn=params.get("RoleArn"),
                        tags=_tags(params.get("Tags")))
    return {"RuleArn": rule.arn}


@service.operation("DescribeRule")
def describe_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    rule = get_bus(ctx.mesh, params.get("EventBusName")).rule(params["Name"])
    return {**rule.describe(), "CreatedBy": ctx.mesh.account_id}


@service.operation("DeleteRule")
def delete_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    get_bus(ctx.mesh, params.get("EventBusName")).delete_rule(params["Name"], bool(params.get("Force")))
    return {}


@service.operation("ListRules")
def list_rules(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bus = get_bus(ctx.mesh, params.get("EventBusName"))
    rules = _prefixed(sorted(bus.rules.values(), key=lambda r: r.name), params.get("NamePrefix"),
                      lambda r: r.name)
    page, more = _page(rules, params)
    return {"Rules": [_rule_entry(r) for r in page], **more}


@service.operation("EnableRule")
def enable_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    get_bus(ctx.mesh, params.get("EventBusName")).set_rule_state(params["Name"], True)
    return {}


@service.operation("DisableRule")
def disable_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    get_bus(ctx.mesh, params.get("EventBusName")).set_rule_state(params["Name"], False)
    return {}


@service.operation("PutTargets")
def put_targets(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bus = get_bus(ctx.mesh, params.get("EventBusName"))
    failed = bus.put_targets(params["Rule"], params["Targets"])
    return {"FailedEntryCount": len(failed), "FailedEntries": failed}


@service.operation("RemoveTargets")
def remove_targets(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bus = get_bus(ctx.mesh, params.get("EventBusName"))
    failed = bus.remove_targets(params["Rule"], params["Ids"])
    return {"FailedEntryCount": len(failed), "FailedEntries": failed}


@service.operation("ListTargetsByRule")
def list_targets_by_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    rule = get_bus(ctx.mesh, params.get("EventBusName")).rule(params["Rule"])
    page, more = _page(rule.target_list, params)
    return {"Targets": [t.spec for t in page], **more}


@service.operation("ListRuleNamesByTarget")
def list_rule_names_by_target(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bus = get_bus(ctx.mesh, params.get("EventBusName"))
    arn = params["TargetArn"]
    names = sorted(r.name for r in bus.rules.values() if any(t.arn == arn for t in r.target_list))
    page, more = _page(names, params)
    return {"RuleNames": page, **more}


# -- tags -----------------------------------------------------------------------------------------

def _tagged(mesh: Mesh, arn: str) -> Any:
    resource: Any = mesh.find(arn, object)
    if resource is None and arn.endswith(f"event-bus/{DEFAULT_BUS_NAME}"):
        resource = get_bus(mesh, DEFAULT_BUS_NAME)
    if resource is None or not hasattr(resource, "tags"):
        raise ResourceNotFoundException(f"Resource {arn} does not exist.")
    return resource


@service.operation("TagResource")
def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _tagged(ctx.mesh, params["ResourceARN"]).tags.update(_tags(params["Tags"]))
    return {}


@service.operation("UntagResource")
def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tags = _tagged(ctx.mesh, params["ResourceARN"]).tags
    for key in params["TagKeys"]:
        tags.pop(key, None)
    return {}


@service.operation("ListTagsForResource")
def list_tags_for_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tags = _tagged(ctx.mesh, params["ResourceARN"]).tags
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


# -- archives and replays -------------------------------------------------------------------------

def _archive_summary(archive: archives.Archive) -> dict[str, Any]:
    described = archive.describe()
    for key in ("ArchiveArn", "Description", "EventPattern"):
        described.pop(key, None)
    return described


@service.operation("CreateArchive")
def create_archive(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    archive = archives.create_archive(ctx.mesh, params["ArchiveName"], params["EventSourceArn"],
                                      event_pattern=params.get("EventPattern"),
                                      description=params.get("Description"),
                                      retention_days=params.get("RetentionDays"))
    return {"ArchiveArn": archive.arn, "State": archive.state, "CreationTime": archive.created}


@service.operation("DescribeArchive")
def describe_archive(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return archives.get_archive(ctx.mesh, params["ArchiveName"]).describe()


@service.operation("UpdateArchive")
def update_archive(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    archive = archives.get_archive(ctx.mesh, params["ArchiveName"])
    archive.update(event_pattern=params.get("EventPattern"), description=params.get("Description"),
                   retention_days=params.get("RetentionDays"))
    return {"ArchiveArn": archive.arn, "State": archive.state, "CreationTime": archive.created}


@service.operation("DeleteArchive")
def delete_archive(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    archives.delete_archive(ctx.mesh, params["ArchiveName"])
    return {}


@service.operation("ListArchives")
def list_archives(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    found = _prefixed(archives.list_archives(ctx.mesh), params.get("NamePrefix"), lambda a: a.name)
    found = [a for a in found if params.get("EventSourceArn") in (None, a.source_arn)
             and params.get("State") in (None, a.state)]
    page, more = _page(found, params)
    return {"Archives": [_archive_summary(a) for a in page], **more}


@service.operation("StartReplay")
def start_replay(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    replay = archives.start_replay(ctx.mesh, params["ReplayName"], params["EventSourceArn"],
                                   params["EventStartTime"], params["EventEndTime"], params["Destination"],
                                   params.get("Description"))
    return {"ReplayArn": replay.arn, "State": replay.state, "ReplayStartTime": replay.replay_start}


@service.operation("DescribeReplay")
def describe_replay(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return archives.get_replay(ctx.mesh, params["ReplayName"]).describe()


@service.operation("CancelReplay")
def cancel_replay(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    replay = archives.cancel_replay(ctx.mesh, params["ReplayName"])
    return {"ReplayArn": replay.arn, "State": replay.state}


@service.operation("ListReplays")
def list_replays(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    found = _prefixed(archives.list_replays(ctx.mesh), params.get("NamePrefix"), lambda r: r.name)
    found = [r for r in found if params.get("EventSourceArn") in (None, r.archive_arn)
             and params.get("State") in (None, r.state)]
    page, more = _page(found, params)
    keep = ("ReplayName", "EventSourceArn", "State", "StateReason", "EventStartTime", "EventEndTime",
            "EventLastReplayedTime", "ReplayStartTime", "ReplayEndTime")
    return {"Replays": [{k: v for k, v in r.describe().items() if k in keep} for r in page], **more}


# -- connections and API destinations -------------------------------------------------------------

def _named(mesh: Mesh, kind: type[T], name: str, label: str) -> T:
    for resource in mesh.resources("events"):
        if isinstance(resource, kind) and resource.name == name:  # type: ignore[attr-defined]
            return resource
    raise ResourceNotFoundException(f"Failed to describe the {label}(s). {label} '{name}' does not exist.")


def _connection_entry(c: Connection) -> dict[str, Any]:
    return {"ConnectionArn": c.arn, "Name": c.name, "ConnectionState": c.state,
            "AuthorizationType": c.authorization_type, "CreationTime": c.created,
            "LastModifiedTime": c.created, "LastAuthorizedTime": c.created}


def _destination_entry(d: ApiDestination) -> dict[str, Any]:
    out = {"ApiDestinationArn": d.arn, "Name": d.name, "ApiDestinationState": d.state,
           "ConnectionArn": d.connection_arn, "InvocationEndpoint": d.endpoint, "HttpMethod": d.method,
           "InvocationRateLimitPerSecond": d.rate_limit, "CreationTime": d.created,
           "LastModifiedTime": d.created}
    return {k: v for k, v in out.items() if v is not None}


@service.operation("CreateConnection")
def create_connection(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    mesh = ctx.mesh
    if any(isinstance(r, Connection) and r.name == params["Name"] for r in mesh.resources("events")):
        raise ResourceAlreadyExistsException(f"Connection {params['Name']} already exists.")
    arn = mesh.arn("events", f"connection/{params['Name']}/{mesh.ids.uuid()}")
    connection = mesh.add(Connection(arn, params["Name"], params, mesh.clock.now()))
    entry = _connection_entry(connection)
    return {k: entry[k] for k in ("ConnectionArn", "ConnectionState", "CreationTime", "LastModifiedTime")}


@service.operation("DescribeConnection")
def describe_connection(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    c = _named(ctx.mesh, Connection, params["Name"], "Connection")
    return {**_connection_entry(c), "Description": c.description}


@service.operation("DeleteConnection")
def delete_connection(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    c = _named(ctx.mesh, Connection, params["Name"], "Connection")
    ctx.mesh.remove(c.arn)
    c.state = "DELETING"
    entry = _connection_entry(c)
    entry.pop("Name")
    entry.pop("AuthorizationType")
    return entry


@service.operation("ListConnections")
def list_connections(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    found = [r for r in ctx.mesh.resources("events") if isinstance(r, Connection)]
    found = _prefixed(sorted(found, key=lambda c: c.name), params.get("NamePrefix"), lambda c: c.name)
    page, more = _page(found, params)
    return {"Connections": [_connection_entry(c) for c in page], **more}


@service.operation("CreateApiDestination")
def create_api_destination(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    mesh = ctx.mesh
    if any(isinstance(r, ApiDestination) and r.name == params["Name"] for r in mesh.resources("events")):
        raise ResourceAlreadyExistsException(f"An api-destination '{params['Name']}' already exists.")
    if mesh.find(params["ConnectionArn"], Connection) is None:
        raise ResourceNotFoundException(f"Connection '{params['ConnectionArn']}' does not exist.")
    arn = mesh.arn("events", f"api-destination/{params['Name']}/{mesh.ids.uuid()}")
    destination = mesh.add(ApiDestination(arn, params["Name"], params, mesh.clock.now()))
    entry = _destination_entry(destination)
    keep = ("ApiDestinationArn", "ApiDestinationState", "CreationTime", "LastModifiedTime")
    return {k: entry[k] for k in keep}


@service.operation("DescribeApiDestination")
def describe_api_destination(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    d = _named(ctx.mesh, ApiDestination, params["Name"], "ApiDestination")
    return {**_destination_entry(d), "Description": d.description}


@service.operation("DeleteApiDestination")
def delete_api_destination(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.mesh.remove(_named(ctx.mesh, ApiDestination, params["Name"], "ApiDestination").arn)
    return {}


@service.operation("ListApiDestinations")
def list_api_destinations(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    found = [r for r in ctx.mesh.resources("events") if isinstance(r, ApiDestination)
             and params.get("ConnectionArn") in (None, r.connection_arn)]
    found = _prefixed(sorted(found, key=lambda d: d.name), params.get("NamePrefix"), lambda d: d.name)
    page, more = _page(found, params)
    return {"ApiDestinations": [_destination_entry(d) for d in page], **more}
