"""EventBridge's request validation, in AWS's words and order.

AWS checks every member of a request against its model constraints and reports all violations
at once: ``2 validation errors detected: Value 'x y' at 'name' failed to satisfy constraint:
Member must have length less than or equal to 64; Value 'x y' at 'name' failed to satisfy
constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+``. Members are
checked in model order, and for each: required, type, length, pattern, range, enum. Enum value
sets are printed in AWS's (not the model's) order where the two differ.
https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateConnection.html
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from botocore.model import Shape, StructureShape

from eventmesh.services.events.errors import ValidationException

__all__ = ["check_request", "problems"]

# Enum sets whose order in AWS's messages is not the model's (recorded answers).
AWS_ENUM_ORDER: dict[frozenset[str], tuple[str, ...]] = {
    frozenset({"POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"}):
        ("HEAD", "POST", "PATCH", "DELETE", "PUT", "GET", "OPTIONS"),
}
_INTS = ("integer", "long")


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # a Java-only construct: AWS checks it, this emulator does not
        return None


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return f"'{value}'"


def _bounds(n: float, shape: Shape, what: str) -> str | None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    noun = "length" if what == "length" else "value"
    if low is not None and n < low:
        return f"Member must have {noun} greater than or equal to {low}"
    if high is not None and n > high:
        return f"Member must have {noun} less than or equal to {high}"
    return None


def _check(shape: Shape, value: Any, path: str, out: list[tuple[str, Any, str]]) -> None:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        if not isinstance(value, dict):
            out.append((path, value, "Member must be a structure"))
            return
        required = set(shape.required_members)
        for name, member in shape.members.items():
            sub = f"{path}.{_camel(name)}" if path else _camel(name)
            item = value.get(name)
            if item is None:
                if name in required:
                    out.append((sub, None, "Member must not be null"))
                continue
            _check(member, item, sub, out)
        return
    if kind == "list":
        if not isinstance(value, list):
            out.append((path, value, "Member must be a list"))
            return
        if (problem := _bounds(len(value), shape, "length")) is not None:
            out.append((path, value, problem))
        for i, item in enumerate(value):
            if item is not None:
                _check(shape.member, item, f"{path}.{i + 1}.member", out)  # type: ignore[attr-defined]
        return
    if kind == "map":
        if isinstance(value, dict):
            for key, item in value.items():
                if item is not None:
                    _check(shape.value, item, f"{path}.{key}", out)  # type: ignore[attr-defined]
        return
    if kind == "string":
        if not isinstance(value, str):
            out.append((path, value, "Member must be a string"))
            return
        if (problem := _bounds(len(value), shape, "length")) is not None:
            out.append((path, value, problem))
        pattern = shape.metadata.get("pattern")
        if pattern is not None and (regex := _regex(pattern)) is not None and regex.fullmatch(value) is None:
            out.append((path, value, f"Member must satisfy regular expression pattern: {pattern}"))
        if shape.enum and value not in shape.enum:
            order = AWS_ENUM_ORDER.get(frozenset(shape.enum), tuple(shape.enum))
            out.append((path, value, f"Member must satisfy enum value set: [{', '.join(order)}]"))
        return
    if kind in _INTS:
        if isinstance(value, bool) or not isinstance(value, int):
            out.append((path, value, "Member must be an integer"))
        elif (problem := _bounds(value, shape, "value")) is not None:
            out.append((path, value, problem))


def problems(shape: Shape | None, params: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """Every violation of ``params`` against ``shape``: (path, value, constraint), in AWS's order."""
    out: list[tuple[str, Any, str]] = []
    if shape is not None:
        _check(shape, params, "", out)
    return out


def check_request(shape: Shape | None, params: dict[str, Any]) -> None:
    """Raise AWS's ValidationException listing every violation, if any."""
    found = problems(shape, params)
    if not found:
        return
    parts = [f"Value {_shown(value)} at '{path}' failed to satisfy constraint: {constraint}"
             for path, value, constraint in found]
    n = len(parts)
    raise ValidationException(f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(parts))
