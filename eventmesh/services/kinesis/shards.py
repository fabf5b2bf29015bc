"""A Kinesis shard: an append-only record log with a trim offset, its hash-key range, its lineage
and its per-second write/read quotas.

Everything that decides where a record sits in a shard, when it is readable and whether a write
or a read fits the shard's quota lives here; routing between shards lives in ``stream.py``.

Cost model. A shard keeps its records in one Python list, oldest first. A *position* is an
absolute record number since the shard opened (position ``p`` is ``_records[p - _base]``), so
readers hold plain ints that survive trimming. Append is O(1); ``read`` is one list slice plus
O(log n) to cut at the byte limit (a running byte total sits beside the list); finding a
sequence number or a timestamp is a bisect. Retention is applied lazily: every access first
moves ``_head`` past expired records (O(1) when nothing expired, a bisect otherwise), and the
list is compacted in one ``del`` when the dead prefix outgrows the live part, so trimming costs
amortised O(1) per record and no timer is ever needed (a retention timer would also make
``run_until_idle`` jump 24 h in virtual time). Write quotas are integer counters reset when the
clock second changes; the GetRecords and GetShardIterator call quotas are token buckets (5 calls
a second, a burst of two seconds' budget), never timers.

Quotas as AWS applies them. The documented rate is 5 GetRecords (and 5 GetShardIterator) calls per
shard per second, but AWS does not refuse the sixth call of a burst: ordinary integration code
that opens a shard with five iterator types and reads each within 0.4 s passes on AWS. So the call
budget refills continuously at 5 a second and holds up to ``READ_BURST_S`` seconds of it; a steady
reader above 5 calls a second is still throttled. ``ShardLimits`` (the config key
``kinesis_shard_limits: false``) turns every per-shard quota off for tests that do not model
throughput.

Sequence numbers are ints inside the engine and decimal strings only at the wire (``str(n)``).
Layout (56 digits, like AWS's): ``49`` · shard creation time in ms (13 digits) · shard index
(6 digits) · a 35-digit per-shard counter. A shard created later, or with a higher index, so
always numbers above every earlier shard, which keeps ``SequenceNumberForOrdering`` across a
reshard honest; within a shard numbers only grow.
https://docs.aws.amazon.com/streams/latest/dev/key-concepts.html
https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetShardIterator.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_CreateStream.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html
https://docs.aws.amazon.com/streams/latest/dev/kinesis-using-sdk-java-resharding-split.html
https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from bisect import bisect_left, bisect_right
from operator import attrgetter
from typing import ClassVar

import msgspec

from eventmesh.clock import Clock
from eventmesh.services.kinesis.errors import ExpiredNextTokenException, InvalidArgumentException

__all__ = [
    "HASH_KEY_LIMIT",
    "READ_BURST_S",
    "ShardLimits",
    "MAX_GET_RECORDS",
    "MAX_GET_RECORDS_BYTES",
    "READ_BYTES_PER_S",
    "READ_CALLS_PER_S",
    "WRITE_BYTES_PER_S",
    "LARGE_RECORD_BURST_BYTES",
    "WRITE_RECORDS_PER_S",
    "ReadResult",
    "Shard",
    "ShardStatistics",
    "StreamStatistics",
    "StreamRecord",
    "sequence_base",
    "shard_id_of",
    "shard_index_of_sequence",
]

HASH_KEY_LIMIT = 1 << 128                 # hash keys are 0 … 2^128 − 1
WRITE_RECORDS_PER_S = 1_000               # per shard, data + partition keys
WRITE_BYTES_PER_S = 1_048_576             # 1 MiB/s per shard
# A record above 1 MiB (a stream whose MaxRecordSizeInKiB allows it) bursts past the second's
# byte quota out of a bank of up to 10 MiB, which the unused part of each second's quota refills:
# writes still average at most 1 MiB/s (https://docs.aws.amazon.com/streams/latest/dev/large-records.html).
LARGE_RECORD_BURST_BYTES = 10 * 1_048_576
READ_CALLS_PER_S = 5                      # GetRecords calls per shard per second
READ_BYTES_PER_S = 2 * 1_048_576          # 2 MiB/s per shard, shared by classic consumers
MAX_GET_RECORDS = 10_000                  # records per GetRecords call (and the default)
MAX_GET_RECORDS_BYTES = 10 * 1_048_576    # 10 MiB per GetRecords call
ITERATOR_CALLS_PER_S = 5                  # GetShardIterator per shard per second
READ_BURST_S = 2.0                        # a call budget holds up to two seconds' calls (observed tolerance)
ITERATOR_LIFETIME_S = 300.0               # an iterator is valid for 5 minutes
LIST_SHARDS_TOKEN_LIFETIME_S = 300.0      # a ListShards NextToken expires after 300 s

_SEQ_PREFIX = 49 * 10**54                 # AWS numbers start "49…" and have 56 digits
_SEQ_TIME_UNIT = 10**41                   # shard creation ms sits above the index
_SEQ_INDEX_UNIT = 10**35                  # shard index sits above the counter
_SEQ_INDEX_SPAN = 10**6
_COMPACT_MIN = 4_096                      # dead records before a compaction is worth a copy

_ITERATOR_MAGIC = b"\x00\x00\x00\x00\x00\x00\x00\x01"   # AWS iterators open with these 8 bytes
_arrival = attrgetter("approximate_arrival_at")
_sequence = attrgetter("sequence_number")


def shard_id_of(index: int) -> str:
    """``shardId-`` + 12-digit zero-padded index."""
    return f"shardId-{index:012d}"


def shard_index(shard_id: str) -> int:
    """The index in ``shardId-000000000007`` (AWS also accepts the bare number); −1 if none."""
    digits = shard_id.rsplit("-", 1)[-1]
    return int(digits) if digits.isdigit() else -1


def hash_key_of(partition_key: str) -> int:
    """MD5 of the partition key's UTF-8 bytes read as a big-endian unsigned 128-bit int."""
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")


def sequence_base(created_at: float, index: int) -> int:
    """The first sequence number of shard ``index`` opened at ``created_at`` (module docstring)."""
    return _SEQ_PREFIX + int(created_at * 1000) * _SEQ_TIME_UNIT + index * _SEQ_INDEX_UNIT


def shard_index_of_sequence(sequence_number: int) -> int:
    """The shard index a sequence number of this layout encodes (for "wrong shard" checks)."""
    return (sequence_number // _SEQ_INDEX_UNIT) % _SEQ_INDEX_SPAN


class ShardLimits:
    """Whether the per-shard quotas apply (one setting for the whole mesh, like ``Quotas``):
    ``enforced = False`` lets any rate of writes and reads through, for tests that do not model
    throughput (config key ``kinesis_shard_limits``)."""

    def __init__(self, mesh: object = None) -> None:
        self.enforced = True


class _CallBudget:
    """A token bucket: ``rate`` calls a second, holding at most ``rate * READ_BURST_S``."""

    __slots__ = ("rate", "capacity", "tokens", "at")

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.capacity = rate * READ_BURST_S
        self.tokens = self.capacity
        self.at = now

    def take(self, now: float) -> bool:
        tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if tokens < 1 - 1e-3:  # epoch seconds as floats are coarse (2e-7 s): do not lose a call
            self.tokens = tokens
            return False
        self.tokens = tokens - 1
        return True


class StreamRecord(msgspec.Struct, frozen=True, gc=False):
    """One Kinesis record as stored and as returned by GetRecords (``Record`` shape).

    ``approximate_arrival_at`` is epoch seconds at millisecond precision. The encryption type
    is the stream's (``Shard.encryption_type``), not stored per record.
    """

    sequence_number: int
    data: bytes
    partition_key: str
    approximate_arrival_at: float


class ReadResult(msgspec.Struct, frozen=True):
    """What a read returns: the records, their size (data + partition keys), the position to
    read next, how far behind the tip the reader now is (ms, 0 when caught up) and whether a
    closed shard has been read to its end (then its children may be read)."""

    records: list[StreamRecord]
    nbytes: int
    next_position: int
    millis_behind_latest: int
    end_of_shard: bool


class ShardStatistics(msgspec.Struct, frozen=True):
    """Shard-level (enhanced monitoring) AWS/Kinesis metrics, CloudWatch names in snake_case."""

    incoming_bytes: int
    incoming_records: int
    outgoing_bytes: int
    outgoing_records: int
    iterator_age_milliseconds: int
    read_provisioned_throughput_exceeded: int
    write_provisioned_throughput_exceeded: int

    counters: ClassVar[frozenset[str]] = frozenset({
        "incoming_bytes", "incoming_records", "outgoing_bytes", "outgoing_records",
        "read_provisioned_throughput_exceeded", "write_provisioned_throughput_exceeded",
    })
    units: ClassVar[dict[str, str]] = {"incoming_bytes": "bytes", "outgoing_bytes": "bytes",
                                       "iterator_age_milliseconds": "milliseconds"}


class StreamStatistics(msgspec.Struct, frozen=True):
    """Stream-level AWS/Kinesis metrics, CloudWatch names in snake_case with ``.`` → ``__``
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
    units: ClassVar[dict[str, str]] = {
        "incoming_bytes": "bytes", "put_record__bytes": "bytes", "put_records__bytes": "bytes",
        "get_records__bytes": "bytes", "get_records__iterator_age_milliseconds": "milliseconds"}


class Shard:
    """One shard of a stream. ``stream.py`` routes writes here; readers (GetRecords, the stream
    event source mapping) call :meth:`read` with positions they keep."""

    # Shard-level (enhanced) metrics: a namespace of their own so the Prometheus families
    # (aws_kinesis_shard_*{stream_name, shard_id}) never clash with the stream-level ones.
    metric_namespace = "AWS/Kinesis/Shard"

    def __init__(self, clock: Clock, stream_name: str, index: int, hash_key_start: int,
                 hash_key_end: int, retention_s: float, *, parent_shard_id: str | None = None,
                 adjacent_parent_shard_id: str | None = None, encryption_type: str = "NONE",
                 limits: ShardLimits | None = None) -> None:
        self._clock = clock
        self._limits = limits if limits is not None else ShardLimits()
        self.stream_name = stream_name
        self.index = index
        self.shard_id = shard_id_of(index)
        self.hash_key_start = hash_key_start
        self.hash_key_end = hash_key_end
        self.parent_shard_id = parent_shard_id
        self.adjacent_parent_shard_id = adjacent_parent_shard_id
        self.child_shard_ids: list[str] = []
        self.encryption_type = encryption_type
        self.retention_s = retention_s
        self.created_at = clock.now()
        self.closed_at: float | None = None
        self.starting_sequence_number = sequence_base(self.created_at, index)
        self.ending_sequence_number: int | None = None
        # Records number from just above the starting sequence number, so that the starting number
        # itself names "before the first record" (AFTER_SEQUENCE_NUMBER of it reads from the start).
        self.next_sequence_number = self.starting_sequence_number + 1
        self._records: list[StreamRecord] = []
        self._cum_bytes: list[int] = [0]   # _cum_bytes[i]: bytes written before _records[i]
        self._bytes_total = 0
        self._base = 0                     # absolute position of _records[0]
        self._head = 0                     # list index of the oldest unexpired record
        # Write quotas per second: AWS's, unless a fault lowers them (a simulation's or the
        # daemon's ``/_eventmesh/faults``).
        self.write_records_limit = WRITE_RECORDS_PER_S
        self.write_bytes_limit = WRITE_BYTES_PER_S
        # Quota windows: counters for the current clock second.
        self._write_second = -1
        self._write_records = 0
        self._write_bytes = 0
        self._burst_bank = LARGE_RECORD_BURST_BYTES   # large records' burst (LARGE_RECORD_BURST_BYTES)
        self._read_second = -1
        self._read_bytes = 0
        self._read_blocked_until = 0.0
        self._read_calls = _CallBudget(READ_CALLS_PER_S, self.created_at)
        self._iterator_calls = _CallBudget(ITERATOR_CALLS_PER_S, self.created_at)
        # Metrics (plain counters read by statistics()).
        self.outgoing_records = 0
        self.outgoing_bytes = 0
        self.iterator_age_ms = 0
        self.read_throttled = 0
        self.write_throttled = 0

    # -- state -------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def parent_shard_ids(self) -> tuple[str, ...]:
        """The shards that must be read to their end before this one (parent-before-child)."""
        return tuple(p for p in (self.parent_shard_id, self.adjacent_parent_shard_id) if p)

    def is_expired(self, now: float) -> bool:
        """A closed shard whose every record has passed retention is no longer listed."""
        return self.closed_at is not None and now - self.closed_at > self.retention_s

    def close(self, now: float) -> None:
        """Close for writes (split/merge): the shard keeps its data until retention trims it."""
        self.closed_at = now
        self.ending_sequence_number = max(self.starting_sequence_number, self.next_sequence_number - 1)

    # -- writing -----------------------------------------------------------------------------

    def append(self, data: bytes, partition_key: str, size: int, arrival_at: float,
               second: int) -> int | None:
        """Append one record if the shard's write quota (1,000 records and 1 MiB in the current
        clock second, or the lower limits of a fault; a record above 1 MiB may burst past it)
        allows; return its sequence number, or None when throttled."""
        if self._write_second != second:
            if self._burst_bank < LARGE_RECORD_BURST_BYTES and self._write_second >= 0:
                unused = self.write_bytes_limit - self._write_bytes \
                    + (second - self._write_second - 1) * self.write_bytes_limit
                self._burst_bank = min(LARGE_RECORD_BURST_BYTES, self._burst_bank + max(0, unused))
            self._write_second = second
            self._write_records = 0
            self._write_bytes = 0
        if ((self._write_records >= self.write_records_limit or self._write_bytes + size > self.write_bytes_limit)
                and self._limits.enforced):
            over = self._write_bytes + size - self.write_bytes_limit
            if size <= WRITE_BYTES_PER_S or self._write_records >= self.write_records_limit \
                    or over > self._burst_bank:
                self.write_throttled += 1
                return None
            self._burst_bank -= over   # a large record: the second's quota is spent, the bank pays the rest
            size_counted = self.write_bytes_limit - self._write_bytes
        else:
            size_counted = size
        self._write_records += 1
        self._write_bytes += size_counted
        sequence_number = self.next_sequence_number
        self.next_sequence_number = sequence_number + 1
        self._records.append(StreamRecord(sequence_number, data, partition_key, arrival_at))
        self._bytes_total += size
        self._cum_bytes.append(self._bytes_total)
        return sequence_number

    def owns_sequence(self, sequence_number: int) -> bool:
        """Whether ``sequence_number`` was (or could be) issued by this shard."""
        return sequence_number // _SEQ_INDEX_UNIT == self.starting_sequence_number // _SEQ_INDEX_UNIT

    def order_after(self, sequence_number: int) -> None:
        """``SequenceNumberForOrdering``: the next record numbers above ``sequence_number``,
        as long as that number lies in this shard's counter space."""
        if self.owns_sequence(sequence_number) and sequence_number >= self.next_sequence_number:
            self.next_sequence_number = sequence_number + 1

    # -- positions ---------------------------------------------------------------------------

    def trim(self) -> None:
        """Drop records older than the retention period (lazily, see the module docstring)."""
        records = self._records
        head = self._head
        if head >= len(records):
            return
        cutoff = self._clock.now() - self.retention_s
        if records[head].approximate_arrival_at >= cutoff:
            return
        head = bisect_left(records, cutoff, head, len(records), key=_arrival)
        if head > _COMPACT_MIN and head * 2 > len(records):
            del records[:head]
            del self._cum_bytes[:head]
            self._base += head
            head = 0
        self._head = head

    def release_before(self, position: int) -> None:
        """Forget the records before ``position`` as if retention had passed them: for a
        simulation, where nothing but its mappings reads a stream and they have read them."""
        records = self._records
        index = min(max(0, position - self._base), len(records))
        if index <= self._head:
            return
        head = index
        if head > _COMPACT_MIN and head * 2 > len(records):
            del records[:head]
            del self._cum_bytes[:head]
            self._base += head
            head = 0
        self._head = head

    @property
    def trim_horizon(self) -> int:
        """Position of the oldest record still within retention."""
        self.trim()
        return self._base + self._head

    @property
    def latest(self) -> int:
        """Position just after the newest record (where the next write lands)."""
        return self._base + len(self._records)

    @property
    def record_count(self) -> int:
        """Records within retention."""
        self.trim()
        return len(self._records) - self._head

    def position_of_sequence(self, sequence_number: int, *, after: bool = False) -> int:
        """Position of the record with ``sequence_number`` (or the one just after it)."""
        self.trim()
        search = bisect_right if after else bisect_left
        index = search(self._records, sequence_number, self._head, len(self._records), key=_sequence)
        return self._base + index

    def position_at_timestamp(self, at: float) -> int:
        """Position of the first record that arrived at or after ``at`` (AT_TIMESTAMP):
        older than the trim horizon reads from the trim horizon, a future time like LATEST."""
        self.trim()
        index = bisect_left(self._records, at, self._head, len(self._records), key=_arrival)
        return self._base + index

    # -- reading -----------------------------------------------------------------------------

    def read(self, position: int, limit: int = MAX_GET_RECORDS,
             max_bytes: int = MAX_GET_RECORDS_BYTES) -> ReadResult:
        """Up to ``limit`` records and ``max_bytes`` (data + partition keys; at least one record)
        from ``position``; a position before the trim horizon reads from the trim horizon.

        No quota is applied here (the event source mapping polls through this); GetRecords
        goes through :meth:`get_records`. Counts outgoing records/bytes and iterator age.
        """
        self.trim()
        records = self._records
        start = min(max(position - self._base, self._head), len(records))
        end = min(start + limit, len(records))
        cum = self._cum_bytes
        if end > start and cum[end] - cum[start] > max_bytes:
            # Cut where the running total passes max_bytes, keeping at least one record.
            end = max(start + 1, bisect_right(cum, cum[start] + max_bytes, start, end) - 1)
        batch = records[start:end]
        nbytes = cum[end] - cum[start] if end > start else 0
        now = self._clock.now()
        if batch:
            self.outgoing_records += len(batch)
            self.outgoing_bytes += nbytes
            self.iterator_age_ms = max(0, int((now - batch[-1].approximate_arrival_at) * 1000))
        elif end >= len(records):
            self.iterator_age_ms = 0
        if end < len(records):
            behind = max(0, int((now - records[end].approximate_arrival_at) * 1000))
        else:
            behind = 0
        ended = self.closed_at is not None and end >= len(records)
        return ReadResult(batch, nbytes, self._base + end, behind, ended)

    def admit_read(self) -> bool:
        """GetRecords quota: 5 calls a second (a token bucket, see the module docstring) and
        2 MiB per shard per second, and a call that returned more than 2 MiB holds the next ones
        back for its size at 2 MiB/s (10 MiB: 5 s). Returns False (and counts it) when the call
        must fail with ProvisionedThroughputExceededException."""
        if not self._limits.enforced:
            return True
        now = self._clock.now()
        second = int(now)
        if self._read_second != second:
            self._read_second = second
            self._read_bytes = 0
        if (now < self._read_blocked_until or self._read_bytes >= READ_BYTES_PER_S
                or not self._read_calls.take(now)):
            self.read_throttled += 1
            return False
        return True

    def charge_read(self, nbytes: int) -> None:
        """Account the bytes an admitted GetRecords returned."""
        self._read_bytes += nbytes
        if nbytes > READ_BYTES_PER_S and self._limits.enforced:
            self._read_blocked_until = self._clock.now() + nbytes / READ_BYTES_PER_S

    def admit_iterator(self) -> bool:
        """GetShardIterator quota: 5 calls a second per shard (a token bucket, as GetRecords)."""
        return not self._limits.enforced or self._iterator_calls.take(self._clock.now())

    def sequence_before(self, position: int) -> int:
        """A sequence number N such that AFTER_SEQUENCE_NUMBER N reads from ``position``: the
        record just before it, else the shard's starting number (ContinuationSequenceNumber)."""
        index = position - self._base - 1
        records = self._records
        if 0 <= index < len(records):
            return records[index].sequence_number
        if records and index < 0:
            return records[0].sequence_number - 1
        return self.next_sequence_number - 1 if index >= len(records) else self.starting_sequence_number

    # -- metrics -----------------------------------------------------------------------------

    @property
    def incoming_records(self) -> int:
        return self._base + len(self._records)

    @property
    def incoming_bytes(self) -> int:
        return self._bytes_total

    def statistics(self) -> ShardStatistics:
        return ShardStatistics(
            incoming_bytes=self.incoming_bytes,
            incoming_records=self.incoming_records,
            outgoing_bytes=self.outgoing_bytes,
            outgoing_records=self.outgoing_records,
            iterator_age_milliseconds=self.iterator_age_ms,
            read_provisioned_throughput_exceeded=self.read_throttled,
            write_provisioned_throughput_exceeded=self.write_throttled,
        )

    def metric_dimensions(self) -> dict[str, str]:
        return {"StreamName": self.stream_name, "ShardId": self.shard_id}

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"Shard({self.shard_id}, {state}, records={len(self._records) - self._head})"


def select_shards(shards: list[Shard], trim_horizon_at: float, filter_type: str = "FROM_TRIM_HORIZON",
                  shard_id: str | None = None, timestamp: float | None = None) -> list[Shard]:
    """ListShards' ShardFilter: AFTER_SHARD_ID (higher indexes), AT_LATEST (open now),
    AT_/FROM_TRIM_HORIZON and AT_/FROM_TIMESTAMP (open at that time; FROM_ adds the shards opened
    since). A time before the first shard counts as the stream's start."""
    if filter_type == "AFTER_SHARD_ID":
        if shard_id is None:
            raise InvalidArgumentException("ShardId must be specified for ShardFilter type AFTER_SHARD_ID.")
        after = shard_index(shard_id)
        return [s for s in shards if s.index > after]
    if filter_type == "AT_LATEST":
        return [s for s in shards if s.is_open]
    if filter_type in ("AT_TIMESTAMP", "FROM_TIMESTAMP"):
        if timestamp is None:
            raise InvalidArgumentException(f"Timestamp must be specified for ShardFilter type {filter_type}.")
        at = timestamp
    elif filter_type in ("AT_TRIM_HORIZON", "FROM_TRIM_HORIZON"):
        at = trim_horizon_at
    else:
        raise InvalidArgumentException(f"Invalid ShardFilter type {filter_type}.")
    alive = [s for s in shards if s.closed_at is None or s.closed_at > at]
    if filter_type.startswith("FROM_") or not shards:
        return alive
    at = max(at, min(s.created_at for s in shards))
    return [s for s in alive if s.created_at <= at]


# -- positions as opaque strings (shard iterators, ListShards tokens) ------------------------------

class ShardIterator(msgspec.Struct, frozen=True):
    """What an iterator string carries: the stream incarnation and shard, where, and since when.
    ``serial`` numbers the stream's iterators, so that no two are the same string (AWS hands out a
    new NextShardIterator on every GetRecords, even at the tip within one millisecond)."""

    stream_arn: str
    stream_created_ms: int
    shard_index: int
    position: int
    issued_ms: int
    serial: int = 0


def encode_iterator(iterator: ShardIterator) -> str:
    """Opaque base64 like AWS's (8 marker bytes, then the fields); ≤ 512 characters."""
    text = (f"{iterator.issued_ms}/{iterator.stream_created_ms}/{iterator.shard_index}/"
            f"{iterator.position}/{iterator.serial}/{iterator.stream_arn}")
    return base64.b64encode(_ITERATOR_MAGIC + text.encode()).decode()


def decode_iterator(text: str) -> ShardIterator:
    """Parse an iterator string; InvalidArgumentException if it is not one of ours."""
    try:
        raw = base64.b64decode(text, validate=True)
        if not raw.startswith(_ITERATOR_MAGIC):
            raise ValueError
        issued, created, index, position, serial, arn = raw[len(_ITERATOR_MAGIC):].decode().split("/", 5)
        return ShardIterator(arn, int(created), int(index), int(position), int(issued), int(serial))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgumentException("Invalid ShardIterator.") from None


class ListShardsToken(msgspec.Struct, frozen=True, array_like=True):
    """A ListShards NextToken: the stream, the last shard listed, the filter, and when issued."""

    stream_arn: str
    after_index: int
    filter_type: str
    filter_shard_id: str | None
    filter_timestamp: float | None
    issued_at: float


def encode_list_shards_token(token: ListShardsToken) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(token)).decode()


def decode_list_shards_token(text: str, now: float) -> ListShardsToken:
    """Parse a NextToken; ExpiredNextTokenException once it is older than 300 s."""
    try:
        token = msgspec.json.decode(base64.urlsafe_b64decode(text.encode()), type=ListShardsToken)
    except (ValueError, binascii.Error, msgspec.DecodeError):
        raise InvalidArgumentException("Invalid NextToken.") from None
    if now - token.issued_at > LIST_SHARDS_TOKEN_LIFETIME_S:
        raise ExpiredNextTokenException("The timestamp of the NextToken has expired.")
    return token
