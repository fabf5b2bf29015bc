"""Topology files (``configs/*.yaml``, SAM and CloudFormation templates) → a Mesh.

A config declares settings and the resources to create at start-up. Each resource is the request
of the AWS API call that would create it, in the botocore model's member names, so a config is
checked by the same model and served by the same handlers as the wire::

    account_id: "000000000000"
    region: us-east-1
    templates: [template.yaml]          # SAM/CloudFormation: their resources join the list below
    resources:
      sqs:
        queues:
          - QueueName: orders
            Attributes: {VisibilityTimeout: 60}

Scalars given where the API wants a string (SQS attribute values) are converted, and mappings
given for JSON-document strings (``RedrivePolicy``) are encoded, so configs stay readable.

Loading checks everything start-up would: the model (names, types, ranges) with the key path of
each problem, then a dry run of every create call through the real handlers on a scratch mesh
(patterns, attributes, references between resources, handler settings). Every problem is
reported at once; ``eventmesh validate`` and ``eventmesh serve`` use this one loader.

Settings beside the resources: ``queue_urls`` (the SQS queue URL form), ``function_urls`` (the
Lambda function URL form: ``path`` or ``host``), ``quotas`` (adjustable
quotas, see ``quotas.py``) and ``kinesis_shard_limits`` (``false`` turns the per-shard Kinesis
read and write quotas off, for tests that do not model throughput; default ``true``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import msgspec
import yaml

from eventmesh.mesh import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, Mesh
from eventmesh.quotas import Quota, Quotas
from eventmesh.services.events.bus import RULES_PER_BUS_QUOTA
from eventmesh.services.kinesis.shards import ShardLimits
from eventmesh.services.kinesis.stream import ON_DEMAND_STREAMS_QUOTA, SHARDS_QUOTA
from eventmesh.services.lambda_.pool import CONCURRENT_EXECUTIONS_QUOTA
from eventmesh.services.lambda_.urls import URL_STYLES
from eventmesh.services.sns.signing import SIGNING_MODES, Signer
from eventmesh.services.sqs.service import QUEUE_URL_STYLES
from eventmesh.wire.limits import SETTING_NAMES, ServerSettings, settings_from
from eventmesh.wire.router import Api

__all__ = ["RESOURCE_KINDS", "Config", "ConfigError", "apply_config", "apply_settings", "check_config", "load_config",
           "resources_from_template", "validate_config"]

# (service, key under resources.<service>, the operation that creates one) — in creation order,
# so queues exist before the subscriptions and mappings that name them, and buses before the
# functions whose destinations they are.
RESOURCE_KINDS: list[tuple[str, str, str]] = [
    ("sqs", "queues", "CreateQueue"),
    ("sns", "topics", "CreateTopic"),
    ("kinesis", "streams", "CreateStream"),
    ("events", "buses", "CreateEventBus"),
    ("lambda", "layers", "PublishLayerVersion"),
    ("lambda", "functions", "CreateFunction"),
    ("lambda", "versions", "PublishVersion"),
    ("lambda", "aliases", "CreateAlias"),
    ("lambda", "function_urls", "CreateFunctionUrlConfig"),
    ("lambda", "event_invoke_configs", "PutFunctionEventInvokeConfig"),
    ("sns", "subscriptions", "Subscribe"),
    ("events", "rules", "PutRule"),
    ("lambda", "event_source_mappings", "CreateEventSourceMapping"),
]


def _targets(item: dict[str, Any]) -> dict[str, Any]:
    params = {"Rule": item.get("Name"), "Targets": item["Targets"]}
    if item.get("EventBusName"):
        params["EventBusName"] = item["EventBusName"]
    return params


# Members a config item may carry beside the create call's own: each becomes a second call.
FOLLOW_UPS: dict[tuple[str, str], list[tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]]]]] = {
    ("events", "PutRule"): [("Targets", "PutTargets", _targets)],
    ("lambda", "CreateFunction"): [("ReservedConcurrentExecutions", "PutFunctionConcurrency", lambda item: {
        "FunctionName": item.get("FunctionName"),
        "ReservedConcurrentExecutions": item["ReservedConcurrentExecutions"]})],
    ("lambda", "CreateAlias"): [("ProvisionedConcurrencyConfig", "PutProvisionedConcurrencyConfig", lambda item: {
        "FunctionName": item.get("FunctionName"), "Qualifier": item.get("Name"),
        "ProvisionedConcurrentExecutions": item["ProvisionedConcurrencyConfig"].get(
            "ProvisionedConcurrentExecutions")})],
    ("kinesis", "CreateStream"): [("RetentionPeriodHours", "IncreaseStreamRetentionPeriod", lambda item: {
        "StreamName": item.get("StreamName"), "RetentionPeriodHours": item["RetentionPeriodHours"]})],
}
_TOP_LEVEL = {"account_id", "region", "seed", "server", "resources", "templates", "queue_urls", "function_urls",
              "quotas", "kinesis_shard_limits", "sns_signatures", "security", "data_dir"}
# security: who may call and what code runs over the wire (SECURITY.md).
_SECURITY_KEYS = {"wire_handlers", "access_keys"}
WIRE_HANDLER_CHOICES = ("zip", "any")
# Every adjustable quota a config may set, by service and Service Quotas name.
QUOTAS: dict[str, dict[str, Quota]] = {}
for _quota in (RULES_PER_BUS_QUOTA, CONCURRENT_EXECUTIONS_QUOTA, SHARDS_QUOTA, ON_DEMAND_STREAMS_QUOTA):
    QUOTAS.setdefault(_quota.service, {})[_quota.name] = _quota
_SERVER_KEYS = {"host", "port", "clock"} | SETTING_NAMES
_TEMPLATE_KEYS = {"path", "parameters", "stack_name"}


class ConfigError(ValueError):
    """A config that cannot be used; ``problems`` lists each as ``path: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Config(msgspec.Struct):
    """Settings and resources of one daemon. ``origins`` names where a resource came from when
    a template declared it (``resources.sqs.queues[2]`` → ``template.yaml: Resources.Orders ...``);
    ``notices`` are the start-up lines about what templates declared that is not created."""

    account_id: str = DEFAULT_ACCOUNT_ID
    region: str = DEFAULT_REGION
    seed: int | None = None
    host: str | None = None
    port: int | None = None
    clock: str | None = None
    queue_urls: str = "path"  # SQS queue URL form: path (/queue/<region>/<account>/<name>), host, account
    function_urls: str = "path"  # Lambda function URL form: path (/lambda-url/<region>/<id>/), host
    sns_signatures: str = "rsa"  # SNS message signatures: rsa (verifiable), digest (fast, not verifiable)
    quotas: dict[str, dict[str, int]] = {}  # service -> Service Quotas name -> value (see quotas.py)
    # Kinesis per-shard quotas (writes 1,000 records and 1 MiB/s, reads 5 calls and 2 MiB/s):
    # false lets any rate through, for tests that do not model throughput (shards.py ShardLimits).
    kinesis_shard_limits: bool = True
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    # "zip": over the wire a function runs only its own zip; "any": import-path / http handlers too
    wire_handlers: str = "zip"
    # accepted SigV4 access keys -> the account each acts in (None: the default); empty: any key
    access_keys: dict[str, str | None] = {}
    # Where the daemon keeps its state across restarts (docs/durability.md); None: in memory only.
    data_dir: str | None = None
    resources: dict[str, dict[str, list[dict[str, Any]]]] = {}
    source: str = "<defaults>"
    origins: dict[str, str] = {}
    notices: list[str] = []


def _path(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _read(path: Path) -> Any:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError([f"{path}: {exc.strerror}"]) from None
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError:
        pass
    from eventmesh.templates import read_template

    try:  # CloudFormation's short-form tags (!Ref, !GetAtt) are no YAML safe_load knows
        return read_template(path)
    except Exception as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None


def load_config(path: str | Path | None = None, *, templates: Iterable[str | Path] = (),
                parameter_overrides: dict[str, str] | None = None) -> Config:
    """Read a config (or a template given as the config) and the ``templates``, and check all
    of it as start-up would; raises :class:`ConfigError` listing every problem."""
    config, problems = check_config(path, templates=templates, parameter_overrides=parameter_overrides)
    if problems:
        raise ConfigError(problems)
    return config


def check_config(path: str | Path | None = None, *, templates: Iterable[str | Path] = (),
                 parameter_overrides: dict[str, str] | None = None) -> tuple[Config, list[str]]:
    """(the config, every problem in it): what ``eventmesh validate`` reports."""
    from eventmesh.templates import is_template

    data: Any = {}
    source = "<defaults>"
    template_entries: list[Any] = [str(t) for t in templates]
    if path is not None:
        path = Path(path)
        source = str(path)
        data = _read(path)
        if is_template(data):  # a template given where a config goes: it is the whole topology
            template_entries.insert(0, {"path": str(path), "document": data})
            data = {}
    problems = validate_config(data)
    if problems:
        return Config(source=source), problems
    server = data.get("server") or {}
    security = data.get("security") or {}
    keys = security.get("access_keys") or {}
    config = Config(account_id=str(data.get("account_id", DEFAULT_ACCOUNT_ID)),
                    region=data.get("region", DEFAULT_REGION), seed=data.get("seed"),
                    host=server.get("host"), port=server.get("port"), clock=server.get("clock"),
                    queue_urls=data.get("queue_urls", "path"), function_urls=data.get("function_urls", "path"),
                    quotas=data.get("quotas") or {},
                    kinesis_shard_limits=data.get("kinesis_shard_limits", True),
                    sns_signatures=data.get("sns_signatures", "rsa"), server=settings_from(server),
                    wire_handlers=security.get("wire_handlers", "zip"), data_dir=data.get("data_dir"),
                    access_keys=({str(k): (None if v is None else str(v)) for k, v in keys.items()}
                                 if isinstance(keys, dict) else {str(k): None for k in keys}),
                    resources=_normalized(data.get("resources") or {}), source=source)
    base = Path(source).parent if path is not None else Path(".")
    for entry in list(data.get("templates") or []) + template_entries:
        problems += _add_template(config, entry, base, parameter_overrides or {})
    if not problems:
        problems += dry_run(config)
    return config, problems


def resources_from_template(path: str | Path, *, parameters: dict[str, str] | None = None,
                            account_id: str = DEFAULT_ACCOUNT_ID, region: str = DEFAULT_REGION,
                            stack_name: str | None = None) -> Config:
    """A template alone as a config: its resources as ``resources.<service>.<key>`` lists of
    create-call requests, checked as start-up checks them (for a simulation's ``include``);
    raises :class:`ConfigError` listing every problem."""
    config = Config(account_id=account_id, region=region, source=str(path))
    entry = {"path": str(path), "parameters": parameters or {}, "stack_name": stack_name}
    problems = _add_template(config, entry, Path("."), {})
    problems += [] if problems else dry_run(config)
    if problems:
        raise ConfigError(problems)
    return config


def _add_template(config: Config, entry: Any, base: Path, overrides: dict[str, str]) -> list[str]:
    from eventmesh.templates import load_template

    spec: dict[str, Any] = {"path": entry} if isinstance(entry, str) else dict(entry)
    where = Path(spec["path"])
    if not where.is_absolute() and "document" not in spec:
        where = base / where if (base / where).exists() else where
    host = f"{config.host or '127.0.0.1'}:{config.port or 4566}"
    loaded = load_template(where, parameters={**(spec.get("parameters") or {}), **overrides},
                           account_id=config.account_id, region=config.region, host=host,
                           stack_name=spec.get("stack_name"), document=spec.get("document"))
    problems = [f"{where}: {p}" if not p.startswith(str(where)) else p for p in loaded.problems]
    if problems:
        return problems
    kinds = {(s, k): op for s, k, op in RESOURCE_KINDS}
    from botocore.session import get_session

    session = get_session()
    for (service, key, params), origin in zip(loaded.items, loaded.origins, strict=True):
        label = f"{where}: {origin}"
        shape = session.get_service_model(service).operation_model(kinds[(service, key)]).input_shape
        item = _coerce(shape, params)
        problems += _check_item(session, service, kinds[(service, key)], item, label)
        items = config.resources.setdefault(service, {}).setdefault(key, [])
        config.origins[f"resources.{service}.{key}[{len(items)}]"] = label
        items.append(item)
    config.notices = [*config.notices, *loaded.summary()]
    return problems


def validate_config(data: Any) -> list[str]:
    """Every problem the model finds in a parsed config, each as ``key.path: message``."""
    from botocore.session import get_session

    if not isinstance(data, dict):
        return ["(top level): must be a mapping"]
    problems = [f"{key}: unknown key (expected one of {', '.join(sorted(_TOP_LEVEL))})"
                for key in data if key not in _TOP_LEVEL]
    account = data.get("account_id")
    if account is not None and not (str(account).isdigit() and len(str(account)) == 12):
        problems.append("account_id: must be 12 digits")
    server = data.get("server") or {}
    if not isinstance(server, dict):
        problems.append("server: must be a mapping")
        server = {}
    problems += [f"server.{key}: unknown key" for key in server if key not in _SERVER_KEYS]
    if "port" in server and not (isinstance(server["port"], int) and 0 <= server["port"] <= 65535):
        problems.append("server.port: must be a port number 0-65535")
    if server.get("clock") not in (None, "real", "virtual"):
        problems.append("server.clock: must be real or virtual")
    if data.get("queue_urls", "path") not in QUEUE_URL_STYLES:
        problems.append(f"queue_urls: must be one of {', '.join(QUEUE_URL_STYLES)}")
    if data.get("function_urls", "path") not in URL_STYLES:
        problems.append(f"function_urls: must be one of {', '.join(URL_STYLES)}")
    if data.get("sns_signatures", "rsa") not in SIGNING_MODES:
        problems.append(f"sns_signatures: must be one of {', '.join(SIGNING_MODES)}")
    problems += _quota_problems(data.get("quotas"))
    problems += _check_templates_key(data.get("templates"))
    if not isinstance(data.get("kinesis_shard_limits", True), bool):
        problems.append("kinesis_shard_limits: must be true or false")
    try:
        problems += [f"server.{p}" for p in settings_from(server).problems()]
    except msgspec.ValidationError as exc:
        problems.append(f"server: {exc}")
    problems += _security_problems(data.get("security"))
    if data.get("data_dir") is not None and (not isinstance(data["data_dir"], str) or not data["data_dir"]):
        problems.append("data_dir: must be a directory path")
    resources = data.get("resources") or {}
    if not isinstance(resources, dict):
        return problems + ["resources: must be a mapping"]
    kinds = {(service, key): op for service, key, op in RESOURCE_KINDS}
    session = get_session()
    for service, group in resources.items():
        if not isinstance(group, dict):
            problems.append(f"resources.{service}: must be a mapping")
            continue
        for key, items in group.items():
            op_name = kinds.get((service, key))
            where: list[str | int] = ["resources", service, key]
            if op_name is None:
                known = ", ".join(f"{s}.{k}" for s, k, _ in RESOURCE_KINDS)
                problems.append(f"{_path(where)}: unknown resource kind (expected one of {known})")
                continue
            if not isinstance(items, list):
                problems.append(f"{_path(where)}: must be a list")
                continue
            shape = session.get_service_model(service).operation_model(op_name).input_shape
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    problems.append(f"{_path(where + [i])}: must be a mapping")
                    continue
                problems += _check_item(session, service, op_name, _coerce(shape, item), _path(where + [i]))
    return problems


def _check_templates_key(templates: Any) -> list[str]:
    if templates is None:
        return []
    if not isinstance(templates, list):
        return ["templates: must be a list of template paths"]
    problems = []
    for i, entry in enumerate(templates):
        if isinstance(entry, str):
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            problems.append(f"templates[{i}]: a path, or a mapping with path (and parameters, stack_name)")
            continue
        problems += [f"templates[{i}].{k}: unknown key" for k in entry if k not in _TEMPLATE_KEYS]
        if not isinstance(entry.get("parameters", {}), dict):
            problems.append(f"templates[{i}].parameters: must be a mapping")
    return problems


@functools.cache
def _input_shape(service: str, op_name: str) -> Any:
    from botocore.session import get_session

    return get_session().get_service_model(service).operation_model(op_name).input_shape


def _calls(service: str, op_name: str, item: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The create call of one item, then the follow-up calls it carries (PutTargets...)."""
    calls = [(op_name, _without_follow_ups(service, op_name, item))]
    for member, follow_op, build in FOLLOW_UPS.get((service, op_name), []):
        if item.get(member) is not None:
            calls.append((follow_op, _coerce(_input_shape(service, follow_op), build(item))))
    return calls


def _check_item(session: Any, service: str, op_name: str, item: dict[str, Any], label: str) -> list[str]:
    """The model's problems with one item and with the follow-up calls it carries."""
    from eventmesh.wire.validate import check

    problems = []
    for name, params in _calls(service, op_name, item):
        shape = _input_shape(service, name)
        for problem in check(shape, params):
            member_path = ".".join(p[:1].upper() + p[1:] for p in problem.path.split("."))
            if name != op_name:
                member_path = f"{name}.{member_path}"
            problems.append(f"{label}.{member_path}: {problem.constraint}")
    return problems


def _without_follow_ups(service: str, op_name: str, item: dict[str, Any]) -> dict[str, Any]:
    members = {member for member, _, _ in FOLLOW_UPS.get((service, op_name), [])}
    return {k: v for k, v in item.items() if k not in members}


def _normalized(resources: dict[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    from botocore.session import get_session

    session = get_session()
    kinds = {(service, key): op for service, key, op in RESOURCE_KINDS}
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for service, group in resources.items():
        for key, items in group.items():
            shape = session.get_service_model(service).operation_model(kinds[(service, key)]).input_shape
            out.setdefault(service, {})[key] = [_coerce(shape, dict(item)) for item in items]
    return out


def _coerce(shape: Any, value: Any) -> Any:
    """Friendly YAML → the model's types: scalars to strings, mappings to JSON strings."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {k: (_coerce(members[k], v) if k in members else v) for k, v in value.items()}
    if kind == "map" and isinstance(value, dict):
        return {str(k): _coerce(shape.value, v) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_coerce(shape.member, v) for v in value]
    if kind == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, (dict, list)):
            return msgspec.json.encode(value).decode()
    if kind in ("integer", "long") and isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)   # a template parameter (always a string) given where a number goes
    if kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind in ("float", "double") and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "blob" and isinstance(value, str):
        return value.encode()
    return value


def _quota_problems(quotas: Any) -> list[str]:
    if quotas is None:
        return []
    if not isinstance(quotas, dict):
        return ["quotas: must be a mapping of service to quota names"]
    problems = []
    for service, values in quotas.items():
        known = QUOTAS.get(service)
        if known is None:
            problems.append(f"quotas.{service}: no adjustable quotas (known: {', '.join(sorted(QUOTAS))})")
            continue
        if not isinstance(values, dict):
            problems.append(f"quotas.{service}: must be a mapping of quota name to value")
            continue
        for name, value in values.items():
            if name not in known:
                problems.append(f"quotas.{service}.{name}: unknown quota (known: {', '.join(sorted(known))})")
            elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
                problems.append(f"quotas.{service}.{name}: must be a whole number >= 0")
    return problems


def dry_run(config: Config) -> list[str]:
    """Create every resource through the real handlers on a scratch mesh in virtual time, so a
    config is refused for what start-up would refuse, all of it at once."""
    from eventmesh.clock import VirtualClock
    from eventmesh.mesh import Mesh
    from eventmesh.services import adapters

    mesh = Mesh(VirtualClock(), account_id=config.account_id, region=config.region, seed=config.seed)
    try:
        return apply_config(config, Api(mesh, adapters()), collect=True)
    finally:
        mesh.close()


def _security_problems(security: Any) -> list[str]:
    if security is None:
        return []
    if not isinstance(security, dict):
        return ["security: must be a mapping"]
    problems = [f"security.{key}: unknown key (expected one of {', '.join(sorted(_SECURITY_KEYS))})"
                for key in security if key not in _SECURITY_KEYS]
    if security.get("wire_handlers", "zip") not in WIRE_HANDLER_CHOICES:
        problems.append(f"security.wire_handlers: must be one of {', '.join(WIRE_HANDLER_CHOICES)}")
    keys = security.get("access_keys")
    if keys is not None:
        if isinstance(keys, dict):
            for key, account in keys.items():
                if account is not None and not (str(account).isdigit() and len(str(account)) == 12):
                    problems.append(f"security.access_keys.{key}: the account must be 12 digits")
        elif not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
            problems.append("security.access_keys: must be a list of keys or a mapping of key to account id")
    return problems


def apply_settings(config: Config, mesh: Mesh) -> None:
    """The config's mesh-wide settings (quotas, shard limits, SNS signatures), no resources."""
    mesh.root.state(ShardLimits).enforced = config.kinesis_shard_limits
    mesh.root.state(Signer).mode = config.sns_signatures
    quotas = mesh.root.state(Quotas)
    for service, values in config.quotas.items():
        for name, value in values.items():
            quotas.set(service, name, value)


def apply_config(config: Config, api: Api, *, host: str = "localhost:4566", collect: bool = False) -> list[str]:
    """Set the config's quotas, then create every resource it declares, in dependency order,
    through the API handlers.

    Every failing call is a problem (``key.path: Code: message``); unless ``collect``, any
    problem raises :class:`ConfigError` listing them all once every resource was tried.
    """
    apply_settings(config, api.mesh)
    problems: list[str] = []
    for service, key, op_name in RESOURCE_KINDS:
        items = config.resources.get(service, {}).get(key, [])
        if items and service not in api.services:
            problems.append(f"resources.{service}: the {service} service is not available")
            continue
        for i, item in enumerate(items):
            label = config.origins.get(f"resources.{service}.{key}[{i}]", f"resources.{service}.{key}[{i}]")
            for name, params in _calls(service, op_name, item):
                try:
                    api.call(service, name, params, host=host)
                except Exception as exc:  # report which resource failed, with the service's message
                    message = getattr(exc, "message", None) or str(exc)
                    code = getattr(exc, "code", type(exc).__name__)
                    prefix = "" if name == op_name else f"{name}: "
                    problems.append(f"{label}: {prefix}{code}: {message}")
                    break
    if problems and not collect:
        raise ConfigError(problems)
    return problems
