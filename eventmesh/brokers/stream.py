"""Kinesis Data Streams core: streams, hash-key routing, put/get, iterators, retention, resharding
(spec kinesis.md §2–§7, §10).

Everything that decides which shard a record lands in, whether a stream accepts a call in its
current state, and what a shard iterator means lives here; a shard's own log, positions and
quotas live in ``shards.py``.

Cost model. PutRecords is one pass over the batch: route (a bounded partition-key → shard memo,
else MD5 + a bisect over the open shards' starting hash keys), then ``Shard.append`` (quota
counters, an int sequence number, one list append). One ``Available(stream_arn)`` effect per
call, counters bumped once per call. Reads are a slice (``Shard.read``). No timers unless a
create/update/delete delay is configured (default 0: the stream is ACTIVE at once).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from bisect import bisect_right
from datetime import datetime, timezone
from typing import ClassVar

import msgspec

from eventmesh.arn import format_arn
from eventmesh.brokers.kinesis_errors import (
    ExpiredIteratorException,
    InvalidArgumentException,
    LimitExceededException,
    ProvisionedThroughputExceededException,
    ResourceInUseException,
    ValidationException,
    rate_exceeded_message,
    shard_not_found,
    stream_not_found,
)
from eventmesh.brokers.shards import (
    HASH_KEY_LIMIT,
    MAX_GET_RECORDS,
    Shard,
    StreamRecord,
    shard_id_of,
    shard_index_of_sequence,
)
from eventmesh.effects import Available
from eventmesh.mesh import Mesh

__all__ = [
    "Stream",
    "StreamStatistics",
    "PutRecordsRequestEntry",
    "PutRecordsOutcome",
    "GetRecordsOutcome",
    "ShardIterator",
    "create_stream",
    "find_stream",
    "list_streams",
    "delete_stream",
    "stream_arn",
    "decode_iterator",
    "get_records",
    "hash_key_of",
    "DEFAULT_RETENTION_HOURS",
    "ITERATOR_LIFETIME_S",
]

DEFAULT_RETENTION_HOURS = 24          # §2
MIN_RETENTION_HOURS = 24              # §2
MAX_RETENTION_HOURS = 8_760           # §2: 365 days
DEFAULT_MAX_RECORD_SIZE_KIB = 1_024   # §2: MaxRecordSizeInKiB default (1 MiB)
MAX_PUT_RECORDS_BYTES = 5 * 1_048_576  # §5.2: whole PutRecords request, data + partition keys
ON_DEMAND_SHARD_COUNT = 4             # §2: a new on-demand stream's 4 MB/s write ≈ 4 shards
ON_DEMAND_STREAM_LIMIT = 50           # §2: on-demand streams per account
DEFAULT_SHARD_LIMIT = 20_000          # §2: shard quota, us-east-1 / us-west-2 / eu-west-1
ITERATOR_LIFETIME_S = 300.0           # §6.1: 5 minutes
LIST_SHARDS_TOKEN_LIFETIME_S = 300.0  # §2: ListShards NextToken
DEFAULT_CREATE_DELAY_S = 0.0          # §2: CREATING → ACTIVE (AWS: tens of seconds; configurable)
DEFAULT_UPDATE_DELAY_S = 0.0          # §3.1: UPDATING → ACTIVE after a split or merge
KEY_MEMO_SIZE = 65_536                # partition keys remembered per stream before the memo resets

_READABLE = frozenset({"ACTIVE", "UPDATING"})
_ITERATOR_MAGIC = b"\x00\x00\x00\x00\x00\x00\x00\x01"   # AWS iterators open with these 8 bytes
_SECONDS_PER_HOUR = 3_600


def stream_arn(region: str, account: str, name: str) -> str:
    return format_arn("kinesis", region, account, f"stream/{name}")


def hash_key_of(partition_key: str) -> int:
    """MD5 of the partition key's UTF-8 bytes read as a big-endian unsigned 128-bit int (§3)."""
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")


class PutRecordsRequestEntry(msgspec.Struct, rename="pascal", frozen=True):
    """``PutRecordsRequestEntry``: one record of a PutRecords call (blob as bytes)."""

    data: bytes
    partition_key: str
    explicit_hash_key: str | None = None


class PutRecordsOutcome(msgspec.Struct, frozen=True):
    """A PutRecords result in request order: the sequence number of each written record, None
    for a throttled one (ProvisionedThroughputExceededException), and the shard it went to."""

    sequence_numbers: list[int | None]
    shard_ids: list[str]
    failed_record_count: int


class GetRecordsOutcome(msgspec.Struct, frozen=True):
    """A GetRecords result; ``next_shard_iterator`` is None once a closed shard is read to its
    end, and then ``child_shards`` names its children (§3.1)."""

    records: list[StreamRecord]
    next_shard_iterator: str | None
    millis_behind_latest: int
    child_shards: list[Shard]


class ShardIterator(msgspec.Struct, frozen=True):
    """What an iterator string carries: which stream incarnation and shard, where, and since when."""

    stream_arn: str
    stream_created_ms: int
    shard_index: int
    position: int
    issued_ms: int


class StreamStatistics(msgspec.Struct, frozen=True):
    """Stream-level AWS/Kinesis metrics (§10), CloudWatch names in snake_case with ``.`` → ``__``
    (``PutRecords.ThrottledRecords`` → ``put_records__throttled_records``). Latency metrics are
    the driver's, not the core's."""

    incoming_bytes: int
    incoming_records: int
    put_record__bytes: int
    put_record__success: int
    put_records__bytes: int
    put_records__success: int
    put_records__total_records: int
    put_records__successful_records: int
    put_records__failed_records: int
    put_records__throttled_records: int
    get_records__bytes: int
    get_records__records: int
    get_records__success: int
    get_records__iterator_age_milliseconds: int
    read_provisioned_throughput_exceeded: int
    write_provisioned_throughput_exceeded: int

    counters: ClassVar[frozenset[str]] = frozenset({
        "incoming_bytes", "incoming_records", "put_record__bytes", "put_record__success",
        "put_records__bytes", "put_records__success", "put_records__total_records",
        "put_records__successful_records", "put_records__failed_records",
        "put_records__throttled_records", "get_records__bytes", "get_records__records",
        "get_records__success", "read_provisioned_throughput_exceeded",
        "write_provisioned_throughput_exceeded",
    })


class Stream:
    """One Kinesis data stream: its shards (all, by index), the open shards' routing table,
    status, retention and counters."""

    metric_namespace = "AWS/Kinesis"

    def __init__(self, mesh: Mesh, name: str, arn: str, account_id: str, *, shard_count: int,
                 mode: str = "PROVISIONED", retention_hours: int = DEFAULT_RETENTION_HOURS,
                 max_record_size_kib: int = DEFAULT_MAX_RECORD_SIZE_KIB,
                 tags: dict[str, str] | None = None, create_delay_s: float = DEFAULT_CREATE_DELAY_S,
                 update_delay_s: float = DEFAULT_UPDATE_DELAY_S) -> None:
        self._mesh = mesh
        self._clock = mesh.clock
        self.name = name
        self.arn = arn
        self.account_id = account_id
        self.mode = mode
        self.retention_hours = retention_hours
        self.max_record_size_kib = max_record_size_kib
        self.tags = dict(tags or {})
        self.encryption_type = "NONE"
        self.key_id: str | None = None
        self.created_at = self._clock.now()
        self.update_delay_s = update_delay_s
        self.shards: list[Shard] = []
        self._open: list[Shard] = []
        self._open_starts: list[int] = []
        self._key_memo: dict[str, Shard] = {}
        self._last_arrival_at = 0.0
        self._timer = None
        self._closed = False
        for i in range(shard_count):
            start = i * HASH_KEY_LIMIT // shard_count
            end = (i + 1) * HASH_KEY_LIMIT // shard_count - 1
            self.shards.append(self._new_shard(start, end))
        self._rebuild_routes()
        self._put_record_calls = self._put_record_bytes = 0
        self._put_records_calls = self._put_records_bytes = 0
        self._put_records_total = self._put_records_ok = self._put_records_throttled = 0
        self._get_records_calls = self._get_records_records = self._get_records_bytes = 0
        if create_delay_s > 0:
            self.status = "CREATING"
            self._timer = self._clock.call_later(create_delay_s, self._become_active)
        else:
            self.status = "ACTIVE"

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def retention_s(self) -> float:
        return float(self.retention_hours * _SECONDS_PER_HOUR)

    def _become_active(self) -> None:
        self._timer = None
        self.status = "ACTIVE"

    def close(self) -> None:
        """Called by ``mesh.remove``: stop timers; readers find the stream gone."""
        self._closed = True
        self.status = "DELETING"
        self._clock.cancel(self._timer)
        self._timer = None

    def _new_shard(self, start: int, end: int, parent: str | None = None,
                   adjacent: str | None = None) -> Shard:
        return Shard(self._clock, self.name, len(self.shards), start, end, self.retention_s,
                     parent_shard_id=parent, adjacent_parent_shard_id=adjacent,
                     encryption_type=self.encryption_type)

    def _rebuild_routes(self) -> None:
        self._open = sorted((s for s in self.shards if s.is_open), key=lambda s: s.hash_key_start)
        self._open_starts = [s.hash_key_start for s in self._open]
        self._key_memo = {}

    def _require(self, states: frozenset[str] = _READABLE) -> None:
        if self.status not in states:
            raise stream_not_found(self.name, self.account_id)

    def _require_active(self) -> None:
        if self.status != "ACTIVE":
            raise ResourceInUseException(
                f"Stream {self.name} under account {self.account_id} not ACTIVE, instead in state {self.status}")

    # -- shards ------------------------------------------------------------------------------

    def shard(self, shard_id: str) -> Shard:
        """The shard named ``shard_id`` (``shardId-000000000001``; a bare index is accepted, as
        AWS does); ResourceNotFoundException when unknown or expired."""
        digits = shard_id.rsplit("-", 1)[-1]
        index = int(digits) if digits.isdigit() else -1
        if 0 <= index < len(self.shards):
            shard = self.shards[index]
            if not shard.is_expired(self._clock.now()):
                return shard
        raise shard_not_found(shard_id if index < 0 else shard_id_of(index), self.name, self.account_id)

    @property
    def open_shards(self) -> list[Shard]:
        """Open shards in hash-key order; their ranges cover the whole hash space."""
        return list(self._open)

    def visible_shards(self) -> list[Shard]:
        """Every shard not yet expired (closed shards stay until retention passes), by index."""
        now = self._clock.now()
        return [s for s in self.shards if not s.is_expired(now)]

    def children_of(self, shard: Shard) -> list[Shard]:
        return [self.shards[int(c.rsplit("-", 1)[1])] for c in shard.child_shard_ids]

    def shard_for_hash_key(self, hash_key: int) -> Shard:
        return self._open[bisect_right(self._open_starts, hash_key) - 1]

    def _shard_for_key(self, partition_key: str) -> Shard:
        shard = self._open[bisect_right(self._open_starts, hash_key_of(partition_key)) - 1]
        memo = self._key_memo
        if len(memo) >= KEY_MEMO_SIZE:
            memo.clear()
        memo[partition_key] = shard
        return shard

    def _shard_for_explicit(self, explicit_hash_key: str) -> Shard:
        value = int(explicit_hash_key) if explicit_hash_key.isdigit() else -1
        if not 0 <= value < HASH_KEY_LIMIT:
            raise InvalidArgumentException(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                f"Specified value was {explicit_hash_key}")
        return self.shard_for_hash_key(value)

    # -- writing -----------------------------------------------------------------------------

    def _arrival(self) -> tuple[float, int]:
        """Arrival time at ms precision (§4), never earlier than the previous one, and the
        clock second the write quotas count in."""
        now = self._clock.now()
        arrival = max(int(now * 1000) / 1000, self._last_arrival_at)
        self._last_arrival_at = arrival
        return arrival, int(now)

    def _record_size(self, data: bytes, partition_key: str) -> int:
        size = len(data) + (len(partition_key) if partition_key.isascii() else len(partition_key.encode()))
        if size > self.max_record_size_kib * 1024:
            raise InvalidArgumentException(
                f"Record size {size} bytes exceeds the maximum of {self.max_record_size_kib * 1024} bytes "
                f"for stream {self.name} under account {self.account_id}.")
        return size

    def put_record(self, data: bytes, partition_key: str, explicit_hash_key: str | None = None,
                   sequence_number_for_ordering: int | None = None) -> tuple[Shard, int]:
        """PutRecord (§5.1): the record's shard and sequence number; the whole call fails with
        ProvisionedThroughputExceededException when the shard is over its write quota."""
        self._require()
        size = self._record_size(data, partition_key)
        if explicit_hash_key is not None:
            shard = self._shard_for_explicit(explicit_hash_key)
        else:
            shard = self._key_memo.get(partition_key) or self._shard_for_key(partition_key)
        if sequence_number_for_ordering is not None:
            shard.order_after(sequence_number_for_ordering)
        arrival, second = self._arrival()
        sequence_number = shard.append(data, partition_key, size, arrival, second)
        if sequence_number is None:
            raise ProvisionedThroughputExceededException(
                rate_exceeded_message(shard.shard_id, self.name, self.account_id))
        self._put_record_calls += 1
        self._put_record_bytes += size
        self._mesh.emit(Available(self.arn))
        return shard, sequence_number

    def put_records(self, entries: list[PutRecordsRequestEntry]) -> PutRecordsOutcome:
        """PutRecords (§5.2): each record is routed and written on its own; a record over its
        shard's write quota fails alone (partial failure, results in request order)."""
        self._require()
        # Sizes count the partition key's UTF-8 bytes; the comprehension avoids a call per record.
        sizes = [len(e.data) + (len(k) if (k := e.partition_key).isascii() else len(k.encode()))
                 for e in entries]
        if sizes and max(sizes) > self.max_record_size_kib * 1024:
            for e in entries:
                self._record_size(e.data, e.partition_key)   # raises with the offending size
        total = sum(sizes)
        if total > MAX_PUT_RECORDS_BYTES:
            raise InvalidArgumentException(
                f"Records size {total} bytes exceeds the PutRecords limit of {MAX_PUT_RECORDS_BYTES} bytes.")
        arrival, second = self._arrival()
        count = len(entries)
        sequence_numbers: list[int | None] = [None] * count
        shard_ids = [""] * count
        memo_get = self._key_memo.get
        by_key = self._shard_for_key
        failed = written_bytes = 0
        for i, entry in enumerate(entries):
            key = entry.partition_key
            if entry.explicit_hash_key is None:
                shard = memo_get(key) or by_key(key)
            else:
                shard = self._shard_for_explicit(entry.explicit_hash_key)
            sequence_number = shard.append(entry.data, key, sizes[i], arrival, second)
            if sequence_number is None:
                failed += 1
            else:
                sequence_numbers[i] = sequence_number
                written_bytes += sizes[i]
            shard_ids[i] = shard.shard_id
        self._put_records_calls += 1
        self._put_records_total += count
        self._put_records_ok += count - failed
        self._put_records_throttled += failed
        self._put_records_bytes += written_bytes
        if failed < count:
            self._mesh.emit(Available(self.arn))
        return PutRecordsOutcome(sequence_numbers, shard_ids, failed)

    # -- reading -----------------------------------------------------------------------------

    def get_shard_iterator(self, shard_id: str, iterator_type: str,
                           starting_sequence_number: str | None = None,
                           timestamp: float | None = None) -> str:
        """GetShardIterator (§6.1) for every iterator type; valid for 5 minutes."""
        self._require()
        shard = self.shard(shard_id)
        where = f"on shard {shard.shard_id} in stream {self.name} under account {self.account_id}"
        if iterator_type in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if starting_sequence_number is None:
                raise InvalidArgumentException(_iterator_mismatch(iterator_type, "no StartingSequenceNumber"))
            sequence_number = self._parse_sequence(starting_sequence_number, shard, where)
            after = iterator_type == "AFTER_SEQUENCE_NUMBER"
            position = shard.position_of_sequence(sequence_number, after=after)
        elif iterator_type in ("TRIM_HORIZON", "LATEST"):
            if starting_sequence_number is not None:
                raise InvalidArgumentException(_iterator_mismatch(iterator_type, "also a StartingSequenceNumber"))
            position = shard.trim_horizon if iterator_type == "TRIM_HORIZON" else shard.latest
        elif iterator_type == "AT_TIMESTAMP":
            if timestamp is None:
                raise InvalidArgumentException(
                    "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
                    "Current request has no timestamp parameter.")
            position = shard.position_at_timestamp(timestamp)
        else:
            raise InvalidArgumentException(f"Invalid ShardIteratorType {iterator_type}.")
        if not shard.admit_iterator():
            raise ProvisionedThroughputExceededException(
                rate_exceeded_message(shard.shard_id, self.name, self.account_id))
        return self.iterator(shard, position)

    def iterator(self, shard: Shard, position: int) -> str:
        """An iterator string for ``position`` in ``shard``, issued now."""
        text = (f"{int(self._clock.now() * 1000)}/{int(self.created_at * 1000)}/{shard.index}/"
                f"{position}/{self.arn}")
        return base64.b64encode(_ITERATOR_MAGIC + text.encode()).decode()

    def _parse_sequence(self, text: str, shard: Shard, where: str) -> int:
        sequence_number = int(text) if text.isdigit() else -1
        if sequence_number < 0:
            raise InvalidArgumentException(f"StartingSequenceNumber {text} used in GetShardIterator {where} is invalid.")
        if not shard.owns_sequence(sequence_number):
            index = shard_index_of_sequence(sequence_number)
            if index != shard.index:
                raise InvalidArgumentException(
                    f"Invalid StartingSequenceNumber. It encodes {shard_id_of(index)}, while it was used "
                    f"in a call to a shard with {shard.shard_id}")
            raise InvalidArgumentException(
                f"StartingSequenceNumber {text} used in GetShardIterator {where} is invalid because it "
                "did not come from this stream.")
        return sequence_number

    def get_records(self, iterator: ShardIterator, limit: int = MAX_GET_RECORDS) -> GetRecordsOutcome:
        """GetRecords (§6.2) from a decoded iterator: per-shard read quota, at most ``limit``
        records and 10 MiB, a fresh NextShardIterator (None at the end of a closed shard)."""
        self._require()
        now = self._clock.now()
        if iterator.stream_created_ms != int(self.created_at * 1000) or iterator.shard_index >= len(self.shards):
            raise shard_not_found(shard_id_of(iterator.shard_index), self.name, self.account_id)
        if now * 1000 - iterator.issued_ms > ITERATOR_LIFETIME_S * 1000:
            raise ExpiredIteratorException(
                f"Iterator expired. The iterator was created at time {_amz_time(iterator.issued_ms / 1000)} "
                f"while right now it is {_amz_time(now)} which is further in the future than the "
                f"tolerated delay of {int(ITERATOR_LIFETIME_S * 1000)} milliseconds.")
        shard = self.shards[iterator.shard_index]
        if not shard.admit_read():
            raise ProvisionedThroughputExceededException(
                rate_exceeded_message(shard.shard_id, self.name, self.account_id))
        result = shard.read(iterator.position, limit)
        shard.charge_read(result.nbytes)
        self._get_records_calls += 1
        self._get_records_records += len(result.records)
        self._get_records_bytes += result.nbytes
        if result.end_of_shard:
            return GetRecordsOutcome(result.records, None, 0, self.children_of(shard))
        return GetRecordsOutcome(result.records, self.iterator(shard, result.next_position),
                                 result.millis_behind_latest, [])

    # -- retention ---------------------------------------------------------------------------

    def increase_retention(self, hours: int) -> None:
        """IncreaseStreamRetentionPeriod (§2): 24–8,760 h, not below the current period."""
        self._check_retention(hours)
        if hours < self.retention_hours:
            raise InvalidArgumentException(
                f"Requested retention period ({hours} hours) for stream {self.name} can not be shorter "
                f"than existing retention period ({self.retention_hours} hours). Use DecreaseRetentionPeriod API.")
        self._set_retention(hours)

    def decrease_retention(self, hours: int) -> None:
        """DecreaseStreamRetentionPeriod (§2): 24–8,760 h, not above the current period; records
        older than the new period stop being readable at once."""
        self._check_retention(hours)
        if hours > self.retention_hours:
            raise InvalidArgumentException(
                f"Requested retention period ({hours} hours) for stream {self.name} can not be longer "
                f"than existing retention period ({self.retention_hours} hours). Use IncreaseRetentionPeriod API.")
        self._set_retention(hours)

    def _check_retention(self, hours: int) -> None:
        self._require_active()
        if hours < MIN_RETENTION_HOURS:
            raise InvalidArgumentException(
                f"Minimum allowed retention period is {MIN_RETENTION_HOURS} hours. "
                f"Requested retention period ({hours} hours) is too short.")
        if hours > MAX_RETENTION_HOURS:
            raise InvalidArgumentException(
                f"Maximum allowed retention period is {MAX_RETENTION_HOURS} hours. "
                f"Requested retention period ({hours} hours) is too long.")

    def _set_retention(self, hours: int) -> None:
        self.retention_hours = hours
        for shard in self.shards:
            shard.retention_s = self.retention_s

    # -- resharding (§3.1) -------------------------------------------------------------------

    def _check_reshard(self, shard_ids: tuple[str, ...], adding: int) -> list[Shard]:
        if self.mode == "ON_DEMAND":
            raise ValidationException(
                f"Operation is not supported for stream {self.name} under account {self.account_id} "
                "in On-Demand mode.")
        self._require_active()
        shards = [self.shard(s) for s in shard_ids]
        for shard in shards:
            if not shard.is_open:
                raise ResourceInUseException(
                    f"Shard {shard.shard_id} in stream {self.name} under account {self.account_id} has "
                    "already been merged or split, and thus is not eligible for merging or splitting.")
        _check_shard_quota(self._mesh, self.arn, self.account_id, adding)
        return shards

    def split_shard(self, shard_id: str, new_starting_hash_key: str) -> None:
        """SplitShard: the parent closes; children take [start, key−1] and [key, end]."""
        (parent,) = self._check_reshard((shard_id,), 1)
        key = int(new_starting_hash_key) if new_starting_hash_key.isdigit() else -1
        if not parent.hash_key_start + 1 < key < parent.hash_key_end:
            raise InvalidArgumentException(
                f"NewStartingHashKey {new_starting_hash_key} used in SplitShard() on shard {parent.shard_id} "
                f"in stream {self.name} under account {self.account_id} is not both greater than one plus "
                f"the shard's StartingHashKey {parent.hash_key_start} and less than the shard's "
                f"EndingHashKey {parent.hash_key_end}.")

        def apply() -> None:
            parent.close(self._clock.now())
            for start, end in ((parent.hash_key_start, key - 1), (key, parent.hash_key_end)):
                child = self._new_shard(start, end, parent.shard_id)
                self.shards.append(child)
                parent.child_shard_ids.append(child.shard_id)

        self._update(apply)

    def merge_shards(self, shard_id: str, adjacent_shard_id: str) -> None:
        """MergeShards: two open shards with contiguous ranges close into one child whose
        ParentShardId / AdjacentParentShardId name them."""
        first, second = self._check_reshard((shard_id, adjacent_shard_id), 0)
        low, high = sorted((first, second), key=lambda s: s.hash_key_start)
        if low.hash_key_end + 1 != high.hash_key_start:
            raise InvalidArgumentException(
                f"Shards {first.shard_id} and {second.shard_id} in stream {self.name} under account "
                f"{self.account_id} are not an adjacent pair of shards eligible for merging")

        def apply() -> None:
            now = self._clock.now()
            first.close(now)
            second.close(now)
            child = self._new_shard(low.hash_key_start, high.hash_key_end, first.shard_id, second.shard_id)
            self.shards.append(child)
            first.child_shard_ids.append(child.shard_id)
            second.child_shard_ids.append(child.shard_id)

        self._update(apply)

    def _update(self, apply: object) -> None:
        """Run a reshard now (delay 0) or after ``update_delay_s`` with the stream UPDATING."""
        def finish() -> None:
            self._timer = None
            apply()  # type: ignore[operator]
            self._rebuild_routes()
            self.status = "ACTIVE"

        if self.update_delay_s > 0:
            self.status = "UPDATING"
            self._timer = self._clock.call_later(self.update_delay_s, finish)
        else:
            finish()

    # -- listing (§2 ListShards filters) -----------------------------------------------------

    def list_shards(self, filter_type: str = "FROM_TRIM_HORIZON", shard_id: str | None = None,
                    timestamp: float | None = None) -> list[Shard]:
        """ListShards' ShardFilter over the unexpired shards, in index order."""
        now = self._clock.now()
        shards = self.visible_shards()
        if filter_type == "AFTER_SHARD_ID":
            if shard_id is None:
                raise InvalidArgumentException("ShardId must be specified for ShardFilter type AFTER_SHARD_ID.")
            digits = shard_id.rsplit("-", 1)[-1]
            after = int(digits) if digits.isdigit() else -1
            return [s for s in shards if s.index > after]
        if filter_type == "AT_LATEST":
            return [s for s in shards if s.is_open]
        if filter_type in ("AT_TIMESTAMP", "FROM_TIMESTAMP"):
            if timestamp is None:
                raise InvalidArgumentException(f"Timestamp must be specified for ShardFilter type {filter_type}.")
            at = timestamp
        elif filter_type in ("AT_TRIM_HORIZON", "FROM_TRIM_HORIZON"):
            at = now - self.retention_s
        else:
            raise InvalidArgumentException(f"Invalid ShardFilter type {filter_type}.")
        # Open at `at` (AT_*), or open at `at` or opened since (FROM_*).
        alive = [s for s in shards if s.closed_at is None or s.closed_at > at]
        if filter_type.startswith("FROM_"):
            return alive
        first = min((s.created_at for s in self.shards), default=now)
        return [s for s in alive if s.created_at <= max(at, first)]

    # -- metrics -----------------------------------------------------------------------------

    def statistics(self) -> StreamStatistics:
        shards = self.shards
        return StreamStatistics(
            incoming_bytes=sum(s.incoming_bytes for s in shards),
            incoming_records=sum(s.incoming_records for s in shards),
            put_record__bytes=self._put_record_bytes,
            put_record__success=self._put_record_calls,
            put_records__bytes=self._put_records_bytes,
            put_records__success=self._put_records_calls,
            put_records__total_records=self._put_records_total,
            put_records__successful_records=self._put_records_ok,
            put_records__failed_records=0,   # internal failures only; throttling counts below
            put_records__throttled_records=self._put_records_throttled,
            get_records__bytes=self._get_records_bytes,
            get_records__records=self._get_records_records,
            get_records__success=self._get_records_calls,
            get_records__iterator_age_milliseconds=max((s.iterator_age_ms for s in shards), default=0),
            read_provisioned_throughput_exceeded=sum(s.read_throttled for s in shards),
            write_provisioned_throughput_exceeded=sum(s.write_throttled for s in shards),
        )

    def metric_dimensions(self) -> dict[str, str]:
        return {"StreamName": self.name}

    def __repr__(self) -> str:
        return f"Stream({self.name!r}, {self.status}, shards={len(self.shards)})"


def _iterator_mismatch(iterator_type: str, what: str) -> str:
    return ("Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber "
            "or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
            f"Request specified {iterator_type} and {what}.")


def _amz_time(at: float) -> str:
    """``Thu Dec 10 01:59:39 UTC 2015``, the form AWS writes in ExpiredIteratorException."""
    return datetime.fromtimestamp(at, timezone.utc).strftime("%a %b %d %H:%M:%S UTC %Y")


def _check_shard_quota(mesh: Mesh, arn: str, account: str, adding: int,
                       limit: int = DEFAULT_SHARD_LIMIT) -> None:
    region = arn.split(":", 4)[3]
    current = sum(len(s.open_shards) for s in _streams(mesh, region, account))
    if current + adding > limit:
        raise LimitExceededException(
            f"This request would exceed the shard limit for the account {account} in {region}. "
            f"Current shard count for the account: {current}. Limit: {limit}. Number of additional "
            f"shards that would have resulted from this request: {adding}.")


def _streams(mesh: Mesh, region: str, account: str) -> list[Stream]:
    prefix = f"arn:aws:kinesis:{region}:{account}:stream/"
    return [r for r in mesh.resources("kinesis") if isinstance(r, Stream) and r.arn.startswith(prefix)]


# -- the account's streams ----------------------------------------------------------------------

def create_stream(mesh: Mesh, name: str, shard_count: int | None = None, *, mode: str = "PROVISIONED",
                  region: str | None = None, account_id: str | None = None,
                  shard_limit: int = DEFAULT_SHARD_LIMIT, **options: object) -> Stream:
    """CreateStream (§2): provisioned with ``shard_count`` ≥ 1, or on-demand (4 shards)."""
    region = region or mesh.region
    account = account_id or mesh.account_id
    arn = stream_arn(region, account, name)
    if mesh.find(arn) is not None:
        raise ResourceInUseException(f"Stream {name} under account {account} already exists.")
    if mode == "ON_DEMAND":
        on_demand = sum(1 for s in _streams(mesh, region, account) if s.mode == "ON_DEMAND")
        if on_demand >= ON_DEMAND_STREAM_LIMIT:
            raise LimitExceededException(
                f"This request would exceed the limit of {ON_DEMAND_STREAM_LIMIT} on-demand streams "
                f"for the account {account} in {region}.")
        shard_count = ON_DEMAND_SHARD_COUNT
    elif mode != "PROVISIONED":
        raise ValidationException(f"Invalid StreamMode {mode}.")
    elif shard_count is None or shard_count < 1:
        raise InvalidArgumentException("ShardCount must be specified and at least 1 for a PROVISIONED stream.")
    _check_shard_quota(mesh, arn, account, shard_count, shard_limit)
    stream = Stream(mesh, name, arn, account, shard_count=shard_count, mode=mode, **options)  # type: ignore[arg-type]
    mesh.add(stream)
    return stream


def find_stream(mesh: Mesh, name: str | None = None, arn: str | None = None, *,
                region: str | None = None, account_id: str | None = None) -> Stream:
    """The stream named ``name`` (or at ``arn``); ResourceNotFoundException if absent."""
    account = account_id or mesh.account_id
    if arn is None:
        if name is None:
            raise InvalidArgumentException("Either StreamName or StreamARN must be provided.")
        arn = stream_arn(region or mesh.region, account, name)
    stream = mesh.find(arn)
    if not isinstance(stream, Stream) or stream.status == "DELETING":
        raise stream_not_found(name or arn.rsplit("/", 1)[-1], account)
    return stream


def list_streams(mesh: Mesh, *, region: str | None = None, account_id: str | None = None) -> list[Stream]:
    """The account's streams in the region, sorted by name (ListStreams)."""
    streams = _streams(mesh, region or mesh.region, account_id or mesh.account_id)
    return sorted((s for s in streams if s.status != "DELETING"), key=lambda s: s.name)


def delete_stream(mesh: Mesh, stream: Stream) -> None:
    """DeleteStream (§2): a stream still CREATING cannot be deleted."""
    if stream.status == "CREATING":
        raise ResourceInUseException(
            f"Stream {stream.name} under account {stream.account_id} not ACTIVE, instead in state CREATING")
    mesh.remove(stream.arn)


def decode_iterator(text: str) -> ShardIterator:
    """Parse an iterator string; InvalidArgumentException if it is not one of ours."""
    try:
        raw = base64.b64decode(text, validate=True)
        if not raw.startswith(_ITERATOR_MAGIC):
            raise ValueError
        issued, created, index, position, arn = raw[len(_ITERATOR_MAGIC):].decode().split("/", 4)
        return ShardIterator(arn, int(created), int(index), int(position), int(issued))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgumentException("Invalid ShardIterator.") from None


def get_records(mesh: Mesh, iterator: str, limit: int = MAX_GET_RECORDS,
                stream_arn: str | None = None) -> GetRecordsOutcome:
    """GetRecords by iterator string: find the stream it names, then :meth:`Stream.get_records`."""
    decoded = decode_iterator(iterator)
    if stream_arn is not None and stream_arn != decoded.stream_arn:
        raise InvalidArgumentException("Invalid ShardIterator.")
    stream = mesh.find(decoded.stream_arn)
    if not isinstance(stream, Stream):
        account = decoded.stream_arn.split(":", 5)[4]
        raise shard_not_found(shard_id_of(decoded.shard_index), decoded.stream_arn.rsplit("/", 1)[-1], account)
    return stream.get_records(decoded, limit)
