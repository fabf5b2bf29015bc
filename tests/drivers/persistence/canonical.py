"""A canonical text of an object graph: equal for two engines in the same state, whatever the
identity of their objects (pickle's bytes differ with string interning, so tests compare this)."""

from __future__ import annotations

import functools
import random
import types
from collections import deque
from typing import Any

import msgspec

_SCALARS = (str, bytes, int, float, bool, type(None))


def canonical(root: Any) -> str:
    seen: dict[int, int] = {}
    out: list[str] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, _SCALARS):
            out.append(repr(obj))
            return
        if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)):
            out.append(f"<{getattr(obj, '__qualname__', obj)!s}>")
            return
        key = id(obj)
        if key in seen:
            out.append(f"@{seen[key]}")
            return
        seen[key] = len(seen)
        if isinstance(obj, random.Random):
            out.append(f"Random{obj.getstate()!r}")
        elif isinstance(obj, types.MethodType):
            out.append(f"<method {obj.__func__.__qualname__} of ")
            walk(obj.__self__)
            out.append(">")
        elif isinstance(obj, functools.partial):
            out.append("partial(")
            walk(obj.func)
            walk(obj.args)
            walk(obj.keywords)
            out.append(")")
        elif isinstance(obj, dict):
            out.append("{")
            for k, v in obj.items():
                walk(k)
                out.append(":")
                walk(v)
                out.append(",")
            out.append("}")
        elif isinstance(obj, (list, tuple, deque)):
            out.append(f"{type(obj).__name__}[")
            for item in obj:
                walk(item)
                out.append(",")
            out.append("]")
        elif isinstance(obj, (set, frozenset)):
            out.append(f"set{sorted(repr(x) for x in obj)}")
        elif isinstance(obj, msgspec.Struct):
            out.append(f"{type(obj).__qualname__}(")
            for field in obj.__struct_fields__:
                walk(getattr(obj, field))
                out.append(",")
            out.append(")")
        elif isinstance(obj, (msgspec.json.Decoder, msgspec.json.Encoder, msgspec.msgpack.Decoder,
                              msgspec.msgpack.Encoder)):
            out.append(f"<{type(obj).__qualname__}>")
        else:
            out.append(f"{type(obj).__qualname__}(")
            state = dict(getattr(obj, "__dict__", {}))
            for slot in getattr(type(obj), "__slots__", ()):
                if hasattr(obj, slot):
                    state[slot] = getattr(obj, slot)
            for name in sorted(state):
                out.append(f"{name}=")
                walk(state[name])
                out.append(",")
            out.append(")")

    walk(root)
    return "".join(out)
