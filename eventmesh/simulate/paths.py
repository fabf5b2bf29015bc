"""Parameter paths of ``--set PATH=VALUE`` and ``sweep:``: where in a scenario a value goes.

Two spellings:

* by resource name: ``functions.process-order.ReservedConcurrentExecutions``,
  ``event_source_mappings.process-order.ScalingConfig.MaximumConcurrency`` (a mapping is named
  by its function), ``streams.clicks.ShardCount``, ``queues.orders.Attributes.VisibilityTimeout``,
  ``load.orders.rate.mean`` (a generator by its ``name``);
* by key path: ``resources.lambda.functions[0].MemorySize``, ``load[1].batch``, ``duration``.

Setting a path creates the mappings it passes through, so a sweep may add a member a resource
did not have (``ScalingConfig.MaximumConcurrency`` on a mapping without ``ScalingConfig``).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["PathError", "RESOURCE_ALIASES", "apply_setting", "parse_setting", "set_path"]

# alias → (service, key, the member that names an item)
RESOURCE_ALIASES: dict[str, tuple[str, str, str]] = {
    "queues": ("sqs", "queues", "QueueName"),
    "topics": ("sns", "topics", "Name"),
    "subscriptions": ("sns", "subscriptions", "Endpoint"),
    "streams": ("kinesis", "streams", "StreamName"),
    "functions": ("lambda", "functions", "FunctionName"),
    "event_source_mappings": ("lambda", "event_source_mappings", "FunctionName"),
    "mappings": ("lambda", "event_source_mappings", "FunctionName"),
    "buses": ("events", "buses", "Name"),
    "rules": ("events", "rules", "Name"),
}
_INDEX = re.compile(r"^(?P<key>[^\[\]]+)(?:\[(?P<index>\d+)\])?$")


class PathError(ValueError):
    """A path that names nothing in the scenario."""


def parse_setting(text: str) -> tuple[str, Any]:
    """``PATH=VALUE`` → (path, value); the value is read as YAML (``10``, ``true``, ``[1, 2]``)."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise PathError(f"{text!r}: expected PATH=VALUE")
    try:
        return path.strip(), yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise PathError(f"{text!r}: the value is not valid YAML: {exc}") from None


def _split(path: str) -> list[str]:
    """Dots split, except inside ``[...]``."""
    parts, depth, current = [], 0, ""
    for char in path:
        if char == "." and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += char == "["
        depth -= char == "]"
        current += char
    parts.append(current)
    return parts


def _by_name(items: Any, member: str, name: str, where: str) -> dict[str, Any]:
    if not isinstance(items, list):
        raise PathError(f"{where}: the scenario has none")
    for item in items:
        if not isinstance(item, dict):
            continue
        value = str(item.get(member, item.get("name", "")))
        # A mapping's FunctionName or a subscription's Endpoint may be an ARN: its last part names it.
        if value == name or value.rsplit(":", 1)[-1] == name or value.rsplit("/", 1)[-1] == name:
            return item
    raise PathError(f"{where}: no item named {name}")


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at ``path`` in a scenario's raw mapping (see the module docstring)."""
    parts = _split(path)
    if not all(parts):
        raise PathError(f"{path}: empty path segment")
    node: Any = data
    head = parts[0]
    if head in RESOURCE_ALIASES and len(parts) >= 3:
        service, key, member = RESOURCE_ALIASES[head]
        items = (data.get("resources") or {}).get(service, {}).get(key)
        node = _by_name(items, member, parts[1], f"{path}")
        parts = parts[2:]
    elif head == "load" and len(parts) >= 3 and not parts[1].isdigit() and "[" not in parts[0]:
        node = _by_name(data.get("load"), "name", parts[1], path)
        parts = parts[2:]
    for i, part in enumerate(parts):
        match = _INDEX.match(part)
        if match is None:
            raise PathError(f"{path}: bad segment {part!r}")
        key, index = match.group("key"), match.group("index")
        last = i == len(parts) - 1
        if not isinstance(node, dict):
            raise PathError(f"{path}: {key} is inside a value that is not a mapping")
        if index is None:
            if last:
                node[key] = value
                return
            node = node.setdefault(key, {})
            continue
        items = node.get(key)
        if not isinstance(items, list) or int(index) >= len(items):
            raise PathError(f"{path}: {key}[{index}] does not exist")
        if last:
            items[int(index)] = value
            return
        node = items[int(index)]


def apply_setting(data: dict[str, Any], text: str) -> None:
    """Apply one ``PATH=VALUE``."""
    path, value = parse_setting(text)
    set_path(data, path, value)
