"""EventBridge over AWS JSON 1.1 (``X-Amz-Target: AWSEvents.<Operation>``): adapters only.

Each handler turns the request (the botocore ``events`` model's JSON shape) into calls on the
cores of this package (``bus.py``, ``service.py``, ``archive.py``, ``connections.py``) and their
results into the model's output shape. Requests are checked against the model by
``validation.py`` (every constraint, patterns and enums included, all at once as AWS reports
them); PutEvents skips the generic walk and is converted once into typed Structs. List
operations page with ``Limit`` and an opaque ``NextToken``.
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Operations.html
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any, TypeVar

import botocore.session
import msgspec
from botocore.model import ServiceModel

from eventmesh import patterns
from eventmesh.mesh import Mesh
from eventmesh.services.events import archive as archives
from eventmesh.services.events import connections, partners
from eventmesh.services.events import service as buses
from eventmesh.services.events.bus import DEFAULT_BUS_NAME, EventBus, Rule, compile_event_pattern
from eventmesh.services.events.endpoints import GlobalEndpoints, describe_endpoint, endpoint_answer
from eventmesh.services.events.errors import ResourceNotFoundException, ValidationException
from eventmesh.services.events.records import PutEventsRequest, PutEventsResponse
from eventmesh.services.events.service import (
    MAX_REQUEST_BYTES,
    create_bus,
    delete_bus,
    get_bus,
    list_buses,
    put_events,
)
from eventmesh.services.events.validation import check_request
from eventmesh.wire.limits import JSON_STRING_EXPANSION, request_bytes
from eventmesh.wire.service import Handler, RequestContext, Service

__all__ = ["service"]

# PutEvents: 256 KB of entries, each Detail a JSON document inside a JSON string. A request that
# fails the model is worded by this adapter's walk (validation.py): AWS reports every constraint at once.
service = Service("events", max_request_bytes=request_bytes(MAX_REQUEST_BYTES, JSON_STRING_EXPANSION),
                  explain_invalid=check_request)

DEFAULT_PAGE_LIMIT = 100
TRACE_HEADER = "x-amzn-trace-id"  # the X-Ray header of a request (lower case, as headers arrive)
_TOKEN_PREFIX = b"eventmesh-page:"
T = TypeVar("T")


@cache
def _model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("events")


def operation(name: str, **kwargs: Any) -> Callable[[Handler], Handler]:
    """Register ``name`` with the model check in front (typed requests are checked on decode)."""

    def register(func: Handler) -> Handler:
        def checked(ctx: RequestContext, params: Any) -> Any:
            if isinstance(params, dict):
                check_request(_model().operation_model(name).input_shape, params)
            return func(ctx, params)

        checked.__name__ = checked.__qualname__ = func.__name__
        service.operation(name, **kwargs)(checked)
        return func

    return register


def _page(items: Sequence[T], params: dict[str, Any]) -> tuple[list[T], dict[str, str]]:
    """A page of ``items`` from ``NextToken`` and ``Limit`` (default 100), and the next token if
    more remain. Tokens are opaque; one this service did not hand out is ``Invalid NextToken``."""
    token = params.get("NextToken")
    start = 0
    if token:
        try:
            raw = base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if not raw.startswith(_TOKEN_PREFIX) or not raw[len(_TOKEN_PREFIX):].isdigit():
            raise ValidationException("Invalid NextToken")
        start = int(raw[len(_TOKEN_PREFIX):])
    end = start + (params.get("Limit") or DEFAULT_PAGE_LIMIT)
    more = {"NextToken": base64.b64encode(_TOKEN_PREFIX + str(end).encode()).decode()} if end < len(items) else {}
    return list(items[start:end]), more


def _tags(tags: Iterable[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or ()}


def _prefixed(items: Iterable[T], prefix: str | None, name: Callable[[T], str]) -> list[T]:
    return [i for i in items if not prefix or name(i).startswith(prefix)]


def _one_filter(params: dict[str, Any], operation: str) -> None:
    """ListArchives and ListReplays take at most one of their three filters (AWS refuses two)."""
    if sum(params.get(k) is not None for k in ("State", "EventSourceArn", "NamePrefix")) > 1:
        raise ValidationException(f"At most one filter is allowed for {operation}. "
                                  "Use either : State, EventSourceArn, or NamePrefix.")


# -- buses ----------------------------------------------------------------------------------------

def _bus_entry(bus: EventBus) -> dict[str, Any]:
    out = {"Name": bus.name, "Arn": bus.arn, "Description": bus.description, "Policy": _policy(bus),
           "CreationTime": bus.created, "LastModifiedTime": bus.modified}
    return {k: v for k, v in out.items() if v is not None}


def _policy(bus: EventBus) -> str | None:
    return None if bus.policy is None else msgspec.json.encode(bus.policy).decode()


@operation("CreateEventBus")
def create_event_bus(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bus = create_bus(ctx.mesh, params["Name"], description=params.get("Description"),
                     kms_key_identifier=params.get("KmsKeyIdentifier"),
                     dead_letter_config=params.get("DeadLetterConfig"), tags=_tags(params.get("Tags")),
                     event_source_name=params.get("EventSourceName"))
    out = {"EventBusArn": bus.arn, "Description": bus.description, "KmsKeyIdentifier": bus.kms_key_identifier,
           "DeadLetterConfig": bus.dead_letter_config}
    return {k: v for k, v in out.items() if v is not None}


@operation("DeleteEventBus")
def delete_event_bus(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    delete_bus(ctx.mesh, params["Name"])
    return {}


@operation("DescribeEventBus")
def describe_event_bus(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bus = get_bus(ctx.mesh, params.get("Name"))
    out = _bus_entry(bus)
    if bus.kms_key_identifier:
        out["KmsKeyIdentifier"] = bus.kms_key_identifier
    if bus.dead_letter_config:
        out["DeadLetterConfig"] = bus.dead_letter_config
    return out


@operation("UpdateEventBus")
def update_event_bus(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bus = buses.update_bus(ctx.mesh, params.get("Name"), description=params.get("Description"),
                           kms_key_identifier=params.get("KmsKeyIdentifier"),
                           dead_letter_config=params.get("DeadLetterConfig"))
    out = {"Arn": bus.arn, "Name": bus.name, "KmsKeyIdentifier": bus.kms_key_identifier,
           "Description": bus.description, "DeadLetterConfig": bus.dead_letter_config}
    return {k: v for k, v in out.items() if v is not None}


@operation("PutPermission")
def put_permission(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    buses.put_permission(ctx.mesh, params.get("EventBusName"), action=params.get("Action"),
                         principal=params.get("Principal"), statement_id=params.get("StatementId"),
                         condition=params.get("Condition"), policy=params.get("Policy"))
    return {}


@operation("RemovePermission")
def remove_permission(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    buses.remove_permission(ctx.mesh, params.get("EventBusName"), params.get("StatementId"),
                            bool(params.get("RemoveAllPermissions")))
    return {}


@operation("ListEventBuses")
def list_event_buses(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    buses = _prefixed(list_buses(ctx.mesh), params.get("NamePrefix"), lambda b: b.name)
    page, more = _page(buses, params)
    return {"EventBuses": [_bus_entry(b) for b in page], **more}


# -- events ---------------------------------------------------------------------------------------

@operation("PutEvents", request_type=PutEventsRequest)
def put_events_op(ctx: RequestContext, request: PutEventsRequest) -> Any:
    trace_header = ctx.headers.get(TRACE_HEADER)
    if request.endpoint_id is None:
        return put_events(ctx.mesh, request.entries, trace_header)
    # Through a global endpoint: the primary Region answers; replication copies to the secondary.
    views = ctx.mesh.root.state(GlobalEndpoints).targets(ctx.mesh, request.endpoint_id)
    answer: PutEventsResponse = put_events(views[0], request.entries, trace_header)
    for view in views[1:]:
        put_events(view, request.entries, trace_header)
    return answer


@operation("TestEventPattern")
def test_event_pattern(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    compile_event_pattern(params["EventPattern"])
    try:
        return {"Result": patterns.test_event_pattern(params["EventPattern"], params["Event"])}
    except patterns.InvalidEventError:
        raise ValidationException("Parameter Event is not valid.") from None


# -- rules and targets ----------------------------------------------------------------------------

def _rule_entry(rule: Rule) -> dict[str, Any]:
    return rule.describe()


@operation("PutRule")
def put_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bus = get_bus(ctx.mesh, params.get("EventBusName"))
    rule = bus.put_rule(params["Name"], event_pattern=params.get("EventPattern"),
                        schedule_expression=params.get("ScheduleExpression"), state=params.get("State"),
                        description=params.get("Description"), role_arn=params.get("RoleArn"),
                        tags=_tags(params.get("Tags")))
    return {"RuleArn": rule.arn}


@operation("DescribeRule")
def describe_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    rule = get_bus(ctx.mesh, params.get("EventBusName")).rule(params["Name"])
    return {**rule.describe(), "CreatedBy": ctx.mesh.account_id}


@operation("DeleteRule")
def delete_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    get_bus(ctx.mesh, params.get("EventBusName")).delete_rule(params["Name"], bool(params.get("Force")))
    return {}


@operation("ListRules")
def list_rules(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bus = get_bus(ctx.mesh, params.get("EventBusName"))
    rules = _prefixed(sorted(bus.rules.values(), key=lambda r: r.name), params.get("NamePrefix"),
                      lambda r: r.name)
    page, more = _page(rules, params)
    return {"Rules": [_rule_entry(r) for r in page], **more}


@operation("EnableRule")
def enable_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    get_bus(ctx.mesh, params.get("EventBusName")).set_rule_state(params["Name"], True)
    return {}


@operation("DisableRule")
def disable_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    get_bus(ctx.mesh, params.get("EventBusName")).set_rule_state(params["Name"], False)
    return {}


@operation("PutTargets")
def put_targets(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bus = get_bus(ctx.mesh, params.get("EventBusName"))
    failed = bus.put_targets(params["Rule"], params["Targets"])
    return {"FailedEntryCount": len(failed), "FailedEntries": failed}


@operation("RemoveTargets")
def remove_targets(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bus = get_bus(ctx.mesh, params.get("EventBusName"))
    failed = bus.remove_targets(params["Rule"], params["Ids"])
    return {"FailedEntryCount": len(failed), "FailedEntries": failed}


@operation("ListTargetsByRule")
def list_targets_by_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    rule = get_bus(ctx.mesh, params.get("EventBusName")).rule(params["Rule"])
    page, more = _page(rule.target_list, params)
    return {"Targets": [t.spec for t in page], **more}


@operation("ListRuleNamesByTarget")
def list_rule_names_by_target(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bus = get_bus(ctx.mesh, params.get("EventBusName"))
    arn = params["TargetArn"]
    names = sorted(r.name for r in bus.rules.values() if any(t.arn == arn for t in r.target_list))
    page, more = _page(names, params)
    return {"RuleNames": page, **more}


# -- tags -----------------------------------------------------------------------------------------

def _tagged(mesh: Mesh, arn: str) -> Any:
    """The rule or bus at ``arn`` (the only taggable EventBridge resources), or AWS's not-found
    answer for its kind: ``Rule <name> does not exist on EventBus <bus>.`` / ``Event bus <name>
    does not exist.``"""
    if not arn.startswith("arn:"):
        raise ValidationException("Parameter ResourceARN is not valid. Reason: Provided Arn is not in correct format.")
    resource = arn.split(":", 5)[-1]
    if resource.startswith("event-bus/"):
        return get_bus(mesh, arn)
    if resource.startswith("rule/"):
        parts = resource.split("/")
        bus_name, rule_name = (DEFAULT_BUS_NAME, parts[1]) if len(parts) == 2 else (parts[1], parts[-1])
        rule = mesh.find(arn, Rule)
        if rule is None:
            raise ResourceNotFoundException(f"Rule {rule_name} does not exist on EventBus {bus_name}.")
        return rule
    found: Any = mesh.find(arn, object)
    if found is None or not hasattr(found, "tags"):
        raise ResourceNotFoundException(f"Resource {arn} does not exist.")
    return found


@operation("TagResource")
def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _tagged(ctx.mesh, params["ResourceARN"]).tags.update(_tags(params["Tags"]))
    return {}


@operation("UntagResource")
def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tags = _tagged(ctx.mesh, params["ResourceARN"]).tags
    for key in params["TagKeys"]:
        tags.pop(key, None)
    return {}


@operation("ListTagsForResource")
def list_tags_for_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tags = _tagged(ctx.mesh, params["ResourceARN"]).tags
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


# -- archives and replays -------------------------------------------------------------------------

def _archive_summary(archive: archives.Archive) -> dict[str, Any]:
    described = archive.describe()
    for key in ("ArchiveArn", "Description", "EventPattern"):
        described.pop(key, None)
    return described


@operation("CreateArchive")
def create_archive(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    archive = archives.create_archive(ctx.mesh, params["ArchiveName"], params["EventSourceArn"],
                                      event_pattern=params.get("EventPattern"),
                                      description=params.get("Description"),
                                      retention_days=params.get("RetentionDays"))
    return {"ArchiveArn": archive.arn, "State": archive.state, "CreationTime": archive.created}


@operation("DescribeArchive")
def describe_archive(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return archives.get_archive(ctx.mesh, params["ArchiveName"]).describe()


@operation("UpdateArchive")
def update_archive(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    # An unknown archive is ResourceNotFoundException, as DescribeArchive answers it: a client's
    # mistake is a 4xx here, never a 500.
    archive = archives.get_archive(ctx.mesh, params["ArchiveName"])
    archive.update(event_pattern=params.get("EventPattern"), description=params.get("Description"),
                   retention_days=params.get("RetentionDays"))
    return {"ArchiveArn": archive.arn, "State": archive.state, "CreationTime": archive.created}


@operation("DeleteArchive")
def delete_archive(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    archives.delete_archive(ctx.mesh, params["ArchiveName"])
    return {}


@operation("ListArchives")
def list_archives(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _one_filter(params, "ListArchives")
    found = _prefixed(archives.list_archives(ctx.mesh), params.get("NamePrefix"), lambda a: a.name)
    found = [a for a in found if params.get("EventSourceArn") in (None, a.source_arn)
             and params.get("State") in (None, a.state)]
    page, more = _page(found, params)
    return {"Archives": [_archive_summary(a) for a in page], **more}


@operation("StartReplay")
def start_replay(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    replay = archives.start_replay(ctx.mesh, params["ReplayName"], params["EventSourceArn"],
                                   params["EventStartTime"], params["EventEndTime"], params["Destination"],
                                   params.get("Description"))
    return {"ReplayArn": replay.arn, "State": replay.state, "ReplayStartTime": replay.replay_start}


@operation("DescribeReplay")
def describe_replay(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return archives.get_replay(ctx.mesh, params["ReplayName"]).describe()


@operation("CancelReplay")
def cancel_replay(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    replay = archives.cancel_replay(ctx.mesh, params["ReplayName"])
    return {"ReplayArn": replay.arn, "State": replay.state}


@operation("ListReplays")
def list_replays(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _one_filter(params, "ListReplays")
    found = _prefixed(archives.list_replays(ctx.mesh), params.get("NamePrefix"), lambda r: r.name)
    found = [r for r in found if params.get("EventSourceArn") in (None, r.archive_arn)
             and params.get("State") in (None, r.state)]
    page, more = _page(found, params)
    keep = ("ReplayName", "EventSourceArn", "State", "StateReason", "EventStartTime", "EventEndTime",
            "EventLastReplayedTime", "ReplayStartTime", "ReplayEndTime")
    return {"Replays": [{k: v for k, v in r.describe().items() if k in keep} for r in page], **more}


# -- connections and API destinations -------------------------------------------------------------

@operation("CreateConnection")
def create_connection(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    connection = connections.create_connection(ctx.mesh, params)
    answer = connections.state_answer(connection)
    answer.pop("LastAuthorizedTime")
    return answer


@operation("DescribeConnection")
def describe_connection(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return connections.describe_connection(connections.get_connection(ctx.mesh, params["Name"]))


@operation("UpdateConnection")
def update_connection(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return connections.state_answer(connections.update_connection(ctx.mesh, params))


@operation("DeleteConnection")
def delete_connection(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return connections.state_answer(connections.delete_connection(ctx.mesh, params["Name"]))


@operation("DeauthorizeConnection")
def deauthorize_connection(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return connections.state_answer(connections.deauthorize_connection(ctx.mesh, params["Name"]), "DEAUTHORIZING")


@operation("ListConnections")
def list_connections(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    found = connections.list_connections(ctx.mesh, params.get("NamePrefix"), params.get("ConnectionState"))
    page, more = _page(found, params)
    return {"Connections": [connections.summary_connection(c) for c in page], **more}


@operation("CreateApiDestination")
def create_api_destination(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return connections.destination_answer(connections.create_api_destination(ctx.mesh, params))


@operation("DescribeApiDestination")
def describe_api_destination(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return connections.describe_api_destination(connections.get_api_destination(ctx.mesh, params["Name"]))


@operation("UpdateApiDestination")
def update_api_destination(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return connections.destination_answer(connections.update_api_destination(ctx.mesh, params))


@operation("DeleteApiDestination")
def delete_api_destination(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    connections.delete_api_destination(ctx.mesh, params["Name"])
    return {}


@operation("ListApiDestinations")
def list_api_destinations(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    found = connections.list_api_destinations(ctx.mesh, params.get("NamePrefix"), params.get("ConnectionArn"))
    page, more = _page(found, params)
    return {"ApiDestinations": [connections.summary_api_destination(d) for d in page], **more}


# -- global endpoints -----------------------------------------------------------------------------

def _endpoints(ctx: RequestContext) -> GlobalEndpoints:
    return ctx.mesh.root.state(GlobalEndpoints)


@operation("CreateEndpoint")
def create_endpoint(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return endpoint_answer(_endpoints(ctx).create(ctx.mesh, params))


@operation("DescribeEndpoint")
def describe_endpoint_op(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return describe_endpoint(_endpoints(ctx).get(ctx.mesh, params["Name"], params.get("HomeRegion")))


@operation("UpdateEndpoint")
def update_endpoint(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return endpoint_answer(_endpoints(ctx).update(ctx.mesh, params))


@operation("DeleteEndpoint")
def delete_endpoint(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _endpoints(ctx).delete(ctx.mesh, params["Name"])
    return {}


@operation("ListEndpoints")
def list_endpoints(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    found = _endpoints(ctx).listed(ctx.mesh, params.get("NamePrefix"), params.get("HomeRegion"))
    page, more = _page(found, {"NextToken": params.get("NextToken"), "Limit": params.get("MaxResults")})
    return {"Endpoints": [describe_endpoint(e) for e in page], **more}


# -- partner event sources: the customer's side, then the partner's -------------------------------

def _sources(ctx: RequestContext) -> partners.PartnerSources:
    return ctx.mesh.root.state(partners.PartnerSources)


@operation("ListEventSources")
def list_event_sources(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sources = _sources(ctx)
    page, more = _page(sources.of_customer(ctx.mesh, params.get("NamePrefix")), params)
    return {"EventSources": [partners.describe_source(sources, s) for s in page], **more}


@operation("DescribeEventSource")
def describe_event_source(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sources = _sources(ctx)
    return partners.describe_source(sources, sources.for_customer(ctx.mesh, params["Name"]))


@operation("ActivateEventSource")
def activate_event_source(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _sources(ctx).set_active(ctx.mesh, params["Name"], True)
    return {}


@operation("DeactivateEventSource")
def deactivate_event_source(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _sources(ctx).set_active(ctx.mesh, params["Name"], False)
    return {}


@operation("CreatePartnerEventSource")
def create_partner_event_source(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"EventSourceArn": _sources(ctx).create(ctx.mesh, params["Name"], params["Account"]).arn}


@operation("DescribePartnerEventSource")
def describe_partner_event_source(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    source = _sources(ctx).owned(ctx.mesh, params["Name"])
    return {"Arn": source.arn, "Name": source.name}


@operation("ListPartnerEventSources")
def list_partner_event_sources(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    page, more = _page(_sources(ctx).of_partner(ctx.mesh, params["NamePrefix"]), params)
    return {"PartnerEventSources": [{"Arn": s.arn, "Name": s.name} for s in page], **more}


@operation("ListPartnerEventSourceAccounts")
def list_partner_event_source_accounts(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sources = _sources(ctx)
    source = sources.owned(ctx.mesh, params["EventSourceName"])
    shown = partners.describe_source(sources, source)
    account = {"Account": source.account, "CreationTime": source.created, "State": shown["State"]}
    if "ExpirationTime" in shown:
        account["ExpirationTime"] = shown["ExpirationTime"]
    page, more = _page([account], params)
    return {"PartnerEventSourceAccounts": page, **more}


@operation("DeletePartnerEventSource")
def delete_partner_event_source(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _sources(ctx).delete(ctx.mesh, params["Name"], params["Account"])
    return {}


@operation("PutPartnerEvents")
def put_partner_events(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return partners.put_partner_events(ctx.mesh, params["Entries"])
