"""CloudWatch Logs log groups and streams: events in time order, retention, reads by time range.

Everything that decides what a log group holds lives here. A :class:`LogGroup` is a mesh
resource (``arn:aws:logs:<region>:<account>:log-group:<name>``) holding named :class:`LogStream`s;
a stream keeps its events ordered by ``(timestamp, sequence)`` (an append in time order is O(1),
an older one is inserted with bisect). Retention (``retentionInDays``) hides events older than
the period from every read. eventmesh keeps at most ``MAX_EVENTS_PER_GROUP`` events per group
(AWS keeps everything until retention): past it the oldest events go first, so a long load test
cannot fill the daemon's memory. Reads merge streams by timestamp (``heapq.merge``), O(events
returned + streams · log events) per read.
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/logs/Working-with-log-groups-and-streams.html
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html
"""

from __future__ import annotations

import heapq
from bisect import bisect_right, insort
from collections.abc import Iterable, Iterator

import msgspec

__all__ = ["LogEvent", "LogGroup", "LogStream", "MAX_EVENTS_PER_GROUP", "DAY_MS"]

MAX_EVENTS_PER_GROUP = 200_000   # eventmesh's memory bound (see the module docstring)
_TRIM_SHARE = 10                 # past the bound, drop a tenth at once (amortised)
DAY_MS = 86_400_000


class LogEvent(msgspec.Struct, frozen=True, gc=False, order=True):
    """One event; ordered by time, then by arrival in its group."""

    timestamp: int
    seq: int
    message: str
    ingestion_time: int


class LogStream:
    """One stream of a group: events in ``(timestamp, seq)`` order."""

    def __init__(self, group: LogGroup, name: str, created_ms: int) -> None:
        self.group = group
        self.name = name
        self.arn = f"{group.arn}:log-stream:{name}"
        self.creation_time = created_ms
        self.events: list[LogEvent] = []
        self.first_event_ms: int | None = None
        self.last_event_ms: int | None = None
        self.last_ingestion_ms: int | None = None
        self.stored_bytes = 0

    def append(self, events: Iterable[tuple[int, str]], now_ms: int) -> int:
        """Add events; returns how many."""
        group = self.group
        stored = self.events
        n = 0
        for timestamp, message in events:
            group.seq += 1
            event = LogEvent(timestamp, group.seq, message, now_ms)
            if not stored or timestamp >= stored[-1].timestamp:
                stored.append(event)
            else:
                insort(stored, event)
            self.stored_bytes += len(message)
            n += 1
        if n:
            self.first_event_ms = stored[0].timestamp
            self.last_event_ms = stored[-1].timestamp
            self.last_ingestion_ms = now_ms
            group.count += n
            if group.count > MAX_EVENTS_PER_GROUP:
                group.trim()
        return n

    def since(self, after: tuple[int, int] | None, start_ms: int | None) -> int:
        """Index of the first event after the position ``after`` and at or after ``start_ms``."""
        events = self.events
        index = 0
        if start_ms is not None:
            index = bisect_right(events, (start_ms - 1, 1 << 62), key=lambda e: (e.timestamp, e.seq))
        if after is not None:
            index = max(index, bisect_right(events, after, key=lambda e: (e.timestamp, e.seq)))
        return index

    def describe(self) -> dict[str, object]:
        """The ``LogStream`` shape (``storedBytes`` is 0 on AWS too: deprecated)."""
        out: dict[str, object] = {"logStreamName": self.name, "creationTime": self.creation_time,
                                  "arn": self.arn, "storedBytes": 0}
        if self.first_event_ms is not None:
            out.update(firstEventTimestamp=self.first_event_ms, lastEventTimestamp=self.last_event_ms,
                       lastIngestionTime=self.last_ingestion_ms, uploadSequenceToken=str(self.group.seq))
        return out


class LogGroup:
    """``arn:aws:logs:<region>:<account>:log-group:<name>`` and its streams."""

    def __init__(self, arn: str, name: str, created_ms: int, tags: dict[str, str] | None = None) -> None:
        self.arn = arn
        self.name = name
        self.creation_time = created_ms
        self.retention_days: int | None = None
        self.tags = dict(tags or {})
        self.streams: dict[str, LogStream] = {}
        self.seq = 0
        self.count = 0

    def stream(self, name: str, now_ms: int) -> LogStream:
        """The stream named ``name``, created when missing (what Lambda's log agent does)."""
        stream = self.streams.get(name)
        if stream is None:
            stream = self.streams[name] = LogStream(self, name, now_ms)
        return stream

    def oldest_visible_ms(self, now_ms: int) -> int | None:
        return None if self.retention_days is None else now_ms - self.retention_days * DAY_MS

    def merged(self, streams: Iterable[LogStream], start_ms: int | None, end_ms: int | None,
               after: tuple[int, int] | None, now_ms: int) -> Iterator[tuple[LogStream, LogEvent]]:
        """Events of ``streams`` in time order within ``[start_ms, end_ms)``, after ``after``."""
        floor = self.oldest_visible_ms(now_ms)
        if floor is not None:
            start_ms = floor if start_ms is None else max(start_ms, floor)

        def one(stream: LogStream) -> Iterator[tuple[tuple[int, int], LogStream, LogEvent]]:
            events = stream.events
            for i in range(stream.since(after, start_ms), len(events)):
                event = events[i]
                if end_ms is not None and event.timestamp >= end_ms:
                    return
                yield (event.timestamp, event.seq), stream, event

        for _, stream, event in heapq.merge(*(one(s) for s in streams), key=lambda item: item[0]):
            yield stream, event

    def trim(self) -> None:
        """Drop the oldest events of the group until a tenth of the bound is free."""
        target = MAX_EVENTS_PER_GROUP - MAX_EVENTS_PER_GROUP // _TRIM_SHARE
        drop = self.count - target
        oldest = heapq.nsmallest(drop, ((e.timestamp, e.seq) for s in self.streams.values() for e in s.events))
        if not oldest:
            return
        cut = oldest[-1]
        for stream in self.streams.values():
            keep = stream.since(cut, None)
            if keep:
                self.count -= keep
                del stream.events[:keep]
                stream.first_event_ms = stream.events[0].timestamp if stream.events else None

    def describe(self) -> dict[str, object]:
        """The ``LogGroup`` shape."""
        out: dict[str, object] = {"logGroupName": self.name, "creationTime": self.creation_time,
                                  "metricFilterCount": 0, "arn": f"{self.arn}:*", "storedBytes": 0,
                                  "logGroupClass": "STANDARD", "logGroupArn": self.arn,
                                  "deletionProtectionEnabled": False}
        if self.retention_days is not None:
            out["retentionInDays"] = self.retention_days
        return out
