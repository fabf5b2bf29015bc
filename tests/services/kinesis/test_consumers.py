"""Enhanced fan-out core in virtual time: consumers, subscriptions, pushed events, their limits."""

from __future__ import annotations

import pytest

from eventmesh.services.kinesis import consumers
from eventmesh.services.kinesis.errors import (
    InvalidArgumentException,
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from eventmesh.services.kinesis.service import create_stream, delete_stream
from eventmesh.testing import virtual_mesh

SHARD = "shardId-000000000000"


def _setup(shards: int = 1):
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", shards)
    consumer = consumers.register_consumer(mesh, stream, "c1")
    return mesh, driver, stream, consumer


def test_consumer_arn_status_and_lookup():
    mesh, driver, stream, consumer = _setup()
    assert consumer.arn == f"{stream.arn}/consumer/c1:{int(mesh.clock.now())}"
    assert consumer.status == "ACTIVE"
    assert consumers.describe_consumer(mesh, consumer_arn=consumer.arn) is consumer
    assert consumers.describe_consumer(mesh, stream, "c1") is consumer
    with pytest.raises(ResourceInUseException, match="already exists"):
        consumers.register_consumer(mesh, stream, "c1")
    with pytest.raises(ResourceNotFoundException):
        consumers.describe_consumer(mesh, stream, "nope")
    with pytest.raises(InvalidArgumentException):
        consumers.describe_consumer(mesh, stream, "other", consumer.arn)
    slow = consumers.register_consumer(mesh, stream, "slow", delay_s=3)
    assert slow.status == "CREATING"
    driver.advance(3)
    assert slow.status == "ACTIVE"


def test_twenty_consumers_per_stream_and_five_creating_at_once():
    mesh, driver, stream, _ = _setup()
    for i in range(5):
        consumers.register_consumer(mesh, stream, f"creating-{i}", delay_s=10)
    with pytest.raises(LimitExceededException, match="CREATING"):
        consumers.register_consumer(mesh, stream, "sixth", delay_s=10)
    driver.advance(10)
    for i in range(14):
        consumers.register_consumer(mesh, stream, f"c{i + 2}")
    with pytest.raises(LimitExceededException, match="limit of 20"):
        consumers.register_consumer(mesh, stream, "c21")


def test_list_pages_and_deregister_ends_subscriptions():
    mesh, driver, stream, consumer = _setup()
    for i in range(3):
        driver.advance(1)
        consumers.register_consumer(mesh, stream, f"c{i + 2}")
    page, token = consumers.list_consumers(stream, 2)
    assert [c.name for c in page] == ["c1", "c2"] and token
    page, token = consumers.list_consumers(stream, 2, token)
    assert [c.name for c in page] == ["c3", "c4"] and token is None
    subscription = consumers.subscribe(mesh, consumer.arn, SHARD, "LATEST")
    consumers.deregister_consumer(mesh, consumer)
    assert not subscription.alive(mesh.clock.now())
    assert [c.name for c in consumers.list_consumers(stream)[0]] == ["c2", "c3", "c4"]


def test_events_push_records_then_heartbeats_every_five_seconds():
    mesh, driver, stream, consumer = _setup()
    stream.put_record(b"before", "k")
    subscription = consumers.subscribe(mesh, consumer.arn, SHARD, "TRIM_HORIZON")
    first = subscription.poll(mesh.clock.now())
    assert first is not None and [r.data for r in first.records] == [b"before"]
    assert first.continuation_sequence_number == first.records[0].sequence_number
    assert subscription.poll(mesh.clock.now()) is None  # nothing new, heartbeat not due
    _, seq = stream.put_record(b"after", "k")
    event = subscription.poll(mesh.clock.now())
    assert event is not None and [r.data for r in event.records] == [b"after"]
    assert subscription.next_wake(mesh.clock.now()) == mesh.clock.now() + 5
    driver.advance(5)
    beat = subscription.poll(mesh.clock.now())
    assert beat is not None and beat.records == [] and beat.continuation_sequence_number == seq


def test_continuation_of_an_empty_shard_reads_from_its_start():
    mesh, driver, stream, consumer = _setup()
    subscription = consumers.subscribe(mesh, consumer.arn, SHARD, "TRIM_HORIZON")
    event = subscription.poll(mesh.clock.now())
    assert event is not None and event.records == []
    stream.put_record(b"first", "k")
    again = consumers.subscribe  # resubscribing from the checkpoint finds the first record
    driver.advance(5)
    checkpoint = str(event.continuation_sequence_number)
    subscription = again(mesh, consumer.arn, SHARD, "AFTER_SEQUENCE_NUMBER", checkpoint)
    first = subscription.poll(mesh.clock.now())
    assert first is not None and [r.data for r in first.records] == [b"first"]


def test_resubscribing_within_five_seconds_is_refused_later_takes_over():
    mesh, driver, stream, consumer = _setup()
    first = consumers.subscribe(mesh, consumer.arn, SHARD, "LATEST")
    driver.advance(4.9)
    with pytest.raises(ResourceInUseException):
        consumers.subscribe(mesh, consumer.arn, SHARD, "LATEST")
    driver.advance(0.1)
    second = consumers.subscribe(mesh, consumer.arn, SHARD, "LATEST")
    assert first.superseded and not first.alive(mesh.clock.now()) and second.alive(mesh.clock.now())


def test_subscription_lasts_five_minutes():
    mesh, driver, stream, consumer = _setup()
    subscription = consumers.subscribe(mesh, consumer.arn, SHARD, "LATEST")
    driver.advance(299.9)
    assert subscription.alive(mesh.clock.now())
    driver.advance(0.1)
    assert not subscription.alive(mesh.clock.now())


def test_a_consumer_reads_a_shard_at_two_mib_a_second():
    mesh, driver, stream, consumer = _setup(16)
    for _ in range(4):  # 4 × 1 MB into shard 0, within its write quota
        stream.put_record(b"x" * 1_000_000, "k", explicit_hash_key="0")
        driver.advance(1)
    subscription = consumers.subscribe(mesh, consumer.arn, SHARD, "TRIM_HORIZON")
    event = subscription.poll(mesh.clock.now())
    assert event is not None and len(event.records) == 2  # 2 MB of the 2 MiB budget
    assert subscription.poll(mesh.clock.now()) is None
    wake = subscription.next_wake(mesh.clock.now())
    assert wake == pytest.approx(mesh.clock.now() + 2_000_008 / 2_097_152, abs=1e-3)
    driver.advance(wake - mesh.clock.now())
    rest = subscription.poll(mesh.clock.now())
    assert rest is not None and len(rest.records) == 2


def test_the_end_of_a_closed_shard_names_its_children_and_ends():
    mesh, driver, stream, consumer = _setup()
    stream.put_record(b"a", "k")
    subscription = consumers.subscribe(mesh, consumer.arn, SHARD, "TRIM_HORIZON")
    stream.split_shard(SHARD, str(1 << 127))
    event = subscription.poll(mesh.clock.now())
    assert event is not None and [r.data for r in event.records] == [b"a"]
    assert [c.shard_id for c in event.child_shards or []] == ["shardId-000000000001", "shardId-000000000002"]
    assert not subscription.alive(mesh.clock.now())


def test_consumers_go_with_their_stream():
    mesh, _, stream, consumer = _setup()
    subscription = consumers.subscribe(mesh, consumer.arn, SHARD, "LATEST")
    delete_stream(mesh, stream)
    assert not subscription.alive(mesh.clock.now())
    with pytest.raises(ResourceNotFoundException):
        consumers.describe_consumer(mesh, consumer_arn=consumer.arn)
