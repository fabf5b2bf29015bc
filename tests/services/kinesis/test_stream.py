"""Kinesis stream core: routing, sequence numbers, put/get, iterators, write quotas, retention."""

from __future__ import annotations

import hashlib

import pytest

from eventmesh.clock import VIRTUAL_EPOCH
from eventmesh.effects import Available
from eventmesh.services.kinesis.errors import (
    ExpiredIteratorException,
    InvalidArgumentException,
    LimitExceededException,
    ProvisionedThroughputExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from eventmesh.services.kinesis.service import create_stream, delete_stream, find_stream, get_records, list_streams
from eventmesh.services.kinesis.shards import HASH_KEY_LIMIT, decode_iterator
from eventmesh.services.kinesis.stream import PutRecordsRequestEntry, hash_key_of
from eventmesh.testing import virtual_mesh

T0 = VIRTUAL_EPOCH


def entries(count: int, key: str = "k", size: int = 10) -> list[PutRecordsRequestEntry]:
    return [PutRecordsRequestEntry(b"x" * size, f"{key}{i}") for i in range(count)]


def test_new_stream_splits_the_hash_space_evenly_over_its_shards():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "orders", 3)
    ranges = [(s.shard_id, s.hash_key_start, s.hash_key_end) for s in stream.shards]
    assert ranges == [
        ("shardId-000000000000", 0, HASH_KEY_LIMIT // 3 - 1),
        ("shardId-000000000001", HASH_KEY_LIMIT // 3, 2 * HASH_KEY_LIMIT // 3 - 1),
        ("shardId-000000000002", 2 * HASH_KEY_LIMIT // 3, HASH_KEY_LIMIT - 1),
    ]
    assert stream.status == "ACTIVE"
    assert stream.arn == "arn:aws:kinesis:us-east-1:000000000000:stream/orders"


def test_partition_key_routes_by_md5_as_a_128_bit_integer():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "orders", 4)
    for key in ("a", "b", "user-17", "ключ"):
        expected = int.from_bytes(hashlib.md5(key.encode()).digest(), "big")
        assert hash_key_of(key) == expected
        shard, _ = stream.put_record(b"d", key)
        assert shard.hash_key_start <= expected <= shard.hash_key_end


def test_explicit_hash_key_overrides_the_partition_key():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "orders", 2)
    out = stream.put_records([
        PutRecordsRequestEntry(b"a", "same", explicit_hash_key="0"),
        PutRecordsRequestEntry(b"b", "same", explicit_hash_key=str(HASH_KEY_LIMIT - 1)),
    ])
    assert out.shard_ids == ["shardId-000000000000", "shardId-000000000001"]


def test_explicit_hash_key_out_of_range_is_invalid():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    with pytest.raises(InvalidArgumentException, match="ExplicitHashKey"):
        stream.put_record(b"a", "k", explicit_hash_key=str(HASH_KEY_LIMIT))


def test_sequence_numbers_are_56_digits_and_increase_within_a_shard():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    first = stream.put_records(entries(3)).sequence_numbers
    driver.advance(5)
    later = stream.put_records(entries(2)).sequence_numbers
    numbers = first + later
    assert all(len(str(n)) == 56 and str(n).startswith("49") for n in numbers)
    assert numbers == sorted(numbers) and len(set(numbers)) == 5


def test_records_read_back_in_order_with_arrival_time_at_ms_precision():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    driver.advance(0.0123456)
    stream.put_records([PutRecordsRequestEntry(b"one", "k"), PutRecordsRequestEntry(b"two", "k")])
    iterator = stream.get_shard_iterator("shardId-000000000000", "TRIM_HORIZON")
    out = get_records(mesh, iterator)
    assert [(r.data, r.partition_key) for r in out.records] == [(b"one", "k"), (b"two", "k")]
    assert [r.approximate_arrival_at for r in out.records] == [T0 + 0.012, T0 + 0.012]
    assert out.millis_behind_latest == 0 and out.next_shard_iterator is not None


def test_put_records_emits_one_available_effect_per_call():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "orders", 4)
    seen: list[Available] = []
    mesh.subscribe(Available, seen.append)
    stream.put_records(entries(100))
    mesh.flush()
    assert seen == [Available(stream.arn)]


def test_write_quota_throttles_records_past_1000_per_shard_second():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    stream.put_records(entries(500))
    out = stream.put_records(entries(500) + [])
    assert out.failed_record_count == 0
    over = stream.put_records(entries(3))
    assert over.failed_record_count == 3 and over.sequence_numbers == [None, None, None]
    assert over.shard_ids == ["shardId-000000000000"] * 3
    driver.advance(1)
    assert stream.put_records(entries(3)).failed_record_count == 0
    stats = stream.statistics()
    assert stats.put_records__throttled_records == 3
    assert stats.write_provisioned_throughput_exceeded == 3
    assert stats.incoming_records == 1003


def test_write_quota_throttles_bytes_past_1_mib_per_shard_second_as_partial_failure():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    big = [PutRecordsRequestEntry(b"x" * 300_000, "k") for _ in range(4)]
    out = stream.put_records(big)
    # 3 × (300,000 + 1) bytes fit in 1 MiB, the fourth does not.
    assert [n is None for n in out.sequence_numbers] == [False, False, False, True]
    assert out.failed_record_count == 1


def test_a_large_record_bursts_past_the_second_and_the_unused_quota_pays_it_back():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "media", 1, max_record_size_kib=10_240)
    ten_mib = b"x" * (10 * 1_048_576 - 1)   # with its one-byte key: 10 MiB
    stream.put_record(ten_mib, "k")          # the bank starts full
    with pytest.raises(ProvisionedThroughputExceededException):
        stream.put_record(b"x", "k")         # this second's 1 MiB is spent
    driver.advance(1)
    stream.put_record(b"x" * 1_000, "k")     # small records go on at the baseline
    with pytest.raises(ProvisionedThroughputExceededException):
        stream.put_record(b"x" * (2 * 1_048_576), "k")   # the bank is not refilled yet
    driver.advance(3)    # about three seconds' unused quota back: a 2 MiB record fits, a 5 MiB one not
    with pytest.raises(ProvisionedThroughputExceededException):
        stream.put_record(b"x" * (5 * 1_048_576), "k")
    stream.put_record(b"x" * (2 * 1_048_576), "k")
    assert stream.statistics().incoming_records == 3


def test_put_record_over_quota_fails_the_whole_call():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    stream.put_records(entries(500))
    stream.put_records(entries(500))
    with pytest.raises(ProvisionedThroughputExceededException,
                       match="Rate exceeded for shard shardId-000000000000 in stream orders"):
        stream.put_record(b"x", "k")


def test_put_records_over_5_mib_is_rejected_whole():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "orders", 8)
    with pytest.raises(InvalidArgumentException):
        stream.put_records([PutRecordsRequestEntry(b"x" * 1_000_000, f"k{i}") for i in range(6)])
    assert stream.statistics().incoming_records == 0


def test_sequence_number_for_ordering_puts_the_record_after_it():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    _, first = stream.put_record(b"a", "k")
    _, second = stream.put_record(b"b", "k", sequence_number_for_ordering=first + 1000)
    assert second == first + 1001


@pytest.mark.parametrize("kind, expected", [
    ("TRIM_HORIZON", [b"0", b"1", b"2"]),
    ("LATEST", []),
    ("AT_SEQUENCE_NUMBER", [b"1", b"2"]),
    ("AFTER_SEQUENCE_NUMBER", [b"2"]),
])
def test_iterator_types_start_where_aws_says(kind, expected):
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    records = [PutRecordsRequestEntry(str(i).encode(), "k") for i in range(3)]
    numbers = stream.put_records(records).sequence_numbers
    sequence = str(numbers[1]) if "SEQUENCE" in kind else None
    iterator = stream.get_shard_iterator("shardId-000000000000", kind, sequence)
    assert [r.data for r in get_records(mesh, iterator).records] == expected


def test_latest_iterator_sees_only_later_records():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    stream.put_record(b"old", "k")
    iterator = stream.get_shard_iterator("shardId-000000000000", "LATEST")
    stream.put_record(b"new", "k")
    assert [r.data for r in get_records(mesh, iterator).records] == [b"new"]


def test_at_timestamp_starts_at_first_record_arriving_at_or_after_it():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    for i in range(3):
        stream.put_record(str(i).encode(), "k")
        driver.advance(10)

    def at(t: float) -> list[bytes]:
        iterator = stream.get_shard_iterator("shardId-000000000000", "AT_TIMESTAMP", timestamp=t)
        return [r.data for r in get_records(mesh, iterator).records]

    assert at(T0 + 10) == [b"1", b"2"]
    assert at(T0 + 5) == [b"1", b"2"]
    driver.advance(1)
    assert at(T0 - 100) == [b"0", b"1", b"2"]
    assert at(T0 + 1000) == []


def test_iterator_with_a_sequence_number_of_another_shard_is_invalid():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "orders", 2)
    out = stream.put_records([PutRecordsRequestEntry(b"a", "k", explicit_hash_key="0")])
    with pytest.raises(InvalidArgumentException, match="It encodes shardId-000000000000"):
        stream.get_shard_iterator("shardId-000000000001", "AT_SEQUENCE_NUMBER", str(out.sequence_numbers[0]))
    with pytest.raises(InvalidArgumentException, match="Must either specify"):
        stream.get_shard_iterator("shardId-000000000001", "AT_SEQUENCE_NUMBER")


def test_unknown_shard_is_not_found():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    message = "Shard shardId-000000000007 in stream orders under account 000000000000 does not exist"
    with pytest.raises(ResourceNotFoundException, match=message):
        stream.get_shard_iterator("shardId-000000000007", "LATEST")


def test_iterator_expires_after_five_minutes_and_can_be_reused_before():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    stream.put_record(b"a", "k")
    iterator = stream.get_shard_iterator("shardId-000000000000", "TRIM_HORIZON")
    driver.advance(300)
    assert [r.data for r in get_records(mesh, iterator).records] == [b"a"]
    assert [r.data for r in get_records(mesh, iterator).records] == [b"a"]
    driver.advance(0.001)
    with pytest.raises(ExpiredIteratorException, match="tolerated delay of 300000 milliseconds"):
        get_records(mesh, iterator)


def test_next_shard_iterator_continues_where_the_last_read_stopped():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    stream.put_records(entries(25))
    iterator = stream.get_shard_iterator("shardId-000000000000", "TRIM_HORIZON")
    seen = []
    for _ in range(3):
        out = get_records(mesh, iterator, limit=10)
        seen += [r.partition_key for r in out.records]
        iterator = out.next_shard_iterator
        driver.advance(1)
    assert seen == [f"k{i}" for i in range(25)]
    assert get_records(mesh, iterator).records == []


def test_millis_behind_latest_is_the_age_of_the_next_unread_record():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    stream.put_record(b"a", "k")
    driver.advance(2)
    stream.put_record(b"b", "k")
    driver.advance(3)
    iterator = stream.get_shard_iterator("shardId-000000000000", "TRIM_HORIZON")
    out = get_records(mesh, iterator, limit=1)
    assert out.millis_behind_latest == 3000
    assert stream.statistics().get_records__iterator_age_milliseconds == 5000


def test_get_records_budget_is_five_calls_a_second_with_a_two_second_burst():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    iterator = stream.get_shard_iterator("shardId-000000000000", "TRIM_HORIZON")
    for _ in range(10):  # a burst of two seconds' budget passes at once
        get_records(mesh, iterator)
    with pytest.raises(ProvisionedThroughputExceededException):
        get_records(mesh, iterator)
    driver.advance(0.2)  # the budget refills at 5 calls a second: one more call
    get_records(mesh, iterator)
    with pytest.raises(ProvisionedThroughputExceededException):
        get_records(mesh, iterator)
    assert stream.statistics().read_provisioned_throughput_exceeded == 2
    passed = 0
    for _ in range(50):  # a steady reader polling 10 times a second gets 5 a second through
        driver.advance(0.1)
        try:
            get_records(mesh, iterator)
            passed += 1
        except ProvisionedThroughputExceededException:
            pass
    assert passed == 25


def test_five_iterator_types_read_within_half_a_second_pass():
    """Integration code that AWS passes: one iterator of each type on a shard, each read at once."""
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    _, first = stream.put_record(b"a", "k")
    stream.put_record(b"b", "k")
    shard = "shardId-000000000000"
    iterators = [stream.get_shard_iterator(shard, "TRIM_HORIZON"), stream.get_shard_iterator(shard, "LATEST"),
                 stream.get_shard_iterator(shard, "AT_SEQUENCE_NUMBER", str(first)),
                 stream.get_shard_iterator(shard, "AFTER_SEQUENCE_NUMBER", str(first)),
                 stream.get_shard_iterator(shard, "AT_TIMESTAMP", timestamp=T0)]
    got = []
    for iterator in iterators:
        driver.advance(0.05)
        got.append([r.data for r in get_records(mesh, iterator).records])
    driver.advance(0.05)
    got.append([r.data for r in get_records(mesh, iterators[0]).records])  # the sixth read
    assert got == [[b"a", b"b"], [], [b"a", b"b"], [b"b"], [b"a", b"b"], [b"a", b"b"]]


def test_shard_limits_off_lets_any_rate_through():
    from eventmesh.services.kinesis.shards import ShardLimits

    mesh, driver = virtual_mesh()
    mesh.root.state(ShardLimits).enforced = False
    stream = create_stream(mesh, "orders", 1)
    outcome = stream.put_records(entries(500) + [])
    assert outcome.failed_record_count == 0
    assert stream.put_records(entries(500, "j") + entries(500, "m")[:1]).failed_record_count == 0  # > 1,000/s
    iterator = stream.get_shard_iterator("shardId-000000000000", "TRIM_HORIZON")
    for _ in range(50):
        stream.get_shard_iterator("shardId-000000000000", "LATEST")
        get_records(mesh, iterator)
    assert stream.statistics().read_provisioned_throughput_exceeded == 0


def test_get_records_stops_at_10_mib_and_blocks_reads_for_its_size():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 16)
    for _ in range(12):   # 12 × 1 MB records into shard 0, across 12 seconds of quota
        stream.put_record(b"x" * 1_000_000, "k", explicit_hash_key="0")
        driver.advance(1)
    iterator = stream.get_shard_iterator("shardId-000000000000", "TRIM_HORIZON")
    out = get_records(mesh, iterator)
    assert len(out.records) == 10
    driver.advance(4)
    with pytest.raises(ProvisionedThroughputExceededException):
        get_records(mesh, out.next_shard_iterator)
    driver.advance(1)
    assert len(get_records(mesh, out.next_shard_iterator).records) == 2


def test_records_expire_after_the_retention_period():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    stream.put_record(b"old", "k")
    driver.advance(12 * 3600)
    stream.put_record(b"new", "k")
    shard = stream.shards[0]
    driver.advance(12 * 3600)
    assert shard.record_count == 2
    driver.advance(0.001)
    assert shard.record_count == 1
    iterator = stream.get_shard_iterator(shard.shard_id, "TRIM_HORIZON")
    assert [r.data for r in get_records(mesh, iterator).records] == [b"new"]


def test_stream_holds_no_timer_for_retention():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 2)
    stream.put_records(entries(10))
    assert mesh.clock.pending() == 0
    driver.run_until_idle()
    assert mesh.clock.now() == T0


def test_iterator_before_the_trim_horizon_continues_at_the_oldest_record():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    stream.put_record(b"a", "k")
    driver.advance(24 * 3600 - 60)
    iterator = stream.get_shard_iterator("shardId-000000000000", "TRIM_HORIZON")
    stream.put_record(b"b", "k")
    driver.advance(120)  # "a" expires while the iterator is still valid
    assert [r.data for r in get_records(mesh, iterator).records] == [b"b"]


def test_trimming_compacts_the_log_and_keeps_positions_stable():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    shard = stream.shards[0]
    for _ in range(10):   # 1,000 records a second for 10 s
        stream.put_records(entries(500))
        stream.put_records(entries(500, key="j"))
        driver.advance(1)
    driver.advance(24 * 3600 - 4)
    position = shard.trim_horizon
    assert position == 6000  # the first 6 seconds' records expired
    assert len(shard._records) == 4000  # the dead prefix was compacted away
    result = shard.read(position, limit=3)
    assert [r.partition_key for r in result.records] == ["k0", "k1", "k2"]
    assert result.next_position == 6003


def test_retention_changes_are_bounded_and_directional():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    stream.increase_retention(48)
    assert stream.retention_hours == 48 and stream.shards[0].retention_s == 48 * 3600
    with pytest.raises(InvalidArgumentException, match="can not be shorter"):
        stream.increase_retention(24)
    with pytest.raises(InvalidArgumentException, match="can not be longer"):
        stream.decrease_retention(72)
    with pytest.raises(InvalidArgumentException, match="Maximum allowed retention period is 8760 hours"):
        stream.increase_retention(8761)
    with pytest.raises(InvalidArgumentException, match="Minimum allowed retention period is 24 hours"):
        stream.decrease_retention(23)
    stream.decrease_retention(24)
    assert stream.retention_hours == 24


def test_stream_lifecycle_create_find_list_delete():
    mesh, _ = virtual_mesh()
    create_stream(mesh, "b", 1)
    create_stream(mesh, "a", mode="ON_DEMAND")
    with pytest.raises(ResourceInUseException, match="Stream a under account 000000000000 already exists."):
        create_stream(mesh, "a", 1)
    assert [s.name for s in list_streams(mesh)] == ["a", "b"]
    assert len(find_stream(mesh, "a").shards) == 4
    delete_stream(mesh, find_stream(mesh, "b"))
    with pytest.raises(ResourceNotFoundException, match="Stream b under account 000000000000 not found."):
        find_stream(mesh, "b")


def test_creating_stream_becomes_active_after_the_configured_delay():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 1, create_delay_s=10)
    assert stream.status == "CREATING"
    with pytest.raises(ResourceNotFoundException):
        stream.put_record(b"a", "k")
    driver.advance(10)
    assert stream.status == "ACTIVE"
    stream.put_record(b"a", "k")


def test_shard_quota_limits_creation():
    mesh, _ = virtual_mesh()
    create_stream(mesh, "a", 3, shard_limit=5)
    with pytest.raises(LimitExceededException, match="Current shard count for the account: 3. Limit: 5"):
        create_stream(mesh, "b", 3, shard_limit=5)


def test_iterator_of_a_deleted_and_recreated_stream_is_not_found():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "orders", 1)
    iterator = stream.get_shard_iterator("shardId-000000000000", "LATEST")
    delete_stream(mesh, stream)
    with pytest.raises(ResourceNotFoundException):
        get_records(mesh, iterator)
    driver.advance(1)
    create_stream(mesh, "orders", 1)
    with pytest.raises(ResourceNotFoundException):
        get_records(mesh, iterator)


def test_garbage_iterator_is_invalid():
    mesh, _ = virtual_mesh()
    with pytest.raises(InvalidArgumentException, match="Invalid ShardIterator."):
        decode_iterator("not-an-iterator")


def test_statistics_name_cloudwatch_metrics():
    mesh, _ = virtual_mesh()
    stream = create_stream(mesh, "orders", 2)
    stream.put_record(b"abc", "k")
    stream.put_records(entries(4, size=5))
    stats = stream.statistics()
    assert (stats.incoming_records, stats.incoming_bytes) == (5, 4 + 4 * 7)
    assert (stats.put_record__success, stats.put_record__bytes) == (1, 4)
    assert (stats.put_records__success, stats.put_records__total_records,
            stats.put_records__successful_records, stats.put_records__bytes) == (1, 4, 4, 28)
    assert "incoming_records" in type(stats).counters
    assert "get_records__iterator_age_milliseconds" not in type(stats).counters
    assert stream.metric_namespace == "AWS/Kinesis"
    assert stream.metric_dimensions() == {"StreamName": "orders"}
    shard_stats = stream.shards[0].statistics()
    assert shard_stats.incoming_records + stream.shards[1].statistics().incoming_records == 5
    assert stream.shards[1].metric_dimensions() == {"StreamName": "orders", "ShardId": "shardId-000000000001"}


def test_deliveries_from_other_cores_become_records_keyed_by_their_partition_key():
    from eventmesh.effects import Deliver, Delivery

    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", 2)
    replies = []
    mesh.emit(Deliver(stream.arn, [Delivery('{"a":1}', partition_key="alpha"),
                                   Delivery('{"a":2}', partition_key="alpha")], reply_to=mesh.expect(replies.append)))
    driver.run_until_idle()
    assert [r.ok for r in replies] == [True]
    shard = stream._shard_for_key("alpha")
    got = shard.read(shard.trim_horizon, 10, 1 << 20).records
    assert [(r.data, r.partition_key) for r in got] == [(b'{"a":1}', "alpha"), (b'{"a":2}', "alpha")]
