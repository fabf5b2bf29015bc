"""The Lambda control plane on a mesh: create, update, publish, alias, concurrency, EventInvokeConfig.

Each function here is one API operation's behaviour; the
wire adapter (``services/lambda_/api.py``) and config loading only translate parameters to these calls.
https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html
https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html
https://docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
"""

from __future__ import annotations

from typing import Any

from eventmesh.mesh import Mesh
from eventmesh.services.lambda_ import provisioned
from eventmesh.services.lambda_.configuration import (
    DEFAULT_MAX_EVENT_AGE_S,
    DEFAULT_MAX_RETRY_ATTEMPTS,
    LATEST,
    EventInvokeConfig,
    FunctionConfiguration,
    LayerRef,
    LoggingSettings,
    VersionConfig,
    code_sha256,
    lambda_timestamp,
    logging_settings,
    validate_alias_name,
    validate_environment,
    validate_function_name,
    validate_invoke_config,
    validate_memory,
    validate_routing,
    validate_timeout,
)
from eventmesh.services.lambda_.errors import (
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
    function_not_found,
    stale_revision,
)
from eventmesh.services.lambda_.function import Function
from eventmesh.services.lambda_.handlers import HandlerSpec, parse_handler, runs_outside_package
from eventmesh.services.lambda_.layers import function_layers
from eventmesh.services.lambda_.package import decode_package, inspect_package
from eventmesh.services.lambda_.pool import account_pool
from eventmesh.services.lambda_.versions import Alias, FunctionVersion, QualifiedTarget

__all__ = [
    "find_function", "create_function", "update_function_code", "update_function_configuration",
    "publish_version", "delete_function", "describe", "list_functions", "create_alias", "update_alias",
    "get_alias", "delete_alias", "put_concurrency", "delete_concurrency", "put_invoke_config",
    "update_invoke_config", "get_invoke_config", "delete_invoke_config", "list_invoke_configs",
    "describe_invoke_config", "DESTINATION_SERVICES",
]

# destination services (S3 only on failure).
DESTINATION_SERVICES = {"sqs", "sns", "lambda", "events"}
_ON_FAILURE_ONLY = {"s3"}


def _arn_parts(mesh: Mesh, identifier: str) -> tuple[str, str | None]:
    """Name | name:qualifier | account:function:name[:q] | arn:aws:lambda:…:function:name[:q]."""
    parts = identifier.split(":")
    if parts[0] == "arn":
        if len(parts) < 7 or parts[5] != "function":
            raise InvalidParameterValueException(f"Invalid function ARN: {identifier}")
        return parts[6], (parts[7] if len(parts) > 7 else None)
    if len(parts) >= 3 and parts[1] == "function":
        return parts[2], (parts[3] if len(parts) > 3 else None)
    return parts[0], (parts[1] if len(parts) > 1 else None)


def find_function(mesh: Mesh, identifier: str, qualifier: str | None = None,
                  ) -> tuple[Function, str | None]:
    """The function named by a name or ARN, and the qualifier (from the ARN or the parameter)."""
    name, arn_qualifier = _arn_parts(mesh, identifier)
    if arn_qualifier and qualifier and arn_qualifier != qualifier:
        raise InvalidParameterValueException("The derived qualifier from the function name does not "
                                             "match the specified qualifier.")
    qualifier = qualifier or arn_qualifier
    function = mesh.find(mesh.arn("lambda", f"function:{name}"), Function)
    if function is None:
        arn = mesh.arn("lambda", f"function:{name}")
        raise function_not_found(f"{arn}:{qualifier}" if qualifier else arn)
    if qualifier is not None and not function.has_qualifier(qualifier):
        raise function_not_found(f"{function.arn}:{qualifier}")
    return function, qualifier


def _decode_zip(zip_file: bytes | str | None, handler: str = "") -> bytes | None:
    """The uploaded package, checked against Lambda's size limits and for zip bombs (package.py).
    A handler whose code is not in a package (``model:``, an http URL, an import path) may come
    with an empty ``ZipFile``: there is no package then."""
    if zip_file is None or (not zip_file and (":" in handler or handler.startswith(("http://", "https://")))):
        return None
    return decode_package(zip_file)[0]


OUTSIDE_PACKAGE_REFUSED = (
    "Handler {handler} runs code outside the function's deployment package (an import path or an "
    "http endpoint): eventmesh runs only the code in a function's own .zip for requests over the "
    "wire. Declare such functions in the daemon's config file, or set security.wire_handlers: any.")


def _spec(runtime: str | None, handler: str, code: bytes | None, allow_outside_package: bool) -> HandlerSpec:
    spec = parse_handler(runtime, handler, code is not None)
    if not allow_outside_package and runs_outside_package(spec):
        raise InvalidParameterValueException(OUTSIDE_PACKAGE_REFUSED.format(handler=handler))
    return spec


def _version_config(mesh: Mesh, *, runtime: str | None, role: str, handler: str, code: bytes | None,
                    description: str, timeout: int, memory: int, environment: dict[str, str],
                    dead_letter_arn: str | None, architectures: tuple[str, ...] = ("x86_64",),
                    tracing_mode: str = "PassThrough", logging: LoggingSettings | None = None,
                    layers: tuple[LayerRef, ...] = ()) -> VersionConfig:
    return VersionConfig(
        runtime, role, handler, description, validate_timeout(timeout), validate_memory(memory),
        validate_environment(environment), dead_letter_arn or None, code, code_sha256(code, handler),
        len(code) if code is not None else 0, mesh.clock.now(), mesh.ids.uuid(),
        architectures=tuple(architectures), tracing_mode=tracing_mode, logging=logging or LoggingSettings(),
        layers=layers)


def _layers(mesh: Mesh, arns: list[str], code: bytes | None) -> tuple[LayerRef, ...]:
    """A function's ``Layers`` checked beside its code (layers.py)."""
    return function_layers(mesh, arns, inspect_package(code) if code is not None else 0) if arns else ()


def _kept(old: VersionConfig) -> dict[str, Any]:
    """The settings an update carries over unless it names them."""
    return dict(runtime=old.runtime, role=old.role, handler=old.handler, code=old.code,
                description=old.description, timeout=old.timeout_s, memory=old.memory_mb,
                environment=old.environment, dead_letter_arn=old.dead_letter_arn,
                architectures=old.architectures, tracing_mode=old.tracing_mode, logging=old.logging,
                layers=old.layers)


def create_function(mesh: Mesh, name: str, *, role: str, handler: str, runtime: str | None = None,
                    zip_file: bytes | str | None = None, description: str = "", timeout: int = 3,
                    memory: int = 128, environment: dict[str, str] | None = None,
                    dead_letter_arn: str | None = None, publish: bool = False,
                    tags: dict[str, str] | None = None, allow_outside_package: bool = True,
                    architectures: tuple[str, ...] | None = None, tracing_mode: str | None = None,
                    logging_config: dict[str, Any] | None = None, layers: list[str] | None = None) -> Function:
    """CreateFunction: ``$LATEST`` (and version 1 with ``publish``). ``allow_outside_package``
    False (requests over the wire): only code in the function's own zip may run. ``layers``:
    layer version ARNs (layers.py).
    ``architectures``, ``tracing_mode`` and ``logging_config`` are kept and answered as given;
    the code runs on this host whatever its architecture, and no X-Ray traces are sent."""
    validate_function_name(name)
    arn = mesh.arn("lambda", f"function:{name}")
    if mesh.exists(arn):
        raise ResourceConflictException(f"Function already exist: {name}")
    code = _decode_zip(zip_file, handler)
    spec = _spec(runtime, handler, code, allow_outside_package)
    config = _version_config(mesh, runtime=runtime, role=role, handler=handler, code=code,
                             description=description, timeout=timeout, memory=memory,
                             environment=environment or {}, dead_letter_arn=dead_letter_arn,
                             architectures=architectures or ("x86_64",), tracing_mode=tracing_mode or "PassThrough",
                             logging=logging_settings(LoggingSettings(), logging_config),
                             layers=_layers(mesh, layers or [], code))
    function = Function(mesh, name, config, spec)
    function.tags = dict(tags or {})
    mesh.add(function)
    mesh.add(QualifiedTarget(function, LATEST))
    if publish:
        publish_version(function)
    return function


def update_function_code(function: Function, *, zip_file: bytes | str | None = None,
                         handler: str | None = None, publish: bool = False,
                         allow_outside_package: bool = True,
                         architectures: tuple[str, ...] | None = None) -> FunctionVersion:
    """UpdateFunctionCode: new package (and/or, in eventmesh, a new handler reference), and the
    instruction set architecture it is built for."""
    old = function.latest.config
    new_handler = handler or old.handler
    code = _decode_zip(zip_file, new_handler) if zip_file is not None else old.code
    spec = _spec(old.runtime, new_handler, code, allow_outside_package)
    mesh = function.mesh
    values = _kept(old)
    values.update(handler=new_handler, code=code)
    if old.layers and code is not old.code:
        values["layers"] = _layers(mesh, [ref.arn for ref in old.layers], code)
    if architectures:
        values["architectures"] = tuple(architectures)
    config = _version_config(mesh, **values)
    version = function.set_latest(config, spec)
    if publish:
        return publish_version(function)
    return version


def update_function_configuration(function: Function, *, allow_outside_package: bool = True,
                                  **changes: Any) -> FunctionVersion:
    """UpdateFunctionConfiguration: any of runtime, role, handler, description, timeout, memory,
    environment, dead_letter_arn (``""`` removes the DLQ), tracing_mode, logging_config (the
    members it names), layers (layer version ARNs; ``[]`` removes them)."""
    old = function.latest.config
    values = _kept(old)
    logging_config = changes.pop("logging_config", None)
    layers = changes.pop("layers", None)
    values.update({k: v for k, v in changes.items() if v is not None})
    if layers is not None:
        values["layers"] = _layers(function.mesh, layers, old.code)
    values["logging"] = logging_settings(old.logging, logging_config)
    # The operator's own import-path function stays configurable; a new handler is checked.
    unchanged = values["handler"] == old.handler and values["runtime"] == old.runtime
    spec = _spec(values["runtime"], values["handler"], values["code"], allow_outside_package or unchanged)
    return function.set_latest(_version_config(function.mesh, **values), spec)


def publish_version(function: Function, *, description: str | None = None,
                    code_sha256: str | None = None, revision_id: str | None = None) -> FunctionVersion:
    """PublishVersion: freeze $LATEST as the next number; unchanged since the last publish →
    that version again (AWS does not create a duplicate)."""
    latest = function.latest
    config = latest.config
    if code_sha256 is not None and code_sha256 != config.code_sha256:
        raise InvalidParameterValueException(
            f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in $LATEST "
            f"({config.code_sha256}). Please try again with the CodeSHA256 in $LATEST.")
    if revision_id is not None and revision_id != config.revision_id:
        raise stale_revision("GetFunction/GetAlias")
    numbered = [v for k, v in function.versions.items() if k != LATEST]
    if numbered and numbered[-1].config.revision_id == config.revision_id:
        return numbered[-1]
    name = str(function.next_version)
    function.next_version += 1
    frozen = config if description is None else _replace(config, description=description)
    version = function.versions[name] = FunctionVersion(function, name, frozen, latest.spec)
    function.mesh.add(QualifiedTarget(function, name))
    return version


def _replace(config: VersionConfig, **changes: Any) -> VersionConfig:
    import msgspec
    return msgspec.structs.replace(config, **changes)


def delete_function(function: Function, qualifier: str | None = None) -> None:
    """DeleteFunction: the whole function, or one published version."""
    mesh = function.mesh
    if qualifier is None:
        for q in list(function.versions) + list(function.aliases):
            mesh.remove(f"{function.arn}:{q}")
        mesh.remove(function.arn)
        return
    if qualifier == LATEST:
        raise InvalidParameterValueException(
            "$LATEST version cannot be deleted without deleting the function.")
    if qualifier not in function.versions:
        raise function_not_found(f"{function.arn}:{qualifier}")
    using = [a.name for a in function.aliases.values()
             if qualifier in (a.function_version, a.routing.additional_version)]
    if using:
        raise ResourceConflictException(
            f"Unable to delete version because the following aliases reference it: {using}")
    envs = function.versions.pop(qualifier).envs
    function.retired_cold_starts += envs.created
    function.retired_provisioned[0] += envs.on_provisioned
    function.retired_provisioned[1] += envs.spillover
    if function.provisioned:
        provisioned.apply(function)
    function.invoke_configs.pop(qualifier, None)
    mesh.remove(f"{function.arn}:{qualifier}")


def describe(version: FunctionVersion, *, qualified: bool = False) -> FunctionConfiguration:
    """The ``FunctionConfiguration`` shape of one version. ``$LATEST`` answers the unqualified
    ARN (GetFunction, CreateFunction, ListFunctions) unless ``qualified``: ListVersionsByFunction
    names every version, ``$LATEST`` too, by its qualified ARN (``…:function:f:$LATEST``, as
    the AWS CLI reference's example shows:
    https://docs.aws.amazon.com/cli/latest/reference/lambda/list-versions-by-function.html)."""
    fn = version.function
    config = version.config
    return FunctionConfiguration(
        fn.name, version.arn if version.name != LATEST or qualified else fn.arn, config.role, config.handler,
        config.code_size, config.description, config.timeout_s, config.memory_mb,
        lambda_timestamp(config.last_modified), config.code_sha256, version.name, config.revision_id,
        runtime=config.runtime,
        environment={"Variables": dict(config.environment)} if config.environment else None,
        dead_letter_config={"TargetArn": config.dead_letter_arn} if config.dead_letter_arn else None,
        logging_config=config.logging.describe(fn.name), tracing_config={"Mode": config.tracing_mode},
        architectures=list(config.architectures),
        layers=[ref.describe() for ref in config.layers] or None)


def list_functions(mesh: Mesh) -> list[Function]:
    return sorted((r for r in mesh.resources("lambda") if isinstance(r, Function)), key=lambda f: f.name)


# -- aliases -------------------------------------------------------------------------------

def _check_alias_versions(function: Function, version: str, weights: dict[str, float] | None) -> Any:
    routing = validate_routing(weights)
    if version not in function.versions:
        raise function_not_found(f"{function.arn}:{version}")
    if routing.additional_version is not None:
        if version == LATEST:
            raise InvalidParameterValueException(
                "$LATEST is not supported for an alias pointing to more than 1 version")
        extra = function.versions.get(routing.additional_version)
        if extra is None:
            raise function_not_found(f"{function.arn}:{routing.additional_version}")
        if extra.config.dead_letter_arn != function.versions[version].config.dead_letter_arn:
            raise InvalidParameterValueException(
                "The primary and additional versions of an alias must have the same DeadLetterConfig")
    return routing


def create_alias(function: Function, name: str, function_version: str, *, description: str = "",
                 weights: dict[str, float] | None = None) -> Alias:
    validate_alias_name(name)
    if name in function.aliases:
        raise ResourceConflictException(f"Alias already exists: {function.arn}:{name}")
    routing = _check_alias_versions(function, function_version, weights)
    alias = Alias(function, name, function_version, description, routing, function.mesh.ids.uuid())
    function.aliases[name] = alias
    function.mesh.add(QualifiedTarget(function, name))
    return alias


def get_alias(function: Function, name: str) -> Alias:
    alias = function.aliases.get(name)
    if alias is None:
        raise ResourceNotFoundException(f"Cannot find alias arn: {function.arn}:{name}")
    return alias


def update_alias(function: Function, name: str, *, function_version: str | None = None,
                 description: str | None = None, weights: dict[str, float] | None = None,
                 routing_given: bool = False, revision_id: str | None = None) -> Alias:
    """UpdateAlias: a new FunctionVersion without RoutingConfig resets routing."""
    alias = get_alias(function, name)
    if revision_id is not None and revision_id != alias.revision_id:
        raise stale_revision("GetFunction/GetAlias")
    version = function_version or alias.function_version
    if routing_given or function_version is not None:
        alias.routing = _check_alias_versions(function, version, weights if routing_given else None)
    alias.function_version = version
    if description is not None:
        alias.description = description
    alias.revision_id = function.mesh.ids.uuid()
    if function.provisioned:   # an alias's provisioned concurrency moves with it
        provisioned.apply(function)
    return alias


def delete_alias(function: Function, name: str) -> None:
    if function.aliases.pop(name, None) is not None:
        function.invoke_configs.pop(name, None)
        function.mesh.remove(f"{function.arn}:{name}")
        if function.provisioned:
            provisioned.apply(function)


# -- reserved concurrency ------------------------------------------------------------

def put_concurrency(function: Function, reserved: int) -> int:
    """PutFunctionConcurrency, keeping at least the unreserved minimum (100) unreserved."""
    if reserved < 0:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{reserved}' at 'reservedConcurrentExecutions' "
            f"failed to satisfy constraint: Member must have value greater than or equal to 0")
    if reserved < function.concurrency.provisioned:
        raise InvalidParameterValueException(
            f"Specified ReservedConcurrentExecutions [{reserved}] for function is less than its provisioned "
            f"concurrency [{function.concurrency.provisioned}].")
    account = account_pool(function.mesh)
    current = function.concurrency.reserved or function.concurrency.provisioned
    unreserved_after = account.account_limit - (account.reserved_total - current + reserved)
    if unreserved_after < account.unreserved_minimum:
        if reserved > account.unreserved_limit + current:
            raise InvalidParameterValueException(
                f"Specified ConcurrentExecutions for function is greater than account's unreserved "
                f"concurrency [{account.unreserved_limit + current}].")
        raise InvalidParameterValueException(
            f"Specified ReservedConcurrentExecutions for function decreases account's "
            f"UnreservedConcurrentExecution below its minimum value of [{account.unreserved_minimum}].")
    function.concurrency.set_reserved(reserved)
    function.async_queue.pump()
    return reserved


def delete_concurrency(function: Function) -> None:
    function.concurrency.set_reserved(None)
    function.async_queue.pump()


# -- EventInvokeConfig -------------------------------------------------------------------

def _check_destination(arn: str | None, on_failure: bool) -> str | None:
    if not arn:
        return None
    parts = arn.split(":")
    service = parts[2] if len(parts) >= 6 and parts[0] == "arn" else ""
    if service not in DESTINATION_SERVICES and not (on_failure and service in _ON_FAILURE_ONLY):
        raise InvalidParameterValueException(f"The destination ARN {arn} is invalid.")
    return arn


def _destination(config: dict[str, Any] | None, key: str) -> str | None:
    return ((config or {}).get(key) or {}).get("Destination")


def put_invoke_config(function: Function, qualifier: str | None, *, max_retry_attempts: int | None = None,
                      max_event_age_s: int | None = None,
                      destination_config: dict[str, Any] | None = None) -> EventInvokeConfig:
    """PutFunctionEventInvokeConfig: replaces everything; omitted settings reset to defaults."""
    q = qualifier or LATEST
    validate_invoke_config(max_retry_attempts, max_event_age_s)
    config = EventInvokeConfig(
        DEFAULT_MAX_RETRY_ATTEMPTS if max_retry_attempts is None else max_retry_attempts,
        DEFAULT_MAX_EVENT_AGE_S if max_event_age_s is None else max_event_age_s,
        _check_destination(_destination(destination_config, "OnSuccess"), False),
        _check_destination(_destination(destination_config, "OnFailure"), True),
        function.clock.now())
    function.invoke_configs[q] = config
    return config


def get_invoke_config(function: Function, qualifier: str | None) -> EventInvokeConfig:
    q = qualifier or LATEST
    config = function.invoke_configs.get(q)
    if config is None:
        raise ResourceNotFoundException(
            f"The function {function.arn}:{q} doesn't have an EventInvokeConfig")
    return config


def update_invoke_config(function: Function, qualifier: str | None, *, max_retry_attempts: int | None = None,
                         max_event_age_s: int | None = None,
                         destination_config: dict[str, Any] | None = None) -> EventInvokeConfig:
    """UpdateFunctionEventInvokeConfig: merges into the existing (or default) settings."""
    q = qualifier or LATEST
    validate_invoke_config(max_retry_attempts, max_event_age_s)
    old = function.invoke_configs.get(q, EventInvokeConfig())
    on_success, on_failure = old.on_success, old.on_failure
    if destination_config is not None:
        if "OnSuccess" in destination_config:
            on_success = _check_destination(_destination(destination_config, "OnSuccess"), False)
        if "OnFailure" in destination_config:
            on_failure = _check_destination(_destination(destination_config, "OnFailure"), True)
    config = EventInvokeConfig(
        old.max_retry_attempts if max_retry_attempts is None else max_retry_attempts,
        old.max_event_age_s if max_event_age_s is None else max_event_age_s,
        on_success, on_failure, function.clock.now())
    function.invoke_configs[q] = config
    return config


def delete_invoke_config(function: Function, qualifier: str | None) -> None:
    get_invoke_config(function, qualifier)
    del function.invoke_configs[qualifier or LATEST]


def list_invoke_configs(function: Function) -> list[tuple[str, EventInvokeConfig]]:
    return list(function.invoke_configs.items())


def describe_invoke_config(function: Function, qualifier: str, config: EventInvokeConfig) -> dict[str, Any]:
    """The ``FunctionEventInvokeConfig`` shape."""
    destinations: dict[str, Any] = {"OnSuccess": {}, "OnFailure": {}}
    if config.on_success:
        destinations["OnSuccess"] = {"Destination": config.on_success}
    if config.on_failure:
        destinations["OnFailure"] = {"Destination": config.on_failure}
    return {"LastModified": config.last_modified, "FunctionArn": f"{function.arn}:{qualifier}",
            "MaximumRetryAttempts": config.max_retry_attempts,
            "MaximumEventAgeInSeconds": config.max_event_age_s, "DestinationConfig": destinations}
