"""Scenario files: a topology, the load it gets, the faults it suffers, how long, what to report.

::

    name: checkout
    duration: 1h                      # virtual time
    seed: 7
    include: ../example.yaml          # a config (or list of them) whose resources come first
    resources: {...}                  # exactly as in configs: each resource is its create request;
                                      # functions may add ReservedConcurrentExecutions and
                                      # EventInvokeConfig (PutFunctionConcurrency / ...EventInvokeConfig)
    load:
      - name: orders
        api: PutEvents                # PutEvents | Publish | PublishBatch | SendMessage |
        target: shop                  #   SendMessageBatch | PutRecord | PutRecords, and its target
        batch: 10
        rate: {profile: sine, mean: 200, amplitude: 150, period: 24h}
        payload: {source: shop.orders, detail_type: Order Placed, detail: {id: "{counter}"}}
        retry: {max_attempts: 3}
    faults:
      - {kind: errors, target: process-order, rate: 0.5, at: 20m, duration: 5m}
    report: {period: 1m, sample: 1s, metrics: [all]}
    latency: {events->sqs: 50ms, sns: 0}   # delivery latency by edge (eventmesh/latency.py):
                                      #   AWS's figures by default; 0 delivers at once
    sweep:
      functions.process-order.ReservedConcurrentExecutions: [5, 10, 20]

:func:`load_scenario` reads a file (with ``--set`` overrides) and :func:`validate_scenario`
checks a parsed mapping, naming every problem by its key path as ``eventmesh validate`` does for
configs (the resources are checked by the config machinery itself, against the AWS models).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import msgspec
import yaml

from eventmesh.config import RESOURCE_KINDS, validate_config
from eventmesh.latency import LatencyModel, parse_edge
from eventmesh.simulate.faults import Fault, FaultError, parse_fault
from eventmesh.simulate.generators import API_LIMITS, GeneratorSpec, RetryPolicy
from eventmesh.simulate.paths import PathError, apply_setting
from eventmesh.simulate.payloads import read_samples
from eventmesh.simulate.profiles import parse_profile
from eventmesh.simulate.units import parse_duration

__all__ = ["SCENARIO_KEYS", "ReportSpec", "Scenario", "ScenarioError", "check_scenario_file", "is_scenario",
           "latency_model", "load_scenario",
           "read_scenario", "validate_scenario"]

SCENARIO_KEYS = {"name", "description", "include", "account_id", "region", "seed", "duration", "resources",
                 "load", "faults", "report", "sweep", "http", "handlers", "latency"}
DEFAULT_PERIOD_S = 60.0
SAMPLES_PER_PERIOD = 60
MIN_SAMPLE_S = 0.01
DEFAULT_SEED = 0
FUNCTION_EXTRAS = ("ReservedConcurrentExecutions", "EventInvokeConfig")
_EVENT_INVOKE_KEYS = {"MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig", "Qualifier"}
_LOAD_KEYS = {"name", "api", "target", "batch", "rate", "payload", "retry", "start", "stop"}
_PAYLOAD_FIELDS = {
    "events": {"source", "detail_type", "detail"},
    "sns": {"message", "subject", "group_id", "deduplication_id", "attributes"},
    "sqs": {"body", "group_id", "deduplication_id", "attributes", "delay_seconds"},
    "kinesis": {"data", "partition_key", "explicit_hash_key"},
}
_RETRY_KEYS = {"max_attempts", "throttle_base", "transient_base", "max_backoff"}
_HTTP_KEYS = {"status", "latency"}


class ScenarioError(ValueError):
    """A scenario that cannot be run; ``problems`` lists each as ``key.path: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class ReportSpec(msgspec.Struct, frozen=True):
    """``report:``: the datapoint period, how often gauges are sampled within it, which metrics."""

    period_s: float = DEFAULT_PERIOD_S
    sample_s: float = DEFAULT_PERIOD_S / SAMPLES_PER_PERIOD
    metrics: tuple[str, ...] = ()      # empty: all


class Scenario(msgspec.Struct, kw_only=True):
    """A checked scenario, ready to run (``raw`` keeps the mapping sweeps and ``--set`` change)."""

    name: str
    description: str = ""
    duration_s: float
    seed: int = DEFAULT_SEED
    account_id: str
    region: str
    resources: dict[str, Any]
    function_extras: dict[str, dict[str, Any]]
    load: list[GeneratorSpec]
    faults: list[Fault]
    report: ReportSpec
    sweep: list[tuple[str, list[Any]]]
    http_status: int = 200
    http_latency_s: float = 0.0
    handler_duration_s: float = 0.001
    latency: dict[str, float] = {}    # edge ("events->sqs", "sns->*", "*") → seconds, over AWS's defaults
    raw: dict[str, Any] = {}
    base_dir: str = "."


def is_scenario(data: Any) -> bool:
    """A YAML mapping that is a scenario rather than a config (it has load, duration or faults)."""
    return isinstance(data, dict) and bool({"load", "duration", "faults", "sweep", "include"} & set(data))


def check_scenario_file(path: str | Path) -> Scenario | None:
    """``eventmesh validate``: None when the file is not a scenario (check it as a config); the
    scenario when its keys and values are valid (``runner.check_resources`` checks the rest);
    :class:`ScenarioError` with every problem otherwise."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError):
        return None   # the config check reports it
    if not is_scenario(data):
        return None
    return load_scenario(path)


def read_scenario(path: str | Path, settings: list[str] | None = None) -> tuple[dict[str, Any], Path]:
    """The raw mapping of a scenario file with its includes merged and ``PATH=VALUE`` settings
    applied; :class:`ScenarioError` when it cannot be read."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ScenarioError([f"{path}: {exc.strerror}"]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([f"{path}: not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise ScenarioError([f"{path}: (top level): must be a mapping"])
    data = _with_includes(data, path.parent)
    problems = []
    for setting in settings or ():
        try:
            apply_setting(data, setting)
        except PathError as exc:
            problems.append(f"--set {exc}")
    if problems:
        raise ScenarioError(problems)
    data.setdefault("name", path.stem)
    return data, path.parent


def _with_includes(data: dict[str, Any], base: Path) -> dict[str, Any]:
    includes = data.get("include")
    if includes is None:
        return data
    names = includes if isinstance(includes, list) else [includes]
    merged: dict[str, Any] = {}
    problems = []
    for i, name in enumerate(names):
        where = f"include[{i}]" if isinstance(includes, list) else "include"
        included_path = base / str(name)
        try:
            included = yaml.safe_load(included_path.read_text()) or {}
        except OSError as exc:
            problems.append(f"{where}: cannot read {included_path}: {exc.strerror}")
            continue
        except yaml.YAMLError as exc:
            problems.append(f"{where}: {included_path} is not valid YAML: {exc}")
            continue
        if not isinstance(included, dict):
            problems.append(f"{where}: {included_path} is not a mapping")
            continue
        for key in ("account_id", "region"):
            if key in included:
                merged.setdefault(key, included[key])
        _merge_resources(merged.setdefault("resources", {}), included.get("resources") or {})
    if problems:
        raise ScenarioError(problems)
    out = {k: v for k, v in data.items() if k != "include"}
    for key in ("account_id", "region"):
        if key in merged:
            out.setdefault(key, merged[key])
    resources = merged.get("resources", {})
    _merge_resources(resources, data.get("resources") or {})
    out["resources"] = resources
    return out


def _merge_resources(into: dict[str, Any], extra: Any) -> None:
    if not isinstance(extra, dict):
        return
    for service, group in extra.items():
        if not isinstance(group, dict):
            into[service] = group
            continue
        target = into.setdefault(service, {})
        for key, items in group.items():
            if isinstance(items, list) and isinstance(target.get(key), list):
                target[key] = target[key] + items
            else:
                target[key] = items


def load_scenario(path: str | Path, settings: list[str] | None = None, seed: int | None = None) -> Scenario:
    """Read, override and check a scenario file; :class:`ScenarioError` lists every problem."""
    data, base = read_scenario(path, settings)
    if seed is not None:
        data["seed"] = seed
    return validate_scenario(data, base)


def validate_scenario(data: dict[str, Any], base_dir: Path | str = ".") -> Scenario:
    """Check a raw scenario mapping (includes already merged); :class:`ScenarioError` if bad."""
    base = Path(base_dir)
    raw = copy.deepcopy(data)    # kept whole: the function extras below are taken off ``data``
    data = copy.deepcopy(data)
    problems: list[str] = [f"{key}: unknown key (expected one of {', '.join(sorted(SCENARIO_KEYS))})"
                           for key in data if key not in SCENARIO_KEYS]
    duration = _duration(data.get("duration"), "duration", problems, required=True)
    seed = data.get("seed", DEFAULT_SEED)
    if isinstance(seed, bool) or not isinstance(seed, int):
        problems.append("seed: must be a whole number")
        seed = DEFAULT_SEED
    resources = data.get("resources") or {}
    extras = _function_extras(resources, problems)
    config: dict[str, Any] = {k: data[k] for k in ("account_id", "region") if k in data}
    config["resources"] = resources
    problems += validate_config(config)
    known = _known_names(resources)
    load = _load(data.get("load"), known, base, problems)
    faults = []
    for i, item in enumerate(data.get("faults") or []):
        try:
            faults.append(parse_fault(item, f"faults[{i}]"))
        except FaultError as exc:
            problems += exc.problems
    if not isinstance(data.get("faults") or [], list):
        problems.append("faults: must be a list")
    report = _report(data.get("report"), problems)
    sweep = _sweep(data.get("sweep"), data, problems)
    http = data.get("http") or {}
    if not isinstance(http, dict) or set(http) - _HTTP_KEYS:
        problems.append(f"http: must be a mapping of {', '.join(sorted(_HTTP_KEYS))} (the simulated HTTP "
                        "endpoints' answer)")
        http = {}
    status = http.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        problems.append("http.status: must be an HTTP status 100-599")
        status = 200
    latency = _duration(http.get("latency", 0), "http.latency", problems)
    handlers = data.get("handlers") or {}
    handler_duration = _duration(handlers.get("duration", 0.001) if isinstance(handlers, dict) else None,
                                 "handlers.duration", problems)
    latency_edges = _latency(data.get("latency"), problems)
    if problems:
        raise ScenarioError(problems)
    from eventmesh.config import _normalized  # the config machinery's own coercion of friendly YAML

    return Scenario(
        name=str(data.get("name") or "scenario"), description=str(data.get("description") or ""),
        duration_s=duration, seed=seed, account_id=str(data.get("account_id", "000000000000")),
        region=str(data.get("region", "us-east-1")), resources=_normalized(resources), function_extras=extras,
        load=load, faults=faults, report=report, sweep=sweep, http_status=status, http_latency_s=latency,
        handler_duration_s=handler_duration, latency=latency_edges, raw=raw, base_dir=str(base))


def latency_model(scenario: Scenario) -> LatencyModel:
    """The scenario's delivery latency: AWS's defaults (``eventmesh/latency.py``) and its own edges."""
    return LatencyModel.aws_defaults({parse_edge(key): value for key, value in scenario.latency.items()})


def _latency(data: Any, problems: list[str]) -> dict[str, float]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append("latency: must map edges (source->target services, e.g. events->sqs, sns, *) to durations")
        return {}
    out: dict[str, float] = {}
    for key, value in data.items():
        try:
            source, target = parse_edge(str(key))
        except ValueError as exc:
            problems.append(f"latency.{key}: {exc}")
            continue
        seconds = _duration(value, f"latency.{key}", problems)
        out["*" if (source, target) == ("*", "*") else f"{source}->{target}"] = seconds
    return out


def _duration(value: Any, where: str, problems: list[str], *, required: bool = False) -> float:
    if value is None:
        if required:
            problems.append(f"{where}: required (virtual time, e.g. 1h)")
        return 0.0
    try:
        return parse_duration(value, allow_zero=not required)
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
        return 0.0


def _function_extras(resources: Any, problems: list[str]) -> dict[str, dict[str, Any]]:
    """Take ReservedConcurrentExecutions and EventInvokeConfig off function items (they are
    follow-up calls, not CreateFunction members) and check them."""
    extras: dict[str, dict[str, Any]] = {}
    functions = ((resources or {}).get("lambda") or {}).get("functions") if isinstance(resources, dict) else None
    if not isinstance(functions, list):
        return extras
    for i, item in enumerate(functions):
        if not isinstance(item, dict):
            continue
        found = {key: item.pop(key) for key in FUNCTION_EXTRAS if key in item}
        where = f"resources.lambda.functions[{i}]"
        reserved = found.get("ReservedConcurrentExecutions")
        if reserved is not None and (isinstance(reserved, bool) or not isinstance(reserved, int) or reserved < 0):
            problems.append(f"{where}.ReservedConcurrentExecutions: must be a whole number >= 0")
        invoke = found.get("EventInvokeConfig")
        if invoke is not None and (not isinstance(invoke, dict) or set(invoke) - _EVENT_INVOKE_KEYS):
            problems.append(f"{where}.EventInvokeConfig: must be a mapping of {', '.join(sorted(_EVENT_INVOKE_KEYS))}")
        if found:
            extras[str(item.get("FunctionName", i))] = found
    return extras


def _known_names(resources: Any) -> dict[str, set[str]]:
    """Names of the declared resources by service (generators' targets are checked against them)."""
    names: dict[str, set[str]] = {"events": {"default"}, "sns": set(), "sqs": set(), "kinesis": set()}
    member = {("sqs", "queues"): "QueueName", ("sns", "topics"): "Name", ("kinesis", "streams"): "StreamName",
              ("events", "buses"): "Name"}
    if not isinstance(resources, dict):
        return names
    for (service, key), field in member.items():
        for item in ((resources.get(service) or {}).get(key) or []) if isinstance(resources.get(service), dict) else []:
            if isinstance(item, dict) and field in item:
                names[service].add(str(item[field]))
    return names


def _load(items: Any, known: dict[str, set[str]], base: Path, problems: list[str]) -> list[GeneratorSpec]:
    if items is None:
        return []
    if not isinstance(items, list):
        problems.append("load: must be a list of generators")
        return []
    out: list[GeneratorSpec] = []
    names: set[str] = set()
    for i, item in enumerate(items):
        where = f"load[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        problems += [f"{where}.{key}: unknown key (expected one of {', '.join(sorted(_LOAD_KEYS))})"
                     for key in item if key not in _LOAD_KEYS]
        name = str(item.get("name") or f"load-{i}")
        if name in names:
            problems.append(f"{where}.name: another generator is named {name}")
        names.add(name)
        api = item.get("api")
        if api not in API_LIMITS:
            problems.append(f"{where}.api: must be one of {', '.join(API_LIMITS)}")
            continue
        service, limit = API_LIMITS[api]
        target = item.get("target", "default" if service == "events" else None)
        target_name = str(target).rsplit("/", 1)[-1].rsplit(":", 1)[-1] if target else ""
        if not target:
            problems.append(f"{where}.target: required (the {service} resource {api} is called on)")
        elif target_name not in known[service] and not str(target).startswith("arn:"):
            problems.append(f"{where}.target: no {service} resource named {target} in the scenario")
        batch = item.get("batch", 1)
        if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= limit:
            problems.append(f"{where}.batch: {api} takes 1 to {limit} entries per call")
            batch = 1
        if "rate" not in item:
            problems.append(f"{where}.rate: required (events/s, or a profile)")
        profile = parse_profile(item.get("rate", 0), f"{where}.rate", problems, base)
        fields, samples = _payload(item.get("payload"), service, f"{where}.payload", base, problems)
        retry = _retry(item.get("retry"), f"{where}.retry", problems)
        start = _duration(item.get("start", 0), f"{where}.start", problems)
        stop = _duration(item["stop"], f"{where}.stop", problems) if item.get("stop") is not None else None
        out.append(GeneratorSpec(name=name, api=api, target=str(target or ""), batch=batch, start_s=start,
                                 stop_s=stop, retry=retry, fields=fields, samples=samples, profile=profile))
    return out


def _payload(data: Any, service: str, where: str, base: Path, problems: list[str]
             ) -> tuple[dict[str, Any], list[str] | None]:
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        problems.append(f"{where}: must be a mapping of the API's fields, or {{file: samples.jsonl}}")
        return {}, None
    if "file" in data:
        if set(data) != {"file"}:
            problems.append(f"{where}: a replayed file takes no other field")
        path = Path(str(data["file"]))
        path = path if path.is_absolute() else base / path
        try:
            samples = read_samples(path)
        except OSError as exc:
            problems.append(f"{where}.file: cannot read {path}: {exc.strerror}")
            return {}, None
        if not samples:
            problems.append(f"{where}.file: {path} has no lines")
            return {}, None
        if service == "events":
            for n, line in enumerate(samples, 1):
                try:
                    doc = msgspec.json.decode(line)
                except msgspec.DecodeError:
                    problems.append(f"{where}.file: line {n} is not JSON")
                    break
                if not isinstance(doc, dict):
                    problems.append(f"{where}.file: line {n} is not a JSON object (an event or a PutEvents entry)")
                    break
        return {}, samples
    allowed = _PAYLOAD_FIELDS[service]
    problems += [f"{where}.{key}: not a field of this API's entries (takes {', '.join(sorted(allowed))}, or file)"
                 for key in data if key not in allowed]
    attributes = data.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        problems.append(f"{where}.attributes: must be a mapping of attribute name to value template")
    delay = data.get("delay_seconds")
    if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= 900):
        problems.append(f"{where}.delay_seconds: must be 0-900")
    from eventmesh.simulate.payloads import TemplateError, compile_template

    fields = {k: v for k, v in data.items() if k in allowed}
    for key, value in fields.items():
        templates = value.items() if key == "attributes" and isinstance(value, dict) else [(None, value)]
        for sub, template in templates:
            try:
                compile_template(template, _NoRandom(), float, as_json=True)
            except TemplateError as exc:
                problems.append(f"{where}.{key}{'.' + str(sub) if sub else ''}: {exc}")
    return fields, None


class _NoRandom:
    """Templates are compiled at validation only to find their errors: nothing is drawn."""

    def random(self) -> float:
        return 0.0


def _retry(data: Any, where: str, problems: list[str]) -> RetryPolicy:
    if data is None:
        return RetryPolicy()
    if data in ("none", False):
        return RetryPolicy(max_attempts=1)
    if not isinstance(data, dict):
        problems.append(f"{where}: must be a mapping ({', '.join(sorted(_RETRY_KEYS))}) or none")
        return RetryPolicy()
    problems += [f"{where}.{key}: unknown key (expected one of {', '.join(sorted(_RETRY_KEYS))})"
                 for key in data if key not in _RETRY_KEYS]
    attempts = data.get("max_attempts", RetryPolicy().max_attempts)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        problems.append(f"{where}.max_attempts: must be a whole number >= 1 (1: no retries)")
        attempts = 1
    default = RetryPolicy()
    return RetryPolicy(
        max_attempts=attempts,
        throttle_base_s=_duration(data.get("throttle_base", default.throttle_base_s), f"{where}.throttle_base",
                                  problems),
        transient_base_s=_duration(data.get("transient_base", default.transient_base_s), f"{where}.transient_base",
                                   problems),
        max_backoff_s=_duration(data.get("max_backoff", default.max_backoff_s), f"{where}.max_backoff", problems))


def _report(data: Any, problems: list[str]) -> ReportSpec:
    if data is None:
        return ReportSpec()
    if not isinstance(data, dict) or set(data) - {"period", "sample", "metrics"}:
        problems.append("report: must be a mapping of period, sample and metrics")
        return ReportSpec()
    # Both present (defaults filled in), so ``required`` only refuses zero.
    period = (_duration(data.get("period", DEFAULT_PERIOD_S), "report.period", problems, required=True)
              or DEFAULT_PERIOD_S)
    sample = _duration(data.get("sample", period / SAMPLES_PER_PERIOD), "report.sample", problems,
                       required=True) or period
    if sample > period or sample < MIN_SAMPLE_S or not math.isclose(period / sample, round(period / sample)):
        problems.append(f"report.sample: must divide report.period and be at least {MIN_SAMPLE_S}s")
        sample = period
    metrics = data.get("metrics") or ["all"]
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        problems.append("report.metrics: must be a list of metric names (Namespace/Name, Name, or all)")
        metrics = ["all"]
    return ReportSpec(period, sample, () if "all" in metrics else tuple(metrics))


def _sweep(data: Any, scenario: dict[str, Any], problems: list[str]) -> list[tuple[str, list[Any]]]:
    if data is None:
        return []
    if not isinstance(data, dict) or not data:
        problems.append("sweep: must map parameter paths to lists of values")
        return []
    out = []
    from eventmesh.simulate.paths import set_path

    for path, values in data.items():
        if not isinstance(values, list) or not values:
            problems.append(f"sweep.{path}: must be a non-empty list of values")
            continue
        try:
            set_path(copy.deepcopy(scenario), str(path), values[0])
        except PathError as exc:
            problems.append(f"sweep.{exc}")
            continue
        out.append((str(path), values))
    return out


def resource_kinds() -> list[tuple[str, str, str]]:
    """The config's resource kinds (re-exported for the docs and the topology)."""
    return list(RESOURCE_KINDS)
