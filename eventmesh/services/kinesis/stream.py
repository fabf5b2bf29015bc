"""Kinesis Data Streams core: streams, hash-key routing, put/get, iterators, retention, resharding.

Everything that decides which shard a record lands in, whether a stream accepts a call in its
current state, and what a shard iterator means lives here; a shard's own log, positions and
quotas live in ``shards.py``.

Cost model. PutRecords routes the whole batch first (a bad ExplicitHashKey fails the call before
any record is written): in C where the twin is built (``_speedups.c``: MD5 and a binary search
over the open shards' starting hash keys, one call per request), else a bounded partition-key →
shard memo, else MD5 + a bisect. Then one pass of ``Shard.append`` (quota counters, an int
sequence number, one list append). One ``Available(stream_arn)`` effect per
call, counters bumped once per call. Reads are a slice (``Shard.read``). No timers unless a
create/update/delete delay is configured (default 0: the stream is ACTIVE at once).

The service-level operations over the account's streams (create, find, list, delete, GetRecords
by iterator) are in ``service.py``; the per-shard log is in ``shards.py``.
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_CreateStream.html
https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html
https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html
https://docs.aws.amazon.com/streams/latest/dev/kinesis-using-sdk-java-resharding-split.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetShardIterator.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from typing import Annotated, Any

import msgspec

from eventmesh import twins
from eventmesh.arn import format_arn
from eventmesh.effects import DELIVERED, Available, Delivery, DeliveryResult
from eventmesh.errors import ServiceError
from eventmesh.mesh import Mesh
from eventmesh.quotas import Quota, quota_value
from eventmesh.services.kinesis import errors
from eventmesh.services.kinesis.errors import (
    InvalidArgumentException,
    ProvisionedThroughputExceededException,
    ValidationException,
    shard_not_found,
    stream_not_found,
)
from eventmesh.services.kinesis.shards import (
    HASH_KEY_LIMIT,
    ITERATOR_LIFETIME_S,
    MAX_GET_RECORDS,
    Shard,
    ShardIterator,
    ShardLimits,
    StreamRecord,
    StreamStatistics,
    encode_iterator,
    hash_key_of,
    select_shards,
    shard_id_of,
    shard_index,
    shard_index_of_sequence,
)

__all__ = [
    "ENGINE_ENV",
    "Stream",
    "StreamStatistics",
    "PutRecordsRequestEntry",
    "PutRecordsOutcome",
    "GetRecordsOutcome",
    "stream_arn",
    "account_streams",
    "check_shard_quota",
    "DEFAULT_RETENTION_H",
]

DEFAULT_RETENTION_H = 24
MIN_RETENTION_H = 24
MAX_RETENTION_H = 8_760           # 365 days
DEFAULT_MAX_RECORD_SIZE_KIB = 1_024   # MaxRecordSizeInKiB default (1 MiB)
MAX_PUT_RECORDS_BYTES = 5 * 1_048_576  # whole PutRecords request, data + partition keys
MAX_RECORD_DATA_BYTES = 10 * 1_048_576  # the model's largest Data (MaxRecordSizeInKiB up to 10 MiB)
ON_DEMAND_SHARD_COUNT = 4             # a new on-demand stream's 4 MB/s write ≈ 4 shards
DEFAULT_SHARD_LIMIT = 20_000          # shard quota, us-east-1 / us-west-2 / eu-west-1
SHARDS_QUOTA = Quota("kinesis", "Shards per Region", DEFAULT_SHARD_LIMIT)
ON_DEMAND_STREAMS_QUOTA = Quota("kinesis", "On-demand Data Streams per account", 50)
DEFAULT_CREATE_DELAY_S = 0.0          # CREATING → ACTIVE (AWS: tens of seconds; configurable)
DEFAULT_UPDATE_DELAY_S = 0.0          # UPDATING → ACTIVE after a split or merge
KEY_MEMO_SIZE = 65_536                # partition keys remembered per stream before the memo resets (Python)
# Which routing runs (eventmesh/twins.py): auto, python or c. Read once, at import;
# ``compiled_route`` is what streams call (None: the Python lookup).
ENGINE_ENV = "EVENTMESH_KINESIS_ENGINE"


def _compiled() -> Callable[..., list[Any]] | None:
    speedups, chosen = twins.load(ENGINE_ENV, "eventmesh.services.kinesis._speedups", "the compiled Kinesis routing")
    if speedups is None:
        return None
    speedups.init(PutRecordsRequestEntry)
    return speedups.route if chosen else None

_READABLE = frozenset({"ACTIVE", "UPDATING"})
_SECONDS_PER_HOUR = 3_600


def stream_arn(region: str, account: str, name: str) -> str:
    return format_arn("kinesis", region, account, f"stream/{name}")


class PutRecordsRequestEntry(msgspec.Struct, rename="pascal", frozen=True):
    """``PutRecordsRequestEntry``: one record of a PutRecords call (blob as bytes). The model's
    member constraints ride along so a request converts and validates in one msgspec call."""

    data: Annotated[bytes, msgspec.Meta(max_length=MAX_RECORD_DATA_BYTES)]
    partition_key: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    explicit_hash_key: Annotated[str, msgspec.Meta(pattern=r"^(0|([1-9]\d{0,38}))$")] | None = None


class PutRecordsOutcome(msgspec.Struct, frozen=True):
    """A PutRecords result in request order: the sequence number of each written record, None
    for a throttled one (ProvisionedThroughputExceededException), and the shard it went to."""

    sequence_numbers: list[int | None]
    shard_ids: list[str]
    failed_record_count: int


class GetRecordsOutcome(msgspec.Struct, frozen=True):
    """A GetRecords result; ``next_shard_iterator`` is None once a closed shard is read to its
    end, and then ``child_shards`` names its children."""

    records: list[StreamRecord]
    next_shard_iterator: str | None
    millis_behind_latest: int
    child_shards: list[Shard]
    encryption_type: str = "NONE"  # the stream's, which its records report (settings.py)


compiled_route = _compiled()   # after PutRecordsRequestEntry: the twin reads its fields


class Stream:
    """One Kinesis data stream: its shards (all, by index), the open shards' routing table,
    status, retention and counters."""

    metric_namespace = "AWS/Kinesis"

    def __init__(self, mesh: Mesh, name: str, arn: str, account_id: str, *, shard_count: int,
                 mode: str = "PROVISIONED", retention_hours: int = DEFAULT_RETENTION_H,
                 max_record_size_kib: int = DEFAULT_MAX_RECORD_SIZE_KIB,
                 tags: dict[str, str] | None = None, create_delay_s: float = DEFAULT_CREATE_DELAY_S,
                 update_delay_s: float = DEFAULT_UPDATE_DELAY_S) -> None:
        self._mesh = mesh
        self._clock = mesh.clock
        self._limits = mesh.root.state(ShardLimits)
        self.name = name
        self.arn = arn
        self.account_id = account_id
        self.mode = mode
        self.retention_hours = retention_hours
        self.max_record_size_kib = max_record_size_kib
        self.tags = dict(tags or {})
        self.policy: str | None = None  # its resource-based policy (tagging.py)
        self.encryption_type = "NONE"
        self.key_id: str | None = None
        self.shard_level_metrics: set[str] = set()  # enhanced monitoring (settings.py)
        self.created_at = self._clock.now()
        self.update_delay_s = update_delay_s
        self.shards: list[Shard] = []
        self._open: list[Shard] = []
        self._open_starts: list[int] = []
        self._open_bounds = b""   # the same, 16 big-endian bytes each (the compiled routing reads it)
        self._key_memo: dict[str, Shard] = {}
        self._last_arrival_at = 0.0
        self._timer = None
        self.scalings: deque[float] = deque()  # when UpdateShardCount ran (scaling.py: 10 a day)
        self.consumers: dict[str, Any] = {}      # enhanced fan-out consumers by name (consumers.py)
        self._iterator_serial = 0
        for i in range(shard_count):
            start = i * HASH_KEY_LIMIT // shard_count
            end = (i + 1) * HASH_KEY_LIMIT // shard_count - 1
            self.shards.append(self.new_shard(start, end))
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
        self.status = "DELETING"
        self._clock.cancel(self._timer)
        self._timer = None

    def new_shard(self, start: int, end: int, parent: str | None = None,
                   adjacent: str | None = None) -> Shard:
        return Shard(self._clock, self.name, len(self.shards), start, end, self.retention_s,
                     parent_shard_id=parent, adjacent_parent_shard_id=adjacent,
                     encryption_type=self.encryption_type, limits=self._limits)

    def _rebuild_routes(self) -> None:
        self._open = sorted((s for s in self.shards if s.is_open), key=lambda s: s.hash_key_start)
        self._open_starts = [s.hash_key_start for s in self._open]
        self._open_bounds = b"".join(start.to_bytes(16, "big") for start in self._open_starts)
        self._key_memo = {}

    def _require(self, states: frozenset[str] = _READABLE) -> None:
        if self.status not in states:
            raise stream_not_found(self.name, self.account_id)

    def require_readable(self) -> None:
        """ResourceNotFoundException unless the stream is ACTIVE or UPDATING."""
        self._require()

    def require_active(self) -> None:
        if self.status != "ACTIVE":
            raise errors.not_active(self.name, self.account_id, self.status)

    def now(self) -> float:
        return self._clock.now()

    # -- shards ------------------------------------------------------------------------------

    def shard(self, shard_id: str) -> Shard:
        """The shard named ``shard_id`` (``shardId-000000000001``; a bare index is accepted, as
        AWS does); ResourceNotFoundException when unknown or expired."""
        index = shard_index(shard_id)
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
        return [self.shards[shard_index(c)] for c in shard.child_shard_ids]

    def shard_for_hash_key(self, hash_key: int) -> Shard:
        return self._open[bisect_right(self._open_starts, hash_key) - 1]

    def _shard_for_key(self, partition_key: str) -> Shard:
        shard = self._open[bisect_right(self._open_starts, hash_key_of(partition_key)) - 1]
        memo = self._key_memo
        if len(memo) >= KEY_MEMO_SIZE:
            memo.clear()
        memo[partition_key] = shard
        return shard

    def _route(self, entries: list[PutRecordsRequestEntry]) -> list[Shard]:
        """The shard of every entry, in order: by its ExplicitHashKey where it has one, else by
        its partition key's MD5."""
        if compiled_route is not None:
            return compiled_route(entries, self._open_bounds, self._open, self._shard_for_explicit)
        memo_get, by_key, explicit = self._key_memo.get, self._shard_for_key, self._shard_for_explicit
        return [memo_get(k := e.partition_key) or by_key(k) if (x := e.explicit_hash_key) is None else explicit(x)
                for e in entries]

    def _shard_for_explicit(self, explicit_hash_key: str) -> Shard:
        value = int(explicit_hash_key) if explicit_hash_key.isdigit() else -1
        if not 0 <= value < HASH_KEY_LIMIT:
            raise InvalidArgumentException(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                f"Specified value was {explicit_hash_key}")
        return self.shard_for_hash_key(value)

    # -- writing -----------------------------------------------------------------------------

    def _arrival(self) -> tuple[float, int]:
        """Arrival time at ms precision, never earlier than the previous one, and the
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
        """PutRecord: the record's shard and sequence number; the whole call fails with
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
            raise errors.throttled(shard.shard_id, self.name, self.account_id)
        self._put_record_calls += 1
        self._put_record_bytes += size
        self._mesh.emit(Available(self.arn))
        return shard, sequence_number

    def put_records(self, entries: list[PutRecordsRequestEntry]) -> PutRecordsOutcome:
        """PutRecords: each record is routed and written on its own; a record over its
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
        routes = self._route(entries)
        arrival, second = self._arrival()
        count = len(entries)
        sequence_numbers: list[int | None] = [None] * count
        shard_ids = [""] * count
        failed = written_bytes = 0
        for i, entry in enumerate(entries):
            shard = routes[i]
            sequence_number = shard.append(entry.data, entry.partition_key, sizes[i], arrival, second)
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

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        """A delivery from another core (an EventBridge Kinesis target): each item is one record,
        its body the data and its ``partition_key`` the key (the target's PartitionKeyPath).
        A throttled record fails the delivery so the sender's retry policy applies."""
        entries = [PutRecordsRequestEntry(item.body.encode(), item.partition_key or "0") for item in items]
        try:
            outcome = self.put_records(entries)
        except ServiceError as err:
            return err.delivery_result()
        if outcome.failed_record_count:
            return ProvisionedThroughputExceededException(
                f"{outcome.failed_record_count} records were throttled").delivery_result()
        return DELIVERED

    # -- reading -----------------------------------------------------------------------------

    def get_shard_iterator(self, shard_id: str, iterator_type: str,
                           starting_sequence_number: str | None = None,
                           timestamp: float | None = None) -> str:
        """GetShardIterator for every iterator type; valid for 5 minutes."""
        self._require()
        shard = self.shard(shard_id)
        position = self.start_position(shard, iterator_type, starting_sequence_number, timestamp)
        if not shard.admit_iterator():
            raise errors.throttled(shard.shard_id, self.name, self.account_id)
        return self.iterator(shard, position)

    def start_position(self, shard: Shard, iterator_type: str, starting_sequence_number: str | None = None,
                       timestamp: float | None = None) -> int:
        """The position an iterator type names (GetShardIterator, SubscribeToShard's StartingPosition)."""
        if iterator_type in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if starting_sequence_number is None:
                raise errors.iterator_type_mismatch(iterator_type, "no StartingSequenceNumber")
            sequence_number = self._parse_sequence(starting_sequence_number, shard)
            after = iterator_type == "AFTER_SEQUENCE_NUMBER"
            position = shard.position_of_sequence(sequence_number, after=after)
        elif iterator_type in ("TRIM_HORIZON", "LATEST"):
            if starting_sequence_number is not None:
                raise errors.iterator_type_mismatch(iterator_type, "also a StartingSequenceNumber")
            position = shard.trim_horizon if iterator_type == "TRIM_HORIZON" else shard.latest
        elif iterator_type == "AT_TIMESTAMP":
            if timestamp is None:
                raise InvalidArgumentException(
                    "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
                    "Current request has no timestamp parameter.")
            position = shard.position_at_timestamp(timestamp)
        else:
            raise InvalidArgumentException(f"Invalid ShardIteratorType {iterator_type}.")
        return position

    def iterator(self, shard: Shard, position: int) -> str:
        """An iterator string for ``position`` in ``shard``, issued now (valid 5 minutes)."""
        self._iterator_serial = serial = self._iterator_serial + 1
        return encode_iterator(ShardIterator(self.arn, int(self.created_at * 1000), shard.index, position,
                                             int(self._clock.now() * 1000), serial))

    def _parse_sequence(self, text: str, shard: Shard) -> int:
        sequence_number = int(text) if text.isdigit() else -1
        if not shard.owns_sequence(sequence_number):
            index = shard_index_of_sequence(sequence_number)
            encodes = shard_id_of(index) if sequence_number >= 0 and index != shard.index else None
            raise errors.invalid_sequence(text, shard.shard_id, self.name, self.account_id, encodes=encodes,
                                          foreign=sequence_number >= 0)
        return sequence_number

    def get_records(self, iterator: ShardIterator, limit: int = MAX_GET_RECORDS) -> GetRecordsOutcome:
        """GetRecords from a decoded iterator: per-shard read quota, at most ``limit``
        records and 10 MiB, a fresh NextShardIterator (None at the end of a closed shard)."""
        self._require()
        now = self._clock.now()
        stale = iterator.stream_created_ms != int(self.created_at * 1000)
        if stale or iterator.shard_index >= len(self.shards):
            raise shard_not_found(shard_id_of(iterator.shard_index), self.name, self.account_id)
        if now * 1000 - iterator.issued_ms > ITERATOR_LIFETIME_S * 1000:
            raise errors.expired_iterator(iterator.issued_ms / 1000, now, int(ITERATOR_LIFETIME_S * 1000))
        shard = self.shards[iterator.shard_index]
        if not shard.admit_read():
            raise errors.throttled(shard.shard_id, self.name, self.account_id)
        result = shard.read(iterator.position, limit)
        shard.charge_read(result.nbytes)
        self._get_records_calls += 1
        self._get_records_records += len(result.records)
        self._get_records_bytes += result.nbytes
        if result.end_of_shard:
            return GetRecordsOutcome(result.records, None, 0, self.children_of(shard), self.encryption_type)
        return GetRecordsOutcome(result.records, self.iterator(shard, result.next_position),
                                 result.millis_behind_latest, [], self.encryption_type)

    # -- retention ---------------------------------------------------------------------------

    def increase_retention(self, hours: int) -> None:
        """IncreaseStreamRetentionPeriod: 24–8,760 h, not below the current period."""
        self._check_retention(hours)
        if hours < self.retention_hours:
            raise errors.retention_wrong_direction(self.name, hours, self.retention_hours, increase=True)
        self._set_retention(hours)

    def decrease_retention(self, hours: int) -> None:
        """DecreaseStreamRetentionPeriod: 24–8,760 h, not above the current period; records
        older than the new period stop being readable at once."""
        self._check_retention(hours)
        if hours > self.retention_hours:
            raise errors.retention_wrong_direction(self.name, hours, self.retention_hours, increase=False)
        self._set_retention(hours)

    def _check_retention(self, hours: int) -> None:
        self.require_active()
        if not MIN_RETENTION_H <= hours <= MAX_RETENTION_H:
            raise errors.retention_out_of_range(hours, MIN_RETENTION_H, MAX_RETENTION_H)

    def _set_retention(self, hours: int) -> None:
        self.retention_hours = hours
        for shard in self.shards:
            shard.retention_s = self.retention_s

    # -- resharding -------------------------------------------------------------------

    def check_reshard(self, shard_ids: tuple[str, ...], adding: int) -> list[Shard]:
        """The rules every reshard (split, merge, UpdateShardCount) meets: provisioned, ACTIVE,
        open shards, within the account's shard quota."""
        if self.mode == "ON_DEMAND":
            raise ValidationException(
                f"Operation is not supported for stream {self.name} under account {self.account_id} "
                "in On-Demand mode.")
        self.require_active()
        shards = [self.shard(s) for s in shard_ids]
        for shard in shards:
            if not shard.is_open:
                raise errors.already_resharded(shard.shard_id, self.name, self.account_id)
        check_shard_quota(self._mesh, self.arn, self.account_id, adding)
        return shards

    def split_shard(self, shard_id: str, new_starting_hash_key: str) -> None:
        """SplitShard: the parent closes; children take [start, key−1] and [key, end]."""
        (parent,) = self.check_reshard((shard_id,), 1)
        key = int(new_starting_hash_key) if new_starting_hash_key.isdigit() else -1
        if not parent.hash_key_start + 1 < key < parent.hash_key_end:
            raise errors.bad_split_key(new_starting_hash_key, parent.shard_id, self.name, self.account_id,
                                       parent.hash_key_start, parent.hash_key_end)

        def apply() -> None:
            parent.close(self._clock.now())
            for start, end in ((parent.hash_key_start, key - 1), (key, parent.hash_key_end)):
                child = self.new_shard(start, end, parent.shard_id)
                self.shards.append(child)
                parent.child_shard_ids.append(child.shard_id)

        self.apply_update(apply)

    def merge_shards(self, shard_id: str, adjacent_shard_id: str) -> None:
        """MergeShards: two open shards with contiguous ranges close into one child whose
        ParentShardId / AdjacentParentShardId name them."""
        first, second = self.check_reshard((shard_id, adjacent_shard_id), 0)
        low, high = sorted((first, second), key=lambda s: s.hash_key_start)
        if low.hash_key_end + 1 != high.hash_key_start:
            raise errors.not_adjacent(first.shard_id, second.shard_id, self.name, self.account_id)

        def apply() -> None:
            now = self._clock.now()
            first.close(now)
            second.close(now)
            child = self.new_shard(low.hash_key_start, high.hash_key_end, first.shard_id, second.shard_id)
            self.shards.append(child)
            first.child_shard_ids.append(child.shard_id)
            second.child_shard_ids.append(child.shard_id)

        self.apply_update(apply)

    def apply_update(self, apply: object) -> None:
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

    # -- listing ------------------------------------------------------------------------------

    def list_shards(self, filter_type: str = "FROM_TRIM_HORIZON", shard_id: str | None = None,
                    timestamp: float | None = None) -> list[Shard]:
        """ListShards' ShardFilter over the unexpired shards, in index order."""
        return select_shards(self.visible_shards(), self._clock.now() - self.retention_s, filter_type,
                             shard_id, timestamp)

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

    def metric_sources(self) -> list[object]:
        """The stream and each of its shards (shard-level metrics), for the metrics collector."""
        return [self, *self.shards]

    def __repr__(self) -> str:
        return f"Stream({self.name!r}, {self.status}, shards={len(self.shards)})"


def check_shard_quota(mesh: Mesh, arn: str, account: str, adding: int, limit: int | None = None) -> None:
    """LimitExceededException when ``adding`` open shards would pass the account's shard quota."""
    region = arn.split(":", 4)[3]
    limit = quota_value(mesh, SHARDS_QUOTA) if limit is None else limit
    current = sum(len(s.open_shards) for s in account_streams(mesh, region, account))
    if current + adding > limit:
        raise errors.shard_limit_exceeded(account, region, current, limit, adding)


def account_streams(mesh: Mesh, region: str, account: str) -> list[Stream]:
    """The account's streams in one Region (the shard quota counts them all)."""
    prefix = f"arn:aws:kinesis:{region}:{account}:stream/"
    return [r for r in mesh.resources("kinesis") if isinstance(r, Stream) and r.arn.startswith(prefix)]
