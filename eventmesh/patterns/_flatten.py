"""Event -> the leaf values some rule looks at, each with the array elements it came from.

Only paths some rule uses are visited: a trie of field names built from the rule set lets the walk
skip every other subtree (as quamina's segments tree does). Because AWS joins nested keys with ``.``
(``{"a": {"b": 1}}`` and ``{"a.b": 1}`` both give field ``a.b``), the trie has an edge for every run of
segments: the node for ``a`` has children ``b`` and ``b.c``, the root has ``a``, ``a.b`` and ``a.b.c``.

Array membership (for array-consistent matching, aws/event-ruler ArrayMembership): a leaf records
``((array_id, index), ...)`` (array_id: the list's id()) for each enclosing array element that is
an object or an array; a scalar
element records nothing for its own array, as in event-ruler's Event.java (a scalar array carries
values of one field only, so it can never split a match). ``None`` means
the leaf is in no such array, which is the common case and lets the matcher skip all consistency work.

Cost: O(fields visited) with one dict probe per event key on a rule path.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PathNode", "build_trie", "flatten"]

Leaf = tuple[Any, Any, "tuple[tuple[int, int], ...] | None"]  # (field index, value, membership)


class PathNode:
    __slots__ = ("children", "field")

    def __init__(self) -> None:
        self.children: dict[str, PathNode] = {}
        self.field: Any = None


def build_trie(fields: dict[str, Any]) -> PathNode:
    nodes: dict[str, PathNode] = {"": PathNode()}

    def node(prefix: str) -> PathNode:
        found = nodes.get(prefix)
        if found is None:
            found = nodes[prefix] = PathNode()
        return found

    for path, field in fields.items():
        segments = path.split(".")
        joined = [".".join(segments[:i]) for i in range(len(segments) + 1)]
        for i in range(len(segments)):
            start = node(joined[i])
            for j in range(i + 1, len(segments) + 1):
                start.children[".".join(segments[i:j])] = node(joined[j])
        node(path).field = field
    return nodes[""]


def flatten(event: dict, root: PathNode) -> list[Leaf]:  # type: ignore[type-arg]
    out: list[Leaf] = []
    if root.children:
        _object(event, root.children, None, out, None)
    return out


def _object(obj: dict, children: dict, mem: Any, out: list, ids: Any) -> None:  # type: ignore[type-arg]
    # Scalars are handled inline (most leaves), containers recurse.
    if len(obj) <= len(children):
        get = children.get
        for key, value in obj.items():
            node = get(key)
            if node is not None:
                t = type(value)
                if t is dict or t is list:
                    _value(value, node, mem, out, ids)
                elif node.field is not None:
                    out.append((node.field, value, mem))
    else:
        for key, node in children.items():
            if key in obj:
                value = obj[key]
                t = type(value)
                if t is dict or t is list:
                    _value(value, node, mem, out, ids)
                elif node.field is not None:
                    out.append((node.field, value, mem))


def _value(value: Any, node: PathNode, mem: Any, out: list, ids: Any) -> None:  # type: ignore[type-arg]
    t = type(value)
    if t is dict:
        if node.children:
            _object(value, node.children, mem, out, ids)
    elif t is list:
        for element in value:
            te = type(element)
            if te is dict or te is list:
                break
        else:
            field = node.field
            if field is not None:
                for element in value:
                    out.append((field, element, mem))
            return
        array_id = id(value)  # unique while the event is alive; no counter to thread through
        base = mem or ()
        for i, element in enumerate(value):
            te = type(element)
            if te is dict or te is list:
                _value(element, node, base + ((array_id, i),), out, ids)
            elif node.field is not None:
                # a scalar element carries no membership of its own array (event-ruler Event.java)
                out.append((node.field, element, mem))
    elif node.field is not None:
        out.append((node.field, value, mem))
