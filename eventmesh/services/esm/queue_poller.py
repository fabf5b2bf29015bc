"""The SQS event source mapping poller.

Everything that decides when a mapping receives from its queue, how many batches it runs at
once and what it deletes lives here; visibility, receive counts, the FIFO group lock and the
redrive to the dead-letter queue are the queue core's (``services/sqs/queue.py``, ``fifo.py``), so
a FIFO queue never has two batches of one message group in flight and a batch that keeps failing
(or keeps being throttled: a throttle still costs a receive) moves to the DLQ after
``maxReceiveCount`` receives.

Concurrency: 5 batches at first; while messages remain, 300 more per minute up to the ceiling
(1,250, configurable) or ``ScalingConfig.MaximumConcurrency``; a queue that runs dry (no visible
message: a FIFO queue whose visible groups are all in flight is not dry) scales back to 5, or to
the batches in flight if more; a failed batch that follows a failed one lowers the level by one
(AWS's "gradual" back-off on function errors, which it does not quantify:
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html). The pollers
long-poll: an idle mapping's pollers each count an empty receive per 20 s poll
(``LONG_POLL_WAIT_S``). Cost model: one ``Queue.receive`` per batch, one payload encode per batch
(when the function reads it: a ``model:`` handler never does, see ``lambda_/jobs.LazyEvent``),
one timer per batching window, throttle back-off, scale-up step or long poll per mapping — never
per message. Wake-ups come from ``Available(queue_arn)``.
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
"""

from __future__ import annotations

from functools import partial
from typing import Any

import msgspec

from eventmesh.services.esm.batching import SQS_RECORD_OVERHEAD_BYTES, cut_by_payload
from eventmesh.services.esm.invoke import (
    ALL_FAILED,
    THROTTLED,
    failed_items,
    function_at,
    function_timeout,
    qualifier_of,
    throttle_backoff_s,
)
from eventmesh.services.esm.mapping import DEFAULT_SQS_MAX_CONCURRENCY
from eventmesh.services.esm.records import SqsEventEncoder, SqsMessageAttribute, SqsRecord, encode_event
from eventmesh.services.lambda_.jobs import LazyEvent

__all__ = ["INITIAL_CONCURRENCY", "LONG_POLL_WAIT_S", "SCALE_UP_PER_MINUTE", "VISIBILITY_EXTRA_S", "QueuePoller"]

INITIAL_CONCURRENCY = 5           # concurrent batches at start and at low traffic
SCALE_UP_PER_MINUTE = 300         # since Nov 2023 (60/min before)
VISIBILITY_EXTRA_S = 30           # window + timeout + 30 s when they exceed the visibility
ERROR_BACKOFF_BATCHES = 1         # concurrent batches given up per failed batch after a failed one
# The pollers long-poll the queue: a poll that finds nothing ends after SQS's longest wait and is
# one NumberOfEmptyReceives, so an idle mapping costs its pollers a receive every 20 s each.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html
LONG_POLL_WAIT_S = 20


class _Batch:
    __slots__ = ("deadline", "messages", "payload", "receipts", "throttles")

    def __init__(self, messages: list[Any], deadline: float) -> None:
        self.messages = messages
        self.receipts = [m.receipt for m in messages]   # this receive's receipts, not a later one's
        self.deadline = deadline                        # when the messages become visible again
        self.payload: LazyEvent | None = None
        self.throttles = 0


class QueuePoller:
    """Polls one queue for one mapping (see the module docstring)."""

    def __init__(self, mapping: Any, queue: Any, ceiling: int = DEFAULT_SQS_MAX_CONCURRENCY) -> None:
        self.mapping = mapping
        self.mesh = mapping.mesh
        self.clock = mapping.mesh.clock
        self.queue = queue
        self.ceiling = ceiling
        self.running = False
        self.generation = 0
        self.busy = 0
        self.base = INITIAL_CONCURRENCY
        self.scale_since = self.clock.now()
        self.gather: list[Any] = []
        self.gather_deadline = 0.0
        self._window_timer: Any = None
        self._scale_timer: Any = None
        self._poll_timer: Any = None   # the end of the pollers' current long polls
        self._received = False         # a poll received messages since the last one ended
        self._failing = False          # the last batch to finish failed
        self._backoff: set[Any] = set()
        self._encoder = SqsEventEncoder(queue.arn, self.mesh.region, self.mesh.account_id)
        self._function_arn = ""   # the mapping's FunctionArn last seen, its unqualified ARN, its qualifier
        self._function_key = ""
        self._qualifier: str | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if not self.running:
            self.running = True
            self.generation += 1
            self.base, self.scale_since = INITIAL_CONCURRENCY, self.clock.now()
            self.wake()

    def stop(self) -> None:
        """Batches in flight finish unobserved; their messages reappear after the visibility."""
        self.running = False
        self.generation += 1
        for timer in (self._window_timer, self._scale_timer, self._poll_timer, *self._backoff):
            self.clock.cancel(timer)
        self._window_timer = self._scale_timer = self._poll_timer = None
        self._backoff.clear()
        self.busy = 0
        self.gather = []

    # -- scaling -------------------------------------------------------------------------------

    def limit(self) -> int:
        """Concurrent batches allowed now."""
        return min(self._cap(), self._grown())

    def _cap(self) -> int:
        """The most batches at once: the mapping's MaximumConcurrency, else the pool's ceiling."""
        return self.mapping.max_concurrency or self.ceiling

    def _grown(self) -> int:
        """The level the scale-up has reached, before the cap."""
        # + 1e-4 of a step: epoch floats lose ~0.2 µs, and 60 s of 0.2 s steps is 300, not 299.99…
        return self.base + int((self.clock.now() - self.scale_since) * SCALE_UP_PER_MINUTE / 60.0 + 1e-4)

    def _ran_dry(self) -> None:
        """The queue has nothing visible: back to the floor, or to the batches in flight, which
        keep their concurrency."""
        self._rescale(max(INITIAL_CONCURRENCY, self.busy))

    def _back_off(self) -> None:
        """A failed batch: the level one batch lower, the scale-up under way kept (a reset at
        each failure would lose the part of a step it had grown, and never grow)."""
        cap = self._cap()
        grown = self._grown()
        if grown <= cap and grown - ERROR_BACKOFF_BATCHES >= INITIAL_CONCURRENCY:
            self.base -= ERROR_BACKOFF_BATCHES
        else:
            self._rescale(min(cap, grown) - ERROR_BACKOFF_BATCHES)

    def _rescale(self, level: int) -> None:
        self.base = max(INITIAL_CONCURRENCY, min(level, self._cap()))
        self.scale_since = self.clock.now()

    def _function(self) -> Any | None:
        """``find_target`` of the mapping's function (here, or its stand-in for a function another
        worker runs), its ARN split once per FunctionArn."""
        arn = self.mapping.function_arn
        if arn != self._function_arn:
            self._function_arn, self._function_key = arn, ":".join(arn.split(":")[:7])
            self._qualifier = qualifier_of(arn)
        return function_at(self.mesh, self._function_key)

    def _visibility(self) -> int | None:
        """Window + function timeout beyond the queue's visibility → window + timeout + 30 s."""
        m = self.mapping
        function = self._function()
        timeout = function_timeout(function) if function is not None else 0.0
        if m.window_s + timeout > self.queue.config.visibility_timeout:
            return int(m.window_s + timeout + VISIBILITY_EXTRA_S)
        return None

    # -- receiving -----------------------------------------------------------------------------

    def wake(self) -> None:
        """Receive and dispatch batches while the concurrency allows and the queue has messages."""
        if not self.running:
            return
        m = self.mapping
        queue = self.queue
        if queue.unavailable:
            return   # an outage: the queue wakes its pollers (``Available``) when it ends
        if self._poll_timer is None:
            self._poll_timer = self.clock.call_later(LONG_POLL_WAIT_S, self._on_polls_end)
        while self.busy < self.limit():
            want = m.batch_size - len(self.gather)
            visibility = self._visibility()
            # A long poll: what it finds now it answers; an empty one is counted when it ends.
            messages = queue.receive(want, visibility, wait=True, count_empty=False)
            now = self.clock.now()
            if messages:
                self._received = True
                m.polled += len(messages)
                if not self.gather:
                    timeout = visibility if visibility is not None else queue.config.visibility_timeout
                    self.gather_deadline = now + timeout
                if m.filters:
                    messages = self._filter(messages)
                self.gather.extend(messages)
            full = len(self.gather) >= m.batch_size
            if full or (self.gather and not m.window_s):
                self._dispatch()
                continue
            if len(messages) < want and not queue.n_visible:
                self._ran_dry()   # (not: a FIFO queue's visible groups all in flight)
            if self.gather and self._window_timer is None:
                self._window_timer = self.clock.call_later(m.window_s, self._on_window)
            return
        if self._scale_timer is None and self.limit() < self._cap():
            # One timer per mapping at the next whole step (never accumulated 0.2 s increments).
            steps = self.limit() - self.base + 1
            self._scale_timer = self.clock.call_at(
                self.scale_since + steps * 60.0 / SCALE_UP_PER_MINUTE, self._on_scale)

    def _on_window(self) -> None:
        self._window_timer = None
        if self.running and self.gather and self.busy < self.limit():
            self._dispatch()
        self.wake()

    def _on_polls_end(self) -> None:
        """LONG_POLL_WAIT_S since the pollers' polls began: if none received anything, each
        poller not waiting on an invocation ends its poll empty (one NumberOfEmptyReceives each)
        and polls again; the pollers stop with the mapping and during a queue outage."""
        self._poll_timer = None
        if not self.running or self.queue.unavailable:
            return
        if not self._received and self.busy < self.limit():
            # Pollers free to poll found nothing for a whole poll: the queue was dry, and each
            # poller ends its poll empty.
            self._ran_dry()
            self.queue.count_empty_receive(max(0, min(self.limit(), INITIAL_CONCURRENCY) - self.busy))
        self._received = False
        self._poll_timer = self.clock.call_later(LONG_POLL_WAIT_S, self._on_polls_end)

    def _on_scale(self) -> None:
        self._scale_timer = None
        self.wake()

    def _filter(self, messages: list[Any]) -> list[Any]:
        """Messages no filter matches are deleted from the queue."""
        matchers = self.mapping.matchers
        kept: list[Any] = []
        dropped: list[Any] = []
        for msg in messages:
            record = msgspec.to_builtins(self._record(msg))
            (kept if any(f.match(record) for f in matchers) else dropped).append(msg)
        if dropped:
            self.mapping.filtered_out += len(dropped)
            self.queue.delete_batch([m.receipt for m in dropped])
            self.mapping.deleted += len(dropped)
        return kept

    # -- invoking ------------------------------------------------------------------------------

    def _record(self, msg: Any) -> SqsRecord:
        queue = self.queue
        attributes = {
            "ApproximateReceiveCount": str(msg.receive_count),
            "SentTimestamp": str(int(msg.sent * 1000)),
            "SenderId": self.mesh.account_id,
            "ApproximateFirstReceiveTimestamp": str(int(msg.first_receive * 1000)),
        }
        if msg.trace_header:
            attributes["AWSTraceHeader"] = msg.trace_header
        if queue.fifo:
            attributes["SequenceNumber"] = str(msg.sequence_number)
            attributes["MessageGroupId"] = msg.group_id or ""
            if msg.deduplication_id:
                attributes["MessageDeduplicationId"] = msg.deduplication_id
        message_attributes = {
            name: SqsMessageAttribute(
                stringValue=v.get("StringValue"), binaryValue=v.get("BinaryValue"),
                stringListValues=[], binaryListValues=[], dataType=v.get("DataType", "String"))
            for name, v in (msg.attributes or {}).items()
        }
        return SqsRecord(msg.id, queue.receipt_handle(msg), msg.body, attributes, message_attributes,
                         queue.body_md5(msg), "aws:sqs", queue.arn, self.mesh.region,
                         queue.attributes_md5(msg))

    def _payload(self, messages: list[Any]) -> bytes:
        """The event: plain messages (no attributes or trace header, standard queue: the common
        case) through the pre-encoded encoder, anything else as :class:`SqsRecord` Structs."""
        queue = self.queue
        if queue.fifo:
            return encode_event([self._record(m) for m in messages])
        for m in messages:
            if m.attributes or m.trace_header:
                return encode_event([self._record(m) for m in messages])
        return self._encoder.encode(messages, queue.receipt_handles(messages), queue.body_md5s(messages))

    def _dispatch(self) -> None:
        """Invoke with the gathered messages (cut at 6 MB; the rest start the next batch)."""
        gather = self.gather
        n = cut_by_payload([len(m.body) + 64 * len(m.attributes or ()) for m in gather],
                           SQS_RECORD_OVERHEAD_BYTES)
        messages, self.gather = gather[:n], gather[n:]
        if self._window_timer is not None and not self.gather:
            self.clock.cancel(self._window_timer)
            self._window_timer = None
        batch = _Batch(messages, self.gather_deadline)
        # Encoded when first read: a model: handler never reads it (LazyEvent).
        batch.payload = LazyEvent(partial(self._payload, messages), len(messages))
        self.busy += 1
        self._invoke(batch)

    def _invoke(self, batch: _Batch) -> None:
        m = self.mapping
        function = self._function()
        generation = self.generation

        def done(result: Any) -> None:
            if generation == self.generation:
                if result is THROTTLED:   # a function in another worker throttled it
                    self._throttled(batch)
                else:
                    self._finished(batch, result)

        if function is not None and function.invoke_batch(batch.payload, done, m.source_arn, self._qualifier):
            return
        self._throttled(batch)

    def _throttled(self, batch: _Batch) -> None:
        """Retry with back-off while the messages are still ours; then they reappear on their
        own and the next receive counts again."""
        m = self.mapping
        generation = self.generation
        m.throttles += 1
        batch.throttles += 1
        delay = throttle_backoff_s(batch.throttles)
        if self.clock.now() + delay >= batch.deadline:
            self.busy -= 1
            return

        def retry() -> None:
            self._backoff.discard(timer)
            if self.running and generation == self.generation:
                self._invoke(batch)

        timer = self.clock.call_later(delay, retry)
        self._backoff.add(timer)

    def _finished(self, batch: _Batch, result: Any) -> None:
        m = self.mapping
        self.busy -= 1
        messages = batch.messages
        if result.function_error is not None or result.status >= 500:
            failed: Any = ALL_FAILED
        elif m.report_failures:
            failed = failed_items(result.payload, {msg.id for msg in messages})
        else:
            failed = None
        if failed is ALL_FAILED:
            # Nothing is deleted: the batch reappears after the visibility timeout.
            m.failed_invoke += len(messages)
            m.last_processing_result = "PROBLEM: Function call failed"
            # Lambda "gradually backs off, reducing the amount of concurrency allocated" to the
            # mapping as failures go on: one batch fewer per failed batch that follows a failed
            # one, so a function that fails now and then keeps scaling and one that keeps
            # failing falls back to the floor.
            if self._failing:
                self._back_off()
            self._failing = True
        else:
            self._failing = False
            if failed:
                keep = set(failed)
                receipts = [r for msg, r in zip(messages, batch.receipts, strict=True) if msg.id not in keep]
            else:
                receipts = batch.receipts
            if receipts:
                self.queue.delete_batch(receipts)
            m.deleted += len(receipts)
            m.invoked += len(receipts)
            m.failed_invoke += len(messages) - len(receipts)
            m.last_processing_result = "OK"
        self.wake()

    def gauges(self) -> tuple[int, int, int]:
        """(IteratorAge, OffsetLag: not defined for SQS, batches in flight)."""
        return 0, 0, self.busy
