"""SAM and CloudFormation templates → the resource list the config loader uses.

``load_template(path)`` reads a template (YAML with the short-form tags, or JSON), translates SAM
with AWS's translator (:mod:`eventmesh.templates.sam`), resolves ``Parameters`` (with overrides),
``Conditions`` and the intrinsics, and maps every resource type served here to the request of the
AWS call that creates it (:mod:`eventmesh.templates.resources`). The result's ``items`` are
``(service, key, request)`` triples in dependency order, the same shape as a config's
``resources.<service>.<key>`` lists; ``unserved`` and ``ignored`` list the resources that create
nothing here, so nothing is dropped silently.

A resource without a name property is named by its logical id (``Orders``; a FIFO queue or topic
``Orders.fifo``), so a test or a user can find it without the stack's outputs.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventmesh.arn import format_arn
from eventmesh.services.lambda_.urls import function_url
from eventmesh.templates.code import zip_directory, zip_inline
from eventmesh.templates.intrinsics import IntrinsicError, Resolver, pseudo_parameters, references
from eventmesh.templates.parameters import parse_overrides, resolve_parameters
from eventmesh.templates.resources import IGNORED_TYPES, KINDS, Item, arn_for, build_items, url_target
from eventmesh.templates.sam import LOCAL_CODE_BUCKET, is_sam, translate

__all__ = ["TemplateResources", "is_template", "load_template", "parse_overrides", "read_template"]

DEFAULT_HOST = "localhost:4566"
# Types not created here whose name property a served resource may still use (a function's Role).
_UNSERVED_NAME_PROPERTIES = {"AWS::IAM::Role": "RoleName"}
# Lambda's limit on function names (64) and SQS's on queue names (80): a logical id may be up to 255.
_NAME_LIMITS = {"AWS::Lambda::Function": 64, "AWS::SQS::Queue": 80, "AWS::SNS::Topic": 256,
                "AWS::Kinesis::Stream": 128, "AWS::Events::Rule": 64, "AWS::Events::EventBus": 256}


@dataclass
class TemplateResources:
    """What a template creates here, and what it does not."""

    source: str
    items: list[Item] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)         # per item: "Resources.<id> (<type>)"
    unserved: list[tuple[str, str]] = field(default_factory=list)   # (logical id, type)
    ignored: list[tuple[str, str]] = field(default_factory=list)    # IAM and policies: no effect here
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> list[str]:
        """The start-up lines about what this template does not create."""
        lines = []
        if self.unserved:
            listed = ", ".join(f"{logical_id} ({kind})" for logical_id, kind in self.unserved)
            lines.append(f"{self.source}: not served here, not created: {listed}")
        if self.ignored:
            counts: dict[str, int] = {}
            for _, kind in self.ignored:
                counts[kind] = counts.get(kind, 0) + 1
            listed = ", ".join(f"{kind} x{n}" for kind, n in sorted(counts.items()))
            lines.append(f"{self.source}: accepted without effect (eventmesh checks no IAM or resource "
                         f"policies): {listed}")
        lines += [f"{self.source}: {note}" for note in self.notes]
        return lines


def read_template(path: Path) -> Any:
    """A template file's document (YAML with CloudFormation's short-form tags, or JSON)."""
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text())


def is_template(document: Any) -> bool:
    """A document is a template (not an eventmesh config) when it has a ``Resources`` section."""
    return isinstance(document, dict) and ("Resources" in document or "AWSTemplateFormatVersion" in document)


def load_template(path: str | Path, *, parameters: dict[str, Any] | None = None,
                  account_id: str = "000000000000", region: str = "us-east-1", host: str = DEFAULT_HOST,
                  stack_name: str | None = None, document: Any = None) -> TemplateResources:
    """Read a template and map it to create-call requests; problems are collected, not raised."""
    path = Path(path)
    result = TemplateResources(str(path))
    try:
        template = document if document is not None else read_template(path)
    except OSError as exc:
        result.problems.append(f"{path}: {exc.strerror}")
        return result
    except Exception as exc:  # the YAML parser's errors carry their line and column
        result.problems.append(f"{path}: not a valid template: {exc}")
        return result
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        result.problems.append(f"{path}: Resources: a template needs a Resources mapping")
        return result
    values, problems = resolve_parameters(template.get("Parameters") or {}, dict(parameters or {}))
    result.problems += problems
    if problems:
        return result
    local_code: dict[str, str] = {}
    if is_sam(template):
        try:
            template, local_code = translate(template, values, account_id=account_id, region=region)
        except ValueError as exc:
            result.problems.append(f"SAM: {exc}")
            return result
    stack = _Stack(template, result, values, account_id=account_id, region=region, host=host,
                   stack_name=stack_name or path.stem, directory=path.parent, local_code=local_code)
    stack.build()
    return result


class _Stack:
    """One template being deployed: names, references, and the requests it becomes."""

    def __init__(self, template: dict[str, Any], result: TemplateResources, parameters: dict[str, Any], *,
                 account_id: str, region: str, host: str, stack_name: str, directory: Path,
                 local_code: dict[str, str]) -> None:
        self.template = template
        self.result = result
        self.resources: dict[str, dict[str, Any]] = {
            k: v for k, v in template["Resources"].items() if isinstance(v, dict)}
        self.account_id = account_id
        self.region = region
        self.host = host
        self.directory = directory
        self.local_code = local_code
        self._names: dict[str, str] = {}
        self._versions: dict[str, int] = {}   # Lambda::Version logical id → its number
        self.resolver = Resolver({**pseudo_parameters(account_id, region, stack_name), **parameters},
                                 template.get("Conditions") or {}, template.get("Mappings") or {},
                                 self.ref, self.get_att, region)

    # -- problems ------------------------------------------------------------------------------

    def problem(self, logical_id: str, prop: str | None, message: str) -> None:
        where = f"Resources.{logical_id}" + (f".Properties.{prop}" if prop else "")
        self.result.problems.append(f"{where}: {message}")

    def note(self, text: str) -> None:
        self.result.notes.append(text)

    # -- names and references ------------------------------------------------------------------

    def _type(self, logical_id: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise IntrinsicError(f"unresolved reference to {logical_id}: no such parameter or resource")
        return str(resource.get("Type", ""))

    def _props(self, logical_id: str) -> dict[str, Any]:
        props = self.resources[logical_id].get("Properties") or {}
        return props if isinstance(props, dict) else {}

    def name(self, logical_id: str) -> str:
        """The physical name: the name property if the template gives one, else the logical id."""
        if logical_id in self._names:
            return self._names[logical_id]
        kind_name = self._type(logical_id)
        kind = KINDS.get(kind_name)
        props = self._props(logical_id)
        name_property = kind.name_property if kind else _UNSERVED_NAME_PROPERTIES.get(kind_name)
        self._names[logical_id] = logical_id  # a name that refers to itself stops here
        if name_property and name_property in props:
            name = str(self.resolver.resolve(props[name_property]))
        else:
            name = logical_id[:_NAME_LIMITS.get(kind_name, 255) - 5]
            fifo = {"AWS::SQS::Queue": "FifoQueue", "AWS::SNS::Topic": "FifoTopic"}.get(kind_name)
            if fifo and str(self.resolver.resolve(props.get(fifo, False))).lower() == "true":
                name += ".fifo"
        self._names[logical_id] = name
        return name

    def attribute(self, logical_id: str, what: str) -> Any:
        kind_name = self._type(logical_id)
        props = self._props(logical_id)
        if what == "name":
            return self.name(logical_id)
        if kind_name == "AWS::Lambda::Url":
            function, qualifier = url_target(self.resolver.resolve(props))
            arn = self._function_arn(function) + (f":{qualifier}" if qualifier else "")
            return function_url(arn, self.host) if what == "url" else arn
        if what == "url":
            return f"http://{self.host}/{self.account_id}/{self.name(logical_id)}"
        if what == "rule_ref":
            bus = props.get("EventBusName")
            bus_name = None if bus is None else _bus_name(self.resolver.resolve(bus))
            return self.name(logical_id) if bus_name in (None, "default") else f"{bus_name}|{self.name(logical_id)}"
        if what in ("version", "function_arn"):
            function = self._function_arn(props.get("FunctionName"))
            if what == "function_arn":
                return function
            return str(self._version_number(logical_id))
        if kind_name == "AWS::Lambda::Version":
            return f"{self._function_arn(props.get('FunctionName'))}:{self._version_number(logical_id)}"
        if kind_name == "AWS::Lambda::Alias":
            return f"{self._function_arn(props.get('FunctionName'))}:{self.name(logical_id)}"
        if kind_name == "AWS::SNS::Subscription":
            return f"{self.resolver.resolve(props.get('TopicArn'))}:{logical_id}"
        bus = None
        if kind_name == "AWS::Events::Rule" and props.get("EventBusName") is not None:
            bus = _bus_name(self.resolver.resolve(props["EventBusName"]))
        return arn_for(kind_name, self.region, self.account_id, self.name(logical_id), bus=bus)

    def _function_arn(self, value: Any) -> str:
        resolved = str(self.resolver.resolve(value))
        if resolved.startswith("arn:"):
            return ":".join(resolved.split(":")[:7])
        return format_arn("lambda", self.region, self.account_id, f"function:{resolved}")

    def _version_number(self, logical_id: str) -> int:
        """Versions number 1, 2, ... per function in template order, as publishing them would."""
        if not self._versions:
            counts: dict[str, int] = {}
            for other, resource in self.resources.items():
                if resource.get("Type") == "AWS::Lambda::Version":
                    function = self._function_arn((resource.get("Properties") or {}).get("FunctionName"))
                    counts[function] = counts.get(function, 0) + 1
                    self._versions[other] = counts[function]
        return self._versions[logical_id]

    def ref(self, logical_id: str) -> Any:
        kind_name = self._type(logical_id)
        kind = KINDS.get(kind_name)
        if kind is None:
            return self.name(logical_id)  # CloudFormation's Ref of most types is the physical name
        return self.attribute(logical_id, kind.ref)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        kind_name = self._type(logical_id)
        kind = KINDS.get(kind_name)
        if kind is not None:
            what = kind.attributes.get(attribute)
            if what is None:
                raise IntrinsicError(f"Fn::GetAtt: {kind_name} has no attribute {attribute}")
            return self.attribute(logical_id, what)
        if attribute.endswith("Arn") or attribute == "Arn":
            return self.attribute(logical_id, "arn")
        return self.name(logical_id)

    # -- code ----------------------------------------------------------------------------------

    def code(self, logical_id: str, code: dict[str, Any], runtime: Any) -> dict[str, Any]:
        if "ZipFile" in code:
            return {"ZipFile": zip_inline(str(code["ZipFile"]), str(runtime) if runtime else None)}
        if code.get("S3Bucket") == LOCAL_CODE_BUCKET:
            key = str(code.get("S3Key", ""))
            directory = self.directory / self.local_code.get(key, self.local_code.get("Globals", "."))
            try:
                return {"ZipFile": zip_directory(directory)}
            except ValueError as exc:
                self.problem(logical_id, "CodeUri", str(exc))
                return {}
        if "S3Bucket" in code or "ImageUri" in code:
            where = "ImageUri" if "ImageUri" in code else f"s3://{code.get('S3Bucket')}/{code.get('S3Key')}"
            self.problem(logical_id, "Code", f"code at {where} cannot be fetched here; use a local CodeUri "
                                             "directory, inline code, or an http:// or model: Handler")
        return {}

    # -- building ------------------------------------------------------------------------------

    def _order(self) -> list[str]:
        """Logical ids with every resource after the ones it refers to (DependsOn too)."""
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(logical_id: str) -> None:
            if state.get(logical_id):
                return
            state[logical_id] = 1
            resource = self.resources[logical_id]
            depends = resource.get("DependsOn") or []
            deps = references(resource.get("Properties")) | set([depends] if isinstance(depends, str) else depends)
            for dep in sorted(deps):
                if dep in self.resources and dep != logical_id:
                    visit(dep)
            order.append(logical_id)

        for logical_id in self.resources:
            visit(logical_id)
        return order

    def build(self) -> None:
        result = self.result
        for logical_id in self._order():
            resource = self.resources[logical_id]
            kind_name = str(resource.get("Type", ""))
            try:
                condition = resource.get("Condition")
                if condition is not None and not self.resolver.condition(str(condition)):
                    continue
                if kind_name in IGNORED_TYPES:
                    result.ignored.append((logical_id, kind_name))
                    continue
                if kind_name not in KINDS:
                    result.unserved.append((logical_id, kind_name))
                    continue
                props = self.resolver.resolve(self._props(logical_id))
                for item in build_items(self, logical_id, kind_name, props):
                    result.items.append(item)
                    result.origins.append(f"Resources.{logical_id} ({kind_name})")
            except IntrinsicError as exc:
                self.problem(logical_id, None, str(exc))
        for name, output in (self.template.get("Outputs") or {}).items():
            try:
                if isinstance(output, dict) and (output.get("Condition") is None
                                                 or self.resolver.condition(str(output["Condition"]))):
                    result.outputs[name] = self.resolver.resolve(output.get("Value"))
            except IntrinsicError as exc:
                result.problems.append(f"Outputs.{name}: {exc}")


def _bus_name(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("arn:") and "event-bus/" in value:
        return value.split("event-bus/", 1)[1]
    return value
