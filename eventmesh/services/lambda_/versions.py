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

import base64
import math
import time
from typing import Any, Protocol

from eventmesh.clock import Clock
from eventmesh.effects import Delivery, DeliveryResult, HandlerOutcome, InvocationJob
from eventmesh.mesh import Mesh
from eventmesh.services.lambda_._ticks import Ticks
from eventmesh.services.lambda_.configuration import LATEST, EventInvokeConfig, RoutingConfig, VersionConfig
from eventmesh.services.lambda_.handlers import HandlerSpec, make_handler
from eventmesh.services.lambda_.jobs import Invocation
from eventmesh.services.lambda_.pool import AccountPool, Environments, FunctionConcurrency

__all__ = ["FunctionHost", "FunctionVersion", "Alias", "QualifiedTarget", "MAX_LOG_TAIL_BYTES"]

MAX_LOG_TAIL_BYTES = 4_096   # X-Amz-Log-Result is the last 4 KB of the log (API_Invoke.html)


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
        self.random = mesh.ids.random
        self.emit = mesh.emit
        self.expect = mesh.expect
        self.completions = function.completions
        self._log_stream: str | None = None
        self.handler = make_handler(spec, self)

    # -- host interface of external handlers ---------------------------------------------------

    def job(self, inv: Invocation, spec: HandlerSpec, now: float) -> InvocationJob:
        fn = self.function
        config = self.config
        return InvocationJob(
            spec.kind, spec.target, inv.payload, fn.request_id(inv), fn.name, self.name,
            fn.arn if inv.qualifier == LATEST else f"{fn.arn}:{inv.qualifier}", config.memory_mb,
            self.timeout_s, fn.mesh.region, fn.mesh.account_id, config.environment,
            config.code_sha256 if spec.zipped else "", "", f"/aws/lambda/{fn.name}",
            self.log_stream(now), now + self.timeout_s)

    def complete_external(self, inv: Invocation, outcome: HandlerOutcome) -> None:
        inv.response = outcome.payload
        inv.error_type = outcome.error_type
        inv.error_message = outcome.error_message
        inv.duration_s = min(outcome.duration_s, self.timeout_s)
        inv.log = outcome.log
        inv.system_error = outcome.system_error
        self.function.finish([inv])

    def log_stream(self, now: float) -> str:
        if self._log_stream is None:
            day = time.strftime("%Y/%m/%d", time.gmtime(int(now)))
            self._log_stream = f"{day}/[{self.name}]{self.function.mesh.ids.token(16)}"
        return self._log_stream

    def log_tail(self, inv: Invocation, request_id: str) -> str:
        """Base64 of the last 4 KB of the invocation's log, Lambda's START/END/REPORT lines around
        what the handler printed."""
        duration_ms = inv.duration_s * 1000.0
        init = ""
        if inv.cold and self.spec.model is not None and self.spec.model.cold_start_s:
            init = f"Init Duration: {self.spec.model.cold_start_s * 1000.0:.2f} ms\t"
        text = (f"START RequestId: {request_id} Version: {self.name}\n{inv.log or ''}"
                f"END RequestId: {request_id}\n"
                f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
                f"Billed Duration: {max(1, math.ceil(duration_ms))} ms\t"
                f"Memory Size: {self.config.memory_mb} MB\tMax Memory Used: "
                f"{min(self.config.memory_mb, 40)} MB\t{init}\n")
        return base64.b64encode(text.encode()[-MAX_LOG_TAIL_BYTES:]).decode()


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
