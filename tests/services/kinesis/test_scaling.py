"""UpdateShardCount and UpdateStreamMode in virtual time."""

from __future__ import annotations

import pytest

from eventmesh.services.kinesis.errors import (
    InvalidArgumentException,
    LimitExceededException,
    ValidationException,
)
from eventmesh.services.kinesis.scaling import update_shard_count, update_stream_mode
from eventmesh.services.kinesis.service import create_stream
from eventmesh.services.kinesis.shards import HASH_KEY_LIMIT
from eventmesh.testing import virtual_mesh


def test_create_without_shard_count_is_an_on_demand_stream_of_four_shards():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "s")
    assert stream.mode == "ON_DEMAND" and len(stream.open_shards) == 4
    with pytest.raises(InvalidArgumentException, match="ShardCount is required"):
        create_stream(mesh, "p", mode="PROVISIONED")


def test_uniform_scaling_doubles_and_halves_with_lineage():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", 2)
    stream.put_record(b"old", "k")
    assert update_shard_count(stream, 4, mesh.clock.now()) == 2
    open_shards = stream.open_shards
    assert [(s.hash_key_start, s.hash_key_end) for s in open_shards] == [
        (i * HASH_KEY_LIMIT // 4, (i + 1) * HASH_KEY_LIMIT // 4 - 1) for i in range(4)]
    assert [s.parent_shard_id for s in open_shards] == ["shardId-000000000000"] * 2 + ["shardId-000000000001"] * 2
    assert all(s.adjacent_parent_shard_id is None for s in open_shards)
    assert not stream.shards[0].is_open and stream.shards[0].child_shard_ids == [
        "shardId-000000000002", "shardId-000000000003"]
    update_shard_count(stream, 2, mesh.clock.now())
    merged = stream.open_shards
    assert [(s.parent_shard_id, s.adjacent_parent_shard_id) for s in merged] == [
        ("shardId-000000000002", "shardId-000000000003"), ("shardId-000000000004", "shardId-000000000005")]
    stream.put_record(b"new", "k")  # routing follows the new shards
    assert sum(s.record_count for s in merged) == 1


def test_scaling_limits():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", 4)
    with pytest.raises(InvalidArgumentException, match="over double"):
        update_shard_count(stream, 9, mesh.clock.now())
    with pytest.raises(InvalidArgumentException, match="below half"):
        update_shard_count(stream, 1, mesh.clock.now())
    for i in range(10):
        update_shard_count(stream, 4 + i % 2, mesh.clock.now())
        driver.advance(60)
    with pytest.raises(LimitExceededException, match="rolling 24 hour"):
        update_shard_count(stream, 4, mesh.clock.now())
    driver.advance(86_400 - 600)
    update_shard_count(stream, 4, mesh.clock.now())  # the first of the ten left the window
    on_demand = create_stream(mesh, "od")
    with pytest.raises(ValidationException, match="On-Demand"):
        update_shard_count(on_demand, 8, mesh.clock.now())


def test_update_stream_mode_keeps_the_shards():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "s", 3)
    update_stream_mode(mesh, stream, "ON_DEMAND")
    assert stream.mode == "ON_DEMAND" and len(stream.open_shards) == 3
    with pytest.raises(InvalidArgumentException, match="already in ON_DEMAND"):
        update_stream_mode(mesh, stream, "ON_DEMAND")
    update_stream_mode(mesh, stream, "PROVISIONED")
    assert stream.mode == "PROVISIONED"
    update_shard_count(stream, 6, mesh.clock.now())
    assert len(stream.open_shards) == 6
