"""Asynchronous invocation: the per-function event queue, retries, event age, destinations, DLQ.

Everything that decides what happens to an ``Event`` invocation lives here:

* Two retry regimes. Function errors (timeouts included) are retried ``MaximumRetryAttempts``
  (0–2) times, 1 minute then 2 minutes later. Throttles and system errors, where the code never
  ran, go back to the queue with back-off 1 s doubling to 5 min, until the event is too old; they
  do not use up retry attempts.
* Look-ahead: when the next retry would start after ``MaximumEventAgeInSeconds``, the event is
  given up at once with ``EventAgeExceeded``.
* Reserved concurrency 0: every event fails at once with ``ZeroReservedConcurrency``.
* Terminal outcomes go to the OnSuccess / OnFailure destination (the invocation record,
  ``records.py``) and failures also to the version's DLQ (the original event with
  RequestID / ErrorCode / ErrorMessage attributes).

A destination or DLQ that does not exist yet (the mesh answers ``ResourceNotFoundException``)
does not lose the record: it is kept and redelivered with back-off (1 s doubling to 5 min) for
as long as ``MaximumEventAgeInSeconds`` of the qualifier, measured from the terminal outcome;
then it counts as ``DestinationDeliveryFailures`` / ``DeadLetterErrors``. Any other delivery
error counts at once. Timers: one per distinct retry millisecond (``_ticks.py``), never one per
event. Cost: O(1) per event and attempt.
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from functools import partial

from eventmesh.effects import Deliver, Delivery, DeliveryResult, Outcome
from eventmesh.histogram import Histogram
from eventmesh.services.lambda_._ticks import Ticks
from eventmesh.services.lambda_.configuration import DEFAULT_EVENT_INVOKE_CONFIG, EventInvokeConfig
from eventmesh.services.lambda_.jobs import Invocation
from eventmesh.services.lambda_.records import (
    EVENT_AGE_EXCEEDED,
    RETRIES_EXHAUSTED,
    SUCCESS,
    ZERO_RESERVED_CONCURRENCY,
    dlq_attributes,
    encode_record,
    invocation_record,
)
from eventmesh.services.lambda_.stats import EVENT_AGE_BUCKETS_S
from eventmesh.services.lambda_.versions import FunctionHost, FunctionVersion

__all__ = ["AsyncQueue", "FUNCTION_ERROR_RETRY_DELAYS_S", "THROTTLE_BACKOFF_INITIAL_S",
           "THROTTLE_BACKOFF_MAX_S", "SNS_MAX_RECORD_BYTES"]

FUNCTION_ERROR_RETRY_DELAYS_S = (60.0, 120.0)   # regime 1: before retry 1, retry 2
THROTTLE_BACKOFF_INITIAL_S = 1.0                # regime 2
THROTTLE_BACKOFF_MAX_S = 300.0
SNS_MAX_RECORD_BYTES = 262_144                  # payloads dropped from larger records
THROTTLED_ERROR_CODE = 429                      # DLQ ErrorCode of an event that never ran (unverified)
THROTTLED_ERROR_MESSAGE = "Rate Exceeded."
_DESTINATION, _DLQ = "destination", "dlq"


class _Pending:
    """A destination or DLQ message waiting for its target to exist."""

    __slots__ = ("kind", "target", "delivery", "deadline", "attempt")

    def __init__(self, kind: str, target: str, delivery: Delivery, deadline: float) -> None:
        self.kind = kind
        self.target = target
        self.delivery = delivery
        self.deadline = deadline
        self.attempt = 0


class AsyncQueue:
    """One function's asynchronous event queue."""

    def __init__(self, function: FunctionHost) -> None:
        self.function = function
        self.mesh = function.mesh
        self.clock = function.clock
        self.ready: deque[Invocation] = deque()
        self.retries = Ticks(self.clock, self._due)
        self.redeliveries = Ticks(self.clock, self._redeliver)
        self.closed = False
        self.received = 0
        self.dropped = 0
        # Where accepted events are (a simulation's totals balance on them): running now, ended
        # well, given up for their age (part of ``dropped``); records the destinations and the
        # DLQ took.
        self.running = 0
        self.succeeded = 0
        self.expired = 0
        self.destination_delivered = 0
        self.records_in_flight = 0   # destination and DLQ records sent, their answer not back yet
        self.dead_lettered = 0
        self.dead_letter_errors = 0
        self.destination_delivery_failures = 0
        self.event_age = Histogram(EVENT_AGE_BUCKETS_S, sketch=function.mesh.sketches)

    def depth(self) -> int:
        return len(self.ready) + len(self.retries)

    def put(self, invs: list[Invocation]) -> None:
        """Events accepted (202): count them and try to start them now."""
        self.received += len(invs)
        self.ready.extend(invs)
        self.pump()

    def pump(self) -> None:
        """Start every ready event the pool admits; the rest are throttled and back off."""
        ready = self.ready
        if not ready or self.closed:
            return
        fn = self.function
        events = list(ready)
        ready.clear()
        if fn.concurrency.reserved == 0:
            fn.concurrency.throttles += len(events)
            for inv in events:
                self.terminal(inv, ZERO_RESERVED_CONCURRENCY)
            return
        now = self.clock.now()
        hist = self.event_age
        buckets, counts = hist.buckets, hist.counts
        for version, group in self._by_version(events):
            rest, _ = fn.start(version, group)
            started = len(group) - len(rest)
            self.running += started
            last_age, idx, total, run = -1.0, 0, 0.0, 0
            sketch = hist.fine is not None   # a run of equal ages goes to the sketch at once
            for inv in group[:started] if rest else group:
                age = now - inv.enqueued_at
                if age != last_age:
                    if run:
                        hist.sketch_many(last_age, run)
                    last_age, idx, run = age, bisect_left(buckets, age), 0
                counts[idx] += 1
                run += sketch
                total += age
            hist.sum += total
            hist.count += started
            if run:
                hist.sketch_many(last_age, run)
            if rest:
                self._throttled(rest, now)

    def _by_version(self, events: list[Invocation]) -> list[tuple[FunctionVersion, list[Invocation]]]:
        fn = self.function
        q = events[0].qualifier
        if q in fn.versions and all(inv.qualifier == q for inv in events):
            return [(fn.versions[q], events)]   # the common case: one target, one batch
        groups: dict[FunctionVersion, list[Invocation]] = {}
        for inv in events:
            try:
                version = fn.route(inv.qualifier)
            except Exception:   # the alias or version was deleted while the event waited
                self.dropped += 1
                continue
            groups.setdefault(version, []).append(inv)
        return list(groups.items())

    def _throttled(self, invs: list[Invocation], now: float) -> None:
        """Regime 2: back off 1 s, 2 s, 4 s … 5 min, unless the retry would be past the age."""
        configs = self.function.invoke_configs
        for inv in invs:
            inv.throttles += 1
            backoff = THROTTLE_BACKOFF_INITIAL_S * (1 << min(inv.throttles - 1, 16))
            retry_at = now + (backoff if backoff < THROTTLE_BACKOFF_MAX_S else THROTTLE_BACKOFF_MAX_S)
            config = configs.get(inv.qualifier, DEFAULT_EVENT_INVOKE_CONFIG)
            if retry_at - inv.enqueued_at > config.max_event_age_s:
                self.terminal(inv, EVENT_AGE_EXCEEDED, config)
            else:
                self.retries.add(retry_at, inv)

    def _due(self, invs: list[Invocation]) -> None:
        if not self.closed:
            self.ready.extend(invs)
            self.pump()

    def attempts_done(self, invs: list[Invocation]) -> None:
        """Attempts finished: success, a function error (regime 1) or a system error (regime 2)."""
        now = self.clock.now()
        configs = self.function.invoke_configs
        self.running -= len(invs)
        unsuccessful = 0   # counted on the rarer paths, so a success costs no counter of its own
        for inv in invs:
            config = configs.get(inv.qualifier, DEFAULT_EVENT_INVOKE_CONFIG)
            if inv.system_error:
                unsuccessful += 1
                self._throttled([inv], now)
            elif inv.error_type is None:
                if config.on_success is not None:
                    self.terminal(inv, SUCCESS, config)
            else:
                unsuccessful += 1
                used = inv.attempts - 1
                if used >= config.max_retry_attempts:
                    self.terminal(inv, RETRIES_EXHAUSTED, config)
                    continue
                retry_at = now + FUNCTION_ERROR_RETRY_DELAYS_S[used]
                if retry_at - inv.enqueued_at > config.max_event_age_s:
                    self.terminal(inv, EVENT_AGE_EXCEEDED, config)
                else:
                    inv.throttles = 0
                    self.retries.add(retry_at, inv)
        self.succeeded += len(invs) - unsuccessful

    # -- terminal outcomes ---------------------------------------------------------------------

    def terminal(self, inv: Invocation, condition: str, config: EventInvokeConfig | None = None) -> None:
        """The event is done: record to the destination, failures also to the DLQ."""
        fn = self.function
        if self.closed:
            return
        if config is None:
            config = fn.invoke_config(inv.qualifier)
        success = condition == SUCCESS
        if not success:
            self.dropped += 1
            if condition == EVENT_AGE_EXCEEDED:
                self.expired += 1
        destination = config.on_success if success else config.on_failure
        version = inv.version
        if version is None:
            try:
                version = fn.route(inv.qualifier)
            except Exception:
                version = fn.latest
        dlq = None if success else version.config.dead_letter_arn  # type: ignore[attr-defined]
        if destination is None and dlq is None:
            return
        now = self.clock.now()
        request_id = fn.request_id(inv)
        deadline = now + config.max_event_age_s
        ran = inv.attempts > 0
        if destination is not None:
            body = self._record_body(inv, condition, request_id, destination, ran, now)
            self._send(_Pending(_DESTINATION, destination, Delivery(body), deadline))
        if dlq is not None:
            if ran:
                fn.response(inv)   # builds the error message of a timeout
                code, message = 200, inv.error_message or ""
            else:
                code, message = THROTTLED_ERROR_CODE, THROTTLED_ERROR_MESSAGE
            attributes = dlq_attributes(request_id, code, message)
            self._send(_Pending(_DLQ, dlq, Delivery(inv.event().decode("utf-8", "replace"), attributes),
                                deadline))

    def _record_body(self, inv: Invocation, condition: str, request_id: str, target: str, ran: bool,
                     now: float) -> str:
        fn = self.function
        version = inv.version
        fields = dict(now=now, request_id=request_id, function_arn=f"{fn.arn}:{inv.qualifier}",
                      condition=condition, invoke_count=inv.attempts, request_payload=inv.event())
        if ran:
            fields.update(executed_version=version.name,  # type: ignore[attr-defined]
                          function_error=None if inv.error_type is None else "Unhandled",
                          response_payload=fn.response(inv))
        record = invocation_record(**fields)  # type: ignore[arg-type]
        # An EventBridge bus gets the record too: the bus wraps it as the "Lambda Function
        # Invocation Result" event (services/events/records.lambda_result_event), one envelope builder.
        service = target.split(":", 3)[2] if target.count(":") >= 3 else ""
        body = encode_record(record)
        if service == "sns" and len(body) > SNS_MAX_RECORD_BYTES:
            body = encode_record(invocation_record(**fields, drop_payloads=True))  # type: ignore[arg-type]
        return body

    def _send(self, pending: _Pending) -> None:
        mesh = self.mesh
        self.records_in_flight += 1
        mesh.emit(Deliver(pending.target, [pending.delivery], self.function.arn,
                          mesh.expect(partial(self._delivered, pending))))

    def _delivered(self, pending: _Pending, result: DeliveryResult) -> None:
        self.records_in_flight -= 1
        if result.ok:
            if pending.kind == _DLQ:
                self.dead_lettered += 1
            else:
                self.destination_delivered += 1
            return
        if result.kind is Outcome.MISSING and not self.closed:
            backoff = min(THROTTLE_BACKOFF_INITIAL_S * (1 << min(pending.attempt, 16)),
                          THROTTLE_BACKOFF_MAX_S)
            retry_at = self.clock.now() + backoff
            if retry_at <= pending.deadline:
                pending.attempt += 1
                self.redeliveries.add(retry_at, pending)
                return
        if pending.kind == _DLQ:
            self.dead_letter_errors += 1
        else:
            self.destination_delivery_failures += 1

    def _redeliver(self, items: list[_Pending]) -> None:
        for pending in items:
            self._send(pending)

    def close(self) -> None:
        self.closed = True
        self.ready.clear()
        self.retries.cancel_all()
        self.redeliveries.cancel_all()

