"""A Lambda function as a mesh resource: invocation types, starting and finishing invocations.

``Invoke``: ``RequestResponse`` starts at once or raises
``TooManyRequestsException`` (429, with its Reason); ``Event`` queues the event (202) for the
asynchronous queue (``async_invoke.py``); ``DryRun`` only checks (204). Pollers use
:meth:`Function.invoke_batch` (see ``pool.py``); SNS, EventBridge and Lambda destinations deliver
through :meth:`Function.accept` (asynchronous invocation of each item's body). Every invocation is
admitted by the pool (``pool.py``), run by its version's handler, and finished here, where the
counters behind ``statistics()`` move. Cost: O(1) per invocation, counters moved once per batch.

Faults (a simulation's, or the daemon's ``/_eventmesh/faults``) reach a function through its
``fault`` attribute, None unless one is active (a single check on the hot path): while set, it
throttles a share of the invocations the pool would admit and, as invocations end, adds latency,
turns them into timeouts or fails them (:class:`FunctionFault`).
https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
https://docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from eventmesh.effects import DELIVERED, Delivery, DeliveryResult
from eventmesh.histogram import Histogram
from eventmesh.mesh import Mesh
from eventmesh.services.lambda_._ticks import Ticks
from eventmesh.services.lambda_.async_invoke import AsyncQueue
from eventmesh.services.lambda_.configuration import (
    DEFAULT_EVENT_INVOKE_CONFIG,
    LATEST,
    MAX_ASYNC_PAYLOAD_BYTES,
    MAX_SYNC_PAYLOAD_BYTES,
    EventInvokeConfig,
    VersionConfig,
)
from eventmesh.services.lambda_.errors import (
    RequestTooLargeException,
    ResourceNotFoundException,
    ServiceException,
    TooManyRequestsException,
    function_not_found,
)
from eventmesh.services.lambda_.handlers import HandlerSpec
from eventmesh.services.lambda_.jobs import TIMEOUT_ERROR_TYPE, Invocation, LazyEvent, error_payload, timeout_outcome
from eventmesh.services.lambda_.permissions import FunctionPolicy
from eventmesh.services.lambda_.pool import FunctionConcurrency, InvokeResult, account_pool
from eventmesh.services.lambda_.stats import DURATION_BUCKETS_S, FunctionStatistics
from eventmesh.services.lambda_.versions import Alias, FunctionVersion

__all__ = ["Function", "FunctionFault", "REQUEST_RESPONSE", "EVENT", "DRY_RUN", "UNHANDLED", "FAULT_THROTTLE_REASON"]

REQUEST_RESPONSE = "RequestResponse"
EVENT = "Event"
DRY_RUN = "DryRun"
UNHANDLED = "Unhandled"   # current runtimes always report Unhandled
# Finished invocations kept per function for the console (eventmesh's own view, not a Lambda API).
RECENT_INVOCATIONS = 20
_NO_INVOCATIONS: list[Invocation] = []
# TooManyRequestsException.Reason of an injected throttle: a rate limit, not a concurrency limit.
FAULT_THROTTLE_REASON = "CallerRateLimitExceeded"


class FunctionFault(Protocol):
    """An active fault of one function, as the core consults it (``eventmesh.simulate.faults``)."""

    def admitted(self, n: int) -> int:
        """How many of ``n`` invocations the pool may consider (the rest are throttled)."""

    def finishing(self, function: Function, invs: list[Invocation]) -> list[Invocation]:
        """Invocations that end now: the ones to finish at once (maybe failed); the fault holds
        the others (added latency, a timeout) and finishes them later through ``finish``."""


def _too_large(limit: int) -> RequestTooLargeException:
    return RequestTooLargeException(
        f"Request must be smaller than {limit} bytes for the InvokeFunction operation")


class Function:
    """``arn:aws:lambda:<region>:<account>:function:<name>`` with its versions and aliases."""

    metric_namespace = "AWS/Lambda"

    def __init__(self, mesh: Mesh, name: str, config: VersionConfig, spec: HandlerSpec) -> None:
        self.mesh = mesh
        self.name = name
        self.arn = mesh.arn("lambda", f"function:{name}")
        self.ids = mesh.ids_for(self.arn)   # request ids, alias routing: its own random stream
        self.clock = mesh.clock
        self.account = account_pool(mesh)
        self.concurrency = FunctionConcurrency(self.account, mesh.clock.now())
        self.completions = Ticks(mesh.clock, self.finish)
        self.versions: dict[str, FunctionVersion] = {}
        self.aliases: dict[str, Alias] = {}
        self.invoke_configs: dict[str, EventInvokeConfig] = {}
        self.next_version = 1
        self.tags: dict[str, str] = {}
        self.policies: dict[str, FunctionPolicy] = {}   # qualifier ("" unqualified) -> policy
        self.recursive_loop = "Terminate"                # PutFunctionRecursionConfig (not modelled)
        self.provisioned: dict[str, Any] = {}   # qualifier -> its ProvisionedConfig (provisioned.py)
        self.code_signing_config_arn = ""         # PutFunctionCodeSigningConfig (signing.py)
        self.url_answers = [0, 0, 0]               # function URL requests: all, 4xx, 5xx (urls.py)
        # qualifier -> (UpdateRuntimeOn, RuntimeVersionArn): PutRuntimeManagementConfig (not modelled)
        self.runtime_management: dict[str, tuple[str, str | None]] = {}
        self.retired_cold_starts = 0   # cold starts of replaced $LATEST and deleted versions
        self.retired_provisioned = [0, 0]   # deleted versions' provisioned invocations and spill-overs
        self.fault: FunctionFault | None = None
        self.latest = self.set_latest(config, spec)
        self.async_queue = AsyncQueue(self)
        # Counters, read by statistics() at scrape time.
        self.invocations = 0
        self.errors = 0
        self.duration = Histogram(DURATION_BUCKETS_S, sketch=mesh.sketches)
        self.recent: deque[Invocation] = deque(maxlen=RECENT_INVOCATIONS)

    # -- resolution ----------------------------------------------------------------------------

    def set_latest(self, config: VersionConfig, spec: HandlerSpec) -> FunctionVersion:
        """A new $LATEST (new code or settings: the old idle environments are not reused)."""
        if LATEST in self.versions:
            self.retired_cold_starts += self.versions[LATEST].envs.created
        self.latest = self.versions[LATEST] = FunctionVersion(self, LATEST, config, spec)
        return self.latest

    def has_qualifier(self, qualifier: str) -> bool:
        return qualifier in self.versions or qualifier in self.aliases

    def route(self, qualifier: str) -> FunctionVersion:
        """The version that runs an invocation of ``qualifier`` (weighted for aliases)."""
        version = self.versions.get(qualifier)
        if version is not None:
            return version
        alias = self.aliases.get(qualifier)
        if alias is None:
            raise function_not_found(f"{self.arn}:{qualifier}")
        routing = alias.routing
        if routing.additional_version is not None and self.ids.random.random() < routing.weight:
            return self.versions[routing.additional_version]
        return self.versions[alias.function_version]

    def invoke_config(self, qualifier: str) -> EventInvokeConfig:
        return self.invoke_configs.get(qualifier, DEFAULT_EVENT_INVOKE_CONFIG)

    def request_id(self, inv: Invocation) -> str:
        if inv.request_id is None:
            inv.request_id = self.ids.uuid()
        return inv.request_id

    # -- invocation entry points ---------------------------------------------------------------

    def invoke(self, payload: bytes, *, qualifier: str | None = None,
               invocation_type: str = REQUEST_RESPONSE, log_tail: bool = False,
               on_done: Callable[[InvokeResult], None] | None = None,
               request_id: str | None = None) -> InvokeResult | None:
        """The Invoke API. RequestResponse returns None and calls ``on_done`` when finished;
        Event and DryRun return their result at once. Throttles raise TooManyRequestsException."""
        q = qualifier or LATEST
        if not self.has_qualifier(q):
            raise function_not_found(f"{self.arn}:{q}")
        if invocation_type == DRY_RUN:
            return InvokeResult(b"", status=204, request_id=request_id or "")
        if invocation_type == EVENT:
            if len(payload) > MAX_ASYNC_PAYLOAD_BYTES:
                raise _too_large(MAX_ASYNC_PAYLOAD_BYTES)
            inv = Invocation(payload, q, None, True, self.clock.now(), request_id)
            self.async_queue.put([inv])
            return InvokeResult(b"", status=202, request_id=self.request_id(inv))
        if len(payload) > MAX_SYNC_PAYLOAD_BYTES:
            raise _too_large(MAX_SYNC_PAYLOAD_BYTES)
        inv = Invocation(payload, q, on_done, False, request_id=request_id, log_tail=log_tail)
        rest, reason = self.start(self.route(q), [inv])
        if rest:
            raise TooManyRequestsException(reason or "ConcurrentInvocationLimitExceeded")
        return None

    def invoke_batch(self, payload: bytes | LazyEvent, on_done: Callable[[InvokeResult], None], source_arn: str,
                     qualifier: str | None = None) -> bool:
        """Synchronous invocation for a poller: False when throttled (see ``pool.py``), or when
        the mapped qualifier no longer exists (a deleted alias), so the poller backs off as it
        does for a throttle instead of an error escaping from its timer."""
        q = qualifier or LATEST
        try:
            version = self.route(q)
        except ResourceNotFoundException:
            return False
        if isinstance(payload, LazyEvent):
            inv = Invocation(b"", q, on_done, lazy=payload)
        else:
            inv = Invocation(payload, q, on_done)
        rest, _ = self.start(version, [inv])
        return not rest

    def accept(self, items: list[Delivery], source_arn: str, qualifier: str = LATEST) -> DeliveryResult:
        """Asynchronous invocation of each item's body (SNS, EventBridge, Lambda destinations)."""
        now = self.clock.now()
        self.async_queue.put([Invocation(item.body.encode(), qualifier, None, True, now) for item in items])
        return DELIVERED

    # -- the pool: start and finish ------------------------------------------------------------

    def start(self, version: FunctionVersion, invs: list[Invocation]) -> tuple[list[Invocation], str | None]:
        """Admit and start ``invs`` on ``version``; returns the throttled rest and its Reason."""
        now = self.clock.now()
        n = len(invs)
        if self.fault is None:
            warm, cold, reason = self.concurrency.admit(version.envs, n, now)
        else:
            allowed = self.fault.admitted(n)
            warm, cold, reason = self.concurrency.admit(version.envs, allowed, now) if allowed else (0, 0, None)
            if allowed < n:
                reason = reason or FAULT_THROTTLE_REASON
        granted = warm + cold
        rest = _NO_INVOCATIONS
        if granted < n:
            self.concurrency.throttles += n - granted
            rest = invs[granted:]
            invs = invs[:granted]
        if granted:
            for inv in invs:
                if inv.attempts:   # an async retry: forget the previous attempt's outcome
                    inv.response = inv.error_type = inv.error_message = inv.log = inv.log_events = None
                    inv.cold = inv.system_error = False
                inv.started_at = now
                inv.version = version
                inv.attempts += 1
            if cold:
                for inv in invs[warm:]:
                    inv.cold = True
            version.handler.start(invs, now)
        return rest, reason

    def finish(self, invs: list[Invocation]) -> None:
        """Invocations ended (clock deadline or runner callback): release, count, report."""
        if self.fault is not None:
            invs = self.fault.finishing(self, invs)
            if not invs:
                return
        now = self.clock.now()
        first = invs[0].version
        assert isinstance(first, FunctionVersion)
        others: dict[FunctionVersion, int] | None = None
        hist = self.duration
        buckets, counts = hist.buckets, hist.counts
        last_d, idx, total_d, errors, ran = -1.0, 0, 0.0, 0, 0
        sketch, run = hist.fine is not None, 0   # a run of equal durations goes to the sketch at once
        async_done = []
        sync_done = []
        for inv in invs:
            if inv.version is not first:
                others = others or {}
                other: FunctionVersion = inv.version  # type: ignore[assignment]
                others[other] = others.get(other, 0) + 1
            if inv.system_error:   # the code never ran: not an Invocation
                inv.attempts -= 1
            else:
                ran += 1
                d = inv.duration_s
                if d != last_d:
                    if run:
                        hist.sketch_many(last_d, run)
                    last_d, idx, run = d, bisect_left(buckets, d), 0
                counts[idx] += 1
                run += sketch
                total_d += d
                if inv.error_type is not None:
                    errors += 1
            if inv.is_async:
                async_done.append(inv)
            elif inv.on_done is not None:
                sync_done.append(inv)
        n = len(invs)
        moved = sum(others.values()) if others else 0
        first.envs.release(n - moved, now)
        if others:
            for version, count in others.items():
                version.envs.release(count, now)
        self.concurrency.release(n)
        self.invocations += ran
        self.errors += errors
        hist.sum += total_d
        hist.count += ran
        if run:
            hist.sketch_many(last_d, run)
        self.recent.extend(invs[-RECENT_INVOCATIONS:])   # one slice per batch, whatever its size
        # Capacity is back before any caller hears of it, so a poller may invoke again at once.
        for inv in sync_done:
            inv.on_done(self.result(inv))  # type: ignore[misc]
        if async_done:
            self.async_queue.attempts_done(async_done)
        self.async_queue.pump()

    # -- results -------------------------------------------------------------------------------

    def response(self, inv: Invocation) -> bytes:
        """The function's response, or its error object built when first needed."""
        if inv.response is None:
            if inv.error_type is None:
                inv.response = b"null"
            elif inv.error_type == TIMEOUT_ERROR_TYPE:
                outcome = timeout_outcome(self.request_id(inv), inv.duration_s)
                inv.response, inv.error_message = outcome.payload, outcome.error_message
            else:
                inv.response = error_payload(inv.error_type, inv.error_message or "", self.request_id(inv))
        return inv.response

    def result(self, inv: Invocation) -> InvokeResult:
        version = inv.version
        assert isinstance(version, FunctionVersion)
        if inv.system_error:
            return InvokeResult(b"", None, ServiceException.code, inv.error_message or "", 500,
                                version.name, 0.0, self.request_id(inv))
        payload = self.response(inv)
        # A request id is drawn only when something shows it (API calls pass theirs in).
        rid = inv.request_id or ""
        return InvokeResult(payload, None if inv.error_type is None else UNHANDLED, inv.error_type,
                            inv.error_message, 200, version.name, inv.duration_s, rid,
                            version.log_tail(inv, self.request_id(inv)) if inv.log_tail else None)

    # -- metrics and lifecycle -----------------------------------------------------------------

    def metric_dimensions(self) -> dict[str, str]:
        return {"FunctionName": self.name}

    def statistics(self) -> FunctionStatistics:
        queue = self.async_queue
        return FunctionStatistics(
            self.invocations, self.errors, self.concurrency.throttles, self.duration.snapshot(),
            self.concurrency.concurrent, queue.dead_letter_errors, queue.destination_delivery_failures,
            queue.received, queue.event_age.snapshot(), queue.dropped,
            self.retired_cold_starts + sum(v.envs.created for v in self.versions.values()), queue.depth(),
            *self._provisioned_statistics(), *self.url_answers)

    def _provisioned_statistics(self) -> tuple[int, int, int]:
        """(executions on provisioned environments now, invocations on them, spill-overs)."""
        envs = [v.envs for v in self.versions.values()]
        on, spilled = self.retired_provisioned
        return (sum(e.pinned_busy for e in envs), on + sum(e.on_provisioned for e in envs),
                spilled + sum(e.spillover for e in envs))

    def close(self) -> None:
        """Deleted: pending retries and deliveries stop; running invocations finish unseen."""
        self.async_queue.close()
        if self.concurrency.provisioned:
            self.concurrency.set_provisioned(0)
        if self.concurrency.reserved is not None:
            self.concurrency.set_reserved(None)

    def describe_concurrency(self) -> dict[str, Any]:
        reserved = self.concurrency.reserved
        return {} if reserved is None else {"ReservedConcurrentExecutions": reserved}
