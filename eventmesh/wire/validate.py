"""Model-driven input checks: required members, types, lengths, ranges and enums.

Walks the request (already in the model's JSON shape) against the botocore input shape. Each
service turns the problems into its own error; the default is the AWS JSON 1.1 form
``1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member
must not be null``.
"""

from __future__ import annotations

import datetime
import functools
import re
from typing import Any

import msgspec
from botocore.model import Shape, StructureShape

from eventmesh.clock import RFC3339_MAX_S, RFC3339_MIN_S
from eventmesh.errors import ValidationException
from eventmesh.wire.shapes import INT32_RANGE, INT64_RANGE, pattern

__all__ = ["Problem", "check", "problem_from", "validation_exception"]

_INT_RANGES = {"integer": INT32_RANGE, "long": INT64_RANGE}

_FLOAT_TYPES = ("float", "double")


class Problem(msgspec.Struct, frozen=True):
    """One constraint a request member breaks. ``kind``: missing, null (a list item or map value),
    type, length, range, pattern, enum."""

    kind: str
    path: str
    member: str
    value: Any
    constraint: str
    sensitive: bool = False   # the model marks the member sensitive: AWS leaves its value out


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def validation_exception(problems: list[Problem]) -> ValidationException:
    parts = []
    for p in problems:
        shown = "" if p.sensitive else " null" if p.value is None else f" '{p.value}'"
        parts.append(f"Value{shown} at '{p.path}' failed to satisfy constraint: {p.constraint}")
    n = len(problems)
    head = f"{n} validation error{'s' if n > 1 else ''} detected: "
    return ValidationException(head + "; ".join(parts))


@functools.cache
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def _search(regex: str, value: str) -> re.Match[str] | None:
    return _compiled(regex).search(value)


_AT = re.compile(r"^(.*?)(?: - at (?:`key` in )?`\$(.*)`)?$", re.S)
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[(.+?)\]")


def problem_from(exc: Exception) -> Problem:
    """A msgspec ValidationError (``Expected `int`, got `str` - at `$.Entries[0].Id```) as a
    Problem, for the rare mismatch the model walk does not word itself."""
    found = _AT.match(str(exc))
    message, where = (found.group(1), found.group(2) or "") if found else (str(exc), "")
    parts: list[str] = []
    member = ""
    if " in `$" in message:   # a map key: "... - at `key` in `$.Environment.Variables`"
        message = message.split(" - at `key`", 1)[0]
    for name, index, key in _STEP.findall(where):
        if name:
            member = name
            parts.append(_camel(name))
        elif index:
            parts += [str(int(index) + 1), "member"]
        else:
            parts.append(key.strip("'\""))
    return Problem("type", ".".join(parts), member, None, message)


def check(shape: Shape, value: Any, *, enums: bool = False) -> list[Problem]:
    problems: list[Problem] = []
    _check(shape, value, "", "", problems, enums)
    return problems


def _check(shape: Shape, value: Any, path: str, member: str, out: list[Problem], enums: bool) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            out.append(Problem("type", path, member, value, "Member must be a structure"))
            return
        assert isinstance(shape, StructureShape)
        members = shape.members
        for name in shape.required_members:
            if value.get(name) is None:
                sub = f"{path}.{_camel(name)}" if path else _camel(name)
                out.append(Problem("missing", sub, name, None, "Member must not be null"))
        for name, item in value.items():
            sub_shape = members.get(name)
            if sub_shape is None or item is None:
                continue
            sub = f"{path}.{_camel(name)}" if path else _camel(name)
            _check(sub_shape, item, sub, name, out, enums)
        return
    meta = shape.metadata
    if kind == "string":
        if not isinstance(value, str):
            out.append(Problem("type", path, member, value, "Member must be a string"))
            return
        _bounds(len(value), meta, path, member, value, out, "length", bool(meta.get("sensitive")))
        regex = pattern(meta)
        if regex is not None and _search(regex, value) is None:
            out.append(Problem("pattern", path, member, value,
                               f"Member must satisfy regular expression pattern: {regex}",
                               bool(meta.get("sensitive"))))
        if enums and shape.enum and value not in shape.enum:
            out.append(Problem("enum", path, member, value,
                               f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"))
    elif kind in _INT_RANGES:
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(Problem("type", path, member, value, "Member must be an integer"))
            return
        low, high = _INT_RANGES[kind]
        if not low <= value <= high:
            out.append(Problem("type", path, member, value, f"Member must be a {kind} ({low} to {high})"))
            return
        _bounds(value, meta, path, member, value, out, "value")
    elif kind in _FLOAT_TYPES:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(Problem("type", path, member, value, "Member must be a number"))
    elif kind == "boolean":
        if not isinstance(value, bool):
            out.append(Problem("type", path, member, value, "Member must be a boolean"))
    elif kind == "list":
        if not isinstance(value, list):
            out.append(Problem("type", path, member, value, "Member must be a list"))
            return
        _bounds(len(value), meta, path, member, value, out, "length")
        item_shape = shape.member  # type: ignore[attr-defined]
        for i, item in enumerate(value):
            sub = f"{path}.{i + 1}.member"
            if item is None:
                out.append(Problem("null", sub, member, None, "Member must not be null"))
            else:
                _check(item_shape, item, sub, member, out, enums)
    elif kind == "map":
        if not isinstance(value, dict):
            out.append(Problem("type", path, member, value, "Member must be a map"))
            return
        _bounds(len(value), meta, path, member, value, out, "length")
        value_shape = shape.value  # type: ignore[attr-defined]
        key_shape = shape.key  # type: ignore[attr-defined]
        for key, item in value.items():
            sub = f"{path}.{key}"
            if not isinstance(key, str):
                out.append(Problem("type", sub, member, key, "Map keys must be strings"))
            else:
                _bounds(len(key), key_shape.metadata, sub, member, key, out, "length")
            if item is None:
                out.append(Problem("null", sub, member, None, "Member must not be null"))
            else:
                _check(value_shape, item, sub, member, out, enums)
    elif kind == "blob":
        if not isinstance(value, (bytes, bytearray, memoryview)):
            out.append(Problem("type", path, member, value, "Member must be a blob"))
            return
        _bounds(len(value), meta, path, member, "<blob>", out, "length")
    elif kind == "timestamp":
        # A number an RFC 3339 date-time can write, as seconds or (CBOR) milliseconds: this only
        # explains what the compiled type refused, which knows the unit; NaN and infinities fail.
        if isinstance(value, bool) or not isinstance(value, (int, float, datetime.datetime)) or (
                not isinstance(value, datetime.datetime)
                and not RFC3339_MIN_S * 1000 <= value <= RFC3339_MAX_S * 1000):
            out.append(Problem("type", path, member, value, "Member must be a timestamp"))


def _bounds(n: float, meta: dict[str, Any], path: str, member: str, value: Any,
            out: list[Problem], what: str, sensitive: bool = False) -> None:
    low = meta.get("min")
    high = meta.get("max")
    if low is not None and n < low:
        word = "greater than or equal to" if what == "value" else "length greater than or equal to"
        out.append(Problem("length" if what == "length" else "range", path, member, value,
                           f"Member must have {word} {low}" if what == "length"
                           else f"Member must have value {word} {low}", sensitive))
    elif high is not None and n > high:
        word = "less than or equal to" if what == "value" else "length less than or equal to"
        out.append(Problem("length" if what == "length" else "range", path, member, value,
                           f"Member must have {word} {high}" if what == "length"
                           else f"Member must have value {word} {high}", sensitive))
