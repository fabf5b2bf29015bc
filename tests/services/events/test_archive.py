from __future__ import annotations

import json
from typing import Any

import pytest

from eventmesh.clock import VIRTUAL_EPOCH
from eventmesh.services.events.archive import (
    cancel_replay,
    create_archive,
    delete_archive,
    get_archive,
    get_replay,
    list_archives,
    start_replay,
)
from eventmesh.services.events.errors import (
    IllegalStatusException,
    LimitExceededException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ValidationException,
)
from eventmesh.services.events.records import PutEventsRequestEntry
from eventmesh.services.events.service import create_bus, default_bus, put_events
from eventmesh.testing import virtual_mesh
from tests.services.events.helpers import recorder, sqs_arn

pytestmark = pytest.mark.usefixtures("events_engine")  # the bus's Python loop and its C twin

PATTERN = json.dumps({"source": ["my.app"]})


def entry(n: int, source: str = "my.app") -> PutEventsRequestEntry:
    return PutEventsRequestEntry(source=source, detail_type="T", detail=json.dumps({"n": n}))


def setup() -> Any:
    mesh, driver = virtual_mesh()
    bus = default_bus(mesh)
    queue = recorder(mesh, sqs_arn("q"))
    bus.put_rule("r1", event_pattern=json.dumps({"detail-type": ["T"]}))
    bus.put_targets("r1", [{"Id": "t", "Arn": queue.arn}])
    return mesh, driver, bus, queue


def test_archive_keeps_the_events_its_pattern_matches() -> None:
    mesh, driver, bus, _ = setup()
    archive = create_archive(mesh, "mine", bus.arn, event_pattern=PATTERN)
    everything = create_archive(mesh, "all", bus.arn)
    put_events(mesh, [entry(1), entry(2, source="other.app")])
    assert archive.describe()["EventCount"] == 1
    assert everything.describe()["EventCount"] == 2
    assert archive.describe()["SizeBytes"] == len(archive.events[0][1])
    assert [a.name for a in list_archives(mesh)] == ["all", "mine"]
    assert get_archive(mesh, archive.arn) is archive


def test_replaying_an_archive_redelivers_with_the_replay_name() -> None:
    mesh, driver, bus, queue = setup()
    archive = create_archive(mesh, "all", bus.arn)
    response = put_events(mesh, [entry(1), entry(2)])
    driver.advance(120)
    put_events(mesh, [entry(3)])
    driver.run_until_idle()
    replay = start_replay(mesh, "again", archive.arn, VIRTUAL_EPOCH - 60, VIRTUAL_EPOCH + 600,
                          {"Arn": bus.arn})
    assert replay.state == "STARTING"
    driver.run_until_idle()
    replayed = [json.loads(b) for b in queue.bodies[3:]]
    assert [e["detail"]["n"] for e in replayed] == [1, 2, 3]
    assert all(e["replay-name"] == "again" for e in replayed)
    assert [e["id"] for e in replayed[:2]] == [e.event_id for e in response.entries]
    assert list(replayed[0]) == ["version", "id", "detail-type", "source", "account", "time", "region",
                                 "resources", "detail", "replay-name"]
    described = get_replay(mesh, "again").describe()
    assert described["State"] == "COMPLETED"
    assert described["EventLastReplayedTime"] == VIRTUAL_EPOCH + 120
    assert archive.describe()["EventCount"] == 3  # replayed events are never archived again


def test_replay_goes_in_one_minute_slices() -> None:
    mesh, driver, bus, queue = setup()
    archive = create_archive(mesh, "all", bus.arn)
    for _ in range(3):
        put_events(mesh, [entry(1)])
        driver.advance(60)
    driver.run_until_idle()
    start_replay(mesh, "slices", archive.arn, VIRTUAL_EPOCH, VIRTUAL_EPOCH + 3600, {"Arn": bus.arn})
    driver.run_until_idle()
    replay_times = [t for t, _, _ in queue.batches[3:]]
    assert len(replay_times) == 3 and replay_times[1] - replay_times[0] == 1.0


def test_replay_only_reaches_its_filter_rules() -> None:
    mesh, driver, bus, queue = setup()
    other = recorder(mesh, sqs_arn("other"))
    bus.put_rule("r2", event_pattern=PATTERN)
    bus.put_targets("r2", [{"Id": "t", "Arn": other.arn}])
    archive = create_archive(mesh, "all", bus.arn)
    put_events(mesh, [entry(1)])
    start_replay(mesh, "only-r2", archive.arn, VIRTUAL_EPOCH - 1, VIRTUAL_EPOCH + 1,
                 {"Arn": bus.arn, "FilterArns": [bus.rules["r2"].arn]})
    driver.run_until_idle()
    assert len(queue.bodies) == 1 and len(other.bodies) == 2
    assert "replay-name" in json.loads(other.bodies[1])


def test_replay_and_archive_errors() -> None:
    mesh, driver, bus, _ = setup()
    custom = create_bus(mesh, "custom")
    archive = create_archive(mesh, "a", bus.arn)
    with pytest.raises(ResourceAlreadyExistsException, match="Archive a already exists."):
        create_archive(mesh, "a", bus.arn)
    with pytest.raises(ResourceNotFoundException, match="Event bus nope does not exist."):
        create_archive(mesh, "b", mesh.arn("events", "event-bus/nope"))
    with pytest.raises(ResourceNotFoundException, match="Archive zz does not exist."):
        get_archive(mesh, "zz")
    with pytest.raises(ValidationException, match="Cross event bus replay is not permitted."):
        start_replay(mesh, "x", archive.arn, 0, 1, {"Arn": custom.arn})
    with pytest.raises(ValidationException, match="EventStartTime must be before EventEndTime."):
        start_replay(mesh, "x", archive.arn, 5, 1, {"Arn": bus.arn})
    with pytest.raises(ValidationException, match="At least one of EventPattern"):
        archive.update(event_pattern=None, description=None, retention_days=None)
    start_replay(mesh, "x", archive.arn, 0, 1, {"Arn": bus.arn})
    with pytest.raises(ResourceAlreadyExistsException, match="Replay x already exists."):
        start_replay(mesh, "x", archive.arn, 0, 1, {"Arn": bus.arn})
    for i in range(9):
        start_replay(mesh, f"r{i}", archive.arn, 0, 1, {"Arn": bus.arn})
    with pytest.raises(LimitExceededException):
        start_replay(mesh, "eleventh", archive.arn, 0, 1, {"Arn": bus.arn})
    driver.run_until_idle()
    with pytest.raises(IllegalStatusException):
        cancel_replay(mesh, "x")
    delete_archive(mesh, "a")
    assert bus.archives == {}


def test_cancelled_replay_stops_between_slices() -> None:
    mesh, driver, bus, queue = setup()
    archive = create_archive(mesh, "all", bus.arn)
    for _ in range(3):
        put_events(mesh, [entry(1)])
        driver.advance(60)
    replay = start_replay(mesh, "c", archive.arn, VIRTUAL_EPOCH, VIRTUAL_EPOCH + 3600, {"Arn": bus.arn})
    driver.advance(0)
    assert replay.state == "RUNNING"
    cancel_replay(mesh, "c")
    driver.run_until_idle()
    assert replay.state == "CANCELLED"
    assert len(queue.bodies) == 4


def test_retention_drops_old_events() -> None:
    mesh, driver, bus, _ = setup()
    archive = create_archive(mesh, "short", bus.arn, retention_days=1)
    put_events(mesh, [entry(1)])
    driver.advance(86_400 + 1)
    put_events(mesh, [entry(2)])
    assert archive.describe()["EventCount"] == 1
