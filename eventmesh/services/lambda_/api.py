"""Lambda over REST-JSON (``/2015-03-31/functions/…``): adapters only.

Each handler turns the request (the botocore ``lambda`` model's shape, path labels, query strings
and headers already placed under their member names) into calls on ``eventmesh.services.lambda_``
(``service.py`` for the control plane, ``Function.invoke`` for Invoke) and the results into the
model's output shape. Invoke is asynchronous: a RequestResponse call waits (on the event loop)
until the pool calls back. Errors are ``eventmesh.services.lambda_.errors`` classes; a throttle carries
``Reason`` in ``extra`` and ``Retry-After`` in ``headers``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any, TypeVar

import msgspec

from eventmesh.errors import ServiceError
from eventmesh.mesh import Ephemeral
from eventmesh.services.lambda_ import layers, provisioned, signing, urls
from eventmesh.services.lambda_ import service as control
from eventmesh.services.lambda_.configuration import LATEST, MAX_SYNC_PAYLOAD_BYTES
from eventmesh.services.lambda_.errors import (
    InvalidParameterValueException,
    InvalidRequestContentException,
    RequestTooLargeException,
    ResourceNotFoundException,
    ServiceException,
    stale_revision,
)
from eventmesh.services.lambda_.function import EVENT, REQUEST_RESPONSE, Function
from eventmesh.services.lambda_.permissions import FunctionPolicy
from eventmesh.services.lambda_.pool import InvokeResult, account_pool
from eventmesh.wire.limits import BASE64_EXPANSION, request_bytes
from eventmesh.wire.router import Api, Request, Response, caller_scope
from eventmesh.wire.service import Deferred, RequestContext, Service
from eventmesh.wire.streaming import EventStream

__all__ = ["serve_function_url", "service"]

MAX_ZIP_UPLOAD_BYTES = 52_428_800   # a .zip deployment package uploaded through the API (50 MB)
# Enum members (InvocationType, LogType, Runtime, ...) are checked against the model, as Lambda does.
# Bodies: an Invoke payload of 6 MB, or a zip of 50 MB base64-encoded in CreateFunction's (or a
# layer's) JSON.
service = Service("lambda", decode_error=InvalidRequestContentException, validate_enums=True,
                  too_large_error=RequestTooLargeException,
                  max_request_bytes=request_bytes(MAX_SYNC_PAYLOAD_BYTES),
                  operation_request_bytes={
                      op: request_bytes(MAX_ZIP_UPLOAD_BYTES, BASE64_EXPANSION)
                      for op in ("CreateFunction", "UpdateFunctionCode", "PublishLayerVersion")})

DEFAULT_PAGE_SIZE = 50
T = TypeVar("T")
_json = msgspec.json.Decoder()


def _page(items: Sequence[T], params: dict[str, Any]) -> tuple[list[T], dict[str, str]]:
    marker = params.get("Marker")
    start = int(marker) if marker and marker.isdigit() else 0
    end = start + (params.get("MaxItems") or DEFAULT_PAGE_SIZE)
    return list(items[start:end]), ({"NextMarker": str(end)} if end < len(items) else {})


def _function(ctx: RequestContext, params: dict[str, Any]) -> tuple[Function, str | None]:
    return control.find_function(ctx.mesh, params["FunctionName"], params.get("Qualifier"))


def _configuration(fn: Function, qualifier: str | None) -> Any:
    if qualifier is not None and qualifier in fn.aliases:
        qualifier = fn.aliases[qualifier].function_version
    return control.describe(fn.versions[qualifier or LATEST])


def _env(params: dict[str, Any]) -> dict[str, str] | None:
    env = params.get("Environment")
    return None if env is None else dict(env.get("Variables") or {})


WIRE_HANDLERS_SETTING = "wire_handlers"   # "zip" (default): only a function's own zip runs; "any"


def _outside_package_allowed(ctx: RequestContext) -> bool:
    """Import-path and http handlers: the operator's config, or the wire when the operator says so."""
    return ctx.trusted or ctx.settings.get(WIRE_HANDLERS_SETTING) == "any"


def _dlq(params: dict[str, Any]) -> str | None:
    dlq = params.get("DeadLetterConfig")
    return None if dlq is None else (dlq.get("TargetArn") or "")


def _tracing(params: dict[str, Any]) -> str | None:
    return (params.get("TracingConfig") or {}).get("Mode")


def _architectures(params: dict[str, Any]) -> tuple[str, ...] | None:
    architectures = params.get("Architectures")
    return tuple(architectures) if architectures else None


# -- functions ------------------------------------------------------------------------------------

@service.operation("CreateFunction")
def create_function(ctx: RequestContext, params: dict[str, Any]) -> Any:
    code = params.get("Code") or {}
    signing_arn = params.get("CodeSigningConfigArn")
    if signing_arn:
        signing.code_signing_configs(ctx.mesh).require(signing_arn)
    fn = control.create_function(
        ctx.mesh, params["FunctionName"], role=params.get("Role", ""), handler=params.get("Handler", ""),
        runtime=params.get("Runtime"), zip_file=code.get("ZipFile"),
        description=params.get("Description", ""), timeout=params.get("Timeout", 3),
        memory=params.get("MemorySize", 128), environment=_env(params),
        dead_letter_arn=_dlq(params) or None, publish=bool(params.get("Publish")), tags=params.get("Tags"),
        allow_outside_package=_outside_package_allowed(ctx), architectures=_architectures(params),
        tracing_mode=_tracing(params), logging_config=params.get("LoggingConfig"), layers=params.get("Layers"))
    fn.code_signing_config_arn = signing_arn or ""
    return control.describe(fn.versions[str(fn.next_version - 1)] if params.get("Publish") else fn.latest)


@service.operation("GetFunction")
def get_function(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier = _function(ctx, params)
    out: dict[str, Any] = {
        "Configuration": _configuration(fn, qualifier),
        "Code": {"RepositoryType": "S3",
                 "Location": f"http://{ctx.host}/2015-03-31/functions/{fn.name}/code"},
    }
    if fn.tags:
        out["Tags"] = dict(fn.tags)
    if fn.concurrency.reserved is not None:
        out["Concurrency"] = fn.describe_concurrency()
    return out


@service.operation("GetFunctionConfiguration")
def get_function_configuration(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier = _function(ctx, params)
    return _configuration(fn, qualifier)


@service.operation("ListFunctions")
def list_functions(ctx: RequestContext, params: dict[str, Any]) -> Any:
    functions, more = _page(control.list_functions(ctx.mesh), params)
    if params.get("FunctionVersion") == "ALL":
        configs = [control.describe(v) for fn in functions for v in fn.versions.values()]
    else:
        configs = [control.describe(fn.latest) for fn in functions]
    return {"Functions": configs, **more}


@service.operation("DeleteFunction")
def delete_function(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier = _function(ctx, params)
    control.delete_function(fn, qualifier)
    return {"StatusCode": 204}


@service.operation("UpdateFunctionCode")
def update_function_code(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    return control.describe(control.update_function_code(fn, zip_file=params.get("ZipFile"),
                                                         publish=bool(params.get("Publish")),
                                                         allow_outside_package=_outside_package_allowed(ctx),
                                                         architectures=_architectures(params)))


@service.operation("UpdateFunctionConfiguration")
def update_function_configuration(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    version = control.update_function_configuration(
        fn, runtime=params.get("Runtime"), role=params.get("Role"), handler=params.get("Handler"),
        description=params.get("Description"), timeout=params.get("Timeout"),
        memory=params.get("MemorySize"), environment=_env(params), dead_letter_arn=_dlq(params),
        tracing_mode=_tracing(params), logging_config=params.get("LoggingConfig"), layers=params.get("Layers"),
        allow_outside_package=_outside_package_allowed(ctx))
    return control.describe(version)


def _check_revision(policy: FunctionPolicy, params: dict[str, Any], reader: str) -> None:
    """A ``RevisionId`` given must be the policy's current one (``reader`` answers it)."""
    if params.get("RevisionId") and params["RevisionId"] != policy.revision_id:
        raise stale_revision(reader)


# -- layers ---------------------------------------------------------------------------------------

def _layer_store(ctx: RequestContext, name: str) -> tuple[layers.LayerStore, str]:
    scope, bare = layers.parse_layer_name(ctx.mesh, name)
    return layers.layer_store(scope), bare


def _layer_version(ctx: RequestContext, params: dict[str, Any]) -> layers.LayerVersion:
    store, name = _layer_store(ctx, params["LayerName"])
    return store.get(name, params["VersionNumber"])


@service.operation("PublishLayerVersion")
def publish_layer_version(ctx: RequestContext, params: dict[str, Any]) -> Any:
    store, name = _layer_store(ctx, params["LayerName"])
    content = params.get("Content") or {}
    version = store.publish(name, content.get("ZipFile"), description=params.get("Description", ""),
                            runtimes=params.get("CompatibleRuntimes"),
                            architectures=params.get("CompatibleArchitectures"),
                            license_info=params.get("LicenseInfo"))
    return version.describe(ctx.host)


@service.operation("GetLayerVersion")
def get_layer_version(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return _layer_version(ctx, params).describe(ctx.host)


@service.operation("GetLayerVersionByArn")
def get_layer_version_by_arn(ctx: RequestContext, params: dict[str, Any]) -> Any:
    arn = params["Arn"]
    layer_arn, _, number = arn.rpartition(":")
    if not number.isdigit():
        raise InvalidParameterValueException(f"Invalid layer version ARN: {arn}")
    store, name = _layer_store(ctx, layer_arn)
    return store.get(name, int(number)).describe(ctx.host)


@service.operation("DeleteLayerVersion")
def delete_layer_version(ctx: RequestContext, params: dict[str, Any]) -> Any:
    store, name = _layer_store(ctx, params["LayerName"])
    store.delete(name, params["VersionNumber"])
    return None


@service.operation("ListLayerVersions")
def list_layer_versions(ctx: RequestContext, params: dict[str, Any]) -> Any:
    store, name = _layer_store(ctx, params["LayerName"])
    found = store.versions(name, params.get("CompatibleRuntime"), params.get("CompatibleArchitecture"))
    page, more = _page(found, params)
    return {"LayerVersions": [v.summary() for v in page], **more}


@service.operation("ListLayers")
def list_layers(ctx: RequestContext, params: dict[str, Any]) -> Any:
    found = layers.layer_store(ctx.mesh).listed(params.get("CompatibleRuntime"), params.get("CompatibleArchitecture"))
    page, more = _page(found, params)
    return {"Layers": [{"LayerName": layer.name, "LayerArn": layer.arn, "LatestMatchingVersion": latest.summary()}
                       for layer, latest in page], **more}


@service.operation("AddLayerVersionPermission")
def add_layer_version_permission(ctx: RequestContext, params: dict[str, Any]) -> Any:
    version = _layer_version(ctx, params)
    policy = version.policy
    _check_revision(policy, params, "GetLayerVersionPolicy")
    statement = policy.add(version.arn, {"StatementId": params["StatementId"], "Action": params["Action"],
                                         "Principal": params["Principal"],
                                         "PrincipalOrgID": params.get("OrganizationId")}, ctx.mesh.ids.uuid())
    return {"Statement": msgspec.json.encode(statement).decode(), "RevisionId": policy.revision_id}


@service.operation("RemoveLayerVersionPermission")
def remove_layer_version_permission(ctx: RequestContext, params: dict[str, Any]) -> Any:
    policy = _layer_version(ctx, params).policy
    _check_revision(policy, params, "GetLayerVersionPolicy")
    policy.remove(params["StatementId"], ctx.mesh.ids.uuid())
    return None


@service.operation("GetLayerVersionPolicy")
def get_layer_version_policy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    policy = _layer_version(ctx, params).policy
    if not policy.statements:
        raise ResourceNotFoundException("No policy is associated with the given resource.")
    return {"Policy": policy.document(policy.statements), "RevisionId": policy.revision_id}


@service.operation("PublishVersion")
def publish_version(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    return control.describe(control.publish_version(
        fn, description=params.get("Description"), code_sha256=params.get("CodeSha256"),
        revision_id=params.get("RevisionId")))


@service.operation("ListVersionsByFunction")
def list_versions_by_function(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    versions, more = _page(list(fn.versions.values()), params)
    return {"Versions": [control.describe(v, qualified=True) for v in versions], **more}


# -- aliases --------------------------------------------------------------------------------------

def _weights(params: dict[str, Any]) -> dict[str, float] | None:
    routing = params.get("RoutingConfig")
    return None if routing is None else routing.get("AdditionalVersionWeights")


@service.operation("CreateAlias")
def create_alias(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    alias = control.create_alias(fn, params["Name"], params["FunctionVersion"],
                                 description=params.get("Description", ""), weights=_weights(params))
    return alias.describe()


@service.operation("UpdateAlias")
def update_alias(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    return control.update_alias(fn, params["Name"], function_version=params.get("FunctionVersion"),
                                description=params.get("Description"), weights=_weights(params),
                                routing_given="RoutingConfig" in params,
                                revision_id=params.get("RevisionId")).describe()


@service.operation("GetAlias")
def get_alias(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    return control.get_alias(fn, params["Name"]).describe()


@service.operation("DeleteAlias")
def delete_alias(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    control.delete_alias(fn, params["Name"])
    return None


@service.operation("ListAliases")
def list_aliases(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    wanted = params.get("FunctionVersion")
    aliases = [a for a in fn.aliases.values() if wanted is None or a.function_version == wanted]
    page, more = _page(aliases, params)
    return {"Aliases": [a.describe() for a in page], **more}


# -- concurrency ----------------------------------------------------------------------------------

@service.operation("PutFunctionConcurrency")
def put_function_concurrency(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    reserved = control.put_concurrency(fn, params["ReservedConcurrentExecutions"])
    return {"ReservedConcurrentExecutions": reserved}


@service.operation("GetFunctionConcurrency")
def get_function_concurrency(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    return fn.describe_concurrency()


@service.operation("DeleteFunctionConcurrency")
def delete_function_concurrency(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    control.delete_concurrency(fn)
    return None


@service.operation("GetAccountSettings")
def get_account_settings(ctx: RequestContext, params: dict[str, Any]) -> Any:
    pool = account_pool(ctx.mesh)
    functions = control.list_functions(ctx.mesh)
    return {
        "AccountLimit": {"TotalCodeSize": 80_530_636_800, "CodeSizeUnzipped": 262_144_000,
                         "CodeSizeZipped": MAX_ZIP_UPLOAD_BYTES, "ConcurrentExecutions": pool.account_limit,
                         "UnreservedConcurrentExecutions": pool.unreserved_limit},
        "AccountUsage": {"TotalCodeSize": sum(v.config.code_size for f in functions
                                              for v in f.versions.values()),
                         "FunctionCount": len(functions)},
    }


# -- EventInvokeConfig ----------------------------------------------------------------------------

def _invoke_config_args(params: dict[str, Any]) -> dict[str, Any]:
    return {"max_retry_attempts": params.get("MaximumRetryAttempts"),
            "max_event_age_s": params.get("MaximumEventAgeInSeconds"),
            "destination_config": params.get("DestinationConfig")}


@service.operation("PutFunctionEventInvokeConfig")
def put_event_invoke_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier = _function(ctx, params)
    config = control.put_invoke_config(fn, qualifier, **_invoke_config_args(params))
    return control.describe_invoke_config(fn, qualifier or LATEST, config)


@service.operation("UpdateFunctionEventInvokeConfig")
def update_event_invoke_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier = _function(ctx, params)
    config = control.update_invoke_config(fn, qualifier, **_invoke_config_args(params))
    return control.describe_invoke_config(fn, qualifier or LATEST, config)


@service.operation("GetFunctionEventInvokeConfig")
def get_event_invoke_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier = _function(ctx, params)
    return control.describe_invoke_config(fn, qualifier or LATEST, control.get_invoke_config(fn, qualifier))


@service.operation("DeleteFunctionEventInvokeConfig")
def delete_event_invoke_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier = _function(ctx, params)
    control.delete_invoke_config(fn, qualifier)
    return None


@service.operation("ListFunctionEventInvokeConfigs")
def list_event_invoke_configs(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    page, more = _page(control.list_invoke_configs(fn), params)
    return {"FunctionEventInvokeConfigs": [control.describe_invoke_config(fn, q, c) for q, c in page], **more}


# -- provisioned concurrency ----------------------------------------------------------------------

@service.operation("PutProvisionedConcurrencyConfig")
def put_provisioned_concurrency_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = control.find_function(ctx.mesh, params["FunctionName"])
    qualifier = params["Qualifier"]
    config = provisioned.put_config(fn, qualifier, params["ProvisionedConcurrentExecutions"])
    return provisioned.describe(fn, qualifier, config)


@service.operation("GetProvisionedConcurrencyConfig")
def get_provisioned_concurrency_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = control.find_function(ctx.mesh, params["FunctionName"])
    qualifier = params["Qualifier"]
    return provisioned.describe(fn, qualifier, provisioned.get_config(fn, qualifier))


@service.operation("DeleteProvisionedConcurrencyConfig")
def delete_provisioned_concurrency_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = control.find_function(ctx.mesh, params["FunctionName"])
    provisioned.delete_config(fn, params["Qualifier"])
    return None


@service.operation("ListProvisionedConcurrencyConfigs")
def list_provisioned_concurrency_configs(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = control.find_function(ctx.mesh, params["FunctionName"])
    page, more = _page(sorted(fn.provisioned.items()), params)
    return {"ProvisionedConcurrencyConfigs": [provisioned.describe(fn, q, c, with_arn=True) for q, c in page],
            **more}


# -- function URLs --------------------------------------------------------------------------------

_URL_NOT_FOUND = "The resource you requested does not exist."
FUNCTION_URLS_SETTING = "function_urls"   # the style of the URLs the API answers (urls.URL_STYLES)


def _url_style(ctx: RequestContext) -> str:
    return str(ctx.settings.get(FUNCTION_URLS_SETTING, urls.DEFAULT_URL_STYLE))


def _url_target(ctx: RequestContext, params: dict[str, Any]) -> tuple[Function, str | None, urls.FunctionUrls]:
    fn, qualifier = _function(ctx, params)
    if qualifier is not None and qualifier not in fn.aliases:   # a URL serves an alias, not a version
        raise ResourceNotFoundException(_URL_NOT_FOUND)
    return fn, qualifier, ctx.mesh.state(urls.FunctionUrls)


@service.operation("CreateFunctionUrlConfig")
def create_function_url_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier, store = _url_target(ctx, params)
    config = store.create(fn, qualifier, params["AuthType"], params.get("Cors"), params.get("InvokeMode"))
    return config.describe(ctx.host, _url_style(ctx), with_modified=False)


@service.operation("GetFunctionUrlConfig")
def get_function_url_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier, store = _url_target(ctx, params)
    return store.get(fn, qualifier).describe(ctx.host, _url_style(ctx))


@service.operation("UpdateFunctionUrlConfig")
def update_function_url_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier, store = _url_target(ctx, params)
    config = store.update(fn, qualifier, params.get("AuthType"), params.get("Cors"), params.get("InvokeMode"))
    return config.describe(ctx.host, _url_style(ctx))


@service.operation("DeleteFunctionUrlConfig")
def delete_function_url_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier, store = _url_target(ctx, params)
    store.delete(fn, qualifier)
    return None


@service.operation("ListFunctionUrlConfigs")
def list_function_url_configs(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, {"FunctionName": params["FunctionName"]})
    page, more = _page(ctx.mesh.state(urls.FunctionUrls).of_function(fn), params)
    return {"FunctionUrlConfigs": [c.describe(ctx.host, _url_style(ctx)) for c in page], **more}


def _url_answer(status: int, message: str, request_id: str) -> Response:
    return status, [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)], \
        msgspec.json.encode({"Message": message})


def serve_function_url(api: Api, request: Request) -> Response | Awaitable[Response]:
    """A request to a function URL (its Host or path, ``urls.locate``): one synchronous invocation
    of the function, its event and answer in the URL payload format (services/lambda_/urls.py). In
    a daemon of several workers the request goes to the worker that holds the URL's account."""
    headers = request.headers
    located = urls.locate(headers.get("host", ""), request.path)
    assert located is not None
    url_id, account, region, path = located
    scope = api.mesh.find_scope(account, region) or api.mesh   # an unknown account's URL: none here
    request_id = scope.ids.uuid()
    ctx = RequestContext(scope, request_id=request_id, host=headers.get("host", ""), headers=headers,
                         operation="Invoke")
    if api.dispatch is not None:
        owner = f"arn:aws:lambda:{region}:{account}:function:url"   # routes by its account and Region
        routed = api.dispatch(request, "lambda", "Invoke", {"FunctionName": owner}, ctx)
        if routed is not None:
            return routed
    store = scope.find_state(urls.FunctionUrls)
    config = store.find(url_id) if store is not None and (scope.account_id, scope.region) == (account, region) \
        else None
    if config is None:
        return _url_answer(403, "Forbidden", request_id)
    origin = headers.get("origin")
    fn = config.function
    if request.method == "OPTIONS" and "access-control-request-method" in headers and config.cors:
        return urls.count_answer(fn, 200), [*urls.cors_grants(config.cors, origin, preflight=True),
                                            ("x-amzn-RequestId", request_id)], b""
    if config.auth_type == "AWS_IAM":
        if "authorization" not in headers and "X-Amz-Signature=" not in request.query:
            return _url_answer(urls.count_answer(fn, 403), "Forbidden", request_id)
        try:
            caller_scope(headers, api.access_keys, request.query)
        except ServiceError:
            return _url_answer(urls.count_answer(fn, 403), "Forbidden", request_id)
    body = request.body if type(request.body) is bytes else bytes(request.body)
    event = urls.request_event(config, request.method, path, request.query, headers, body, request_id,
                               scope.clock.now())
    try:
        future = _invoke_later(fn, msgspec.json.encode(event), config.qualifier, request_id)
    except ServiceError as err:   # throttled (or the payload too large)
        return _url_answer(urls.count_answer(fn, err.http_status),
                           "Rate Exceeded." if err.http_status == 429 else err.message, request_id)
    return _url_result(future, config, origin, request_id)


async def _url_result(future: asyncio.Future[InvokeResult], config: urls.UrlConfig, origin: str | None,
                      request_id: str) -> Response:
    result = await future
    if result.function_error is not None or result.status >= 500:
        return _url_answer(urls.count_answer(config.function, 502), "Internal Server Error", request_id)
    status, headers, body = urls.url_response(result.payload)   # never raises: a bad answer is a 502
    return urls.count_answer(config.function, status), [
        *headers, *urls.cors_grants(config.cors, origin, preflight=False), ("x-amzn-RequestId", request_id)], body


# -- Invoke ---------------------------------------------------------------------------------------

def _payload(params: dict[str, Any], key: str = "Payload") -> bytes:
    payload = params.get(key) or b""
    if isinstance(payload, str):
        payload = payload.encode()
    if not payload.strip():
        return b"{}"
    try:
        _json.decode(payload)
    except msgspec.DecodeError as exc:
        raise InvalidRequestContentException(
            f"Could not parse request body into json: Could not parse payload into json: {exc}") from None
    return payload


@service.operation("Invoke")
def invoke(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier = _function(ctx, params)
    payload = _payload(params)
    invocation_type = params.get("InvocationType") or REQUEST_RESPONSE
    if invocation_type != REQUEST_RESPONSE:
        result = fn.invoke(payload, qualifier=qualifier, invocation_type=invocation_type,
                           request_id=ctx.request_id)
        assert result is not None
        return {"StatusCode": result.status}
    future = _invoke_later(fn, payload, qualifier, ctx.request_id, log_tail=params.get("LogType") == "Tail")
    return Deferred(future, _invoke_output)


def _invoke_later(fn: Function, payload: bytes, qualifier: str | None, request_id: str, *,
                  log_tail: bool = False) -> asyncio.Future[InvokeResult]:
    """A synchronous invocation started now, its result a future (TooManyRequestsException when
    throttled). The pool calls back when it ends; the callback is tied to the connection, so a
    snapshot never keeps it."""
    future: asyncio.Future[InvokeResult] = asyncio.get_running_loop().create_future()

    def done(result: InvokeResult) -> None:
        if not future.done():
            future.set_result(result)

    try:
        fn.invoke(payload, qualifier=qualifier, log_tail=log_tail, on_done=Ephemeral(done), request_id=request_id)
    finally:
        fn.mesh.flush()   # hand python/http handlers to the runner now
    return future


def _invoke_output(result: InvokeResult) -> dict[str, Any]:
    if result.status >= 500:
        raise ServiceException(result.error_message or "Internal error")
    out: dict[str, Any] = {"StatusCode": 200, "Payload": result.payload,
                           "ExecutedVersion": result.executed_version}
    if result.function_error is not None:
        out["FunctionError"] = result.function_error
    if result.log_result is not None:
        out["LogResult"] = result.log_result
    return out


@service.operation("InvokeWithResponseStream")
def invoke_with_response_stream(ctx: RequestContext, params: dict[str, Any]) -> Any:
    """InvokeWithResponseStream of a function that answers whole (every runtime here does): its
    answer is one ``PayloadChunk``, then ``InvokeComplete`` (a function error's type and message
    there, and the log tail when asked)."""
    fn, qualifier = _function(ctx, params)
    payload = _payload(params)
    if (params.get("InvocationType") or REQUEST_RESPONSE) != REQUEST_RESPONSE:   # DryRun
        fn.invoke(payload, qualifier=qualifier, invocation_type=params["InvocationType"], request_id=ctx.request_id)
        return {"StatusCode": 204}
    future = _invoke_later(fn, payload, qualifier, ctx.request_id, log_tail=params.get("LogType") == "Tail")
    return Deferred(future, _stream_output)


def _stream_output(result: InvokeResult) -> EventStream:
    if result.status >= 500:
        raise ServiceException(result.error_message or "Internal error")
    return EventStream(_streamed(result), {"StatusCode": 200, "ExecutedVersion": result.executed_version})


async def _streamed(result: InvokeResult) -> AsyncIterator[tuple[str, Any]]:
    yield "PayloadChunk", {"Payload": result.payload}
    complete: dict[str, Any] = {}
    if result.function_error is not None:
        complete["ErrorCode"] = result.function_error
        complete["ErrorDetails"] = result.error_message or ""
    if result.log_result is not None:
        complete["LogResult"] = result.log_result
    yield "InvokeComplete", complete


@service.operation("InvokeAsync")
def invoke_async(ctx: RequestContext, params: dict[str, Any]) -> Any:
    """Deprecated InvokeAsync: an Event invocation answered ``202 {"Status": 202}``."""
    fn, qualifier = _function(ctx, params)
    fn.invoke(_payload(params, "InvokeArgs"), qualifier=qualifier, invocation_type=EVENT,
              request_id=ctx.request_id)
    return {"Status": 202}


# -- resource policy, tags and the settings tools read (Terraform, SAM, CDK) ----------------------

@service.operation("AddPermission")
def add_permission(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier = _function(ctx, params)
    policy = fn.policies.setdefault(qualifier or "", FunctionPolicy())
    _check_revision(policy, params, "GetPolicy")
    resource = f"{fn.arn}:{qualifier}" if qualifier else fn.arn
    statement = policy.add(resource, params, ctx.mesh.ids.uuid())
    return {"Statement": msgspec.json.encode(statement).decode()}


@service.operation("RemovePermission")
def remove_permission(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier = _function(ctx, params)
    policy = fn.policies.get(qualifier or "")
    if policy is None:
        raise ResourceNotFoundException("No policy is associated with the given resource.")
    policy.remove(params["StatementId"], ctx.mesh.ids.uuid())
    return None


@service.operation("GetPolicy")
def get_policy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier = _function(ctx, params)
    policy = fn.policies.get(qualifier or "")
    if policy is None or not policy.statements:
        raise ResourceNotFoundException("The resource you requested does not exist.")
    return {"Policy": policy.document(policy.statements), "RevisionId": policy.revision_id}


class _OtherResourceTags:
    """Tags of Lambda resources other than functions (event source mappings), by ARN; an
    entry goes with its resource (dropped when it is read after the resource is gone)."""

    def __init__(self, mesh: Any) -> None:
        self.tags: dict[str, dict[str, str]] = {}


def _tags_of(ctx: RequestContext, arn: str) -> dict[str, str]:
    if ":event-source-mapping:" in arn:
        store = ctx.mesh.state(_OtherResourceTags).tags
        if not ctx.mesh.exists(arn):
            store.pop(arn, None)
            raise ResourceNotFoundException(f"The resource you requested does not exist. {arn}")
        return store.setdefault(arn, {})
    fn, qualifier = control.find_function(ctx.mesh, arn)
    if qualifier is not None:
        raise InvalidParameterValueException("Tags are not supported on function versions or aliases.")
    return fn.tags


@service.operation("ListTags")
def list_tags(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return {"Tags": dict(_tags_of(ctx, params["Resource"]))}


@service.operation("TagResource")
def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> Any:
    _tags_of(ctx, params["Resource"]).update(params["Tags"])
    return None


@service.operation("UntagResource")
def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> Any:
    tags = _tags_of(ctx, params["Resource"])
    for key in params["TagKeys"]:
        tags.pop(key, None)
    return None


# -- code signing (signing.py: kept and answered, nothing is signed or checked) -------------------

@service.operation("CreateCodeSigningConfig")
def create_code_signing_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    config = signing.code_signing_configs(ctx.mesh).create(
        params["AllowedPublishers"], params.get("CodeSigningPolicies"), params.get("Description", ""))
    return {"CodeSigningConfig": config.describe()}


@service.operation("GetCodeSigningConfig")
def get_code_signing_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return {"CodeSigningConfig": signing.code_signing_configs(ctx.mesh).get(params["CodeSigningConfigArn"]).describe()}


@service.operation("UpdateCodeSigningConfig")
def update_code_signing_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    config = signing.code_signing_configs(ctx.mesh).update(
        params["CodeSigningConfigArn"], params.get("AllowedPublishers"), params.get("CodeSigningPolicies"),
        params.get("Description"))
    return {"CodeSigningConfig": config.describe()}


@service.operation("DeleteCodeSigningConfig")
def delete_code_signing_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    signing.code_signing_configs(ctx.mesh).delete(params["CodeSigningConfigArn"], control.list_functions(ctx.mesh))
    return {}


@service.operation("ListCodeSigningConfigs")
def list_code_signing_configs(ctx: RequestContext, params: dict[str, Any]) -> Any:
    page, more = _page(list(signing.code_signing_configs(ctx.mesh).by_arn.values()), params)
    return {"CodeSigningConfigs": [c.describe() for c in page], **more}


@service.operation("ListFunctionsByCodeSigningConfig")
def list_functions_by_code_signing_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    configs = signing.code_signing_configs(ctx.mesh)
    arn = params["CodeSigningConfigArn"]
    configs.get(arn)
    page, more = _page(configs.users(arn, control.list_functions(ctx.mesh)), params)
    return {"FunctionArns": page, **more}


@service.operation("PutFunctionCodeSigningConfig")
def put_function_code_signing_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, {"FunctionName": params["FunctionName"]})
    signing.code_signing_configs(ctx.mesh).require(params["CodeSigningConfigArn"])
    fn.code_signing_config_arn = params["CodeSigningConfigArn"]
    return {"CodeSigningConfigArn": fn.code_signing_config_arn, "FunctionName": fn.name}


@service.operation("GetFunctionCodeSigningConfig")
def get_function_code_signing_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    return {"CodeSigningConfigArn": fn.code_signing_config_arn, "FunctionName": fn.name}


@service.operation("DeleteFunctionCodeSigningConfig")
def delete_function_code_signing_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    fn.code_signing_config_arn = ""
    return None


@service.operation("GetFunctionRecursionConfig")
def get_function_recursion_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, _ = _function(ctx, params)
    return {"RecursiveLoop": fn.recursive_loop}


@service.operation("PutFunctionRecursionConfig")
def put_function_recursion_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    """Stored; recursion detection itself is not modelled (docs/aws-behaviour.md)."""
    fn, _ = _function(ctx, params)
    fn.recursive_loop = params["RecursiveLoop"]
    return {"RecursiveLoop": fn.recursive_loop}


@service.operation("GetRuntimeManagementConfig")
def get_runtime_management_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    fn, qualifier = _function(ctx, params)
    mode, version_arn = fn.runtime_management.get(qualifier or LATEST, (UPDATE_RUNTIME_AUTO, None))
    out = {"UpdateRuntimeOn": mode, "FunctionArn": f"{fn.arn}:{qualifier}" if qualifier else fn.arn}
    if version_arn is not None:
        out["RuntimeVersionArn"] = version_arn
    return out


UPDATE_RUNTIME_AUTO, UPDATE_RUNTIME_MANUAL = "Auto", "Manual"


@service.operation("PutRuntimeManagementConfig")
def put_runtime_management_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    """Kept and answered: the code runs on the daemon's runtime whatever the mode (docs/aws-behaviour.md)."""
    fn, qualifier = _function(ctx, params)
    mode, version_arn = params["UpdateRuntimeOn"], params.get("RuntimeVersionArn")
    if (mode == UPDATE_RUNTIME_MANUAL) != (version_arn is not None):
        raise InvalidParameterValueException(
            "RuntimeVersionArn must be provided when UpdateRuntimeOn is Manual, and only then.")
    fn.runtime_management[qualifier or LATEST] = (mode, version_arn)
    return get_runtime_management_config(ctx, params)
