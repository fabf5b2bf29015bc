"""Service: one AWS service's operation handlers, registered by the botocore operation name.

An adapter module (``services/sqs/api.py`` …) creates one ``Service`` and registers handlers::

    service = Service("sqs")

    @service.operation("SendMessage")
    def send_message(ctx: RequestContext, params: dict) -> dict: ...

``params`` is the request in the model's JSON shape whatever the wire protocol; the handler
returns the output in the same shape (dict or msgspec Struct) and raises ``ServiceError``s.
A handler whose answer comes later (a long poll, a synchronous Invoke) returns a
:class:`Deferred` once it has done all it changes in the engine; the router awaits it. Event
streams (SubscribeToShard) wait for wake-ups through :class:`Waiters`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from botocore.model import Shape

from eventmesh.effects import Available
from eventmesh.errors import SerializationException, ServiceError
from eventmesh.mesh import Ephemeral, Mesh
from eventmesh.wire.limits import DEFAULT_REQUEST_BYTES, RequestEntityTooLarge
from eventmesh.wire.protocols.query import QueryNames
from eventmesh.wire.validate import Problem, validation_exception

__all__ = ["Deferred", "Handler", "RequestContext", "Service", "Waiters"]

# params is the request dict, or the request Struct of an operation registered with request_type.
Handler = Callable[["RequestContext", Any], Any]


class Service:
    """The operations of one service, keyed by botocore operation name."""

    def __init__(self, model_name: str, *,
                 validation_error: Callable[[list[Problem]], ServiceError] | None = None,
                 decode_error: Callable[[str], ServiceError] | None = None,
                 query_compatible: bool = False, json_error_prefix: str = "",
                 validate_enums: bool = False, query_names: QueryNames | None = None,
                 xml_namespace: str = "", max_request_bytes: int = DEFAULT_REQUEST_BYTES,
                 operation_request_bytes: dict[str, int] | None = None,
                 too_large_error: Callable[[str], ServiceError] | None = None,
                 query_error_detail: bool = True,
                 explain_invalid: Callable[[Shape | None, dict[str, Any]], None] | None = None) -> None:
        self.model_name = model_name
        # Builds the service's error from model-validation problems; None → ValidationException.
        self.validation_error = validation_error or validation_exception
        # Builds the service's error for a body that cannot be decoded; None → SerializationException.
        self.decode_error = decode_error or SerializationException
        # SQS: JSON errors carry x-amzn-query-error and are all 400 for client faults.
        self.query_compatible = query_compatible
        self.json_error_prefix = json_error_prefix
        self.validate_enums = validate_enums
        # Query protocol: wire names the model lacks, and the XML namespace of responses (SQS's
        # Query model is not in botocore any more; the adapter supplies it).
        self.query_names = query_names
        self.xml_namespace = xml_namespace
        # Query errors: SQS writes an empty ``<Detail/>`` in ``<Error>``, SNS does not.
        self.query_error_detail = query_error_detail
        # A service that words model violations its own way (EventBridge lists every one, in
        # AWS's order): raises its error for a request the model check refused.
        self.explain_invalid = explain_invalid
        # The largest request body (wire.limits.request_bytes of the service's payload limit), and
        # operations with their own (Lambda's code uploads); refused from Content-Length.
        self.max_request_bytes = max_request_bytes
        self.operation_request_bytes = operation_request_bytes or {}
        self.too_large_error = too_large_error or RequestEntityTooLarge
        self.handlers: dict[str, Handler] = {}
        self.request_types: dict[str, type] = {}

    def operation(self, name: str, *, request_type: type | None = None) -> Callable[[Handler], Handler]:
        """Register the handler of operation ``name``. Every request is checked against the
        operation's model before the handler runs. With ``request_type`` (a msgspec Struct
        carrying the model's constraints, a test holds it to them) the handler receives that
        Struct: JSON bodies decode straight into it, other protocols convert."""

        def register(func: Handler) -> Handler:
            self.handlers[name] = func
            if request_type is not None:
                self.request_types[name] = request_type
            return func

        return register

    def request_limit(self, operation: str | None) -> int:
        """The largest body a request for ``operation`` (None: not known yet) may carry."""
        if operation is None:
            return max([self.max_request_bytes, *self.operation_request_bytes.values()])
        return self.operation_request_bytes.get(operation, self.max_request_bytes)


class Waiters:
    """Long-poll waiters by resource ARN, woken by ``effects.Available`` (one future per poll)."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self._waiting: dict[str, list[asyncio.Future[bool]]] = {}
        self.draining = False
        mesh.subscribe(Available, Ephemeral(self._on_available))  # connections: not in a snapshot

    def drain(self) -> None:
        """Shutdown: every long poll ends now, unwoken (it answers what it has: nothing), and
        any later one does not wait."""
        self.draining = True
        waiting, self._waiting = self._waiting, {}
        for futures in waiting.values():
            for future in futures:
                if not future.done():
                    future.set_result(False)

    def _on_available(self, effect: Available) -> None:
        futures = self._waiting.pop(effect.arn, None)
        if futures:
            for future in futures:
                if not future.done():
                    future.set_result(True)

    def waiting(self, arn: str) -> int:
        """How many long polls wait on ``arn`` now (tests and the console read it)."""
        return len(self._waiting.get(arn, ()))

    async def wait(self, arn: str, timeout: float) -> bool:
        """Wait until ``arn`` has something to receive, or ``timeout`` seconds of mesh time pass."""
        if timeout <= 0 or self.draining:
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(arn, []).append(future)

        def expire() -> None:
            if not future.done():
                future.set_result(False)

        timer = self.mesh.clock.call_later(timeout, expire)
        try:
            return await future
        finally:
            self.mesh.clock.cancel(timer)
            waiting = self._waiting.get(arn)
            if waiting is not None:
                if future in waiting:
                    waiting.remove(future)
                if not waiting:   # no entry per ARN ever polled: queues come and go
                    del self._waiting[arn]


class Deferred:
    """A handler's answer that comes later: ``awaitable`` resolves to a value that ``finish``
    turns into the operation's output (or an error). A handler returns one only after it has done
    everything it changes in the engine: what happens meanwhile is the cores' own doing (a long
    poll answered by its queue, a synchronous Invoke by the function pool), so a journal of
    requests replays exactly (docs/durability.md)."""

    __slots__ = ("awaitable", "finish")

    def __init__(self, awaitable: Awaitable[Any], finish: Callable[[Any], Any]) -> None:
        self.awaitable = awaitable
        self.finish = finish


class RequestContext:
    """What a handler knows about the request beyond its parameters."""

    __slots__ = (
        "account_id",
        "headers",
        "host",
        "mesh",
        "operation",
        "protocol",
        "region",
        "request_id",
        "service",
        "settings",
        "trusted",
        "waiters",
    )

    def __init__(self, mesh: Mesh, *, request_id: str = "",
                 host: str = "localhost:4566", protocol: str = "json",
                 headers: dict[str, str] | None = None, waiters: Waiters | None = None,
                 operation: str = "", service: Service | None = None,
                 settings: Mapping[str, Any] | None = None, trusted: bool = False) -> None:
        self.mesh = mesh  # the view of the caller's account and Region (Mesh.scope)
        # True for the operator's own calls (the config file, in-process API), never for the wire.
        self.trusted = trusted
        self.settings = settings or {}  # the daemon's presentation settings (e.g. queue_urls)
        self.region = mesh.region
        self.account_id = mesh.account_id
        self.request_id = request_id
        self.host = host
        self.protocol = protocol
        self.headers = headers or {}
        self.waiters = waiters
        self.operation = operation
        self.service = service

    async def wait(self, arn: str, timeout: float) -> bool:
        if self.waiters is None:
            return False
        return await self.waiters.wait(arn, timeout)
