"""A stream's routing by partition key in C (_speedups.c) against its Python reference (MD5 read
as a 128-bit big-endian number, bisect over the open shards): the same records land in the same
shards, with keys of every length (the digest's one- and two-block tails, many blocks) and
script, after a split and a merge, and a bad ExplicitHashKey fails the call before any record is
written, on both paths."""

from __future__ import annotations

import hashlib
import random

import pytest

from eventmesh.services.kinesis import stream as stream_module
from eventmesh.services.kinesis.errors import InvalidArgumentException
from eventmesh.services.kinesis.service import create_stream
from eventmesh.services.kinesis.shards import HASH_KEY_LIMIT, ShardLimits
from eventmesh.services.kinesis.stream import PutRecordsRequestEntry
from eventmesh.testing import virtual_mesh
from tests.twins import engines, twin

_speedups = twin("eventmesh.services.kinesis._speedups")
ENGINES = engines(_speedups)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(stream_module, "compiled_route", _speedups.route if request.param == "c" else None)  # type: ignore[union-attr]
    return str(request.param)


def _keys(seed: int) -> list[str]:
    """Keys of 1 to 256 characters (AWS's limits) from ASCII to astral planes: UTF-8 from 1 to
    1,024 bytes, so every tail length of the digest's blocks."""
    rng = random.Random(seed)
    pools = [(0x21, 0x7E), (0x80, 0x7FF), (0x800, 0xD7FF), (0x10000, 0x10FFFF)]
    keys = []
    for length in [*range(1, 130), 255, 256] * 2:
        low, high = rng.choice(pools)
        keys.append("".join(chr(rng.randint(low, high)) for _ in range(length)))
    return keys


def _stream(shards: int) -> stream_module.Stream:
    mesh, _ = virtual_mesh()
    mesh.root.state(ShardLimits).enforced = False   # every record written: routing alone is checked
    return create_stream(mesh, "clicks", shards)


def _expected_shard(stream: stream_module.Stream, key: str) -> str:
    number = int.from_bytes(hashlib.md5(key.encode()).digest(), "big")
    (shard,) = [s for s in stream.shards if s.is_open and s.hash_key_start <= number <= s.hash_key_end]
    return shard.shard_id


def test_records_land_where_the_md5_of_their_key_says(engine: str) -> None:
    stream = _stream(7)
    keys = _keys(1)
    out = stream.put_records([PutRecordsRequestEntry(b"d", key) for key in keys])
    assert out.failed_record_count == 0
    assert out.shard_ids == [_expected_shard(stream, key) for key in keys]
    # And each shard holds its records, under their keys, in request order.
    for shard in stream.shards:
        held = [r.partition_key for r in shard.read(shard.trim_horizon).records]
        assert held == [key for key, shard_id in zip(keys, out.shard_ids, strict=True) if shard_id == shard.shard_id]


def test_routes_follow_a_split_and_a_merge(engine: str) -> None:
    stream = _stream(2)
    stream.split_shard("shardId-000000000000", str(HASH_KEY_LIMIT // 8))   # into 2 and 3
    stream.merge_shards("shardId-000000000003", "shardId-000000000001")    # into 4
    keys = _keys(2)
    out = stream.put_records([PutRecordsRequestEntry(b"d", key) for key in keys])
    assert out.shard_ids == [_expected_shard(stream, key) for key in keys]
    assert set(out.shard_ids) == {"shardId-000000000002", "shardId-000000000004"}


def test_both_paths_route_alike_the_python_one_through_its_memo_and_its_resets(
        monkeypatch: pytest.MonkeyPatch) -> None:
    if "c" not in ENGINES:
        pytest.skip("the C routing is not built")
    monkeypatch.setattr(stream_module, "KEY_MEMO_SIZE", 7)   # the memo fills and resets within a call
    keys = _keys(3)
    repeated = [keys[i % 11] for i in range(200)]            # and serves keys it holds
    results = []
    for route in (None, _speedups.route):  # type: ignore[union-attr]
        monkeypatch.setattr(stream_module, "compiled_route", route)
        stream = _stream(5)
        results.append([stream.put_records([PutRecordsRequestEntry(b"d", key) for key in batch]).shard_ids
                        for batch in (keys, repeated, keys[:5])])
    assert results[0] == results[1]
    assert results[0][1] == [_expected_shard(stream, key) for key in repeated]


def test_a_bad_explicit_hash_key_fails_the_call_before_any_record_is_written(engine: str) -> None:
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "clicks", 2)
    entries = [PutRecordsRequestEntry(b"a", "k1"), PutRecordsRequestEntry(b"b", "k2", explicit_hash_key="0"),
               PutRecordsRequestEntry(b"c", "k3", explicit_hash_key=str(HASH_KEY_LIMIT))]
    with pytest.raises(InvalidArgumentException, match="ExplicitHashKey"):
        stream.put_records(entries)
    assert [s.read(s.trim_horizon).records for s in stream.shards] == [[], []]


def test_an_explicit_hash_key_wins_over_the_key_on_both_paths(engine: str) -> None:
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "clicks", 2)
    out = stream.put_records([PutRecordsRequestEntry(b"a", "same", explicit_hash_key=str(HASH_KEY_LIMIT - 1)),
                              PutRecordsRequestEntry(b"b", "same")])
    assert out.shard_ids == ["shardId-000000000001", _expected_shard(stream, "same")]


def test_a_key_that_is_not_utf_8_is_an_error_on_both_paths(engine: str) -> None:
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "clicks", 2)
    with pytest.raises(UnicodeEncodeError):
        stream.put_records([PutRecordsRequestEntry(b"a", "\ud800")])
