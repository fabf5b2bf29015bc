"""The buses of an account and ``PutEvents``.

Everything that decides whether a PutEvents entry becomes an event lives here: 1–10 entries,
a total size under 256 KB (entry size = 14 bytes when ``Time`` is set + the UTF-8 bytes of
Source, DetailType, Detail and each Resources item), ``Source``/``DetailType``/``Detail``
required per entry (``InvalidArgument``), ``Detail`` a JSON object (``MalformedDetail``), and
an entry for a bus that does not exist accepted and silently dropped. Results come one per
entry, in request order, in a 200.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html

Buses live in the mesh by ARN; ``default`` is created on first use and cannot be deleted.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from eventmesh.ids import uuid4_from
from eventmesh.mesh import Mesh
from eventmesh.patterns import raw_json
from eventmesh.services.events import bus as bus_module
from eventmesh.services.events.bus import DEFAULT_BUS_NAME, EventBus, bus_arn
from eventmesh.services.events.errors import (
    LIMIT_EXCEEDED_MESSAGE,
    LimitExceededException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ValidationException,
)
from eventmesh.services.events.partners import PartnerSources
from eventmesh.services.events.records import (
    RESERVED_SOURCE_PREFIX,
    PutEventsRequest,
    PutEventsRequestEntry,
    PutEventsResponse,
    PutEventsResultEntry,
    iso_seconds,
)

__all__ = ["default_bus", "get_bus", "find_bus", "create_bus", "delete_bus", "list_buses", "put_events",
           "put_events_json", "bus_name_of", "put_permission", "remove_permission", "update_bus", "MAX_ENTRIES",
           "MAX_REQUEST_BYTES", "BUSES_PER_ACCOUNT"]

MAX_ENTRIES = 10                # entries per PutEvents
MAX_REQUEST_BYTES = 262_144     # the sum of entry sizes must be below 256 KB
TIME_ENTRY_BYTES = 14           # an entry with Time counts 14 bytes more
UTF8_MAX_BYTES_PER_CHAR = 4
BUSES_PER_ACCOUNT = 100         # (the default bus included)
BUS_NAME_MAX_CHARS = 256
_BUS_NAME = re.compile(r"^[/\.\-_A-Za-z0-9]+$")
_decode_detail = msgspec.json.Decoder().decode
_request_decoder = msgspec.json.Decoder(PutEventsRequest)
_response_encoder = msgspec.json.Encoder()
# put_events' loop in C for requests of plain entries to one bus (bus.py says how it is chosen;
# tests set it to compare the two).
compiled_entries: Callable[..., tuple[list[dict[str, Any]], list[PutEventsResultEntry], int] | None] | None = (
    None if bus_module.compiled is None else bus_module.compiled.entries)


def bus_name_of(name_or_arn: str) -> str:
    return name_or_arn.rsplit("event-bus/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn


def default_bus(mesh: Mesh) -> EventBus:
    bus = mesh.find(bus_arn(mesh, DEFAULT_BUS_NAME), EventBus)
    if bus is None:
        bus = mesh.add(EventBus(mesh, DEFAULT_BUS_NAME))
    return bus


def find_bus(mesh: Mesh, name_or_arn: str | None) -> EventBus | None:
    if not name_or_arn or name_or_arn == DEFAULT_BUS_NAME:
        return default_bus(mesh)
    bus = mesh.find(bus_arn(mesh, name_or_arn), EventBus)
    if bus is None and bus_name_of(name_or_arn) == DEFAULT_BUS_NAME:
        return default_bus(mesh)
    return bus


def get_bus(mesh: Mesh, name_or_arn: str | None) -> EventBus:
    bus = find_bus(mesh, name_or_arn)
    if bus is None:
        raise ResourceNotFoundException(f"Event bus {bus_name_of(name_or_arn or '')} does not exist.")
    return bus


def list_buses(mesh: Mesh) -> list[EventBus]:
    default_bus(mesh)
    return sorted((r for r in mesh.resources("events") if isinstance(r, EventBus)), key=lambda b: b.name)


def create_bus(mesh: Mesh, name: str, *, description: str | None = None,
               kms_key_identifier: str | None = None,
               dead_letter_config: Mapping[str, Any] | None = None,
               tags: Mapping[str, str] | None = None, max_rules: int | None = None,
               event_source_name: str | None = None) -> EventBus:
    """CreateEventBus: name 1–256 ``[/.-_A-Za-z0-9]``, not ``default``, not ``aws.*`` unless it
    is a partner event bus (``EventSourceName``: a partner event source of this account, the bus
    named as the source, ``partners.py``)."""
    if event_source_name is not None:
        mesh.root.state(PartnerSources).for_customer(mesh, event_source_name)
        if name != event_source_name:
            raise ValidationException("Event bus name must match the event source name.")
    elif (not _BUS_NAME.match(name) or len(name) > BUS_NAME_MAX_CHARS or name == DEFAULT_BUS_NAME
            or name.startswith(RESERVED_SOURCE_PREFIX)):
        raise ValidationException(f"Event bus name {name} is not valid.")
    if mesh.exists(bus_arn(mesh, name)):
        raise ResourceAlreadyExistsException(f"Event bus {name} already exists.")
    if len(list_buses(mesh)) >= BUSES_PER_ACCOUNT:
        raise LimitExceededException(LIMIT_EXCEEDED_MESSAGE)
    extra = {} if max_rules is None else {"max_rules": max_rules}
    bus = EventBus(mesh, name, description=description, kms_key_identifier=kms_key_identifier,
                   dead_letter_config=dead_letter_config, tags=tags, **extra)
    return mesh.add(bus)  # type: ignore[no-any-return]


def delete_bus(mesh: Mesh, name: str) -> None:
    """DeleteEventBus: the default bus cannot go; a missing bus is not an error."""
    if bus_name_of(name) == DEFAULT_BUS_NAME:
        raise ValidationException("Cannot delete event bus default.")
    bus = mesh.find(bus_arn(mesh, name), EventBus)
    if bus is not None:
        mesh.remove(bus.arn)


def _missing(field: str) -> PutEventsResultEntry:
    message = f"Parameter {field} is not valid. Reason: {field} is a required argument."
    return PutEventsResultEntry(error_code="InvalidArgument", error_message=message)


_INDEX_HEX = tuple(f"{i:02x}" for i in range(MAX_ENTRIES))  # the last two hex digits of an event id
_UNSEEN: Any = object()
_MALFORMED = PutEventsResultEntry(error_code="MalformedDetail", error_message="Detail is malformed.")
_NOT_AUTHORIZED_SOURCE = PutEventsResultEntry(error_code="NotAuthorizedForSourceException",
                                              error_message="Not authorized for the source.")


def _check_size(entries: list[PutEventsRequestEntry], chars: int) -> None:
    """The request's size limit; ``chars``: the characters of its sizable fields, counted by the
    caller as it went through the entries."""
    if chars * UTF8_MAX_BYTES_PER_CHAR + TIME_ENTRY_BYTES * len(entries) < MAX_REQUEST_BYTES:
        return  # cannot be over the limit whatever the characters are
    size = 0
    for e in entries:
        size += TIME_ENTRY_BYTES if e.time is not None else 0
        size += sum(len(s.encode()) for s in (e.source or "", e.detail_type or "", e.detail or ""))
        size += sum(len(r.encode()) for r in e.resources or ())
    if size >= MAX_REQUEST_BYTES:
        raise ValidationException("Total size of the entries in the request is over the limit.")


def _java_entry(e: PutEventsRequestEntry) -> str:
    """An entry as AWS's validation messages print it (its Java ``toString``)."""
    def text(value: object) -> str:
        return "null" if value is None else str(value)

    when = None if e.time is None else datetime.fromtimestamp(e.time, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
    resources = None if e.resources is None else f"[{', '.join(e.resources)}]"
    return (f"PutEventsRequestEntry(time={text(when)}, source={text(e.source)}, resources={text(resources)}, "
            f"detailType={text(e.detail_type)}, detail={text(e.detail)}, eventBusName={text(e.event_bus_name)}, "
            f"traceHeader={text(e.trace_header)}, kmsKeyIdentifier=null, internalMetadata=null)")


def put_events(mesh: Mesh, entries: list[PutEventsRequestEntry], trace_header: str | None = None) -> PutEventsResponse:
    """PutEvents: one result per entry; events are matched and dispatched before it returns
    (their deliveries are effects in the mesh outbox). An entry's ``TraceHeader``, else the
    request's X-Ray header, travels with the event to its targets."""
    if not entries or len(entries) > MAX_ENTRIES:
        bound = "less than or equal to 10" if entries else "greater than or equal to 1"
        shown = ", ".join(_java_entry(e) for e in entries)
        raise ValidationException(f"1 validation error detected: Value '[{shown}]' at 'entries' failed to satisfy "
                                  f"constraint: Member must have length {bound}")
    now = mesh.clock.now()
    now_iso = iso_seconds(now)
    account, region = mesh.account_id, mesh.region
    # Event ids: one random UUID v4 per request, its last two hex digits replaced by the entry's
    # index (a uuid per entry costs 1 µs of the ≈10 µs per-event budget; the ids stay UUID v4),
    # drawn from the (first) bus's own random stream.
    ids = mesh.ids_for(bus_arn(mesh, entries[0].event_bus_name or DEFAULT_BUS_NAME))
    id_head = uuid4_from(ids.random.getrandbits(128))[:-2]
    # The envelope in AWS's key order, with what every event of this request shares.
    envelope: dict[str, Any] = {"version": "0", "id": None, "detail-type": None, "source": None, "account": account,
                                "time": now_iso, "region": region, "resources": None, "detail": None}
    if trace_header is None and compiled_entries is not None:
        # Entries that are all plain, to one bus: the loop below in C (_speedups.c), else None.
        made = compiled_entries(entries, envelope, id_head, raw_json)
        if made is not None:
            made_events, made_results, made_chars = made
            bus = find_bus(mesh, entries[0].event_bus_name)
            _check_size(entries, made_chars)
            if bus is not None:
                bus.ingest(made_events, now)
            return PutEventsResponse(0, made_results)
    results: list[PutEventsResultEntry] = []
    failed = 0
    by_name: dict[str | None, list[dict[str, Any]] | None] = {}  # a bus name → its events (None: no such bus)
    batches: dict[EventBus, list[dict[str, Any]]] = {}
    traces: dict[str, str] | None = None
    chars = 0  # the request's size (_check_size, before anything is ingested)
    for index, e in enumerate(entries):
        source, detail_type, detail_text = e.source, e.detail_type, e.detail
        chars += len(source or "") + len(detail_type or "") + len(detail_text or "")
        if e.resources:
            chars += sum(map(len, e.resources))
        if not source or not detail_type or not detail_text:
            missing = "Source" if not source else "DetailType" if not detail_type else "Detail"
            results.append(_missing(missing))
            failed += 1
            continue
        # Kept as its compact text where that is exact (the envelope embeds it, the engine reads
        # the fields rules use from it: patterns/_text.py), else decoded.
        detail = raw_json(detail_text)
        if detail is None:
            try:
                detail = _decode_detail(detail_text)
            except msgspec.DecodeError:
                detail = None
            if type(detail) is not dict:
                results.append(_MALFORMED)
                failed += 1
                continue
        if source.startswith(RESERVED_SOURCE_PREFIX):
            results.append(_NOT_AUTHORIZED_SOURCE)
            failed += 1
            continue
        event_id = id_head + _INDEX_HEX[index]
        results.append(PutEventsResultEntry(event_id))
        name = e.event_bus_name
        events = by_name.get(name, _UNSEEN)
        if events is _UNSEEN:
            bus = find_bus(mesh, name)
            events = by_name[name] = None if bus is None else batches.setdefault(bus, [])
        if events is None:
            continue  # a bus that does not exist: accepted and dropped
        event = envelope.copy()  # a copy of a built dict costs less than building one of 9 keys
        event["id"] = event_id
        event["detail-type"] = detail_type
        event["source"] = source
        if e.time is not None:
            event["time"] = iso_seconds(e.time)
        event["resources"] = e.resources or []
        event["detail"] = detail
        events.append(event)
        if (trace := e.trace_header or trace_header) is not None:
            if traces is None:
                traces = {}
            traces[event_id] = trace
    _check_size(entries, chars)
    for bus, events in batches.items():
        bus.ingest(events, now, traces=traces)
    return PutEventsResponse(failed, results)


def put_events_json(mesh: Mesh, body: bytes) -> bytes:
    """PutEvents from the JSON 1.1 request body to the response body: one typed decode, one encode."""
    try:
        request = _request_decoder.decode(body)
    except msgspec.ValidationError as err:
        raise ValidationException(str(err)) from None
    return _response_encoder.encode(put_events(mesh, request.entries))


# -- the bus's resource policy and settings -----------------------------------------------------

POLICY_VERSION = "2012-10-17"


def put_permission(mesh: Mesh, bus_name: str | None, *, action: str | None = None, principal: str | None = None,
                   statement_id: str | None = None, condition: Mapping[str, str] | None = None,
                   policy: str | None = None) -> None:
    """PutPermission: ``Policy`` replaces the whole policy; otherwise one statement ``Sid =
    StatementId`` lets ``Principal`` (an account id, or ``*``) call ``Action`` on the bus."""
    bus = get_bus(mesh, bus_name)
    if policy is not None:
        try:
            document = _decode_detail(policy)
        except msgspec.DecodeError:
            document = None
        if not isinstance(document, dict):
            raise ValidationException("Parameter Policy is not valid.")
        bus.policy = document
    else:
        for member, value in (("Action", action), ("Principal", principal), ("StatementId", statement_id)):
            if not value:
                raise ValidationException(f"Parameter {member} is required.")
        statement: dict[str, Any] = {
            "Sid": statement_id, "Effect": "Allow",
            "Principal": "*" if principal == "*" else {"AWS": f"arn:aws:iam::{principal}:root"},
            "Action": action, "Resource": bus.arn}
        if condition:
            statement["Condition"] = {condition["Type"]: {condition["Key"]: condition["Value"]}}
        document = bus.policy or {"Version": POLICY_VERSION, "Statement": []}
        document["Statement"] = [s for s in document.get("Statement", []) if s.get("Sid") != statement_id]
        document["Statement"].append(statement)
        bus.policy = document
    bus.modified = mesh.clock.now()


def remove_permission(mesh: Mesh, bus_name: str | None, statement_id: str | None, remove_all: bool = False) -> None:
    """RemovePermission: one statement by id (an unknown id is ResourceNotFoundException), or all."""
    bus = get_bus(mesh, bus_name)
    if remove_all:
        bus.policy = None
        bus.modified = mesh.clock.now()
        return
    if not statement_id:
        raise ValidationException("Parameter StatementId is required.")
    statements = (bus.policy or {}).get("Statement", [])
    kept = [s for s in statements if s.get("Sid") != statement_id]
    if len(kept) == len(statements):
        raise ResourceNotFoundException("Statement with the provided id does not exist.")
    assert bus.policy is not None
    if kept:
        bus.policy["Statement"] = kept
    else:
        bus.policy = None
    bus.modified = mesh.clock.now()


def update_bus(mesh: Mesh, name: str | None, *, description: str | None = None,
               kms_key_identifier: str | None = None, dead_letter_config: Mapping[str, Any] | None = None) -> EventBus:
    """UpdateEventBus: the description, KMS key and dead-letter queue of a bus."""
    bus = get_bus(mesh, name)
    if description is not None:
        bus.description = description
    if kms_key_identifier is not None:
        bus.kms_key_identifier = kms_key_identifier or None
    if dead_letter_config is not None:
        bus.dead_letter_config = dict(dead_letter_config) or None
    bus.modified = mesh.clock.now()
    return bus
