"""Function versions and aliases.

A :class:`FunctionVersion` is one immutable configuration (``$LATEST`` is replaced by a new one
on every update) with its own warm environments and handler instance; it is the host a handler
completes invocations through. An :class:`Alias` points at a version, optionally sending a
weighted share of invocations to one additional version. :class:`QualifiedTarget` registers a
qualified ARN (``…:function:f:prod``) with the mesh, so destinations, rules and subscriptions
may name an alias or version.
https://docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import msgspec

from eventmesh.clock import Clock
from eventmesh.effects import Delivery, DeliveryResult, HandlerOutcome, InvocationJob, LogEvents
from eventmesh.mesh import Mesh
from eventmesh.services.lambda_._ticks import Ticks
from eventmesh.services.lambda_.configuration import (
    DEFAULT_LOG_LEVEL,
    LATEST,
    LOG_FORMAT_JSON,
    MAX_SYNC_PAYLOAD_BYTES,
    EventInvokeConfig,
    RoutingConfig,
    VersionConfig,
)
from eventmesh.services.lambda_.handlers import HandlerSpec, make_handler
from eventmesh.services.lambda_.jobs import (
    RESPONSE_TOO_LARGE_ERROR_TYPE,
    TIMEOUT_ERROR_TYPE,
    Invocation,
    response_too_large,
)
from eventmesh.services.lambda_.logs import MAX_LOG_TAIL_BYTES, invocation_events, log_tail
from eventmesh.services.lambda_.pool import AccountPool, Environments, FunctionConcurrency

__all__ = ["FunctionHost", "FunctionVersion", "Alias", "QualifiedTarget", "MAX_LOG_TAIL_BYTES"]


class FunctionHost(Protocol):
    """What a function's versions, aliases and asynchronous queue need of the function.

    :class:`~eventmesh.services.lambda_.function.Function` satisfies it; its parts depend on this
    protocol, never on ``function.py``, so imports run one way (function → async_invoke → versions).
    """

    name: str
    arn: str
    mesh: Mesh
    clock: Clock
    account: AccountPool
    concurrency: FunctionConcurrency
    completions: Ticks
    versions: dict[str, FunctionVersion]
    invoke_configs: dict[str, EventInvokeConfig]
    latest: FunctionVersion

    def request_id(self, inv: Invocation) -> str: ...

    def route(self, qualifier: str) -> FunctionVersion: ...

    def invoke_config(self, qualifier: str) -> EventInvokeConfig: ...

    def start(self, version: FunctionVersion, invs: list[Invocation]) -> tuple[list[Invocation], str | None]: ...

    def finish(self, invs: list[Invocation]) -> None: ...

    def response(self, inv: Invocation) -> bytes: ...

    def accept(self, items: list[Delivery], source_arn: str, qualifier: str = LATEST) -> DeliveryResult: ...


class FunctionVersion:
    """One version of a function: its configuration, handler and idle environments."""

    def __init__(self, function: FunctionHost, name: str, config: VersionConfig, spec: HandlerSpec) -> None:
        mesh = function.mesh
        self.function = function
        self.name = name
        self.config = config
        self.spec = spec
        self.arn = f"{function.arn}:{name}"
        self.timeout_s = float(config.timeout_s)
        self.envs = Environments(function.account.keep_warm_s)
        # The handler's host interface: plain attributes, read on the hot path.
        self.clock = mesh.clock
        self.random = mesh.ids_for(function.arn).random   # the function's own random stream
        self.emit = mesh.emit
        self.expect = mesh.expect
        self.completions = function.completions
        self._log_stream: str | None = None
        logging = config.logging   # what the runtime is told (AWS_LAMBDA_LOG_FORMAT / _LEVEL)
        self._log_settings = ((logging.log_format, logging.application_log_level or DEFAULT_LOG_LEVEL)
                              if logging.log_format == LOG_FORMAT_JSON else ("", ""))
        self.handler = make_handler(spec, self)

    # -- host interface of external handlers ---------------------------------------------------

    def job(self, inv: Invocation, spec: HandlerSpec, now: float) -> InvocationJob:
        fn = self.function
        config = self.config
        return InvocationJob(
            spec.kind, spec.target, inv.event(), fn.request_id(inv), fn.name, self.name,
            fn.arn if inv.qualifier == LATEST else f"{fn.arn}:{inv.qualifier}", config.memory_mb,
            self.timeout_s, fn.mesh.region, fn.mesh.account_id, config.environment,
            config.code_sha256 if spec.zipped else "", "", config.logging.group(fn.name),
            self.log_stream(now), now + self.timeout_s, config.runtime or "", config.handler,
            config.revision_id, config.role, *self._log_settings)

    def complete_external(self, inv: Invocation, outcome: HandlerOutcome) -> None:
        if outcome.error_type is None and len(outcome.payload) > MAX_SYNC_PAYLOAD_BYTES:
            # Lambda refuses a response over the payload limit whatever the runtime returned it.
            payload, message = response_too_large(len(outcome.payload), MAX_SYNC_PAYLOAD_BYTES)
            outcome = msgspec.structs.replace(outcome, payload=payload, error_type=RESPONSE_TOO_LARGE_ERROR_TYPE,
                                              error_message=message)
        inv.response = outcome.payload
        inv.error_type = outcome.error_type
        inv.error_message = outcome.error_message
        inv.duration_s = min(outcome.duration_s, self.timeout_s)
        inv.log = outcome.log
        inv.system_error = outcome.system_error
        # The code ran: what it wrote goes to CloudWatch Logs (built only when someone takes it).
        if not outcome.system_error and (inv.log_tail or self.function.mesh.has_subscribers(LogEvents)):
            self._write_logs(inv, outcome)
        self.function.finish([inv])

    def _write_logs(self, inv: Invocation, outcome: HandlerOutcome) -> None:
        fn = self.function
        mesh = fn.mesh
        now = self.clock.now()
        events = invocation_events(
            request_id=fn.request_id(inv), version=self.name, memory_mb=self.config.memory_mb,
            started_at=inv.started_at, ended_at=now, duration_s=inv.duration_s, log=outcome.log,
            init_log=outcome.init_log, init_duration_s=outcome.init_duration_s,
            max_memory_mb=outcome.max_memory_mb,
            timeout_s=self.timeout_s if outcome.error_type == TIMEOUT_ERROR_TYPE else None)
        if inv.log_tail:
            inv.log_events = events
        mesh.emit(LogEvents(mesh.account_id, mesh.region, self.config.logging.group(fn.name),
                            outcome.log_stream or self.log_stream(now), events))

    def log_stream(self, now: float) -> str:
        if self._log_stream is None:
            day = time.strftime("%Y/%m/%d", time.gmtime(int(now)))
            self._log_stream = f"{day}/[{self.name}]{self.function.mesh.ids_for(self.function.arn).token(16)}"
        return self._log_stream

    def log_tail(self, inv: Invocation, request_id: str) -> str:
        """``LogResult``: the last 4 KB of what the invocation wrote to CloudWatch Logs (for a
        synthetic function, the START/END/REPORT lines it would have written)."""
        events = inv.log_events
        if events is None:
            init_s = 0.0
            if inv.cold and self.spec.model is not None:
                init_s = self.spec.model.cold_start_s
            end = inv.started_at + inv.duration_s
            events = invocation_events(
                request_id=request_id, version=self.name, memory_mb=self.config.memory_mb,
                started_at=inv.started_at, ended_at=end, duration_s=inv.duration_s, log=inv.log or "",
                init_duration_s=init_s,
                timeout_s=self.timeout_s if inv.error_type == TIMEOUT_ERROR_TYPE else None)
        return log_tail(events)


class Alias:
    """A named pointer to a version, with optional weighted routing."""

    def __init__(self, function: FunctionHost, name: str, function_version: str, description: str,
                 routing: RoutingConfig, revision_id: str) -> None:
        self.function = function
        self.name = name
        self.arn = f"{function.arn}:{name}"
        self.function_version = function_version
        self.description = description
        self.routing = routing
        self.revision_id = revision_id

    def describe(self) -> dict[str, Any]:
        """The ``AliasConfiguration`` shape."""
        out: dict[str, Any] = {"AliasArn": self.arn, "Name": self.name,
                               "FunctionVersion": self.function_version,
                               "Description": self.description, "RevisionId": self.revision_id}
        if self.routing.additional_version is not None:
            out["RoutingConfig"] = {"AdditionalVersionWeights": {
                self.routing.additional_version: self.routing.weight}}
        return out


class QualifiedTarget:
    """A delivery target at a qualified function ARN: asynchronous invocation of that qualifier."""

    def __init__(self, function: FunctionHost, qualifier: str) -> None:
        self.function = function
        self.qualifier = qualifier
        self.arn = f"{function.arn}:{qualifier}"

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        return self.function.accept(items, source_arn, qualifier=self.qualifier)
