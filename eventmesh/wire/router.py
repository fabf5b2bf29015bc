"""Router: which service, operation and protocol a request is, the way the SDKs address them.

* ``X-Amz-Target: <prefix>.<Operation>`` → AWS JSON 1.0/1.1 (or CBOR by Content-Type).
* ``Action=<Operation>`` in a form body or query string → Query (``Version`` picks the service).
* Anything else → the REST-JSON path templates of Lambda.
Any region in the host name and any credentials are accepted; the region comes from the SigV4
credential scope when there is one.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import re
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

import botocore.session
import msgspec
from botocore.model import OperationModel, ServiceModel

from eventmesh.errors import (
    InternalFailure,
    InvalidAction,
    SerializationException,
    ServiceError,
    UnknownOperationException,
)
from eventmesh.mesh import Mesh
from eventmesh.wire.auth import AccessKeys, request_access_key
from eventmesh.wire.limits import DEFAULT_REQUEST_BYTES, RequestEntityTooLarge
from eventmesh.wire.protocols import awsjson, eventstream, query, restjson
from eventmesh.wire.render import Response, render_error
from eventmesh.wire.service import Deferred, RequestContext, Service, Waiters
from eventmesh.wire.shapes import request_type
from eventmesh.wire.streaming import EventStream
from eventmesh.wire.validate import check, problem_from

__all__ = ["Api", "Request"]

log = logging.getLogger("eventmesh.wire")

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/")
_FORM = "application/x-www-form-urlencoded"
# Operations AWS serves unsigned (an SNS endpoint following SubscribeURL / UnsubscribeURL):
# never refused for want of an access key.
ANONYMOUS_OPERATIONS = frozenset({"ConfirmSubscription", "Unsubscribe"})
_CBOR = "application/x-amz-cbor-1.1"


class Request:
    """An HTTP request as the router needs it (header names lower-case)."""

    __slots__ = ("body", "headers", "method", "path", "query")

    def __init__(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body


# (request, service, operation, params, context) -> the answer, or None to serve it here
Dispatch = Callable[[Request, str, str, Any, RequestContext], "Awaitable[Response] | None"]


class _Bound:
    """A service with its model and the lookups derived from it."""

    def __init__(self, service: Service, model: ServiceModel) -> None:
        self.service = service
        self.model = model
        self.name = service.model_name
        self.protocol = model.protocol
        self.json_version = model.metadata.get("jsonVersion", "1.0")
        self.query_names = service.query_names or query.QueryNames()
        self.namespace = service.xml_namespace or model.metadata.get("xmlNamespace", "")
        self.rest = restjson.RestRoutes(model) if self.protocol == "rest-json" else None
        self.ops: dict[str, OperationModel] = {n: model.operation_model(n) for n in service.handlers}
        self.blob_plans = {n: plan for n, op in self.ops.items()
                           if (plan := awsjson.blob_plan(op.input_shape)) is not None}
        # Typed hot paths: JSON bodies decode straight into the operation's request Struct.
        self.typed: dict[str, msgspec.json.Decoder[Any]] = {
            n: msgspec.json.Decoder(t) for n, t in service.request_types.items()}
        self.check_types: dict[str, Any] = {}

    def check_type(self, op: OperationModel, protocol: str = "") -> Any:
        """The operation's input shape as a msgspec type for requests in ``protocol`` (compiled
        on first use; CBOR's untagged timestamps are milliseconds)."""
        key = op.name if protocol != "cbor" else f"{op.name}/cbor"
        kind = self.check_types.get(key)
        if kind is None:
            kind = self.check_types[key] = request_type(op.input_shape, enums=self.service.validate_enums,
                                                        millis=protocol == "cbor")
        return kind


class _Route:
    """What routing has learnt of a request so far: its error renders in this protocol's shape,
    with this service's conventions."""

    __slots__ = ("bound", "protocol")

    def __init__(self) -> None:
        self.bound: _Bound | None = None
        self.protocol = "json"


class Api:
    """Every service's operations behind one entry point: ``handle(request) -> Response``."""

    def __init__(self, mesh: Mesh, services: Iterable[Service] = (), settings: Mapping[str, Any] | None = None,
                 access_keys: AccessKeys | None = None) -> None:
        self.mesh = mesh
        self.settings = dict(settings or {})
        self.access_keys = access_keys or AccessKeys()
        self.waiters = Waiters(mesh)   # event streams' wake-ups (long polls are the queues')
        self._session = botocore.session.get_session()
        self.services: dict[str, _Bound] = {}
        self._by_target: dict[str, _Bound] = {}
        self._by_version: dict[str, _Bound] = {}
        # ``eventmesh serve --workers N``: called with each decoded, checked request before its
        # handler runs; answers the request itself (forwarded to the worker that owns the
        # resource) or returns None to let it run here (``eventmesh.workers.node``).
        self.dispatch: Dispatch | None = None
        # Endpoints told apart by their Host rather than by an AWS protocol (a Lambda function
        # URL): the composition root registers them; each answers its requests, None for others.
        self.fronts: list[Callable[[Request], Response | Awaitable[Response] | None]] = []
        for service in services:
            self.register(service)

    def register(self, service: Service) -> None:
        """Serve ``service`` (the composition root passes ``eventmesh.services.adapters()``; tests may
        add their own)."""
        bound = _Bound(service, self._session.get_service_model(service.model_name))
        self.services[service.model_name] = bound
        if prefix := bound.model.metadata.get("targetPrefix"):
            self._by_target[prefix] = bound
        self._by_version[bound.model.api_version] = bound

    def context(self, service: str, *, operation: str = "", host: str = "localhost:4566",
                protocol: str = "json") -> RequestContext:
        """A context for calling a handler in process (config loading, tests)."""
        return RequestContext(self.mesh, request_id=self.mesh.ids.uuid(), host=host, protocol=protocol,
                              settings=self.settings,
                              waiters=self.waiters, operation=operation,
                              service=self.services[service].service, trusted=True)

    def call(self, service: str, operation: str, params: dict[str, Any], *,
             host: str = "localhost:4566") -> Any:
        """Validate and run a synchronous operation in process, as if it came over the wire."""
        bound = self.services[service]
        op = bound.ops.get(operation)
        if op is None:
            raise InvalidAction(f"The action {operation} is not valid for this endpoint.")
        params = self._checked(bound, op, params)
        ctx = self.context(service, operation=operation, host=host)
        result = bound.service.handlers[operation](ctx, params)
        if type(result) is Deferred:
            raise TypeError(f"{operation} answers later; call it over the wire")
        self.mesh.flush()
        return result

    # -- the wire ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response | Awaitable[Response]:
        for front in self.fronts:
            answer = front(request)
            if answer is not None:
                return answer
        request_id = self.mesh.ids.uuid()
        headers = request.headers
        route = _Route()
        try:
            try:
                op, params = self._decode_request(request, route)
            except _BareQueueUrl:
                # A queue URL without an Action: AWS answers this bare XML document, 404.
                return 404, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], \
                    b"<UnknownOperationException/>"
            except ServiceError:
                raise
            except _DECODE_ERRORS as exc:   # the client's bytes, not a bug: the service's 400
                make = route.bound.service.decode_error if route.bound else SerializationException
                raise make(_decode_message(exc)) from None
            bound = route.bound
            assert bound is not None
            params = self._checked(bound, op, params, route.protocol)
            keys = None if op.name in ANONYMOUS_OPERATIONS and "authorization" not in headers else self.access_keys
            ctx = RequestContext(self.mesh.scope(*caller_scope(headers, keys, request.query)), request_id=request_id,
                                 settings=self.settings,
                                 host=headers.get("host", "localhost"), protocol=route.protocol,
                                 headers=headers, waiters=self.waiters, operation=op.name,
                                 service=bound.service)
            if self.dispatch is not None:   # a worker of several: the resource may live in another
                routed = self.dispatch(request, bound.name, op.name, params, ctx)
                if routed is not None:
                    return routed
            result = bound.service.handlers[op.name](ctx, params)
            if type(result) is Deferred:
                return self._finish_async(_settle(result), bound, op, route.protocol, request_id)
            return self._encode(bound, op, route.protocol, result, request_id)
        except ServiceError as err:
            return self._error(err, route.bound, route.protocol, request_id)
        except Exception:  # a bug must not take the daemon down: answer 500, keep serving
            log.error("internal error:\n%s", traceback.format_exc())
            return self._error(InternalFailure("We encountered an internal error. Please try again."),
                               route.bound, route.protocol, request_id)
        finally:
            self.mesh.flush()

    def _decode_request(self, request: Request, route: _Route) -> tuple[OperationModel, Any]:
        """Which operation the request is (filling ``route`` as it learns the service and protocol,
        so an error renders in the right shape), and its parameters. Whatever goes wrong while
        decoding the client's bytes (malformed CBOR or JSON, nesting past the decoder's depth,
        bad base64, numbers out of range) raises one of ``_DECODE_ERRORS``: ``handle`` answers
        the service's decode error, 400."""
        headers = request.headers
        operation, labels = self._route_head(request, route)
        bound = route.bound
        if route.protocol == "query":
            form = query.parse_form(request.query.encode()) if request.query else {}
            if request.body:
                form.update(query.parse_form(request.body))
            bound, op = self._query_operation(form, request.path, route)
            params = query.decode_params(op.input_shape, form, bound.query_names)
            if bound.name == "sqs" and "QueueUrl" not in params and request.path.count("/") >= 2:
                params["QueueUrl"] = f"http://{headers.get('host', 'localhost')}{request.path}"
            return op, params
        if route.protocol == "rest-json":
            if operation is None and "sqs" in self.services and request.path.count("/") >= 2:
                raise _BareQueueUrl
            if bound is None or operation is None:
                raise UnknownOperationException(f"No operation at {request.method} {request.path}")
            if operation not in bound.ops:
                raise UnknownOperationException(f"Operation {operation} is not supported.")
            op = bound.ops[operation]
            return op, restjson.decode_request(op, labels or {}, request.query, headers, request.body)
        if bound is None or operation not in bound.ops:
            raise UnknownOperationException(f"Operation {headers.get('x-amz-target')} is not supported.")
        op = bound.ops[operation]
        if route.protocol == "cbor":
            from eventmesh.wire.protocols import cbor

            params = cbor.decode(request.body) if request.body else {}
            if not isinstance(params, dict):
                raise SerializationException("Start of structure or map found where not expected.")
            return op, params
        typed = bound.typed.get(operation)
        if typed is not None:
            try:
                return op, typed.decode(request.body or b"{}")
            except msgspec.ValidationError:
                pass   # the dict below meets the model's check, which words the problem
        return op, self._json_params(bound, op, request.body)

    # -- the door: what the server asks of a request's head, before its body ------------------

    def _route_head(self, request: Request, route: _Route) -> tuple[str | None, dict[str, str] | None]:
        """Fill ``route`` (service and protocol) from headers and path alone, and return the
        operation and REST path labels when the head names them (Query names it in the body)."""
        headers = request.headers
        target = headers.get("x-amz-target")
        if target:
            route.protocol = "cbor" if headers.get("content-type", "").startswith(_CBOR) else "json"
            prefix, _, operation = target.partition(".")
            route.bound = self._by_target.get(prefix)
            return operation, None
        if headers.get("content-type", "").startswith(_FORM) or "Action=" in request.query:
            route.protocol = "query"
            # A queue path is SQS, the root SNS (until _query_operation reads Action and Version).
            name = "sqs" if request.path.count("/") >= 2 else "sns"
            route.bound = self.services.get(name) or next(
                (b for b in self.services.values() if b.protocol != "rest-json"), None)
            return None, None
        route.protocol = "rest-json"
        route.bound = bound = self.services.get("lambda")
        found = (bound.rest.match(request.method, request.path, request.query)
                 if bound is not None and bound.rest else None)
        return (found[0].name, found[1]) if found else (None, None)

    def body_limit(self, request: Request) -> tuple[str, int]:
        """The service a request goes to ("" if none) and the largest body it may carry."""
        route = _Route()
        operation, _ = self._route_head(request, route)
        if route.bound is None:
            return "", DEFAULT_REQUEST_BYTES
        if route.protocol == "query" and operation is None:
            # SQS and SNS share the Query door and the operation is in the body: the larger limit.
            return route.bound.name, max([b.service.request_limit(None) for b in self.services.values()
                                          if b.protocol != "rest-json"] or [DEFAULT_REQUEST_BYTES])
        return route.bound.name, route.bound.service.request_limit(operation)

    def refuse(self, request: Request, err: ServiceError) -> Response:
        """``err`` in the error shape of the protocol and service the request's head names."""
        route = _Route()
        self._route_head(request, route)
        return self._error(err, route.bound, route.protocol, self.mesh.ids.uuid())

    def too_large(self, request: Request, limit: int) -> Response:
        route = _Route()
        operation, _ = self._route_head(request, route)
        make = route.bound.service.too_large_error if route.bound else RequestEntityTooLarge
        what = f" for the {operation} operation" if operation else ""
        return self._error(make(f"Request must be smaller than {limit} bytes{what}."), route.bound,
                           route.protocol, self.mesh.ids.uuid())

    async def _finish_async(self, pending: Awaitable[Any], bound: _Bound, op: OperationModel, protocol: str,
                            request_id: str) -> Response:
        try:
            result = await pending
            return self._encode(bound, op, protocol, result, request_id)
        except ServiceError as err:
            return self._error(err, bound, protocol, request_id)
        except Exception:
            log.error("internal error:\n%s", traceback.format_exc())
            return self._error(InternalFailure("We encountered an internal error. Please try again."),
                               bound, protocol, request_id)
        finally:
            self.mesh.flush()

    def _query_operation(self, form: dict[str, str], path: str, route: _Route) -> tuple[_Bound, OperationModel]:
        action = form.get("Action", "")
        version = form.get("Version")
        bound = self._by_version.get(version) if version else None
        if bound is None:
            # No (or an unknown) Version: SQS is addressed by queue path, SNS at the root.
            candidates = [b for b in self.services.values() if action in b.ops and b.protocol != "rest-json"]
            sqs_first = sorted(candidates, key=lambda b: (b.name != "sqs") == (path.count("/") >= 2))
            bound = sqs_first[0] if sqs_first else self._by_version.get("2012-11-05")
        route.bound = bound
        if bound is None or action not in bound.ops:
            raise InvalidAction(f"The action {action} is not valid for this endpoint.")
        return bound, bound.ops[action]

    @staticmethod
    def _json_params(bound: _Bound, op: OperationModel, body: bytes) -> dict[str, Any]:
        params = awsjson.decode_request(body)
        plan = bound.blob_plans.get(op.name)
        if plan is not None:
            awsjson.decode_blobs(plan, params)
        return params

    def _checked(self, bound: _Bound, op: OperationModel, params: Any, protocol: str = "") -> Any:
        """The request as its handler takes it, once it fits the operation's model: the typed
        request Struct (already checked by its decoder, whose constraints are the model's) or the
        dict, checked in one pass by the compiled model type. A request that does not fit gets the
        service's validation error in AWS's words."""
        service = bound.service
        kind = service.request_types.get(op.name)
        if kind is not None and isinstance(params, kind):
            return params
        if not isinstance(params, dict):
            raise service.decode_error("Start of structure or map found where not expected.")
        try:
            if kind is not None:
                return msgspec.convert(params, kind)
            msgspec.convert(params, bound.check_type(op, protocol))
        except msgspec.ValidationError as exc:
            if service.explain_invalid is not None:
                service.explain_invalid(op.input_shape, params)
            problems = check(op.input_shape, params, enums=service.validate_enums) if op.input_shape else []
            raise service.validation_error(problems or [problem_from(exc)]) from None
        return params

    def _encode(self, bound: _Bound, op: OperationModel, protocol: str, result: Any,
                request_id: str) -> Response:
        if isinstance(result, EventStream):
            if protocol == "rest-json":
                return self._rest_event_stream(op, result, request_id)
            return self._event_stream(protocol, result, request_id)
        if protocol == "json":
            return 200, [("Content-Type", f"application/x-amz-json-{bound.json_version}"),
                         ("x-amzn-RequestId", request_id)], awsjson.encode_response(result)
        if protocol == "cbor":
            from eventmesh.wire.protocols import cbor

            body = cbor.encode(result if isinstance(result, dict) or result is None else _builtins(result))
            return 200, [("Content-Type", _CBOR), ("x-amzn-RequestId", request_id)], body
        if protocol == "query":
            body = query.encode_response(op, result, bound.namespace, request_id, bound.query_names)
            return 200, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body
        status, headers, body = restjson.encode_response(op, result)
        headers.append(("x-amzn-RequestId", request_id))
        return status, headers, body

    def _event_stream(self, protocol: str, stream: EventStream, request_id: str) -> Response:
        """An event-stream output framed for the protocol: the initial response, one message per
        event, and a modelled exception message if the events end with a ServiceError. The body
        is an async iterator of frames; the door closes it (running the handler's clean-up) when
        the client goes away."""
        content_type = _CBOR if protocol == "cbor" else "application/json"

        def encode(value: Any) -> bytes:
            if protocol != "cbor":
                return awsjson.encode_response(value)
            from eventmesh.wire.protocols import cbor

            return cbor.encode(_builtins(value))

        mesh = self.mesh

        async def frames() -> AsyncIterator[bytes]:
            events = stream.events
            try:
                yield eventstream.event("initial-response", encode(stream.initial), content_type)
                try:
                    async for event_type, payload in events:
                        yield eventstream.event(event_type, encode(payload), content_type)
                except ServiceError as err:
                    yield eventstream.exception(err.code, encode({"message": err.message}), content_type)
                except Exception:  # a bug ends the stream with an error message, not a torn response
                    log.error("internal error in an event stream:\n%s", traceback.format_exc())
                    yield eventstream.encode_message([(":message-type", "error"), (":error-code", "InternalFailure"),
                                                      (":error-message", "We encountered an internal error.")], b"")
            finally:
                close = getattr(events, "aclose", None)
                if close is not None:
                    await close()
                mesh.flush()

        headers = [("Content-Type", eventstream.CONTENT_TYPE), ("x-amzn-RequestId", request_id)]
        return 200, headers, frames()  # type: ignore[return-value]  # a streamed body (the door writes it)

    def _rest_event_stream(self, op: OperationModel, stream: EventStream, request_id: str) -> Response:
        """A REST protocol's event-stream output (Lambda InvokeWithResponseStream): the initial
        members are the response's status and headers, not an ``initial-response`` event; an event
        whose shape has an event-payload blob carries those bytes as they are, any other its
        members as JSON."""
        status, headers, _ = restjson.encode_response(op, stream.initial)
        headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
        output = op.output_shape
        member = next(m for m in output.members.values() if m.serialization.get("eventstream"))  # type: ignore[union-attr]
        raw = {name: next((n for n, m in shape.members.items() if m.serialization.get("eventpayload")), None)
               for name, shape in member.members.items()}  # type: ignore[attr-defined]
        mesh = self.mesh

        async def frames() -> AsyncIterator[bytes]:
            events = stream.events
            try:
                try:
                    async for event_type, payload in events:
                        blob = raw.get(event_type)
                        if blob is not None:
                            yield eventstream.event(event_type, bytes(payload.get(blob) or b""),
                                                    "application/octet-stream")
                        else:
                            yield eventstream.event(event_type, msgspec.json.encode(payload), "application/json")
                except ServiceError as err:
                    yield eventstream.exception(err.code, msgspec.json.encode({"message": err.message}),
                                                "application/json")
            finally:
                close = getattr(events, "aclose", None)
                if close is not None:
                    await close()
                mesh.flush()

        headers += [("Content-Type", eventstream.CONTENT_TYPE), ("x-amzn-RequestId", request_id)]
        return status, headers, frames()  # type: ignore[return-value]  # a streamed body (the door writes it)

    def _error(self, err: ServiceError, bound: _Bound | None, protocol: str, request_id: str) -> Response:
        if bound is None:
            return render_error(err, protocol, request_id)
        service = bound.service
        return render_error(err, protocol, request_id, json_version=bound.json_version,
                            query_compatible=service.query_compatible, type_prefix=service.json_error_prefix,
                            namespace=bound.namespace, query_detail=service.query_error_detail)


async def _settle(deferred: Deferred) -> Any:
    # Shielded: a client that goes away cancels this request's task, never the engine's waiter
    # (a long poll keeps waiting as on AWS; which poll takes a message stays the engine's doing).
    return deferred.finish(await asyncio.shield(deferred.awaitable))


def _builtins(value: Any) -> Any:
    return msgspec.to_builtins(value, builtin_types=(bytes, datetime.datetime))


# What decoding a client's bytes may raise (msgspec.DecodeError and CBORDecodeError are ValueErrors).
_DECODE_ERRORS = (ValueError, TypeError, LookupError, RecursionError, OverflowError, MemoryError)


def _decode_message(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "Could not parse the request: nested too deeply."
    return f"Could not parse the request: {str(exc)[:200] or type(exc).__name__}."


class _BareQueueUrl(Exception):
    """A request at a queue URL that names no operation (no Action, no target)."""


def caller_scope(headers: dict[str, str], access_keys: AccessKeys | None = None,
                 query: str = "") -> tuple[str | None, str | None]:
    """The account and Region a request acts in, from its SigV4 credential
    (``Credential=<access key>/<date>/<region>/<service>/aws4_request``): the Region as signed,
    and the account of an access key that is a 12-digit account id (as other emulators read it);
    any other key (or no signature) acts in the daemon's default account and Region. With
    ``access_keys`` configured (``wire/auth.py``) the key must be one of them and names the
    account; any other raises UnrecognizedClientException."""
    auth = headers.get("authorization")
    found = _CREDENTIAL.search(auth) if auth else None
    if access_keys is not None and access_keys.enabled:
        return access_keys.account(request_access_key(headers, query)), (found.group(2) if found else None)
    if found is None:
        return None, None
    key, region = found.group(1), found.group(2)
    return (key if len(key) == 12 and key.isdigit() else None), region
