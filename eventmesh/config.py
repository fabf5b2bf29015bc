"""Topology files (``configs/*.yaml``) → a Mesh.

A config declares settings and the resources to create at start-up. Each resource is the request
of the AWS API call that would create it, in the botocore model's member names, so a config is
checked by the same model and served by the same handlers as the wire::

    account_id: "000000000000"
    region: us-east-1
    resources:
      sqs:
        queues:
          - QueueName: orders
            Attributes: {VisibilityTimeout: 60}

Scalars given where the API wants a string (SQS attribute values) are converted, and mappings
given for JSON-document strings (``RedrivePolicy``) are encoded, so configs stay readable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import yaml

from eventmesh.mesh import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from eventmesh.quotas import Quota, Quotas
from eventmesh.services.events.bus import RULES_PER_BUS_QUOTA
from eventmesh.services.kinesis.stream import ON_DEMAND_STREAMS_QUOTA, SHARDS_QUOTA
from eventmesh.services.lambda_.pool import CONCURRENT_EXECUTIONS_QUOTA
from eventmesh.services.sqs.service import QUEUE_URL_STYLES
from eventmesh.wire.router import Api

__all__ = ["RESOURCE_KINDS", "Config", "ConfigError", "apply_config", "load_config", "validate_config"]

# (service, key under resources.<service>, the operation that creates one) — in creation order,
# so queues exist before the subscriptions and mappings that name them.
RESOURCE_KINDS: list[tuple[str, str, str]] = [
    ("sqs", "queues", "CreateQueue"),
    ("sns", "topics", "CreateTopic"),
    ("kinesis", "streams", "CreateStream"),
    ("lambda", "functions", "CreateFunction"),
    ("events", "buses", "CreateEventBus"),
    ("sns", "subscriptions", "Subscribe"),
    ("events", "rules", "PutRule"),
    ("lambda", "event_source_mappings", "CreateEventSourceMapping"),
]
# Members a config item may carry beside the create call's own: they become a second call.
FOLLOW_UPS = {("events", "PutRule"): ("Targets", "PutTargets")}
_TOP_LEVEL = {"account_id", "region", "seed", "server", "resources", "queue_urls", "quotas", "security"}
# security: who may call and what code runs over the wire (SECURITY.md).
_SECURITY_KEYS = {"wire_handlers", "access_keys"}
WIRE_HANDLER_CHOICES = ("zip", "any")
# Every adjustable quota a config may set, by service and Service Quotas name.
QUOTAS: dict[str, dict[str, Quota]] = {}
for _quota in (RULES_PER_BUS_QUOTA, CONCURRENT_EXECUTIONS_QUOTA, SHARDS_QUOTA, ON_DEMAND_STREAMS_QUOTA):
    QUOTAS.setdefault(_quota.service, {})[_quota.name] = _quota
_SERVER_KEYS = {"host", "port", "clock"}


class ConfigError(ValueError):
    """A config that cannot be used; ``problems`` lists each as ``path: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Config(msgspec.Struct):
    """Settings and resources of one daemon."""

    account_id: str = DEFAULT_ACCOUNT_ID
    region: str = DEFAULT_REGION
    seed: int | None = None
    host: str | None = None
    port: int | None = None
    clock: str | None = None
    queue_urls: str = "path"  # SQS queue URL form: path (/queue/<region>/<account>/<name>), host, account
    quotas: dict[str, dict[str, int]] = {}  # service -> Service Quotas name -> value (see quotas.py)
    # "zip": over the wire a function runs only its own zip; "any": import-path / http handlers too
    wire_handlers: str = "zip"
    # accepted SigV4 access keys -> the account each acts in (None: the default); empty: any key
    access_keys: dict[str, str | None] = {}
    resources: dict[str, dict[str, list[dict[str, Any]]]] = {}
    source: str = "<defaults>"


def _path(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def load_config(path: str | Path) -> Config:
    """Read and check a config file; raises :class:`ConfigError` listing every problem."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError([f"{path}: {exc.strerror}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None
    problems = validate_config(data)
    if problems:
        raise ConfigError(problems)
    server = data.get("server") or {}
    security = data.get("security") or {}
    keys = security.get("access_keys") or {}
    return Config(account_id=str(data.get("account_id", DEFAULT_ACCOUNT_ID)),
                  region=data.get("region", DEFAULT_REGION), seed=data.get("seed"),
                  host=server.get("host"), port=server.get("port"), clock=server.get("clock"),
                  queue_urls=data.get("queue_urls", "path"), quotas=data.get("quotas") or {},
                  wire_handlers=security.get("wire_handlers", "zip"),
                  access_keys=({str(k): (None if v is None else str(v)) for k, v in keys.items()}
                               if isinstance(keys, dict) else {str(k): None for k in keys}),
                  resources=_normalized(data.get("resources") or {}), source=str(path))


def validate_config(data: Any) -> list[str]:
    """Every problem in a parsed config, each as ``key.path: message``."""
    from botocore.session import get_session

    from eventmesh.wire.validate import check

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
    problems += _quota_problems(data.get("quotas"))
    problems += _security_problems(data.get("security"))
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
            op = session.get_service_model(service).operation_model(op_name)
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    problems.append(f"{_path(where + [i])}: must be a mapping")
                    continue
                params = _coerce(op.input_shape, _without_follow_ups(service, op_name, item))
                for problem in check(op.input_shape, params):
                    member_path = ".".join(p[:1].upper() + p[1:] for p in problem.path.split("."))
                    problems.append(f"{_path(where + [i])}.{member_path}: {problem.constraint}")
    return problems


def _without_follow_ups(service: str, op_name: str, item: dict[str, Any]) -> dict[str, Any]:
    follow = FOLLOW_UPS.get((service, op_name))
    return {k: v for k, v in item.items() if follow is None or k != follow[0]}


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


def apply_config(config: Config, api: Api, *, host: str = "localhost:4566") -> None:
    """Set the config's quotas, then create every resource it declares, in dependency order,
    through the API handlers."""
    quotas = api.mesh.root.state(Quotas)
    for service, values in config.quotas.items():
        for name, value in values.items():
            quotas.set(service, name, value)
    for service, key, op_name in RESOURCE_KINDS:
        items = config.resources.get(service, {}).get(key, [])
        if items and service not in api.services:
            raise ConfigError([f"resources.{service}: the {service} service is not available"])
        for i, item in enumerate(items):
            follow = FOLLOW_UPS.get((service, op_name))
            params = _without_follow_ups(service, op_name, item)
            try:
                api.call(service, op_name, params, host=host)
                if follow and item.get(follow[0]):
                    api.call(service, follow[1], _follow_up_params(op_name, item, follow[0]), host=host)
            except Exception as exc:  # report which resource failed, with the service's message
                message = getattr(exc, "message", None) or str(exc)
                code = getattr(exc, "code", type(exc).__name__)
                raise ConfigError([f"resources.{service}.{key}[{i}]: {code}: {message}"]) from exc


def _follow_up_params(op_name: str, item: dict[str, Any], key: str) -> dict[str, Any]:
    if op_name == "PutRule":
        params = {"Rule": item["Name"], "Targets": item[key]}
        if item.get("EventBusName"):
            params["EventBusName"] = item["EventBusName"]
        return params
    return {key: item[key]}
