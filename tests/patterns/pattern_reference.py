"""A small, obviously-correct reference evaluator for EventBridge patterns, used by the property tests.

It works on plain Python JSON (``json.loads`` output), expands ``$or`` into branches, lists every
leaf of the event with the array elements it came from, and tries every choice of one value per field
(in path order, as event-ruler does), so it is slow and simple. Numbers compare as doubles.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

EXISTS_FALSE = {"exists": False}


def ref_matches(pattern: dict, event: dict) -> bool:
    leaves = list(_leaves(event, "", {}))
    return any(_branch(branch, leaves) for branch in _branches(pattern, ""))


def _is_or(value: Any) -> bool:
    return isinstance(value, list) and len(value) >= 2 and all(isinstance(v, dict) for v in value)


def _branches(obj: dict, prefix: str) -> list[dict]:
    result: list[dict] = [{}]
    for key, value in obj.items():
        if key == "$or" and _is_or(value):
            result = [dict(r, **b) for r in result for sub in value for b in _branches(sub, prefix)]
        elif isinstance(value, dict):
            result = [dict(r, **b) for r in result for b in _branches(value, prefix + key + ".")]
        else:
            result = [dict(r, **{prefix + key: value}) for r in result]
    return result


def _leaves(value: Any, path: str, mem: dict) -> Iterator[tuple[str, Any, dict]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, f"{path}.{key}" if path else key, mem)
    elif isinstance(value, list):
        for i, element in enumerate(value):
            if isinstance(element, (dict, list)):
                yield from _leaves(element, path, {**mem, id(value): i})
            else:
                yield path, element, mem
    else:
        yield path, value, mem


def _compatible(a: dict, b: dict) -> bool:
    return all(a[k] == v for k, v in b.items() if k in a)


def _branch(fields: dict, leaves: list) -> bool:
    names = sorted(fields)

    def go(i: int, mem: dict) -> bool:
        if i == len(names):
            return True
        conds = fields[names[i]]
        here = [(v, m) for p, v, m in leaves if p == names[i]]
        for value, m in here:
            if _compatible(mem, m) and any(c != EXISTS_FALSE and cond_ok(c, value) for c in conds):
                if go(i + 1, {**mem, **m}):
                    return True
        if EXISTS_FALSE in conds and not any(_compatible(mem, m) for _, m in here):
            return go(i + 1, mem)
        return False

    return go(0, {})


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _wildcard(pattern: str, value: str) -> bool:
    return (
        re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), value, re.DOTALL) is not None
    )


def _ip(text: str) -> Any:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def cond_ok(c: Any, v: Any) -> bool:
    if isinstance(c, str):
        if isinstance(v, str) and _ip(c) is not None:
            return _ip(v) == _ip(c)  # an IP address matches the same address written differently
        return isinstance(v, str) and v == c
    if c is None or isinstance(c, bool):
        return v is c
    if _num(c):
        return _num(v) and float(v) == float(c)
    ((op, arg),) = c.items()
    is_str = isinstance(v, str)
    if op == "prefix":
        if isinstance(arg, dict):
            return is_str and v.lower().startswith(arg["equals-ignore-case"].lower())
        return is_str and v.startswith(arg)
    if op == "suffix":
        if isinstance(arg, dict):
            return is_str and v.lower().endswith(arg["equals-ignore-case"].lower())
        return is_str and v.endswith(arg)
    if op == "equals-ignore-case":
        return is_str and v.lower() == arg.lower()
    if op == "wildcard":
        return is_str and _wildcard(arg, v)
    if op == "exists":
        return arg is True
    if op == "cidr":
        address = _ip(v) if is_str else None
        network = ipaddress.ip_network(arg, strict=False)
        return address is not None and address.version == network.version and address in network
    if op == "numeric":
        if not _num(v):
            return False
        x = float(v)
        ops = {"=": x.__eq__, "<": x.__lt__, "<=": x.__le__, ">": x.__gt__, ">=": x.__ge__}
        return all(ops[arg[i]](float(arg[i + 1])) for i in range(0, len(arg), 2))
    if op == "anything-but":
        if isinstance(arg, dict):
            ((kind, inner),) = arg.items()
            items = inner if isinstance(inner, list) else [inner]
            if not is_str:
                return True
            if kind == "prefix":
                return not any(v.startswith(i) for i in items)
            if kind == "suffix":
                return not any(v.endswith(i) for i in items)
            if kind == "equals-ignore-case":
                return not any(v.lower() == i.lower() for i in items)
            return not any(_wildcard(i, v) for i in items)
        items = arg if isinstance(arg, list) else [arg]
        if is_str:
            return v not in [i for i in items if isinstance(i, str)]
        if _num(v):
            return float(v) not in [float(i) for i in items if _num(i)]
        return True
    raise ValueError(op)
