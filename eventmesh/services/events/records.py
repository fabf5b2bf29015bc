"""EventBridge payload shapes: the PutEvents entry and result, and the event envelope.

The envelope is what patterns match and what targets receive:
``version`` always "0", ``id`` a UUID v4 shared by every target of every rule, ``time``
ISO-8601 UTC to the second, ``resources`` ``[]`` when not given, ``account``/``region`` of
the bus, keys in the order AWS writes them, and compact JSON. A replayed event carries an
extra top-level ``replay-name``.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-archive.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

import msgspec

from eventmesh.clock import RFC3339_MAX_S, RFC3339_MIN_S

__all__ = [
    "ENVELOPE_VERSION",
    "RESERVED_SOURCE_PREFIX",
    "SCHEDULED_EVENT_DETAIL_TYPE",
    "SCHEDULED_EVENT_SOURCE",
    "EventEnvelope",
    "PutEventsRequest",
    "PutEventsRequestEntry",
    "PutEventsResponse",
    "PutEventsResultEntry",
    "ScheduledEventEnvelope",
    "iso_seconds",
    "parse_iso",
    "forwarded_event",
    "lambda_result_event",
    "LAMBDA_SOURCE",
]

ENVELOPE_VERSION = "0"
# what a schedule rule sends.
SCHEDULED_EVENT_SOURCE = "aws.events"
SCHEDULED_EVENT_DETAIL_TYPE = "Scheduled Event"
LAMBDA_SOURCE = "lambda"  # events a Lambda destination puts on a bus
RESERVED_SOURCE_PREFIX = "aws."  # customer events must not claim an AWS source



# The model's member constraints, so a request decodes and validates in one msgspec call
# (tests/wire/test_validation.py holds these to the model).
_EVENT_RESOURCE = Annotated[str, msgspec.Meta(max_length=2048)]
_TIME = Annotated[float, msgspec.Meta(ge=RFC3339_MIN_S, le=RFC3339_MAX_S)]  # epoch seconds, as the JSON protocol sends
_BUS_NAME_OR_ARN = Annotated[str, msgspec.Meta(
    min_length=1, max_length=1600,
    pattern=r"(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[\.\-_A-Za-z0-9]+")]
_TRACE_HEADER = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
_ENDPOINT_ID = Annotated[str, msgspec.Meta(min_length=1, max_length=50,
                                           pattern=r"^[A-Za-z0-9\-]+[\.][A-Za-z0-9\-]+$")]


class PutEventsRequestEntry(msgspec.Struct, rename="pascal", omit_defaults=True):
    """PutEventsRequestEntry: Source, DetailType and Detail are required per entry, but a
    missing one is a per-entry ``InvalidArgument``, not a request error."""

    source: str | None = None
    detail_type: str | None = None
    detail: str | None = None
    resources: list[_EVENT_RESOURCE] | None = None
    time: _TIME | None = None
    event_bus_name: _BUS_NAME_OR_ARN | None = None
    trace_header: _TRACE_HEADER | None = None


class PutEventsRequest(msgspec.Struct, rename="pascal", omit_defaults=True):
    """PutEventsRequest: 1–10 entries (``put_events`` checks the count, in AWS's words);
    ``EndpointId`` names a global endpoint."""

    entries: list[PutEventsRequestEntry]
    endpoint_id: _ENDPOINT_ID | None = None


class PutEventsResultEntry(msgspec.Struct, rename="pascal", omit_defaults=True):
    """One result per entry, in request order: an EventId, or ErrorCode and ErrorMessage."""

    event_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class PutEventsResponse(msgspec.Struct, rename="pascal"):
    """PutEventsResponse: HTTP 200 even when entries failed."""

    failed_entry_count: int
    entries: list[PutEventsResultEntry]


class EventEnvelope(msgspec.Struct, omit_defaults=True):
    """The EventBridge event as patterns see it and targets receive it."""

    version: str
    id: str
    detail_type: str = msgspec.field(name="detail-type")
    source: str = ""
    account: str = ""
    time: str = ""
    region: str = ""
    resources: list[str] = []
    detail: Any = None
    replay_name: str | None = msgspec.field(default=None, name="replay-name")


class ScheduledEventEnvelope(msgspec.Struct):
    """The event a schedule rule sends: detail-type "Scheduled Event", source
    "aws.events", the rule ARN as the only resource, an empty ``detail``."""

    version: str
    id: str
    detail_type: str = msgspec.field(name="detail-type")
    source: str = SCHEDULED_EVENT_SOURCE
    account: str = ""
    time: str = ""
    region: str = ""
    resources: list[str] = []
    detail: dict[str, Any] = {}


def iso_seconds(epoch: float) -> str:
    """ISO-8601 UTC to the second, as AWS writes ``time`` (``2017-12-22T18:43:48Z``)."""
    return _iso_of_second(int(epoch))


@lru_cache(maxsize=256)
def _iso_of_second(second: int) -> str:
    # strftime costs ~3 µs; every PutEvents request in the same second asks for the same text.
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp, or None when it is not one."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()




def forwarded_event(doc: dict[str, Any], new_id: Callable[[], str], account: str, region: str,
                    now: float) -> dict[str, Any]:
    """An event a rule on another bus forwarded: the same ``id`` and fields, in envelope order."""
    return {"version": doc.get("version", ENVELOPE_VERSION), "id": doc.get("id") or new_id(),
            "detail-type": doc["detail-type"], "source": doc["source"],
            "account": doc.get("account", account),
            "time": doc.get("time") or iso_seconds(now), "region": doc.get("region", region),
            "resources": doc.get("resources") or [], "detail": doc["detail"]}


def lambda_result_event(record: Any, event_id: str, function_arn: str, account: str, region: str,
                        now: float, bus_arn: str) -> dict[str, Any]:
    """A Lambda destination's invocation record as an event: source "lambda",
    detail-type "Lambda Function Invocation Result - Success|Failure" (ASCII hyphen), resources
    the bus and the qualified function ARN of the record, the record as ``detail``."""
    context = record.get("requestContext") if isinstance(record, dict) else None
    condition = context.get("condition") if isinstance(context, dict) else None
    qualified = context.get("functionArn") if isinstance(context, dict) else None
    outcome = "Success" if condition in (None, "Success") else "Failure"
    return {"version": ENVELOPE_VERSION, "id": event_id,
            "detail-type": f"Lambda Function Invocation Result - {outcome}", "source": LAMBDA_SOURCE,
            "account": account, "time": iso_seconds(now), "region": region,
            "resources": [bus_arn, qualified or function_arn], "detail": record}
