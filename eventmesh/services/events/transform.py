"""What a rule target receives: the event, ``Input``, ``InputPath`` or ``InputTransformer``,
with the quirks recorded against real AWS.

* ``Input``: ≤ 8,192 chars of valid JSON sent instead of the event.
* ``InputPath``: ≤ 256 chars of JSONPath (``$.detail``) selecting part of the event.
* ``InputTransformer``: ``InputPathsMap`` (≤ 100 variables, keys not starting with ``AWS``)
  and an ``InputTemplate`` (1–8,192 chars) where ``<var>`` is replaced:
  - **JSON template** (``{…}`` / ``[…]``): an unquoted ``<var>`` becomes the JSON value; a
    ``<var>`` inside a quoted string is inserted as raw text without escaping. The result must
    be valid JSON, and a missing variable in value position fails the invocation silently.
  - **String template** (``"…"``): the payload keeps its surrounding quotes; inside, objects
    render without quotes (``{acc_id:0a78,sf_id:baz}``), arrays as ``[ACTIVE,INACTIVE]``,
    a missing path as the empty string.
  - Plain text (neither) is not delivered.
  Reserved variables: ``aws.events.rule-arn``, ``aws.events.rule-name``,
  ``aws.events.event.ingestion-time``, ``aws.events.event`` (the envelope without ``detail``,
  keys as AWS renders them) and ``aws.events.event.json`` (the whole event).
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html

Everything is compiled at ``PutTargets``; rendering walks a pre-split template once.
A failed render raises :class:`TransformFailed`, which the bus counts as a failed invocation.
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from eventmesh.services.events.errors import ValidationException
from eventmesh.services.events.records import iso_seconds

__all__ = [
    "MAX_INPUT_CHARS",
    "MAX_INPUT_PATHS",
    "MAX_INPUT_PATH_CHARS",
    "MAX_TEMPLATE_CHARS",
    "ConstantInput",
    "PathInput",
    "RenderContext",
    "TargetInput",
    "TemplateInput",
    "TransformFailed",
    "compile_json_path",
    "compile_target_input",
    "select_path",
]

MAX_INPUT_CHARS = 8192        # Input
MAX_INPUT_PATH_CHARS = 256    # InputPath
MAX_INPUT_PATHS = 100         # input transformer variables
MAX_TEMPLATE_CHARS = 8192     # InputTemplate
RESERVED_PREFIX = "AWS"       # InputPathsMap keys may not start with it (case-insensitive)
RULE_ARN_VAR = "aws.events.rule-arn"
RULE_NAME_VAR = "aws.events.rule-name"
INGESTION_TIME_VAR = "aws.events.event.ingestion-time"
EVENT_VAR = "aws.events.event"
EVENT_JSON_VAR = "aws.events.event.json"
# The envelope without detail, in the key names and order AWS renders for <aws.events.event>.
_EVENT_VAR_KEYS = (("id", "id"), ("account", "account"), ("detailType", "detail-type"),
                   ("time", "time"), ("source", "source"), ("region", "region"),
                   ("resources", "resources"), ("version", "version"))
_MISSING = object()
_VAR = re.compile(r"<([^<>\s]+)>")
_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class TransformFailed(Exception):
    """The target input could not be built; AWS drops the invocation silently."""


class RenderContext(msgspec.Struct):
    """Per-invocation values of the reserved variables."""

    rule_arn: str
    rule_name: str
    ingestion_time: float


class TargetInput:
    """How one target's payload is built from the event."""

    def render(self, event: Mapping[str, Any], event_json: str, context: RenderContext) -> str:
        raise NotImplementedError


class ConstantInput(TargetInput):
    """``Input``: the same JSON text for every event."""

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, event: Mapping[str, Any], event_json: str, context: RenderContext) -> str:
        return self.text


class PathInput(TargetInput):
    """``InputPath``: the JSON of the selected part of the event."""

    def __init__(self, path: tuple[str | int, ...]) -> None:
        self.path = path

    def render(self, event: Mapping[str, Any], event_json: str, context: RenderContext) -> str:
        if not self.path:
            return event_json
        value = select_path(event, self.path)
        if value is _MISSING:
            raise TransformFailed("InputPath selects nothing")
        return _encode(value).decode()


def compile_json_path(path: str, parameter: str = "InputPath") -> tuple[str | int, ...]:
    """``$``, ``$.a.b``, ``$.a[0]``, ``$['a b']`` → steps; anything else is a ValidationException."""
    if not path.startswith("$"):
        raise ValidationException(f"Parameter {parameter} is not valid.")
    steps: list[str | int] = []
    pos = 1
    while pos < len(path):
        m = _PATH_STEP.match(path, pos)
        if m is None:
            raise ValidationException(f"Parameter {parameter} is not valid.")
        key, index, quoted1, quoted2 = m.groups()
        steps.append(int(index) if index is not None else (key or quoted1 or quoted2 or ""))
        pos = m.end()
    return tuple(steps)


def select_path(value: Any, path: tuple[str | int, ...]) -> Any:
    """The value at ``path``, or the module's missing marker."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return _MISSING
            value = value[step]
        elif isinstance(value, Mapping) and step in value:
            value = value[step]
        else:
            return _MISSING
    return value


def _string_render(value: Any) -> str:
    """A value inside a quoted string: AWS writes objects and arrays without quotes."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{_string_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_string_render(v) for v in value) + "]"
    return _encode(value).decode()


class TemplateInput(TargetInput):
    """``InputTransformer``: a template split once into literal text and variable slots."""

    def __init__(self, paths: dict[str, tuple[str | int, ...]], template: str) -> None:
        self.paths = paths
        self.template = template
        stripped = template.strip()
        self.kind = "json" if stripped[:1] in ("{", "[") else "string" if stripped[:1] == '"' else "text"
        # (literal, variable name or None, variable is inside a quoted string)
        self.parts: list[tuple[str, str | None, bool]] = []
        known = set(paths) | {RULE_ARN_VAR, RULE_NAME_VAR, INGESTION_TIME_VAR, EVENT_VAR, EVENT_JSON_VAR}
        in_string, pos = False, 0
        literal: list[str] = []
        while pos < len(template):
            m = _VAR.match(template, pos) if template[pos] == "<" else None
            if m is not None and m.group(1) in known:
                self.parts.append(("".join(literal), m.group(1), in_string))
                literal, pos = [], m.end()
                continue
            ch = template[pos]
            if ch == "\\" and pos + 1 < len(template):
                literal.append(template[pos:pos + 2])
                pos += 2
                continue
            if ch == '"':
                in_string = not in_string
            literal.append(ch)
            pos += 1
        self.parts.append(("".join(literal), None, False))

    def _value(self, name: str, event: Mapping[str, Any], event_json: str, context: RenderContext) -> Any:
        path = self.paths.get(name)
        if path is not None:
            return select_path(event, path)
        if name == RULE_ARN_VAR:
            return context.rule_arn
        if name == RULE_NAME_VAR:
            return context.rule_name
        if name == INGESTION_TIME_VAR:
            return iso_seconds(context.ingestion_time)
        if name == EVENT_VAR:
            return {out: event.get(key) for out, key in _EVENT_VAR_KEYS}
        return msgspec.Raw(event_json.encode())  # EVENT_JSON_VAR

    def render(self, event: Mapping[str, Any], event_json: str, context: RenderContext) -> str:
        if self.kind == "text":
            raise TransformFailed("a plain-text template is not delivered")
        as_string = self.kind == "string"
        out: list[str] = []
        for literal, name, quoted in self.parts:
            out.append(literal)
            if name is None:
                continue
            value = self._value(name, event, event_json, context)
            if value is _MISSING:
                if not (quoted or as_string):
                    raise TransformFailed(f"variable {name} has no value")
                continue  # a missing path inside a string renders as ""
            if as_string:
                out.append(_string_render(value))
            elif quoted and isinstance(value, str):
                out.append(value)  # raw text, not escaped
            else:
                out.append(_encode(value).decode())
        text = "".join(out)
        if not as_string:
            try:
                _decode(text)
            except msgspec.DecodeError:
                raise TransformFailed("the transformed input is not valid JSON") from None
        return text


def compile_target_input(target: Mapping[str, Any]) -> TargetInput | None:
    """Compile a PutTargets ``Target``'s input fields; ``None`` means "send the event"."""
    given = [k for k in ("Input", "InputPath", "InputTransformer") if target.get(k) is not None]
    if len(given) > 1:
        raise ValidationException(
            "Only one of Input, InputPath, or InputTransformer must be provided for a target.")
    if not given:
        return None
    if given[0] == "Input":
        text = target["Input"]
        if len(text) > MAX_INPUT_CHARS:
            raise ValidationException("Parameter Input is not valid.")
        try:
            _decode(text)
        except msgspec.DecodeError:
            raise ValidationException("Parameter Input is not valid.") from None
        return ConstantInput(text)
    if given[0] == "InputPath":
        path = target["InputPath"]
        if len(path) > MAX_INPUT_PATH_CHARS:
            raise ValidationException("Parameter InputPath is not valid.")
        return PathInput(compile_json_path(path))
    transformer = target["InputTransformer"]
    template = transformer.get("InputTemplate")
    paths_map = transformer.get("InputPathsMap") or {}
    if not template or len(template) > MAX_TEMPLATE_CHARS:
        raise ValidationException("Parameter InputTemplate is not valid.")
    if len(paths_map) > MAX_INPUT_PATHS:
        raise ValidationException("InputPathsMap must contain at most 100 entries.")
    paths: dict[str, tuple[str | int, ...]] = {}
    for name, path in paths_map.items():
        if name.upper().startswith(RESERVED_PREFIX):
            raise ValidationException(f"Parameter InputPathsMap is not valid. Reason: {name} is reserved.")
        paths[name] = compile_json_path(path, "InputPathsMap")
    return TemplateInput(paths, template)
