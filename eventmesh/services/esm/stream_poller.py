"""The Kinesis event source mapping poller.

Everything that decides which stream records go into which invocation, and what happens when
one fails, lives here. Each shard has a reader (a position in the shard log, read with
``Shard.read``, no GetRecords quota); records are spread over ``ParallelizationFactor`` lanes by
partition key, and each lane has at most one batch in flight, so records with one key never run
concurrently and stay in order. A failed batch blocks its lane: it is retried (bisected into
halves when ``BisectBatchOnFunctionError`` is on: splitting does not count as a retry) until it
succeeds, its records pass ``MaximumRecordAgeInSeconds`` or ``MaximumRetryAttempts`` retries
failed; then it is skipped and an on-failure record goes to the destination. A partial batch
response retries from the lowest failed sequence number. Children of a closed shard are read
only once the parent is done.

Cost model: one ``Shard.read`` slice per batch (per ``batch × factor`` records with lanes), one
payload encode per batch, one clock timer per throttle back-off or batching window per lane,
never per record. Wake-ups come from ``Available(stream_arn)``; a shard read to its end is read
again at the next second of its polling (``POLL_INTERVAL_S``: one timer per shard when records
arrive, none while it stays idle), as Lambda polls each shard once a second unless it is behind.
https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html
https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html
"""

from __future__ import annotations

import math
import zlib
from collections import deque
from functools import partial
from typing import Any

from eventmesh.effects import Deliver, Delivery, DeliveryResult
from eventmesh.services.esm import windows
from eventmesh.services.esm.batching import (
    EVENT_ENVELOPE_BYTES,
    KINESIS_RECORD_OVERHEAD_BYTES,
    MAX_PAYLOAD_BYTES,
    cut_by_payload,
)
from eventmesh.services.esm.invoke import (
    ALL_FAILED,
    THROTTLED,
    failed_items,
    find_target,
    function_at,
    function_role,
    qualifier_of,
    throttle_backoff_s,
)
from eventmesh.services.esm.records import (
    KinesisBatchInfo,
    KinesisData,
    KinesisEventEncoder,
    KinesisRecord,
    OnFailureRecord,
    encode,
    iso_millis,
)
from eventmesh.services.kinesis.shards import Shard, StreamRecord
from eventmesh.services.lambda_.jobs import LazyEvent

__all__ = ["StreamPoller"]

# A failed batch (or its bisected half) is retried after this pause. AWS retries "quickly"
# without a documented figure; a pause > 0 also keeps a failing 0-duration function from
# spinning at one virtual instant.
ERROR_RETRY_S = 1.0
LANE_BUFFER_BATCHES = 2           # records read ahead per lane, in batches
# A shard read to its end is polled again at the next whole second of its polling: "Lambda polls
# shards in your stream for records at a base rate of once per second"; with records left, it
# reads again as soon as a lane is free. https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
POLL_INTERVAL_S = 1.0
_KEY_MEMO_SIZE = 65_536
# The most an arrival time can add to a record's encoded size over the one _record_overhead
# measured (a float is written in at most 24 characters).
ARRIVAL_SLACK_BYTES = 24


class _Batch:
    """Records of one invocation (a sub-batch after bisection) and its retry state."""

    __slots__ = ("attempts", "final", "records", "retries", "throttles", "window")

    def __init__(self, records: list[StreamRecord], retries: int = 0, window: float | None = None,
                 final: bool = False) -> None:
        self.records = records
        self.retries = retries      # function-error retries of exactly these records
        self.attempts = 0           # times the function ran with them (approximateInvokeCount)
        self.throttles = 0
        self.window = window        # tumbling window start (epoch s), None without windows
        self.final = final          # the window's final invocation (no records)


class _Lane:
    __slots__ = ("inflight", "pending", "queued", "state", "timer", "window_at", "window_start",
                 "window_timer")

    def __init__(self) -> None:
        # Read, not yet in a batch: a list, so a batch is taken with one slice (no per-record pops).
        self.pending: list[StreamRecord] = []
        self.queued: deque[_Batch] = deque()          # retries and bisected halves, in order
        self.inflight: _Batch | None = None           # running, or waiting out a throttle
        self.timer: Any = None
        self.window_at: float | None = None
        # Tumbling window: the open window's start, its state (JSON) and end timer.
        self.window_start: float | None = None
        self.state: bytes = b"{}"
        self.window_timer: Any = None


class _Reader:
    """One shard being consumed: read position, lanes, records held (read, not checkpointed)."""

    __slots__ = ("done", "event_id_prefix", "held", "idle_since", "lanes", "last_age_ms", "poll_timer", "position",
                 "shard")

    def __init__(self, shard: Shard, position: int, factor: int) -> None:
        self.shard = shard
        self.position = position
        self.lanes = [_Lane() for _ in range(factor)]
        self.held = 0
        self.done = False
        self.event_id_prefix = shard.shard_id + ":"
        self.last_age_ms = 0     # IteratorAge of this shard's last successful batch
        self.idle_since: float | None = None   # the poll that read the shard to its end
        self.poll_timer: Any = None             # the next poll of a shard read to its end


class StreamPoller:
    """Consumes one stream for one mapping (see the module docstring)."""

    def __init__(self, mapping: Any, stream: Any) -> None:
        self.mapping = mapping
        self.mesh = mapping.mesh
        self.clock = mapping.mesh.clock
        self.stream = stream
        self.readers: dict[str, _Reader] = {}
        self.running = False
        self.generation = 0
        self.last_age_ms = 0
        self._key_lane: dict[str, int] = {}
        self._role = ""
        self._overhead = KINESIS_RECORD_OVERHEAD_BYTES
        self._encoder: KinesisEventEncoder | None = None
        self._function_arn = ""
        self._unqualified_arn = ""
        self._qualifier: str | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Begin at StartingPosition: one reader per shard without an unread parent."""
        if self.running:
            return
        self.running = True
        self.generation += 1
        function = find_target(self.mesh, self.mapping.function_arn)
        self._role = function_role(function, self.mesh.account_id)
        self._overhead = self._record_overhead()
        self._encoder = KinesisEventEncoder(self.stream.arn, self.mesh.region, self._role)
        if not self.readers:
            m = self.mapping
            from_start = m.starting_position == "TRIM_HORIZON"
            shards = self.stream.visible_shards() if from_start else self.stream.open_shards
            ids = {s.shard_id for s in shards}
            for shard in shards:
                if any(p in ids for p in shard.parent_shard_ids):
                    continue
                if m.starting_position == "TRIM_HORIZON":
                    position = shard.trim_horizon
                elif m.starting_position == "AT_TIMESTAMP":
                    position = shard.position_at_timestamp(m.starting_timestamp)
                else:
                    position = shard.latest
                self._add_reader(shard, position)
        self.wake()

    def stop(self) -> None:
        """Disable/delete: cancel timers; results of batches in flight are ignored."""
        self.running = False
        self.generation += 1
        for reader in self.readers.values():
            self.clock.cancel(reader.poll_timer)
            reader.poll_timer = None
            for lane in reader.lanes:
                self.clock.cancel(lane.timer)
                lane.timer = None
                if lane.inflight is not None:
                    lane.queued.appendleft(lane.inflight)
                    lane.inflight = None

    def _add_reader(self, shard: Shard, position: int) -> None:
        self.readers[shard.shard_id] = _Reader(shard, position, self.mapping.parallelization)

    def wake(self) -> None:
        """New records (``Available``) or a finished batch: start every idle lane that can."""
        if not self.running:
            return
        for reader in list(self.readers.values()):
            if not reader.done:
                self._pump(reader)

    # -- reading and batching ------------------------------------------------------------------

    def _pump(self, reader: _Reader) -> None:
        lanes = reader.lanes
        batch_size = self.mapping.batch_size
        if len(lanes) == 1:
            lane = lanes[0]
            if lane.inflight is None:
                if not lane.queued and len(lane.pending) < batch_size:
                    self._read(reader, batch_size - len(lane.pending))
                self._start_idle(reader, lane, batch_size)
        else:
            if reader.held < batch_size * len(lanes) * LANE_BUFFER_BATCHES:
                self._read(reader, batch_size * len(lanes))
            # An idle lane with nothing read or queued has nothing to start (unless a tumbling
            # window may owe its final invocation): skip the calls.
            windowed = self.mapping.tumbling_window_s
            for lane in lanes:
                if lane.inflight is None and (lane.pending or lane.queued or windowed):
                    self._start_idle(reader, lane, batch_size)
        if not reader.held:
            self._maybe_finish(reader)

    def _start_idle(self, reader: _Reader, lane: _Lane, batch_size: int) -> None:
        """An idle lane starts a batch, unless its batching window is still gathering."""
        if lane.timer is not None:
            if len(lane.pending) < batch_size and not lane.queued:
                return
            self.clock.cancel(lane.timer)   # the batch filled before the window ended
            lane.timer = None
        self._start(reader, lane)

    def _read(self, reader: _Reader, limit: int) -> None:
        shard = reader.shard
        if reader.position >= shard.latest:
            return
        if reader.idle_since is not None:   # read to its end before: wait for the next poll
            now = self.clock.now()
            polls = max(1, math.ceil((now - reader.idle_since) / POLL_INTERVAL_S - 1e-9))
            poll_at = reader.idle_since + polls * POLL_INTERVAL_S
            if now < poll_at - 1e-9:
                if reader.poll_timer is None:
                    reader.poll_timer = self.clock.call_at(poll_at, lambda: self._on_poll(reader))
                return
            reader.idle_since = None
        result = shard.read(reader.position, limit)
        records = result.records
        reader.position = result.next_position
        if reader.position >= shard.latest:   # read to its end (not cut by size): poll again in a second
            reader.idle_since = self.clock.now()
        if not records:
            return
        n = len(records)
        reader.held += n
        self.mapping.polled += n
        lanes = reader.lanes
        if len(lanes) == 1:
            lanes[0].pending.extend(records)
            return
        memo = self._key_lane
        if len(memo) >= _KEY_MEMO_SIZE:
            memo.clear()
        factor = len(lanes)
        appends = [lane.pending.append for lane in lanes]
        for record in records:
            key = record.partition_key
            try:
                appends[memo[key]](record)
            except KeyError:
                # crc32, not hash(): str hashes vary between runs, lanes must not.
                index = memo[key] = zlib.crc32(key.encode()) % factor
                appends[index](record)

    def _start(self, reader: _Reader, lane: _Lane) -> None:
        """Send the lane's next batch: a queued retry first, else new records (window permitting)."""
        m = self.mapping
        if lane.queued:
            batch = lane.queued.popleft()
        elif m.tumbling_window_s:
            tumbling = windows.next_batch(self, reader, lane, _Batch)
            if tumbling is None:
                return
            batch = tumbling
        elif lane.pending:
            pending = lane.pending
            if m.window_s and len(pending) < m.batch_size:
                now = self.clock.now()
                if lane.window_at is None:
                    lane.window_at = now + m.window_s
                if now < lane.window_at:
                    lane.timer = self.clock.call_at(lane.window_at, lambda: self._on_timer(reader, lane))
                    return
            lane.window_at = None
            if len(pending) <= m.batch_size:
                records, lane.pending = pending, []
            else:
                records = pending[:m.batch_size]
                del pending[:m.batch_size]
            if m.filters:
                records = self._filter(reader, records)
                if not records:
                    self._start(reader, lane)
                    return
            batch = _Batch(records)
        else:
            return
        self._invoke(reader, lane, batch)

    def _on_poll(self, reader: _Reader) -> None:
        reader.poll_timer = None
        if self.running and not reader.done:
            self._pump(reader)

    def on_window_end(self, reader: _Reader, lane: _Lane) -> None:
        """A tumbling window's end passed: make its final invocation once the lane is idle."""
        lane.window_timer = None
        if self.running and lane.inflight is None and lane.timer is None:
            self._pump(reader)

    def _on_timer(self, reader: _Reader, lane: _Lane) -> None:
        lane.timer = None
        if not self.running:
            return
        if lane.inflight is not None:
            batch, lane.inflight = lane.inflight, None
            self._invoke(reader, lane, batch)
        else:
            self._pump(reader)

    def _filter(self, reader: _Reader, records: list[StreamRecord]) -> list[StreamRecord]:
        """Filtered-out records are skipped: the checkpoint moves past them."""
        matchers = self.mapping.matchers
        kept = []
        for record in records:
            doc = {"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": record.partition_key,
                               "sequenceNumber": str(record.sequence_number), "data": record.data,
                               "approximateArrivalTimestamp": record.approximate_arrival_at},
                   "eventSource": "aws:kinesis", "eventSourceARN": self.stream.arn,
                   "awsRegion": self.mesh.region}
            if any(f.match(doc) for f in matchers):
                kept.append(record)
        dropped = len(records) - len(kept)
        if dropped:
            self.mapping.filtered_out += dropped
            reader.held -= dropped
        return kept

    # -- invoking ------------------------------------------------------------------------------

    def _payload(self, reader: _Reader, records: list[StreamRecord]) -> bytes:
        """The event, encoded once; ``data`` is base64-encoded by msgspec."""
        assert self._encoder is not None
        return self._encoder.encode(reader.event_id_prefix, records)

    def size_bound(self, records: list[StreamRecord]) -> int:
        """At least the encoded size of the event of ``records``, known without encoding it:
        base64 writes at most 4 bytes for 3 (padding included), a key at most 6 bytes a
        character (a \\u escape), and a record's other members ``_overhead`` (measured with a
        56-digit sequence number) and at most ``ARRIVAL_SLACK_BYTES`` more for its arrival time."""
        n = len(records)
        # 4/3 of (data + 2) bounds its base64; one pass over the records for data and keys.
        variable = sum([4 * len(r.data) + 18 * len(r.partition_key) for r in records]) // 3
        return EVENT_ENVELOPE_BYTES + variable + n * (self._overhead + ARRIVAL_SLACK_BYTES + 3)

    def _record_overhead(self) -> int:
        """Encoded bytes of one record besides its data and key (a 56-digit sequence number)."""
        sample = StreamRecord(10**55, b"", "", 1_700_000_000.123)
        shard_id = "shardId-000000000000:"
        record = KinesisRecord(KinesisData("1.0", "", str(sample.sequence_number), b"", 1_700_000_000.123),
                               "aws:kinesis", "1.0", shard_id + str(sample.sequence_number),
                               "aws:kinesis:record", self._role, self.mesh.region, self.stream.arn)
        return len(encode(record)) + 1   # + the comma between records

    def _cut(self, lane: _Lane, records: list[StreamRecord]) -> list[StreamRecord]:
        """Keep the payload under 6 MB: records past the cut go back to the lane (first)."""
        sizes = [(len(r.data) + 2) // 3 * 4 + len(r.partition_key) for r in records]
        n = cut_by_payload(sizes, self._overhead)
        lane.queued.appendleft(_Batch(records[n:]))
        return records[:n]

    def _invoke(self, reader: _Reader, lane: _Lane, batch: _Batch) -> None:
        m = self.mapping
        if m.max_record_age_s >= 0:
            kept = self._drop_expired(reader, lane, batch)
            if kept is None:
                self._start(reader, lane)
                return
            batch = kept
        lane.inflight = batch
        arn = m.function_arn
        if arn != self._function_arn:   # split once per FunctionName, not per batch
            self._function_arn, self._qualifier = arn, qualifier_of(arn)
            self._unqualified_arn = ":".join(arn.split(":")[:7])
        function: Any = function_at(self.mesh, self._unqualified_arn)
        generation = self.generation

        def done(result: Any) -> None:
            if generation == self.generation:
                if result is THROTTLED:   # a function in another worker throttled it
                    lane.inflight = batch
                    self._throttled(reader, lane, batch)
                else:
                    self._finished(reader, lane, batch, result)

        payload: bytes | LazyEvent
        if batch.window is None and self.size_bound(batch.records) <= MAX_PAYLOAD_BYTES:
            # Encoded when first read: a model: handler never reads it (LazyEvent).
            payload = LazyEvent(partial(self._payload, reader, batch.records), len(batch.records))
        else:
            payload = self._payload(reader, batch.records)
            if batch.window is not None:
                payload = windows.with_window(payload, self, reader, lane, batch)
            if len(payload) > MAX_PAYLOAD_BYTES and len(batch.records) > 1:
                # Rare: checked on the encoded bytes (the bound above is loose).
                batch.records = self._cut(lane, batch.records)
                payload = self._payload(reader, batch.records)
        if function is not None and function.invoke_batch(payload, done, m.source_arn, self._qualifier):
            batch.attempts += 1
            return
        self._throttled(reader, lane, batch)

    def _throttled(self, reader: _Reader, lane: _Lane, batch: _Batch) -> None:
        """Throttled (or the function is gone): back off; does not count as a retry."""
        self.mapping.throttles += 1
        batch.throttles += 1
        delay = throttle_backoff_s(batch.throttles)
        lane.timer = self.clock.call_later(delay, lambda: self._on_timer(reader, lane))

    def _drop_expired(self, reader: _Reader, lane: _Lane, batch: _Batch) -> _Batch | None:
        """Records older than MaximumRecordAgeInSeconds are given up (``RecordAgeExceeded``)."""
        cutoff = self.clock.now() - self.mapping.max_record_age_s
        records = batch.records
        if not records or records[0].approximate_arrival_at >= cutoff:
            return batch
        n = 0
        while n < len(records) and records[n].approximate_arrival_at < cutoff:
            n += 1
        self._give_up(reader, records[:n], "RecordAgeExceeded", batch.attempts, None)
        if n == len(records):
            return None
        rest = _Batch(records[n:], batch.retries)
        rest.attempts = batch.attempts
        return rest

    def _finished(self, reader: _Reader, lane: _Lane, batch: _Batch, result: Any) -> None:
        m = self.mapping
        lane.inflight = None
        records = batch.records
        if result.status >= 500:
            # A system error is retried like a throttle, without counting.
            batch.throttles += 1
            lane.inflight = batch
            delay = throttle_backoff_s(batch.throttles)
            lane.timer = self.clock.call_later(delay, lambda: self._on_timer(reader, lane))
            return
        failed_from = None
        if result.function_error is not None:
            failed_from = 0
        elif batch.window is not None and not windows.take_state(lane, batch, result.payload):
            failed_from = 0   # a response without ``state`` is a failure
        elif m.report_failures:
            failed = failed_items(result.payload, {str(r.sequence_number) for r in records})
            if failed is ALL_FAILED:
                failed_from = 0
            elif isinstance(failed, list) and failed:
                lowest = min(int(s) for s in failed)
                failed_from = next(i for i, r in enumerate(records) if r.sequence_number == lowest)
        if failed_from is None:
            self._succeeded(reader, records)
        else:
            m.last_processing_result = "PROBLEM: Function call failed"
            if failed_from:
                self._succeeded(reader, records[:failed_from])
            self._failed(reader, lane, batch, records[failed_from:], result, partial=failed_from > 0
                         or result.function_error is None)
            if lane.queued:
                # The retry holds the lane (as a throttled batch does) until the pause ends.
                lane.inflight = lane.queued.popleft()
                lane.timer = self.clock.call_later(ERROR_RETRY_S, lambda: self._on_timer(reader, lane))
        self._pump(reader)

    def _succeeded(self, reader: _Reader, records: list[StreamRecord]) -> None:
        m = self.mapping
        m.last_processing_result = "OK"
        if not records:
            return
        m.invoked += len(records)
        reader.held -= len(records)
        self.last_age_ms = reader.last_age_ms = max(
            0, int((self.clock.now() - records[-1].approximate_arrival_at) * 1000))

    def _failed(self, reader: _Reader, lane: _Lane, batch: _Batch, records: list[StreamRecord],
                result: Any, partial: bool) -> None:
        m = self.mapping
        m.failed_invoke += len(records)
        if m.bisect and not partial and len(records) > 1:
            half = len(records) // 2
            first, second = _Batch(records[:half]), _Batch(records[half:])
            lane.queued.extendleft((second, first))
            return
        if m.max_retries >= 0 and batch.retries >= m.max_retries:
            self._give_up(reader, records, "RetryAttemptsExhausted", batch.attempts, result)
            return
        retry = _Batch(records, batch.retries + 1)
        retry.attempts = batch.attempts
        lane.queued.appendleft(retry)

    # -- giving up -----------------------------------------------------------------------------

    def _give_up(self, reader: _Reader, records: list[StreamRecord], condition: str, attempts: int,
                 result: Any | None) -> None:
        """Skip ``records`` (the shard moves on) and tell the on-failure destination."""
        m = self.mapping
        m.dropped += len(records)
        reader.held -= len(records)
        destination = m.on_failure
        if destination is None or not records:
            return
        first, last = records[0], records[-1]
        info = KinesisBatchInfo(reader.shard.shard_id, str(first.sequence_number), str(last.sequence_number),
                                iso_millis(first.approximate_arrival_at),
                                iso_millis(last.approximate_arrival_at),
                                len(records), self.stream.arn)
        executed = None
        error = None
        if result is not None and condition != "RecordAgeExceeded":
            executed = result.executed_version
            error = result.function_error
        record = OnFailureRecord.build(
            request_id=self.mesh.ids_for(m.arn).uuid(), function_arn=m.function_arn, condition=condition,
            invoke_count=attempts, now=self.clock.now(), batch=info, function_error=error,
            executed_version=executed)
        self.mesh.emit(Deliver(destination, [Delivery(encode(record).decode())], m.arn,
                               self.mesh.expect(self._delivered)))

    def _delivered(self, result: DeliveryResult) -> None:
        if result.ok:
            self.mapping.destination_delivered += 1
        else:
            self.mapping.destination_failures += 1

    # -- resharding and metrics ----------------------------------------------------------------

    def _maybe_finish(self, reader: _Reader) -> None:
        """A closed shard read to its end: start its children whose parents are all done."""
        shard = reader.shard
        if shard.is_open or reader.position < shard.latest:
            return
        if any(lane.inflight or lane.queued or lane.pending for lane in reader.lanes):
            return
        reader.done = True
        for child in self.stream.children_of(shard):
            if child.shard_id in self.readers:
                continue
            parents = [self.readers.get(p) for p in child.parent_shard_ids]
            if all(p is None or p.done for p in parents):
                self._add_reader(child, child.trim_horizon)
                self._pump(self.readers[child.shard_id])

    def shard_gauges(self) -> list[tuple[str, int, int]]:
        """(shard id, IteratorAge ms, OffsetLag records) of each shard being read, computed at
        scrape time as :meth:`gauges` computes the mapping's."""
        now = self.clock.now()
        out = []
        for reader in self.readers.values():
            age = reader.last_age_ms
            outstanding = False
            for lane in reader.lanes:
                batch = lane.inflight or (lane.queued[0] if lane.queued else None)
                if batch is not None and batch.records:
                    if not outstanding:
                        outstanding, age = True, 0
                    age = max(age, int((now - batch.records[-1].approximate_arrival_at) * 1000))
            out.append((reader.shard.shard_id, age, reader.held + max(0, reader.shard.latest - reader.position)))
        return out

    def gauges(self) -> tuple[int, int, int]:
        """(IteratorAge ms, OffsetLag records, batches in flight), computed at scrape time:
        a batch still outstanding (running, throttled or retrying) ages live."""
        now = self.clock.now()
        age = self.last_age_ms
        lag = 0
        busy = 0
        outstanding = False
        for reader in self.readers.values():
            lag += reader.held + max(0, reader.shard.latest - reader.position)
            for lane in reader.lanes:
                batch = lane.inflight or (lane.queued[0] if lane.queued else None)
                if batch is not None and batch.records:
                    busy += lane.inflight is not None
                    if not outstanding:
                        outstanding, age = True, 0
                    age = max(age, int((now - batch.records[-1].approximate_arrival_at) * 1000))
        return age, lag, busy
