"""Each operation's input shape compiled once into a msgspec type, so every request is checked
against its model in one C pass before a handler sees it.

``msgspec.convert(params, request_type(shape))`` accepts exactly what the model allows: required
members present and not null, scalars of the model's types (integers within Java's ``int``/``long``
range, as the services' own deserializers enforce), lengths and ranges within ``min``/``max``,
strings matching their patterns, list items and map values never null. The converted value is
thrown away: handlers keep the request in the model's JSON shape. When it fails,
:func:`eventmesh.wire.validate.check` words the problems as AWS does (that slower walk runs only
for bad requests).
https://smithy.io/2.0/spec/constraint-traits.html
https://smithy.io/2.0/spec/simple-types.html
"""

from __future__ import annotations

import datetime
import functools
import re
from typing import Annotated, Any, Literal

import msgspec
from botocore.model import Shape

from eventmesh.clock import RFC3339_MAX_S, RFC3339_MIN_S

__all__ = ["INT32_RANGE", "INT64_RANGE", "pattern", "request_type"]

# Smithy ``integer`` is a 32-bit and ``long`` a 64-bit signed integer: a value past them fails the
# service's deserializer before any handler runs.
INT32_RANGE = (-(2**31), 2**31 - 1)
INT64_RANGE = (-(2**63), 2**63 - 1)
_RANGES = {"integer": INT32_RANGE, "long": INT64_RANGE}


def request_type(shape: Shape | None, *, enums: bool = False, millis: bool = False) -> Any:
    """The msgspec type equivalent to ``shape`` (``Any`` when there is none); with ``enums``,
    enum strings must be one of the model's values; with ``millis``, a timestamp number is epoch
    milliseconds (CBOR without a tag), else seconds."""
    if shape is None:
        return Any
    return _Compiler(enums, millis).type(shape)


class _Compiler:
    """One compilation; ``_structs`` reuses a structure met twice, and a recursive reference
    (a shape inside itself) compiles to ``Any``, checked no deeper."""

    def __init__(self, enums: bool, millis: bool = False) -> None:
        self._enums = enums
        scale = 1000 if millis else 1
        # A timestamp number an RFC 3339 date-time can write (NaN, infinities, past year 9999: not one).
        self._instant = Annotated[float, msgspec.Meta(ge=RFC3339_MIN_S * scale, le=RFC3339_MAX_S * scale)]
        self._structs: dict[str, Any] = {}
        self._open: set[str] = set()

    def type(self, shape: Shape) -> Any:
        kind = shape.type_name
        meta = shape.metadata
        if kind == "structure":
            return self._structure(shape)
        if kind == "list":
            if shape.name in self._open:
                return list[Any]
            self._open.add(shape.name)
            try:
                item = self.type(shape.member)  # type: ignore[attr-defined]
            finally:
                self._open.discard(shape.name)
            return _sized(list[item], meta)  # type: ignore[valid-type]
        if kind == "map":
            if shape.name in self._open:
                return dict[str, Any]
            self._open.add(shape.name)
            try:
                # Keys: lengths only. Their patterns are stricter than the services (Lambda's
                # variable names ask for two characters, the service takes one).
                key = _sized(str, shape.key.metadata)  # type: ignore[attr-defined]
                value = self.type(shape.value)  # type: ignore[attr-defined]
            finally:
                self._open.discard(shape.name)
            return _sized(dict[key, value], meta)  # type: ignore[valid-type]
        if kind == "string":
            if self._enums and shape.enum:  # type: ignore[attr-defined]
                return Literal[tuple(shape.enum)]  # type: ignore[attr-defined]
            return _sized(str, meta, pattern(meta))
        if kind in _RANGES:
            low, high = _RANGES[kind]
            return Annotated[int, msgspec.Meta(ge=max(low, meta.get("min", low)),
                                               le=min(high, meta.get("max", high)))]
        if kind in ("float", "double"):
            return float
        if kind == "boolean":
            return bool
        if kind == "blob":
            return _sized(bytes, meta)
        if kind == "timestamp":
            # JSON carries epoch seconds, CBOR a tag-1 datetime or epoch ms, Query a number the
            # decoder read.
            return self._instant | datetime.datetime
        return Any

    def _structure(self, shape: Shape) -> Any:
        name = shape.name
        if name in self._structs:
            return self._structs[name]
        if name in self._open:
            return dict[str, Any]
        self._open.add(name)
        try:
            required = set(shape.required_members)  # type: ignore[attr-defined]
            fields: list[tuple[str, Any, Any]] = []
            rename: dict[str, str] = {}
            for i, (member, member_shape) in enumerate(shape.members.items()):  # type: ignore[attr-defined]
                attr = f"m{i}"   # member names need not be Python identifiers
                rename[attr] = member
                kind = self.type(member_shape)
                if member in required:
                    fields.append((attr, kind, msgspec.NODEFAULT))
                else:
                    fields.append((attr, kind | None, None))
        finally:
            self._open.discard(name)
        struct = msgspec.defstruct(f"{name}Check", fields, rename=rename, kw_only=True)
        self._structs[name] = struct
        return struct


def _sized(kind: Any, meta: dict[str, Any], regex: str | None = None) -> Any:
    low, high = meta.get("min"), meta.get("max")
    if low is None and high is None and regex is None:
        return kind
    return Annotated[kind, msgspec.Meta(min_length=low, max_length=high, pattern=regex)]


@functools.cache
def _compiles(regex: str) -> bool:
    try:
        re.compile(regex)
    except re.error:
        return False
    return True


def pattern(meta: dict[str, Any]) -> str | None:
    """The shape's ``pattern`` (searched, not anchored: Smithy patterns are not implicitly
    anchored), or None when it has none or uses Java-only syntax (``\\p{L}``) Python lacks."""
    regex = meta.get("pattern")
    return regex if regex is not None and _compiles(regex) else None
