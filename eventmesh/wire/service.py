"""Service: one AWS service's operation handlers, registered by the botocore operation name.

An adapter module (``services/sqs/api.py`` …) creates one ``Service`` and registers handlers::

    service = Service("sqs")

    @service.operation("SendMessage")
    def send_message(ctx: RequestContext, params: dict) -> dict: ...

``params`` is the request in the model's JSON shape whatever the wire protocol; the handler
returns the output in the same shape (dict or msgspec Struct) and raises ``ServiceError``s.
A handler may be ``async`` (long polls); it then runs as a task of the server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from eventmesh.errors import ServiceError
from eventmesh.mesh import Mesh
from eventmesh.wire.protocols.query import QueryNames
from eventmesh.wire.validate import Problem, validation_exception

__all__ = ["Deferred", "Handler", "RequestContext", "Service"]

# params is the request dict, or the request Struct of an operation registered with request_type.
Handler = Callable[["RequestContext", Any], Any]


class Service:
    """The operations of one service, keyed by botocore operation name."""

    def __init__(self, model_name: str, *, validate: bool = True,
                 validation_error: Callable[[list[Problem]], ServiceError] | None = None,
                 query_compatible: bool = False, json_error_prefix: str = "",
                 validate_enums: bool = False, query_names: QueryNames | None = None,
                 xml_namespace: str = "") -> None:
        self.model_name = model_name
        self.validate = validate
        # Builds the service's error from model-validation problems; None → ValidationException.
        self.validation_error = validation_error or validation_exception
        # SQS: JSON errors carry x-amzn-query-error and are all 400 for client faults.
        self.query_compatible = query_compatible
        self.json_error_prefix = json_error_prefix
        self.validate_enums = validate_enums
        # Query protocol: wire names the model lacks, and the XML namespace of responses (SQS's
        # Query model is not in botocore any more; the adapter supplies it).
        self.query_names = query_names
        self.xml_namespace = xml_namespace
        self.handlers: dict[str, Handler] = {}
        self.request_types: dict[str, type] = {}
        self.unvalidated: set[str] = set()

    def operation(self, name: str, *, validate: bool = True,
                  request_type: type | None = None) -> Callable[[Handler], Handler]:
        """Register the handler of operation ``name``; ``validate=False`` for hot paths that check
        their own input. With ``request_type`` (a msgspec Struct carrying the model's constraints)
        the handler receives that Struct: JSON bodies decode straight into it, other protocols
        convert, and a request that does not fit gets the model's validation error."""

        def register(func: Handler) -> Handler:
            self.handlers[name] = func
            if request_type is not None:
                self.request_types[name] = request_type
            if not validate:
                self.unvalidated.add(name)
            return func

        return register


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
    )

    def __init__(self, mesh: Mesh, *, request_id: str = "",
                 host: str = "localhost:4566", protocol: str = "json",
                 headers: dict[str, str] | None = None,
                 operation: str = "", service: Service | None = None,
                 settings: Mapping[str, Any] | None = None) -> None:
        self.mesh = mesh  # the view of the caller's account and Region (Mesh.scope)
        self.settings = settings or {}  # the daemon's presentation settings (e.g. queue_urls)
        self.region = mesh.region
        self.account_id = mesh.account_id
        self.request_id = request_id
        self.host = host
        self.protocol = protocol
        self.headers = headers or {}
        self.operation = operation
        self.service = service
