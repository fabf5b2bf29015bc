"""Faults: one model for scenario files and the daemon's ``/_eventmesh/faults``.

A fault hits one resource from a virtual time, for a duration (none: until cleared)::

    kind               target                          parameters
    errors             a function (name or ARN)        rate: share of invocations that fail (1)
    latency            a function                      latency: added to each invocation's duration
    timeouts           a function                      invocations run until the function's timeout
    throttles          a function                      rate: share of invocations throttled (1)
    unavailable        an SQS queue, an SNS            sends, receives and deliveries fail as the
                       subscription (its ARN, or the   service answers an outage (retryable)
                       endpoint URL of its subscriptions), an API destination
    shard_write_limit  a Kinesis stream                records_per_second, bytes_per_second per shard

Function faults act where Lambda decides (``services/lambda_/function.py``): throttles at
admission (TooManyRequestsException / a throttled poll or async retry); latency, timeouts and
errors as an invocation ends, so its concurrency is held for the added time, a timeout ends it
with ``Sandbox.Timedout`` at the function's timeout, and an error is an ``Unhandled`` function
error that the caller's retry policy then sees. Each core is told through one attribute that is
None/False while no fault is active, so a run without faults pays a single check per batch.

The :class:`FaultBoard` of a mesh (``mesh.state(FaultBoard)``) schedules each fault's start and
end on the mesh clock: a simulation and a daemon (real or virtual clock) run the same code, and a
fault's draws come from a random source seeded by the mesh, so a simulated run is reproducible.
https://docs.aws.amazon.com/lambda/latest/dg/invocation-retries.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html
https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html
"""

from __future__ import annotations

import random
from typing import Any

import msgspec

from eventmesh.clock import Timer
from eventmesh.mesh import Mesh
from eventmesh.services.events.api_destinations import ApiDestination
from eventmesh.services.kinesis.shards import WRITE_BYTES_PER_S, WRITE_RECORDS_PER_S
from eventmesh.services.kinesis.stream import Stream
from eventmesh.services.lambda_._ticks import Ticks
from eventmesh.services.lambda_.function import Function
from eventmesh.services.lambda_.jobs import TIMEOUT_ERROR_TYPE, Invocation
from eventmesh.services.sns.delivery import Subscription
from eventmesh.services.sns.topic import Topic
from eventmesh.services.sqs.queue import Queue
from eventmesh.simulate.units import parse_duration

__all__ = ["FAULT_KINDS", "INJECTED_ERROR_TYPE", "Fault", "FaultBoard", "FaultError", "parse_fault"]

FAULT_KINDS = ("errors", "latency", "timeouts", "throttles", "unavailable", "shard_write_limit")
FUNCTION_KINDS = frozenset({"errors", "latency", "timeouts", "throttles"})
INJECTED_ERROR_TYPE = "InjectedFault"
INJECTED_ERROR_MESSAGE = "Function error injected by an eventmesh fault"
_PARAMETERS = {  # the parameters each kind takes besides kind, target, at, duration, id
    "errors": {"rate"}, "latency": {"latency"}, "timeouts": set(), "throttles": {"rate"},
    "unavailable": set(), "shard_write_limit": {"records_per_second", "bytes_per_second"},
}
_COMMON = {"kind", "target", "at", "duration", "id"}


class FaultError(ValueError):
    """A fault that cannot be used; ``problems`` lists each as ``key: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class Fault(msgspec.Struct, frozen=True, kw_only=True):
    """One fault, checked: times in seconds, ``at`` from the run's start (a scenario) or from the
    moment it is posted (the daemon); ``duration`` None lasts until cleared."""

    kind: str
    target: str
    at: float = 0.0
    duration: float | None = None
    rate: float = 1.0
    latency: float = 0.0
    records_per_second: int | None = None
    bytes_per_second: int | None = None
    id: str = ""


def parse_fault_request(body: bytes) -> tuple[list[Fault], list[Any]]:
    """The faults of a ``POST /_eventmesh/faults`` body (one fault, a list, or ``{"faults": [...]}``)
    and their raw mappings; :class:`FaultError` for a body that is not JSON or a bad fault."""
    try:
        data = msgspec.json.decode(body or b"null")
    except msgspec.DecodeError as exc:
        raise FaultError([f"bad fault request: {exc}"]) from None
    items = data.get("faults") if isinstance(data, dict) and "faults" in data else data
    items = items if isinstance(items, list) else [items]
    return [parse_fault(item, f"faults[{i}]" if len(items) > 1 else "") for i, item in enumerate(items)], items


def parse_fault(data: Any, where: str = "") -> Fault:
    """A :class:`Fault` from its mapping (YAML or JSON); :class:`FaultError` names each problem
    with its key path (``where`` is the fault's own path, e.g. ``faults[2]``)."""
    prefix = f"{where}." if where else ""
    if not isinstance(data, dict):
        raise FaultError([f"{where or '(fault)'}: must be a mapping"])
    problems: list[str] = []
    kind = data.get("kind")
    if kind not in FAULT_KINDS:
        raise FaultError([f"{prefix}kind: must be one of {', '.join(FAULT_KINDS)}"])
    allowed = _COMMON | _PARAMETERS[kind]
    problems += [f"{prefix}{key}: not a parameter of a {kind} fault (takes {', '.join(sorted(allowed - {'id'}))})"
                 for key in data if key not in allowed]
    target = data.get("target")
    if not isinstance(target, str) or not target:
        problems.append(f"{prefix}target: required (a resource name or ARN)")
    fields: dict[str, Any] = {"kind": kind, "target": target or "", "id": str(data.get("id") or "")}
    for key in ("at", "duration", "latency"):
        if data.get(key) is not None:
            try:
                fields[key] = parse_duration(data[key], allow_zero=key == "at")
            except ValueError as exc:
                problems.append(f"{prefix}{key}: {exc}")
    if "rate" in data:
        rate = data["rate"]
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            problems.append(f"{prefix}rate: must be a number from 0 to 1")
        else:
            fields["rate"] = float(rate)
    if kind == "latency" and "latency" not in data:
        problems.append(f"{prefix}latency: required for a latency fault (e.g. 200ms)")
    if kind == "shard_write_limit":
        for key in ("records_per_second", "bytes_per_second"):
            value = data.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                problems.append(f"{prefix}{key}: must be a whole number >= 0")
            elif value is not None:
                fields[key] = value
        if data.get("records_per_second") is None and data.get("bytes_per_second") is None:
            problems.append(f"{prefix}records_per_second: a shard_write_limit fault needs records_per_second "
                            "and/or bytes_per_second")
    if problems:
        raise FaultError(problems)
    return Fault(**fields)


class _FunctionFaults:
    """The faults active on one function, combined, as its core consults them (``Function.fault``)."""

    def __init__(self, function: Function, rng: random.Random) -> None:
        self.function = function
        self.random = rng
        self.active: list[Fault] = []
        self.error_rate = self.throttle_rate = self.latency_s = 0.0
        self.timeouts = False
        self._held = Ticks(function.clock, self._release)
        self._released: set[int] = set()

    def update(self) -> None:
        keep_errors = keep_throttles = 1.0
        self.latency_s, self.timeouts = 0.0, False
        for fault in self.active:
            if fault.kind == "errors":
                keep_errors *= 1.0 - fault.rate
            elif fault.kind == "throttles":
                keep_throttles *= 1.0 - fault.rate
            elif fault.kind == "latency":
                self.latency_s += fault.latency
            elif fault.kind == "timeouts":
                self.timeouts = True
        self.error_rate, self.throttle_rate = 1.0 - keep_errors, 1.0 - keep_throttles
        self.function.fault = self if self.active else None

    def admitted(self, n: int) -> int:
        rate = self.throttle_rate
        if not rate:
            return n
        if rate >= 1.0:
            return 0
        draw = self.random.random
        return sum(1 for _ in range(n) if draw() >= rate)

    def finishing(self, function: Function, invs: list[Invocation]) -> list[Invocation]:
        now = function.clock.now()
        released = self._released
        out: list[Invocation] = []
        for inv in invs:
            if released and id(inv) in released:
                released.discard(id(inv))
                out.append(inv)
                continue
            if inv.system_error:
                out.append(inv)
                continue
            timeout = getattr(inv.version, "timeout_s", 0.0)
            if inv.error_type != TIMEOUT_ERROR_TYPE and (self.latency_s or self.timeouts):
                extra = max(0.0, timeout - inv.duration_s) if self.timeouts else self.latency_s
                if inv.duration_s + extra >= timeout:
                    extra = max(0.0, timeout - inv.duration_s)
                    inv.duration_s = timeout
                    inv.error_type, inv.error_message, inv.response = TIMEOUT_ERROR_TYPE, None, None
                else:
                    inv.duration_s += extra
                if extra > 0:
                    self._held.add(now + extra, inv)
                    continue
            if self.error_rate and inv.error_type is None and self.random.random() < self.error_rate:
                inv.error_type, inv.error_message, inv.response = INJECTED_ERROR_TYPE, INJECTED_ERROR_MESSAGE, None
            out.append(inv)
        return out

    def _release(self, invs: list[Invocation]) -> None:
        """Held invocations end: the fault lets them through once (if it is still active)."""
        if self.function.fault is self:
            self._released.update(id(inv) for inv in invs)
        self.function.finish(invs)


class _Active:
    """A fault on the board: its resolved resource, its timers and window."""

    __slots__ = ("end_timer", "ends_at", "fault", "resource", "start_timer", "started", "starts_at")

    def __init__(self, fault: Fault, resource: Any, starts_at: float) -> None:
        self.fault = fault
        self.resource = resource
        self.starts_at = starts_at
        self.ends_at: float | None = None if fault.duration is None else starts_at + fault.duration
        self.started = False
        self.start_timer: Timer | None = None
        self.end_timer: Timer | None = None


class FaultBoard:
    """The faults of one mesh: scheduled, active and past (one per mesh, ``mesh.state``)."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.clock = mesh.clock
        self._faults: dict[str, _Active] = {}
        self._functions: dict[str, _FunctionFaults] = {}
        self._outages: dict[int, int] = {}        # id(resource) -> active unavailable faults
        self._limits: dict[str, list[Fault]] = {}  # stream ARN -> active write limits
        self._next = 0
        self.history: list[tuple[Fault, float, float | None]] = []   # (fault, start, end) once started

    # -- adding and clearing --------------------------------------------------------------------

    def add(self, fault: Fault, origin: float | None = None) -> Fault:
        """Schedule ``fault`` at ``origin + fault.at`` (origin: now); returns it with its id.
        :class:`FaultError` when the target does not exist or is of the wrong kind."""
        resource = self._resolve(fault)
        now = self.clock.now()
        self._next += 1
        if not fault.id:
            fault = msgspec.structs.replace(fault, id=f"fault-{self._next}")
        if fault.id in self._faults:
            raise FaultError([f"id: a fault {fault.id} exists already"])
        active = _Active(fault, resource, (now if origin is None else origin) + fault.at)
        self._faults[fault.id] = active
        if active.starts_at <= now:
            self._start(active)
        else:
            active.start_timer = self.clock.call_at(active.starts_at, lambda: self._start(active))
        return fault

    def check(self, fault: Fault) -> None:
        """:class:`FaultError` if ``fault`` could not be added (its target is missing or of the
        wrong kind, its id taken): lets a caller add several faults all or none."""
        self._resolve(fault)
        if fault.id and fault.id in self._faults:
            raise FaultError([f"id: a fault {fault.id} exists already"])

    def remove(self, fault_id: str) -> bool:
        """End and forget one fault; False if there is none of that id."""
        active = self._faults.pop(fault_id, None)
        if active is None:
            return False
        self.clock.cancel(active.start_timer)
        self.clock.cancel(active.end_timer)
        if active.started:
            self._stop(active)
        return True

    def clear(self) -> int:
        """End and forget every fault; returns how many there were."""
        ids = list(self._faults)
        for fault_id in ids:
            self.remove(fault_id)
        return len(ids)

    def describe(self) -> list[dict[str, Any]]:
        """Every fault still on the board, as the faults endpoint lists them."""
        now = self.clock.now()
        out = []
        for active in self._faults.values():
            doc = msgspec.to_builtins(active.fault)
            doc.update(starts_at=active.starts_at, ends_at=active.ends_at,
                       active=active.started and (active.ends_at is None or now < active.ends_at))
            out.append(doc)
        return out

    def windows(self, until: float) -> list[tuple[Fault, float, float]]:
        """Each fault that started, with its window (an open one closes at ``until``)."""
        return [(fault, start, min(end, until) if end is not None else until) for fault, start, end in self.history]

    # -- resolution --------------------------------------------------------------------------

    def _resolve(self, fault: Fault) -> Any:
        mesh, target = self.mesh, fault.target
        if fault.kind in FUNCTION_KINDS:
            name = target.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in target else target
            function = mesh.find(mesh.arn("lambda", f"function:{name}"), Function)
            if function is None:
                raise FaultError([f"target: no function {target}"])
            return function
        if fault.kind == "shard_write_limit":
            arn = target if target.startswith("arn:") else mesh.arn("kinesis", f"stream/{target}")
            stream = mesh.find(arn, Stream)
            if stream is None:
                raise FaultError([f"target: no stream {target}"])
            return stream
        arn = target if target.startswith("arn:") else mesh.arn("sqs", target)
        queue = mesh.find(arn, Queue)
        if queue is not None:
            return queue
        destination = mesh.find(arn, ApiDestination)
        if destination is not None:
            return destination
        if arn.startswith("arn:aws:sns:") and arn.count(":") == 6:
            topic = mesh.find(arn.rsplit(":", 1)[0], Topic)
            sub = topic.subscriptions.get(arn) if topic is not None else None
            if sub is not None:
                return sub
        if target.startswith(("http://", "https://")):
            # An endpoint: every subscription delivering to it (scenarios cannot know the ARNs).
            subs = [sub for topic in mesh.resources("sns", Topic) for sub in topic.subscriptions
                    if sub.endpoint == target and sub.active]
            if subs:
                return subs
        raise FaultError([f"target: no queue, subscription or API destination {target}"])

    # -- applying ------------------------------------------------------------------------------

    def _start(self, active: _Active) -> None:
        active.start_timer = None
        active.started = True
        now = self.clock.now()
        active.starts_at = now
        self.history.append((active.fault, now, active.ends_at))
        self._apply(active, on=True)
        if active.ends_at is not None:
            active.end_timer = self.clock.call_at(active.ends_at, lambda: self._end(active))

    def _end(self, active: _Active) -> None:
        active.end_timer = None
        self._stop(active)

    def _stop(self, active: _Active) -> None:
        if not active.started:
            return
        active.started = False
        now = self.clock.now()
        for i, (fault, start, _end) in enumerate(self.history):
            if fault is active.fault and start == active.starts_at:
                self.history[i] = (fault, start, now)
        self._apply(active, on=False)

    def _apply(self, active: _Active, on: bool) -> None:
        fault, resource = active.fault, active.resource
        if fault.kind in FUNCTION_KINDS:
            faults = self._functions.get(resource.arn)
            if faults is None:
                # The function's own stream of fault draws: the same wherever it runs.
                rng = random.Random(f"{self.mesh.seed}/fault/{resource.arn}")
                faults = self._functions[resource.arn] = _FunctionFaults(resource, rng)
            if on:
                faults.active.append(fault)
            elif fault in faults.active:
                faults.active.remove(fault)
            faults.update()
        elif fault.kind == "shard_write_limit":
            limits = self._limits.setdefault(resource.arn, [])
            if on:
                limits.append(fault)
            elif fault in limits:
                limits.remove(fault)
            records = min([f.records_per_second for f in limits if f.records_per_second is not None]
                          or [WRITE_RECORDS_PER_S])
            nbytes = min([f.bytes_per_second for f in limits if f.bytes_per_second is not None]
                         or [WRITE_BYTES_PER_S])
            for shard in resource.shards:
                shard.write_records_limit, shard.write_bytes_limit = records, nbytes
        else:
            for one in resource if isinstance(resource, list) else [resource]:
                key = id(one)
                count = self._outages.get(key, 0) + (1 if on else -1)
                self._outages[key] = count
                down = count > 0
                if isinstance(one, Queue):
                    one.set_available(not down)
                elif isinstance(one, (Subscription, ApiDestination)):
                    one.down = down
