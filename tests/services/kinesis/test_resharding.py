"""Kinesis resharding: SplitShard, MergeShards, lineage, ListShards filters, end of a closed shard."""

from __future__ import annotations

import pytest

from eventmesh.services.kinesis.errors import (
    InvalidArgumentException,
    ResourceInUseException,
    ValidationException,
)
from eventmesh.services.kinesis.service import create_stream, get_records
from eventmesh.services.kinesis.shards import HASH_KEY_LIMIT
from eventmesh.services.kinesis.stream import PutRecordsRequestEntry
from eventmesh.testing import virtual_mesh

HALF = HASH_KEY_LIMIT // 2


def test_split_closes_the_parent_and_opens_two_children_covering_its_range():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", 1)
    _, last = stream.put_record(b"before", "k")
    driver.advance(1)
    stream.split_shard("shardId-000000000000", str(HALF))
    parent, left, right = stream.shards
    assert not parent.is_open and parent.child_shard_ids == ["shardId-000000000001", "shardId-000000000002"]
    assert parent.ending_sequence_number == last == parent.starting_sequence_number + 1
    assert (left.hash_key_start, left.hash_key_end) == (0, HALF - 1)
    assert (right.hash_key_start, right.hash_key_end) == (HALF, HASH_KEY_LIMIT - 1)
    assert left.parent_shard_ids == ("shardId-000000000000",)
    assert [s.shard_id for s in stream.open_shards] == ["shardId-000000000001", "shardId-000000000002"]
    assert left.starting_sequence_number > parent.ending_sequence_number


def test_writes_after_a_split_go_to_the_children_with_larger_sequence_numbers():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", 1)
    _, before = stream.put_record(b"a", "k")
    stream.split_shard("shardId-000000000000", str(HALF))
    shard, after = stream.put_record(b"b", "k")
    assert shard.shard_id in ("shardId-000000000001", "shardId-000000000002")
    assert after > before


def test_reading_a_closed_parent_to_its_end_returns_no_iterator_and_the_children():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", 1)
    stream.put_records([PutRecordsRequestEntry(b"a", "k"), PutRecordsRequestEntry(b"b", "k")])
    iterator = stream.get_shard_iterator("shardId-000000000000", "TRIM_HORIZON")
    stream.split_shard("shardId-000000000000", str(HALF))
    first = get_records(mesh, iterator, limit=1)
    assert [r.data for r in first.records] == [b"a"] and first.next_shard_iterator is not None
    last = get_records(mesh, first.next_shard_iterator)
    assert [r.data for r in last.records] == [b"b"]
    assert last.next_shard_iterator is None
    assert [c.shard_id for c in last.child_shards] == ["shardId-000000000001", "shardId-000000000002"]


def test_poller_read_reports_end_of_a_closed_shard():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "s", 1)
    stream.put_record(b"a", "k")
    parent = stream.shards[0]
    assert parent.read(parent.trim_horizon).end_of_shard is False
    stream.split_shard(parent.shard_id, str(HALF))
    result = parent.read(parent.trim_horizon)
    assert [r.data for r in result.records] == [b"a"] and result.end_of_shard is True
    children = [c.shard_id for c in stream.children_of(parent)]
    assert children == ["shardId-000000000001", "shardId-000000000002"]


def test_merge_closes_both_and_opens_one_child_with_both_parents():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "s", 3)
    stream.merge_shards("shardId-000000000002", "shardId-000000000001")
    child = stream.shards[3]
    assert child.parent_shard_id == "shardId-000000000002"
    assert child.adjacent_parent_shard_id == "shardId-000000000001"
    assert (child.hash_key_start, child.hash_key_end) == (stream.shards[1].hash_key_start, HASH_KEY_LIMIT - 1)
    assert [s.shard_id for s in stream.open_shards] == ["shardId-000000000000", "shardId-000000000003"]


def test_merging_shards_that_are_not_adjacent_is_invalid():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "s", 3)
    with pytest.raises(InvalidArgumentException, match="not an adjacent pair"):
        stream.merge_shards("shardId-000000000000", "shardId-000000000002")


def test_a_closed_shard_cannot_be_split_again():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "s", 1)
    stream.split_shard("shardId-000000000000", str(HALF))
    with pytest.raises(ResourceInUseException, match="has already been merged or split"):
        stream.split_shard("shardId-000000000000", str(HALF + 5))


def test_split_key_must_fall_inside_the_shard():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "s", 1)
    with pytest.raises(InvalidArgumentException, match="NewStartingHashKey 1 used in SplitShard"):
        stream.split_shard("shardId-000000000000", "1")


def test_on_demand_streams_reject_resharding():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "s", mode="ON_DEMAND")
    with pytest.raises(ValidationException):
        stream.split_shard("shardId-000000000000", str(HALF // 4))


def test_resharding_with_a_delay_keeps_the_stream_updating_until_done():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", 1, update_delay_s=5)
    stream.split_shard("shardId-000000000000", str(HALF))
    assert stream.status == "UPDATING" and len(stream.shards) == 1
    stream.put_record(b"still writable", "k")
    with pytest.raises(ResourceInUseException, match="not ACTIVE, instead in state UPDATING"):
        stream.split_shard("shardId-000000000000", str(HALF))
    driver.advance(5)
    assert stream.status == "ACTIVE" and len(stream.open_shards) == 2


def test_list_shards_filters():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", 2)
    driver.advance(100)
    stream.split_shard("shardId-000000000000", "12345")
    ids = lambda shards: [s.shard_id[-1] for s in shards]  # noqa: E731
    assert ids(stream.list_shards()) == ["0", "1", "2", "3"]
    assert ids(stream.list_shards("AT_LATEST")) == ["1", "2", "3"]
    assert ids(stream.list_shards("AT_TRIM_HORIZON")) == ["0", "1"]
    assert ids(stream.list_shards("AFTER_SHARD_ID", shard_id="shardId-000000000001")) == ["2", "3"]
    t0 = stream.created_at
    assert ids(stream.list_shards("AT_TIMESTAMP", timestamp=t0 + 50)) == ["0", "1"]
    assert ids(stream.list_shards("FROM_TIMESTAMP", timestamp=t0 + 150)) == ["1", "2", "3"]


def test_closed_shard_disappears_once_retention_has_passed():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", 1)
    stream.split_shard("shardId-000000000000", str(HALF))
    driver.advance(24 * 3600 + 1)
    assert [s.shard_id for s in stream.list_shards()] == ["shardId-000000000001", "shardId-000000000002"]
