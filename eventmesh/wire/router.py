"""Router: which service, operation and protocol a request is, the way the SDKs address them.

* ``X-Amz-Target: <prefix>.<Operation>`` → AWS JSON 1.0/1.1 (or CBOR by Content-Type).
* ``Action=<Operation>`` in a form body or query string → Query (``Version`` picks the service).
* Anything else → the REST-JSON path templates of Lambda.
Any region in the host name and any credentials are accepted; the region comes from the SigV4
credential scope when there is one.
"""

from __future__ import annotations

import datetime
import inspect
import logging
import re
import traceback
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any

import botocore.session
import msgspec
from botocore.model import OperationModel, ServiceModel

from eventmesh.errors import (
    InternalFailure,
    InvalidAction,
    ServiceError,
    UnknownOperationException,
    ValidationException,
)
from eventmesh.mesh import Mesh
from eventmesh.wire.auth import AccessKeys, request_access_key
from eventmesh.wire.protocols import awsjson, query, restjson
from eventmesh.wire.render import Response, render_error
from eventmesh.wire.service import RequestContext, Service, Waiters
from eventmesh.wire.validate import check

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


class Api:
    """Every service's operations behind one entry point: ``handle(request) -> Response``."""

    def __init__(self, mesh: Mesh, services: Iterable[Service] = (), settings: Mapping[str, Any] | None = None,
                 access_keys: AccessKeys | None = None) -> None:
        self.mesh = mesh
        self.settings = dict(settings or {})
        self.access_keys = access_keys or AccessKeys()
        self.waiters = Waiters(mesh)
        self._session = botocore.session.get_session()
        self.services: dict[str, _Bound] = {}
        self._by_target: dict[str, _Bound] = {}
        self._by_version: dict[str, _Bound] = {}
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
        if operation in bound.typed:
            params = self._typed_fallback(bound, op, params)
        self._validate(bound, op, params)
        ctx = self.context(service, operation=operation, host=host)
        result = bound.service.handlers[operation](ctx, params)
        if inspect.isawaitable(result):
            raise TypeError(f"{operation} is asynchronous")
        self.mesh.flush()
        return result

    # -- the wire ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response | Awaitable[Response]:
        request_id = self.mesh.ids.uuid()
        headers = request.headers
        protocol = "json"
        bound: _Bound | None = None
        try:
            target = headers.get("x-amz-target")
            content_type = headers.get("content-type", "")
            if target:
                protocol = "cbor" if content_type.startswith(_CBOR) else "json"
                prefix, _, operation = target.partition(".")
                bound = self._by_target.get(prefix)
                if bound is None or operation not in bound.ops:
                    raise UnknownOperationException(f"Operation {target} is not supported.")
                op = bound.ops[operation]
                typed = bound.typed.get(operation)
                if typed is not None and protocol == "json":
                    try:
                        params = typed.decode(request.body or b"{}")
                    except msgspec.DecodeError:
                        params = self._typed_fallback(bound, op, self._json_params(bound, op, request.body))
                elif protocol == "cbor":
                    from eventmesh.wire.protocols import cbor

                    params = cbor.decode(request.body) if request.body else {}
                else:
                    params = self._json_params(bound, op, request.body)
            elif content_type.startswith(_FORM) or "Action=" in request.query:
                protocol = "query"
                form = query.parse_form(request.query.encode()) if request.query else {}
                if request.body:
                    form.update(query.parse_form(request.body))
                bound, op = self._query_operation(form, request.path)
                params = query.decode_params(op.input_shape, form, bound.query_names)
                if bound.name == "sqs" and "QueueUrl" not in params and request.path.count("/") >= 2:
                    params["QueueUrl"] = f"http://{headers.get('host', 'localhost')}{request.path}"
            else:
                protocol = "rest-json"
                bound = self.services.get("lambda")
                found = bound.rest.match(request.method, request.path) if bound and bound.rest else None
                if bound is None or found is None:
                    raise UnknownOperationException(f"No operation at {request.method} {request.path}")
                op, labels = found
                if op.name not in bound.ops:
                    raise UnknownOperationException(f"Operation {op.name} is not supported.")
                params = restjson.decode_request(op, labels, request.query, headers, request.body)
            if op.name in bound.typed and isinstance(params, dict):
                params = self._typed_fallback(bound, op, params)
            self._validate(bound, op, params)
            keys = None if op.name in ANONYMOUS_OPERATIONS and "authorization" not in headers else self.access_keys
            ctx = RequestContext(self.mesh.scope(*caller_scope(headers, keys, request.query)),
                                 request_id=request_id,
                                 settings=self.settings,
                                 host=headers.get("host", "localhost"), protocol=protocol, headers=headers,
                                 waiters=self.waiters, operation=op.name, service=bound.service)
            result = bound.service.handlers[op.name](ctx, params)
            if inspect.isawaitable(result):
                return self._finish_async(result, bound, op, protocol, request_id)
            return self._encode(bound, op, protocol, result, request_id)
        except ServiceError as err:
            return self._error(err, bound, protocol, request_id)
        except Exception:  # a bug must not take the daemon down: answer 500, keep serving
            log.error("internal error:\n%s", traceback.format_exc())
            return self._error(InternalFailure("We encountered an internal error. Please try again."),
                               bound, protocol, request_id)
        finally:
            self.mesh.flush()

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

    def _query_operation(self, form: dict[str, str], path: str) -> tuple[_Bound, OperationModel]:
        action = form.get("Action", "")
        version = form.get("Version")
        bound = self._by_version.get(version) if version else None
        if bound is None:
            # No (or an unknown) Version: SQS is addressed by queue path, SNS at the root.
            candidates = [b for b in self.services.values() if action in b.ops and b.protocol != "rest-json"]
            sqs_first = sorted(candidates, key=lambda b: (b.name != "sqs") == (path.count("/") >= 2))
            bound = sqs_first[0] if sqs_first else self._by_version.get("2012-11-05")
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

    def _typed_fallback(self, bound: _Bound, op: OperationModel, params: dict[str, Any]) -> Any:
        """Convert a request to the operation's Struct; when it does not fit, answer the model's
        validation error (AWS's wording), or the Struct's own complaint if the model has none."""
        try:
            return msgspec.convert(params, bound.service.request_types[op.name])
        except msgspec.ValidationError as exc:
            problems = check(op.input_shape, params, enums=bound.service.validate_enums)
            if problems:
                raise bound.service.validation_error(problems) from None
            raise ValidationException(f"1 validation error detected: {exc}") from None

    def _validate(self, bound: _Bound, op: OperationModel, params: Any) -> None:
        service = bound.service
        if (not service.validate or op.name in service.unvalidated or op.input_shape is None
                or not isinstance(params, dict)):
            return
        problems = check(op.input_shape, params, enums=service.validate_enums)
        if problems:
            raise service.validation_error(problems)

    def _encode(self, bound: _Bound, op: OperationModel, protocol: str, result: Any,
                request_id: str) -> Response:
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

    def _error(self, err: ServiceError, bound: _Bound | None, protocol: str, request_id: str) -> Response:
        if bound is None:
            return render_error(err, protocol, request_id)
        service = bound.service
        return render_error(err, protocol, request_id, json_version=bound.json_version,
                            query_compatible=service.query_compatible, type_prefix=service.json_error_prefix,
                            namespace=bound.namespace)


def _builtins(value: Any) -> Any:
    return msgspec.to_builtins(value, builtin_types=(bytes, datetime.datetime))


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
