"""CloudWatch Logs operations on a mesh: log groups and streams, writes, reads, retention, tags.

Each function is one API operation's behaviour (the wire adapter ``api.py`` only translates);
:func:`install` makes the service take the ``effects.LogEvents`` Lambda emits for what its
functions write (the group and stream are created when missing, as Lambda's log agent does), and
:func:`recent_log_lines` is what a console shows of a function. Limits, as AWS documents them: a
PutLogEvents batch is at most 10,000 events and 1,048,576 bytes (each event counts 26 bytes more
than its message), an event at most 256 KB, a batch spans at most 24 hours, events older than 14
days or the retention period, or more than 2 hours ahead, are rejected (``rejectedLogEventsInfo``);
reads return at most 10,000 events or 1 MB per call, lists at most 50 entries per page.
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogGroups.html
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogStreams.html
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/logs/cloudwatch_limits_cwl.html
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

import msgspec

from eventmesh.effects import LogEvents
from eventmesh.mesh import Ephemeral, Mesh
from eventmesh.services.logs.errors import (
    InvalidParameterException,
    ResourceAlreadyExistsException,
    group_not_found,
    stream_not_found,
)
from eventmesh.services.logs.filters import compile_filter
from eventmesh.services.logs.groups import DAY_MS, LogGroup, LogStream

__all__ = [
    "LogLine", "RETENTION_DAYS", "create_log_group", "create_log_stream", "delete_log_group",
    "delete_log_stream", "describe_log_groups", "describe_log_streams", "filter_log_events", "find_group",
    "get_log_events", "install", "put_log_events", "put_retention_policy", "recent_log_lines",
]

RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                  2557, 2922, 3288, 3653)
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
MAX_EVENT_BYTES = 262_144
MAX_BATCH_SPAN_MS = DAY_MS
MAX_EVENT_AGE_MS = 14 * DAY_MS
MAX_EVENT_AHEAD_MS = 2 * 3_600_000
MAX_READ_EVENTS = 10_000
MAX_READ_BYTES = 1_048_576
MAX_LIST_PAGE = 50
_NAME = re.compile(r"[.\-_/#A-Za-z0-9]{1,512}")
_STREAM_NAME = re.compile(r"[^:*]{1,512}")


class LogLine(msgspec.Struct, frozen=True):
    """One line a function wrote, for a console: when, in which stream, what."""

    timestamp_ms: int
    stream: str
    message: str


def _now_ms(mesh: Mesh) -> int:
    return int(mesh.clock.now() * 1000)


def _group_arn(mesh: Mesh, name: str) -> str:
    return mesh.arn("logs", f"log-group:{name}")


def find_group(mesh: Mesh, name: str | None = None, identifier: str | None = None) -> LogGroup:
    """The group named by ``logGroupName`` or ``logGroupIdentifier`` (a name or an ARN)."""
    ref = identifier or name
    if not ref:
        raise InvalidParameterException("Either logGroupName or logGroupIdentifier must be specified.")
    if name and identifier:
        raise InvalidParameterException("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    arn = ref[:-2] if ref.endswith(":*") else ref
    if not arn.startswith("arn:"):
        arn = _group_arn(mesh, ref)
    group = mesh.find(arn, LogGroup)
    if group is None:
        raise group_not_found()
    return group


def _find_stream(group: LogGroup, name: str) -> LogStream:
    stream = group.streams.get(name)
    if stream is None:
        raise stream_not_found()
    return stream


# -- groups and streams ---------------------------------------------------------------------------

def create_log_group(mesh: Mesh, name: str, tags: dict[str, str] | None = None) -> LogGroup:
    if not _NAME.fullmatch(name):
        raise InvalidParameterException(
            f"1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+")
    arn = _group_arn(mesh, name)
    if mesh.exists(arn):
        raise ResourceAlreadyExistsException("The specified log group already exists")
    return mesh.add(LogGroup(arn, name, _now_ms(mesh), tags))


def ensure_log_group(mesh: Mesh, name: str) -> LogGroup:
    return mesh.find(_group_arn(mesh, name), LogGroup) or mesh.add(LogGroup(_group_arn(mesh, name), name,
                                                                             _now_ms(mesh)))


def delete_log_group(mesh: Mesh, name: str) -> None:
    group = find_group(mesh, name)
    mesh.remove(group.arn)


def create_log_stream(mesh: Mesh, group_name: str, name: str) -> LogStream:
    group = find_group(mesh, group_name)
    if not _STREAM_NAME.fullmatch(name):
        raise InvalidParameterException(
            f"1 validation error detected: Value '{name}' at 'logStreamName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [^:*]*")
    if name in group.streams:
        raise ResourceAlreadyExistsException("The specified log stream already exists")
    return group.stream(name, _now_ms(mesh))


def delete_log_stream(mesh: Mesh, group_name: str, name: str) -> None:
    group = find_group(mesh, group_name)
    stream = _find_stream(group, name)
    group.count -= len(stream.events)
    del group.streams[name]


def put_retention_policy(mesh: Mesh, group_name: str, days: int | None) -> None:
    """PutRetentionPolicy (``days`` None: DeleteRetentionPolicy, keep forever)."""
    group = find_group(mesh, group_name)
    if days is not None and days not in RETENTION_DAYS:
        raise InvalidParameterException(
            f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(map(str, RETENTION_DAYS))}]")
    group.retention_days = days


def _token(position: tuple[int, int]) -> str:
    return base64.urlsafe_b64encode(f"{position[0]}/{position[1]}".encode()).decode()


def _position(token: str | None) -> tuple[int, int] | None:
    if not token:
        return None
    try:
        timestamp, seq = base64.urlsafe_b64decode(token.encode()).decode().split("/")
        return int(timestamp), int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidParameterException("The specified nextToken is invalid.") from None


def _page(items: list[Any], token: str | None, limit: int | None) -> tuple[list[Any], dict[str, str]]:
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InvalidParameterException("The specified nextToken is invalid.") from None
    size = min(limit or MAX_LIST_PAGE, MAX_LIST_PAGE)
    end = start + size
    more = {"nextToken": base64.urlsafe_b64encode(str(end).encode()).decode()} if end < len(items) else {}
    return items[start:end], more


def describe_log_groups(mesh: Mesh, params: dict[str, Any]) -> dict[str, Any]:
    prefix, pattern = params.get("logGroupNamePrefix"), params.get("logGroupNamePattern")
    if prefix and pattern:
        raise InvalidParameterException(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
    wanted = set(params.get("logGroupIdentifiers") or ())
    groups = sorted(mesh.resources("logs", LogGroup), key=lambda g: g.name)
    groups = [g for g in groups if (not prefix or g.name.startswith(prefix))
              and (not pattern or pattern.lower() in g.name.lower())
              and (not wanted or g.name in wanted or g.arn in wanted)]
    page, more = _page(groups, params.get("nextToken"), params.get("limit"))
    return {"logGroups": [g.describe() for g in page], **more}


def describe_log_streams(mesh: Mesh, params: dict[str, Any]) -> dict[str, Any]:
    group = find_group(mesh, params.get("logGroupName"), params.get("logGroupIdentifier"))
    prefix = params.get("logStreamNamePrefix")
    order = params.get("orderBy") or "LogStreamName"
    if prefix and order == "LastEventTime":
        raise InvalidParameterException("Cannot order by LastEventTime with a logStreamNamePrefix.")
    streams = [s for s in group.streams.values() if not prefix or s.name.startswith(prefix)]
    if order == "LastEventTime":
        streams.sort(key=lambda s: (s.last_event_ms or 0, s.name))
    else:
        streams.sort(key=lambda s: s.name)
    if params.get("descending"):
        streams.reverse()
    page, more = _page(streams, params.get("nextToken"), params.get("limit"))
    return {"logStreams": [s.describe() for s in page], **more}


# -- writes ---------------------------------------------------------------------------------------

def put_log_events(mesh: Mesh, group_name: str, stream_name: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """PutLogEvents: events in time order within 24 h; too old / too new ones are reported."""
    group = find_group(mesh, group_name)
    stream = _find_stream(group, stream_name)
    if len(events) > MAX_BATCH_EVENTS:
        raise InvalidParameterException(f"Log events batch exceeds the maximum of {MAX_BATCH_EVENTS} events.")
    size = 0
    previous = None
    for event in events:
        message = event["message"]
        event_bytes = len(message.encode()) + EVENT_OVERHEAD_BYTES
        if event_bytes > MAX_EVENT_BYTES:
            raise InvalidParameterException(f"Log event too large: {event_bytes} bytes exceeds limit of "
                                            f"{MAX_EVENT_BYTES}")
        size += event_bytes
        if previous is not None and event["timestamp"] < previous:
            raise InvalidParameterException("Log events in a single PutLogEvents request must be in "
                                            "chronological order.")
        previous = event["timestamp"]
    if size > MAX_BATCH_BYTES:
        raise InvalidParameterException(f"Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}")
    if events and events[-1]["timestamp"] - events[0]["timestamp"] > MAX_BATCH_SPAN_MS:
        raise InvalidParameterException("The batch of log events in a single PutLogEvents request cannot "
                                        "span more than 24 hours.")
    now = _now_ms(mesh)
    oldest = now - MAX_EVENT_AGE_MS
    floor = group.oldest_visible_ms(now)
    expired_before = oldest if floor is None else max(oldest, floor)
    too_old = expired = too_new = None
    kept: list[tuple[int, str]] = []
    for i, event in enumerate(events):
        timestamp = event["timestamp"]
        if timestamp < oldest:
            too_old = i
        elif timestamp < expired_before:
            expired = i
        elif timestamp > now + MAX_EVENT_AHEAD_MS:
            too_new = i if too_new is None else too_new
        else:
            kept.append((timestamp, event["message"]))
    stream.append(kept, now)
    out: dict[str, Any] = {"nextSequenceToken": str(group.seq)}
    rejected: dict[str, int] = {}
    if too_old is not None:
        rejected["tooOldLogEventEndIndex"] = too_old + 1
    if expired is not None:
        rejected["expiredLogEventEndIndex"] = expired + 1
    if too_new is not None:
        rejected["tooNewLogEventStartIndex"] = too_new
    if rejected:
        out["rejectedLogEventsInfo"] = rejected
    return out


def install(mesh: Mesh) -> None:
    """Take the ``LogEvents`` that Lambda emits for its functions' output (the composition root
    calls this once per mesh and process: the subscription is not kept in a snapshot, a
    restored engine is installed again)."""

    def write(effect: LogEvents) -> None:
        scope = mesh.scope(effect.account_id, effect.region)
        group = ensure_log_group(scope, effect.group)
        group.stream(effect.stream, _now_ms(scope)).append(effect.events, _now_ms(scope))

    mesh.subscribe(LogEvents, Ephemeral(write))


# -- reads ----------------------------------------------------------------------------------------

def _limit(params: dict[str, Any]) -> int:
    return min(params.get("limit") or MAX_READ_EVENTS, MAX_READ_EVENTS)


def _collect(events: Iterator[tuple[LogStream, Any]], limit: int) -> tuple[list[tuple[LogStream, Any]], bool]:
    """Up to ``limit`` events and 1 MB; True when more were left."""
    out: list[tuple[LogStream, Any]] = []
    size = 0
    for stream, event in events:
        size += len(event.message) + EVENT_OVERHEAD_BYTES
        if out and (len(out) >= limit or size > MAX_READ_BYTES):
            return out, True
        out.append((stream, event))
    return out, False


def get_log_events(mesh: Mesh, params: dict[str, Any]) -> dict[str, Any]:
    """GetLogEvents: oldest first from ``startFromHead`` or a forward token, else the newest
    page; ``nextForwardToken`` is the token given when nothing newer exists (clients stop on a
    repeated token)."""
    group = find_group(mesh, params.get("logGroupName"), params.get("logGroupIdentifier"))
    stream = _find_stream(group, params["logStreamName"])
    start, end = params.get("startTime"), params.get("endTime")
    limit = _limit(params)
    token = params.get("nextToken")
    now = _now_ms(mesh)
    if token and not token.startswith(("f/", "b/")):
        raise InvalidParameterException("The specified nextToken is invalid.")
    backward = bool(token and token.startswith("b/")) or (not token and not params.get("startFromHead"))
    position = _position(token[2:]) if token else None
    every = [event for _, event in group.merged([stream], start, end, None, now)]
    if backward:
        if position is not None:
            every = [e for e in every if (e.timestamp, e.seq) < position]
        page = every[-limit:]
    else:
        page = [e for _, e in _collect(((stream, e) for e in every
                                        if position is None or (e.timestamp, e.seq) > position), limit)[0]]
    events = [{"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time} for e in page]
    if page:
        forward = "f/" + _token((page[-1].timestamp, page[-1].seq))
        back = "b/" + _token((page[0].timestamp, page[0].seq))
    else:
        forward = token if token and token.startswith("f/") else "f/" + _token(position or (0, 0))
        back = token if token and token.startswith("b/") else "b/" + _token(position or (0, 0))
    return {"events": events, "nextForwardToken": forward, "nextBackwardToken": back}


def filter_log_events(mesh: Mesh, params: dict[str, Any]) -> dict[str, Any]:
    """FilterLogEvents: events of the group's streams (by names or prefix) in time order, each
    with its stream and ``eventId``; ``nextToken`` only while more may follow."""
    group = find_group(mesh, params.get("logGroupName"), params.get("logGroupIdentifier"))
    names, prefix = params.get("logStreamNames"), params.get("logStreamNamePrefix")
    if names and prefix:
        raise InvalidParameterException("logStreamNames and logStreamNamePrefix are mutually exclusive.")
    if names:
        streams = [group.streams[n] for n in names if n in group.streams]
        if not streams:
            raise stream_not_found()
    else:
        streams = [s for s in group.streams.values() if not prefix or s.name.startswith(prefix)]
    matches = compile_filter(params.get("filterPattern"))
    merged = group.merged(streams, params.get("startTime"), params.get("endTime"),
                          _position(params.get("nextToken")), _now_ms(mesh))
    limit = _limit(params)
    page, more = _collect(((s, e) for s, e in merged if matches(e.message)), limit)
    events = [{"logStreamName": s.name, "timestamp": e.timestamp, "message": e.message,
               "ingestionTime": e.ingestion_time, "eventId": f"{e.timestamp:020d}{e.seq:036d}"}
              for s, e in page]
    out: dict[str, Any] = {"events": events,
                           "searchedLogStreams": [{"logStreamName": s.name, "searchedCompletely": True}
                                                  for s in streams]}
    if more and page:
        last = page[-1][1]
        out["nextToken"] = _token((last.timestamp, last.seq))
    return out


def recent_log_lines(mesh: Mesh, function_name: str, limit: int = 50) -> list[LogLine]:
    """The latest ``limit`` lines a Lambda function wrote (``/aws/lambda/<name>``), oldest first;
    empty when it wrote none. For consoles (the front doors)."""
    group = mesh.find(_group_arn(mesh, f"/aws/lambda/{function_name}"), LogGroup)
    if group is None:
        return []
    lines = [LogLine(e.timestamp, s.name, e.message)
             for s, e in group.merged(group.streams.values(), None, None, None, _now_ms(mesh))]
    return lines[-limit:]
