"""EventBridge archives and replays.

An archive keeps the events of one bus that match its pattern (all of them without one),
**except replayed events**, for ``RetentionDays`` (0 or omitted: forever). A replay puts the
archived events whose event time lies in [EventStartTime, EventEndTime] back on the archive's
own bus in 1-minute slices of event time, each with a top-level ``"replay-name"``, matched only
against the rules of ``Destination.FilterArns`` (or every rule). At most 10 replays run at once.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-archive.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-replay-archived-event.html

A replay is one timer at a time: each slice replays, then arms the next.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from eventmesh.mesh import Mesh
from eventmesh.patterns import compile_pattern
from eventmesh.services.events.bus import EventBus, compile_event_pattern
from eventmesh.services.events.errors import (
    LIMIT_EXCEEDED_MESSAGE,
    IllegalStatusException,
    LimitExceededException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ValidationException,
)
from eventmesh.services.events.records import parse_iso
from eventmesh.timers import Timer

__all__ = ["Archive", "Replay", "create_archive", "get_archive", "delete_archive", "list_archives",
           "start_replay", "get_replay", "cancel_replay", "list_replays",
           "MAX_ACTIVE_REPLAYS", "REPLAY_SLICE_S", "REPLAY_SLICE_INTERVAL_S"]

MAX_ACTIVE_REPLAYS = 10              # per account/Region
REPLAY_SLICE_S = 60            # events are replayed in 1-minute slices of event time
REPLAY_SLICE_INTERVAL_S = 1.0  # emulation pace between slices (AWS publishes none)
SECONDS_PER_DAY = 86_400
_ACTIVE = ("STARTING", "RUNNING")
_decode = msgspec.json.Decoder().decode


class Archive:
    """Archived events of one bus, in ingestion order: (ingestion time, event JSON)."""

    def __init__(self, bus: EventBus, name: str, *, event_pattern: str | None, description: str | None,
                 retention_days: int | None) -> None:
        self.bus = bus
        self.mesh = bus.mesh
        self.name = name
        self.arn = bus.mesh.arn("events", f"archive/{name}")
        self.source_arn = bus.arn
        self.event_pattern = event_pattern
        self._pattern = None if event_pattern is None else compile_pattern(event_pattern)
        self.description = description
        self.retention_days = retention_days or 0
        self.state = "ENABLED"
        self.state_reason: str | None = None
        self.created = bus.mesh.clock.now()
        self.events: list[tuple[float, str]] = []
        self.size_bytes = 0

    def offer(self, event: Mapping[str, Any], event_json: str, ingested_at: float) -> None:
        """Keep the event if the archive is enabled and its pattern matches."""
        if self.state != "ENABLED" or (self._pattern is not None and not self._pattern.matches(event)):
            return
        self.events.append((ingested_at, event_json))
        self.size_bytes += len(event_json)

    def expire(self) -> None:
        """Drop events past the retention period (lazily, when the archive is read)."""
        if not self.retention_days or not self.events:
            return
        horizon = self.mesh.clock.now() - self.retention_days * SECONDS_PER_DAY
        keep = next((i for i, (at, _) in enumerate(self.events) if at >= horizon), len(self.events))
        if keep:
            self.size_bytes -= sum(len(text) for _, text in self.events[:keep])
            del self.events[:keep]

    def update(self, *, event_pattern: str | None, description: str | None,
               retention_days: int | None) -> None:
        if event_pattern is None and description is None and retention_days is None:
            raise ValidationException(
                "At least one of EventPattern, RetentionDays or Description must be provided.")
        if event_pattern is not None:
            compile_event_pattern(event_pattern)
            self.event_pattern, self._pattern = event_pattern, compile_pattern(event_pattern)
        if description is not None:
            self.description = description
        if retention_days is not None:
            self.retention_days = retention_days

    def source_deleted(self) -> None:
        self.state, self.state_reason = "DISABLED", "The event source was deleted."

    def close(self) -> None:
        self.bus.archives.pop(self.name, None)

    def describe(self) -> dict[str, Any]:
        self.expire()
        out = {"ArchiveArn": self.arn, "ArchiveName": self.name, "EventSourceArn": self.source_arn,
               "Description": self.description, "EventPattern": self.event_pattern, "State": self.state,
               "StateReason": self.state_reason, "RetentionDays": self.retention_days,
               "SizeBytes": self.size_bytes, "EventCount": len(self.events), "CreationTime": self.created}
        return {k: v for k, v in out.items() if v is not None}


class Replay:
    """A replay of an archive's events onto its bus, one 1-minute slice per timer."""

    def __init__(self, mesh: Mesh, name: str, archive: Archive, start: float, end: float,
                 destination: Mapping[str, Any], description: str | None) -> None:
        self.mesh = mesh
        self.name = name
        self.arn = mesh.arn("events", f"replay/{name}")
        self.archive_arn = archive.arn
        self.bus = archive.bus
        self.start, self.end = start, end
        self.destination = dict(destination)
        self.description = description
        self.state = "STARTING"
        self.state_reason: str | None = None
        self.replay_start = mesh.clock.now()
        self.replay_end: float | None = None
        self.last_replayed: float | None = None
        filter_arns: Sequence[str] = destination.get("FilterArns") or ()
        names = {rule.name for rule in self.bus.rules.values() if rule.arn in filter_arns}
        self.only: frozenset[str] | None = frozenset(names) if filter_arns else None
        self._slices = self._select(archive)
        self._next = 0
        self._timer: Timer | None = mesh.clock.call_later(0.0, self._replay_slice)

    def _select(self, archive: Archive) -> list[list[tuple[float, dict[str, Any]]]]:
        archive.expire()
        chosen: list[tuple[float, dict[str, Any]]] = []
        for _, text in archive.events:
            event = _decode(text)
            at = parse_iso(event.get("time", ""))
            if at is not None and self.start <= at <= self.end:
                chosen.append((at, event))
        chosen.sort(key=lambda pair: pair[0])
        slices: dict[int, list[tuple[float, dict[str, Any]]]] = {}
        for at, event in chosen:
            slices.setdefault(math.floor((at - self.start) / REPLAY_SLICE_S), []).append((at, event))
        return [slices[key] for key in sorted(slices)]

    def _replay_slice(self) -> None:
        self._timer = None
        if self.state == "CANCELLING":
            self._finish("CANCELLED")
            return
        self.state = "RUNNING"
        if self._next < len(self._slices):
            batch = self._slices[self._next]
            self._next += 1
            self.bus.ingest([event for _, event in batch], self.mesh.clock.now(),
                            replay_name=self.name, only=self.only)
            self.last_replayed = batch[-1][0]
        if self._next < len(self._slices):
            self._timer = self.mesh.clock.call_later(REPLAY_SLICE_INTERVAL_S, self._replay_slice)
        else:
            self._finish("COMPLETED")

    def _finish(self, state: str) -> None:
        self.state = state
        self.replay_end = self.mesh.clock.now()

    def cancel(self) -> None:
        if self.state not in _ACTIVE:
            raise IllegalStatusException(f"Replay {self.name} is not in a valid state for this operation.")
        self.state = "CANCELLING"

    def describe(self) -> dict[str, Any]:
        out = {"ReplayName": self.name, "ReplayArn": self.arn, "Description": self.description,
               "State": self.state, "StateReason": self.state_reason, "EventSourceArn": self.archive_arn,
               "Destination": self.destination, "EventStartTime": self.start, "EventEndTime": self.end,
               "EventLastReplayedTime": self.last_replayed, "ReplayStartTime": self.replay_start,
               "ReplayEndTime": self.replay_end}
        return {k: v for k, v in out.items() if v is not None}


def _name_of(arn_or_name: str, kind: str) -> str:
    return arn_or_name.rsplit(f":{kind}/", 1)[-1]


def create_archive(mesh: Mesh, name: str, source_arn: str, *, event_pattern: str | None = None,
                   description: str | None = None, retention_days: int | None = None) -> Archive:
    bus = mesh.find(source_arn, EventBus)
    if bus is None:
        raise ResourceNotFoundException(f"Event bus {_name_of(source_arn, 'event-bus')} does not exist.")
    if mesh.exists(mesh.arn("events", f"archive/{name}")):
        raise ResourceAlreadyExistsException(f"Archive {name} already exists.")
    if event_pattern is not None:
        compile_event_pattern(event_pattern)
    archive = Archive(bus, name, event_pattern=event_pattern, description=description,
                      retention_days=retention_days)
    bus.archives[name] = archive
    return mesh.add(archive)  # type: ignore[no-any-return]


def get_archive(mesh: Mesh, name: str) -> Archive:
    archive = mesh.find(mesh.arn("events", f"archive/{_name_of(name, 'archive')}"), Archive)
    if archive is None:
        raise ResourceNotFoundException(f"Archive {_name_of(name, 'archive')} does not exist.")
    return archive


def delete_archive(mesh: Mesh, name: str) -> None:
    mesh.remove(get_archive(mesh, name).arn)


def list_archives(mesh: Mesh) -> list[Archive]:
    return sorted((r for r in mesh.resources("events") if isinstance(r, Archive)), key=lambda a: a.name)


def start_replay(mesh: Mesh, name: str, archive_arn: str, start: float, end: float,
                 destination: Mapping[str, Any], description: str | None = None) -> Replay:
    """StartReplay, checked in AWS's order: the name is free, the times are ordered, the archive
    exists (``Parameter EventSourceArn is not valid. Reason: Archive <name> does not exist.``),
    and the destination is the archive's own bus (another bus that exists is a cross-bus
    replay; one that does not is ResourceNotFoundException)."""
    if mesh.exists(mesh.arn("events", f"replay/{name}")):
        raise ResourceAlreadyExistsException(f"Replay {name} already exists.")
    if start >= end:
        raise ValidationException(
            "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.")
    archive = mesh.find(mesh.arn("events", f"archive/{_name_of(archive_arn, 'archive')}"), Archive)
    if archive is None:
        raise ValidationException(f"Parameter EventSourceArn is not valid. Reason: Archive "
                                  f"{archive_arn.rsplit('/', 1)[-1]} does not exist.")
    destination_arn = destination.get("Arn")
    if destination_arn != archive.source_arn:
        if mesh.find(destination_arn or "", EventBus) is None:
            bus = (destination_arn or "").rsplit("event-bus/", 1)[-1]
            raise ResourceNotFoundException(f"Event bus {bus} does not exist.")
        raise ValidationException(
            "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.")
    if sum(1 for r in list_replays(mesh) if r.state in _ACTIVE) >= MAX_ACTIVE_REPLAYS:
        raise LimitExceededException(LIMIT_EXCEEDED_MESSAGE)
    return mesh.add(Replay(mesh, name, archive, start, end, destination, description))  # type: ignore[no-any-return]


def get_replay(mesh: Mesh, name: str) -> Replay:
    replay = mesh.find(mesh.arn("events", f"replay/{name}"), Replay)
    if replay is None:
        raise ResourceNotFoundException(f"Replay {name} does not exist.")
    return replay


def cancel_replay(mesh: Mesh, name: str) -> Replay:
    replay = get_replay(mesh, name)
    replay.cancel()
    return replay


def list_replays(mesh: Mesh) -> list[Replay]:
    return sorted((r for r in mesh.resources("events") if isinstance(r, Replay)), key=lambda r: r.name)
