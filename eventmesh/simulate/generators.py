"""Load generators: producers that call a service's in-process entry point on clock timers.

A generator makes API calls (``PutEvents``, ``Publish``/``PublishBatch``, ``SendMessage``/
``SendMessageBatch``, ``PutRecord``/``PutRecords``), each carrying ``batch`` events, at the rate
its profile gives: evenly spaced, or as a Poisson process. It sees each call's answer as an SDK
would and retries what the SDK (or the application around it) retries: a whole call refused by a
throttle or a 5xx, and the throttled entries of a partial failure (a PutRecords record over its
shard's quota). Retries follow the SDKs' standard mode: at most ``max_attempts`` attempts, the
i-th retry after ``rand(0, 1) · min(base · 2^i, max_backoff)`` with base 1 s for throttles and
50 ms for other transient errors (full jitter), so a throttle shows in the results as the retry
traffic and delay it causes on AWS. What is not retried, or runs out of attempts, is counted as
failed: ``offered = accepted + failed + retrying``, always.
https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html

Cost: one clock timer per call (never one per event, never a task), one template render per
event (nothing for a constant payload), one entry Struct per event, the service call.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import msgspec

from eventmesh.errors import EntryError, ServiceError, ThrottlingError
from eventmesh.mesh import Mesh
from eventmesh.services.events.records import PutEventsRequestEntry
from eventmesh.services.events.service import put_events
from eventmesh.services.kinesis.stream import PutRecordsRequestEntry, Stream
from eventmesh.services.sns.service import check_batch
from eventmesh.services.sns.topic import PublishEntry, Topic
from eventmesh.services.sqs.message import SendEntry
from eventmesh.services.sqs.queue import Queue
from eventmesh.simulate.payloads import Template
from eventmesh.simulate.profiles import Profile

__all__ = ["API_LIMITS", "API_SERVICES", "Generator", "GeneratorSpec", "RetryPolicy", "Totals"]

# API → (service, entries per call at most)
API_LIMITS = {
    "PutEvents": ("events", 10),
    "Publish": ("sns", 1),
    "PublishBatch": ("sns", 10),
    "SendMessage": ("sqs", 1),
    "SendMessageBatch": ("sqs", 10),
    "PutRecord": ("kinesis", 1),
    "PutRecords": ("kinesis", 500),
}
API_SERVICES = {api: service for api, (service, _) in API_LIMITS.items()}
# SDK standard retry mode (botocore retries/standard.py): 3 attempts, full jitter, 20 s cap,
# base 1 s for throttling errors, 50 ms for other transient ones.
DEFAULT_MAX_ATTEMPTS = 3
THROTTLE_BASE_S = 1.0
TRANSIENT_BASE_S = 0.05
MAX_BACKOFF_S = 20.0
_RETRYABLE_EVENTS_CODES = frozenset({"ThrottlingException", "InternalFailure", "InternalException"})


class RetryPolicy(msgspec.Struct, frozen=True):
    """How a producer retries (the SDKs' standard mode by default; ``max_attempts`` 1: never)."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    throttle_base_s: float = THROTTLE_BASE_S
    transient_base_s: float = TRANSIENT_BASE_S
    max_backoff_s: float = MAX_BACKOFF_S

    def delay_s(self, rng: random.Random, attempt: int, throttled: bool) -> float:
        """The wait before attempt ``attempt + 1`` (``attempt`` ≥ 1 attempts made so far)."""
        base = self.throttle_base_s if throttled else self.transient_base_s
        return rng.random() * min(base * 2 ** (attempt - 1), self.max_backoff_s)


class GeneratorSpec(msgspec.Struct, kw_only=True):
    """A parsed ``load:`` entry (see ``scenario.py``)."""

    name: str
    api: str
    target: str
    batch: int
    start_s: float = 0.0
    stop_s: float | None = None
    retry: RetryPolicy = RetryPolicy()
    fields: dict[str, Any] = {}       # the payload's templates by field (compiled per run)
    samples: list[str] | None = None  # a sample file's lines, replayed in order
    profile: Any = None               # a profiles.Profile


class Totals(msgspec.Struct):
    """A generator's account: every event it offered is accepted, failed or still retrying."""

    offered: int = 0
    accepted: int = 0
    throttled: int = 0     # entry attempts refused by a throttle (each retried or failed)
    retried: int = 0       # entry attempts made again
    failed: int = 0        # given up: not retryable, or out of attempts
    retrying: int = 0      # waiting for their next attempt
    calls: int = 0


class Generator:
    """One producer of a scenario (see the module docstring)."""

    def __init__(self, mesh: Mesh, spec: GeneratorSpec, target: Any, templates: dict[str, Template],
                 rng: random.Random, origin: float, end: float) -> None:
        self.mesh = mesh
        self.clock = mesh.clock
        self.spec = spec
        self.name = spec.name
        self.target = target
        self.templates = templates
        self.random = rng
        self.profile: Profile = spec.profile
        self.origin = origin
        self.end = origin + spec.stop_s if spec.stop_s is not None else end
        self.end = min(self.end, end)
        self.totals = Totals()
        self._rel = 0.0
        self._sample = 0
        self._build = self._builder()
        self._call = self._caller()

    # -- timing ------------------------------------------------------------------------------

    def start(self) -> None:
        """Schedule the first call. Evenly spaced calls sit in the middle of the time their
        events accrue (the first once half a batch has), so a run of T seconds at rate r makes
        exactly r·T/batch calls and no call falls on a whole-second boundary of a quota window;
        Poisson calls come after exponential gaps."""
        self._rel = self.spec.start_s
        first = self._next_call(first=True)
        if first is not None:
            self.clock.call_at(self.origin + first, self._fire)

    def _next_call(self, first: bool = False) -> float | None:
        """The next call's time (seconds from the origin, kept relative so that hours of small
        steps do not lose precision to epoch-sized floats): the rate integrated until one call's
        worth of events (``batch``, an exponential multiple of it for Poisson arrivals) accrued."""
        profile, batch, end = self.profile, self.spec.batch, self.end - self.origin
        if profile.poisson:
            needed = batch * self.random.expovariate(1.0)
        else:
            needed = batch / 2 if first else float(batch)
        rel = self._rel
        credit = 0.0
        while rel < end:
            rate = profile.rate(rel)
            change = profile.next_change(rel)
            if rate <= 0:
                if change == math.inf:
                    return None
                rel = change
                continue
            dt = (needed - credit) / rate
            if rel + dt <= change:
                rel += dt
                self._rel = rel
                return rel if rel < end else None
            credit += rate * (change - rel)
            rel = change
        return None

    def _fire(self) -> None:
        self._send(self._build(self.spec.batch), 1)
        following = self._next_call()
        if following is not None:
            self.clock.call_at(self.origin + following, self._fire)

    # -- calls -------------------------------------------------------------------------------

    def _send(self, entries: list[Any], attempt: int) -> None:
        """One API call; schedules the retry of what the SDK would retry."""
        totals = self.totals
        totals.calls += 1
        if attempt == 1:
            totals.offered += len(entries)
        else:
            totals.retrying -= len(entries)
            totals.retried += len(entries)
        retry, throttled, accepted = self._call(entries)
        totals.accepted += accepted
        failed = len(entries) - accepted - len(retry)
        if throttled:
            totals.throttled += throttled
        if retry:
            policy = self.spec.retry
            if attempt < policy.max_attempts:
                totals.retrying += len(retry)
                delay = policy.delay_s(self.random, attempt, throttled > 0)
                self.clock.call_later(delay, lambda: self._send(retry, attempt + 1))
            else:
                failed += len(retry)
        totals.failed += failed

    def _caller(self) -> Callable[[list[Any]], tuple[list[Any], int, int]]:
        """``call(entries) -> (entries to retry, how many were throttled, how many accepted)``."""
        api, target, mesh = self.spec.api, self.target, self.mesh

        def whole_call(call: Callable[[list[Any]], tuple[list[Any], int, int]]
                       ) -> Callable[[list[Any]], tuple[list[Any], int, int]]:
            def guarded(entries: list[Any]) -> tuple[list[Any], int, int]:
                try:
                    return call(entries)
                except ThrottlingError:
                    return entries, len(entries), 0
                except ServiceError as exc:
                    return (entries if not exc.sender_fault else []), 0, 0
            return guarded

        if api == "PutEvents":
            def call_events(entries: list[Any]) -> tuple[list[Any], int, int]:
                response = put_events(mesh, entries)
                if not response.failed_entry_count:
                    return [], 0, len(entries)
                retry = [e for e, r in zip(entries, response.entries, strict=True)
                         if r.error_code in _RETRYABLE_EVENTS_CODES]
                throttled = sum(1 for r in response.entries if r.error_code == "ThrottlingException")
                return retry, throttled, len(entries) - response.failed_entry_count
            return whole_call(call_events)
        if api in ("Publish", "PublishBatch"):
            topic: Topic = target

            def call_topic(entries: list[Any]) -> tuple[list[Any], int, int]:
                if api == "Publish":
                    topic.publish(entries[0])
                    return [], 0, 1
                check_batch(entries)
                results = topic.publish_batch(entries)
                retry = [e for e, r in zip(entries, results, strict=True)
                         if isinstance(r, EntryError) and not r.sender_fault]
                ok = sum(1 for r in results if not isinstance(r, EntryError))
                return retry, 0, ok
            return whole_call(call_topic)
        if api in ("SendMessage", "SendMessageBatch"):
            queue: Queue = target

            def call_queue(entries: list[Any]) -> tuple[list[Any], int, int]:
                results = queue.send_batch(entries)
                retry = [e for e, r in zip(entries, results, strict=True)
                         if isinstance(r, ServiceError) and not r.sender_fault]
                throttled = sum(1 for r in results if isinstance(r, ThrottlingError))
                ok = sum(1 for r in results if not isinstance(r, ServiceError))
                return retry, throttled, ok
            return whole_call(call_queue)
        stream: Stream = target
        if api == "PutRecord":
            def call_record(entries: list[Any]) -> tuple[list[Any], int, int]:
                entry = entries[0]
                stream.put_record(entry.data, entry.partition_key, entry.explicit_hash_key)
                return [], 0, 1
            return whole_call(call_record)

        def call_records(entries: list[Any]) -> tuple[list[Any], int, int]:
            outcome = stream.put_records(entries)
            if not outcome.failed_record_count:
                return [], 0, len(entries)
            retry = [e for e, n in zip(entries, outcome.sequence_numbers, strict=True) if n is None]
            return retry, len(retry), len(entries) - len(retry)
        return whole_call(call_records)

    # -- entries -----------------------------------------------------------------------------

    def _builder(self) -> Callable[[int], list[Any]]:
        """``build(n)``: the next ``n`` request entries of this generator's API."""
        spec, t = self.spec, self.templates
        api = spec.api

        def text(field: str, default: str | None = None) -> Callable[[], str | None]:
            template = t.get(field)
            if template is None:
                return lambda: default
            return template.render

        samples = spec.samples
        if samples is not None:
            return self._sample_builder(samples)
        if api == "PutEvents":
            return self._events_builder()
        if api in ("Publish", "PublishBatch"):
            message, subject, group, dedup = text("message", "{}"), text("subject"), text("group_id"), \
                text("deduplication_id")
            attributes = self._attributes("sns")

            def publish_entries(n: int) -> list[Any]:
                return [PublishEntry(id=str(i), message=message() or "", subject=subject(),
                                     message_attributes=attributes(), message_group_id=group(),
                                     message_deduplication_id=dedup()) for i in range(n)]
            return publish_entries
        if api in ("SendMessage", "SendMessageBatch"):
            body, group, dedup = text("body", "{}"), text("group_id"), text("deduplication_id")
            attributes = self._attributes("sqs")
            delay = spec.fields.get("delay_seconds")

            def send_entries(n: int) -> list[Any]:
                return [SendEntry(body() or "", attributes() or None, delay, group(), dedup(), None, str(i))
                        for i in range(n)]
            return send_entries
        return self._records_builder()

    def _records_builder(self) -> Callable[[int], list[Any]]:
        """PutRecords entries: constant data is encoded once; keys are random unless templated."""
        t, entry = self.templates, PutRecordsRequestEntry
        data_t, key_t, explicit_t = t.get("data"), t.get("partition_key"), t.get("explicit_hash_key")
        if key_t is None:
            rng = self.random
            key: Callable[[], str] = lambda: str(rng.getrandbits(32))  # noqa: E731
        else:
            key = key_t.render
        explicit = None if explicit_t is None else explicit_t.render
        if explicit is not None:
            data_f = (lambda: b"{}") if data_t is None else (lambda: data_t.render().encode())
            return lambda n: [entry(data_f(), key(), explicit()) for _ in range(n)]
        if data_t is None or data_t.constant:
            data = b"{}" if data_t is None else data_t.text.encode()
            return lambda n: [entry(data, key()) for _ in range(n)]
        render = data_t.render
        return lambda n: [entry(render().encode(), key()) for _ in range(n)]

    def _events_builder(self) -> Callable[[int], list[Any]]:
        """PutEvents entries (positional Struct arguments: the generator's hottest loop)."""
        t, bus, entry = self.templates, self.spec.target, PutEventsRequestEntry
        source_t, type_t, detail_t = t.get("source"), t.get("detail_type"), t.get("detail")
        source = "eventmesh.simulate" if source_t is None else source_t.text
        detail_type = "Event" if type_t is None else type_t.text
        if (source_t is None or source_t.constant) and (type_t is None or type_t.constant):
            if detail_t is None or detail_t.constant:
                detail = "{}" if detail_t is None else detail_t.text
                return lambda n: [entry(source, detail_type, detail, None, None, bus) for _ in range(n)]
            render = detail_t.render
            return lambda n: [entry(source, detail_type, render(), None, None, bus) for _ in range(n)]

        def rendered(template: Template | None, default: str) -> Callable[[], str]:
            return (lambda: default) if template is None else template.render

        source_f, type_f = rendered(source_t, source), rendered(type_t, detail_type)
        detail_f = rendered(detail_t, "{}")
        return lambda n: [entry(source_f(), type_f(), detail_f(), None, None, bus) for _ in range(n)]

    def _attributes(self, service: str) -> Callable[[], dict[str, Any]]:
        templates = {name[len("attribute:"):]: tpl for name, tpl in self.templates.items()
                     if name.startswith("attribute:")}
        if not templates:
            return dict
        return lambda: {name: {"DataType": "String", "StringValue": tpl.render()} for name, tpl in templates.items()}

    def _sample_builder(self, samples: list[str]) -> Callable[[int], list[Any]]:
        """Replay a sample file's lines in order, cycling (PutEvents: each line an entry)."""
        api, bus = self.spec.api, self.spec.target
        decode = msgspec.json.decode
        size = len(samples)

        def next_line() -> str:
            line = samples[self._sample % size]
            self._sample += 1
            return line

        if api == "PutEvents":
            def event_entries(n: int) -> list[Any]:
                out = []
                for _ in range(n):
                    doc = decode(next_line())
                    detail = doc.get("Detail", doc.get("detail", {}))
                    out.append(PutEventsRequestEntry(
                        source=doc.get("Source", doc.get("source")),
                        detail_type=doc.get("DetailType", doc.get("detail-type")),
                        detail=detail if isinstance(detail, str) else msgspec.json.encode(detail).decode(),
                        event_bus_name=bus))
                return out
            return event_entries
        if api in ("Publish", "PublishBatch"):
            return lambda n: [PublishEntry(id=str(i), message=next_line()) for i in range(n)]
        if api in ("SendMessage", "SendMessageBatch"):
            return lambda n: [SendEntry(next_line(), id=str(i)) for i in range(n)]
        rng = self.random
        return lambda n: [PutRecordsRequestEntry(next_line().encode(), str(rng.getrandbits(32))) for _ in range(n)]
