"""Event -> the leaf values some rule looks at, by field id, with the array elements they came from.

Only paths some rule uses are visited: a trie of field names built from the rule set lets the walk
skip every other subtree (as quamina's segments tree does). Because AWS joins nested keys with ``.``
(``{"a": {"b": 1}}`` and ``{"a.b": 1}`` both give field ``a.b``), the trie has an edge for every run of
segments: the node for ``a`` has children ``b`` and ``b.c``, the root has ``a``, ``a.b`` and ``a.b.c``.
At each object the walk iterates the event's keys or the trie's children, whichever are fewer.

Two outputs (``flatten_into``): ``F``, field id -> value (or a ``Values`` list when the field has
several), for every leaf outside arrays of objects; and ``X``, field id -> ``[(value, membership)]``
for the leaves inside them. Membership (for array-consistent matching, event-ruler ArrayMembership) is
``((array_id, index), ...)`` for each enclosing array element that is an object or an array
(array_id: the list's id()); a scalar element records nothing for its own array, as in event-ruler's
Event.java (a scalar array carries values of one field only, so it can never split a match). Most
events have no arrays of objects on rule paths, and then ``X`` stays empty and the matcher skips all
consistency work.

Cost: O(keys of the visited objects, or the trie children there if fewer), one dict probe each.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PathNode", "Paths", "Values", "build_trie", "flatten_into", "leaves"]

Leaf = tuple[int, Any, "tuple[tuple[int, int], ...] | None"]  # (field id, value, membership)
_MISSING = object()


class Values(list):  # type: ignore[type-arg]
    """Several values of one field in one event (arrays, or a dotted key beside a nested one)."""


class PathNode:
    __slots__ = ("children", "field", "index")

    def __init__(self) -> None:
        self.children: dict[str, PathNode] = {}
        self.field: int | None = None
        # The compiled engine's table of ``children`` by their key's bytes, for events kept as
        # JSON text (_speedups.c, built on first use; a trie is never changed once built). It
        # points into this process's objects: a copy (a daemon's snapshot) leaves it behind.
        self.index: object = None

    def __getstate__(self) -> tuple[dict[str, PathNode], int | None]:
        return self.children, self.field

    def __setstate__(self, state: tuple[dict[str, PathNode], int | None]) -> None:
        self.children, self.field = state
        self.index = None


class Paths:
    """Field ids for the paths the rules use, counted, and the trie over them (rebuilt lazily)."""

    __slots__ = ("ids", "refs", "_next", "trie")

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.refs: dict[str, int] = {}
        self._next = 0
        # The trie, None after a path came or went until root() builds it again; the matcher
        # reads it directly (one call less per event).
        self.trie: PathNode | None = PathNode()

    def acquire(self, path: str) -> int:
        fid = self.ids.get(path)
        if fid is None:
            fid = self.ids[path] = self._next
            self._next += 1
            self.refs[path] = 0
            self.trie = None
        self.refs[path] += 1
        return fid

    def release(self, path: str) -> None:
        self.refs[path] -= 1
        if not self.refs[path]:
            del self.refs[path], self.ids[path]
            self.trie = None

    def root(self) -> PathNode:
        if self.trie is None:
            self.trie = build_trie(self.ids)
        return self.trie



def build_trie(fields: dict[str, int]) -> PathNode:
    nodes: dict[str, PathNode] = {"": PathNode()}

    def node(prefix: str) -> PathNode:
        found = nodes.get(prefix)
        if found is None:
            found = nodes[prefix] = PathNode()
        return found

    for path, fid in fields.items():
        segments = path.split(".")
        joined = [".".join(segments[:i]) for i in range(len(segments) + 1)]
        for i in range(len(segments)):
            start = node(joined[i])
            for j in range(i + 1, len(segments) + 1):
                start.children[".".join(segments[i:j])] = node(joined[j])
        node(path).field = fid
    return nodes[""]


def _put(F: dict[int, Any], fid: int, value: Any) -> None:
    found = F.get(fid, _MISSING)
    if found is _MISSING:
        F[fid] = value
    elif type(found) is Values:
        found.append(value)
    else:
        F[fid] = Values((found, value))


def flatten_into(obj: dict, children: dict, F: dict, X: dict) -> None:  # type: ignore[type-arg]
    """Fill ``F`` and ``X`` (module docstring) from the object ``obj`` at a trie node's ``children``."""
    if len(obj) <= len(children):
        get = children.get
        for key, value in obj.items():
            node = get(key)
            if node is not None:
                t = type(value)
                if t is dict:
                    if node.children:
                        flatten_into(value, node.children, F, X)
                elif t is list:
                    _array(value, node, F, X)
                elif node.field is not None:
                    if node.field in F:
                        _put(F, node.field, value)
                    else:
                        F[node.field] = value
    else:
        for key, node in children.items():
            value = obj.get(key, _MISSING)
            if value is not _MISSING:
                t = type(value)
                if t is dict:
                    if node.children:
                        flatten_into(value, node.children, F, X)
                elif t is list:
                    _array(value, node, F, X)
                elif node.field is not None:
                    if node.field in F:
                        _put(F, node.field, value)
                    else:
                        F[node.field] = value


def _array(value: list, node: PathNode, F: dict, X: dict) -> None:  # type: ignore[type-arg]
    for element in value:
        te = type(element)
        if te is dict or te is list:
            _elements(value, node, (), X)  # objects inside: every leaf below carries its membership
            return
    fid = node.field
    if fid is not None:
        for element in value:
            _put(F, fid, element)


def _elements(value: list, node: PathNode, base: tuple, X: dict) -> None:  # type: ignore[type-arg]
    """The leaves of a list that holds objects or lists, each with its membership, into ``X``."""
    array_id = id(value)  # unique while the event is alive; no counter to thread through
    fid = node.field
    children = node.children
    for i, element in enumerate(value):
        te = type(element)
        if te is dict:
            if children:
                _members(element, children, base + ((array_id, i),), X)
        elif te is list:
            _elements(element, node, base + ((array_id, i),), X)
        elif fid is not None:
            # a scalar element carries no membership of its own array (event-ruler Event.java)
            _add(X, fid, element, base or None)


def _members(obj: dict, children: dict, mem: tuple, X: dict) -> None:  # type: ignore[type-arg]
    get = children.get
    for key, value in obj.items():
        node = get(key)
        if node is not None:
            t = type(value)
            if t is dict:
                if node.children:
                    _members(value, node.children, mem, X)
            elif t is list:
                for element in value:
                    te = type(element)
                    if te is dict or te is list:
                        _elements(value, node, mem, X)
                        break
                else:
                    if node.field is not None:
                        for element in value:
                            _add(X, node.field, element, mem)
            elif node.field is not None:
                _add(X, node.field, value, mem)


def _add(X: dict, fid: int, value: Any, mem: Any) -> None:  # type: ignore[type-arg]
    found = X.get(fid)
    if found is None:
        X[fid] = [(value, mem)]
    else:
        found.append((value, mem))


def leaves(event: dict, root: PathNode) -> list[Leaf]:  # type: ignore[type-arg]
    """Every leaf on a rule path with its membership (the slow, simple form: ``--explain``)."""
    out: list[Leaf] = []
    if root.children:
        _object(event, root.children, None, out)
    return out


def _object(obj: dict, children: dict, mem: Any, out: list) -> None:  # type: ignore[type-arg]
    for key, value in obj.items():
        node = children.get(key)
        if node is not None:
            _value(value, node, mem, out)


def _value(value: Any, node: PathNode, mem: Any, out: list) -> None:  # type: ignore[type-arg]
    t = type(value)
    if t is dict:
        if node.children:
            _object(value, node.children, mem, out)
    elif t is list:
        containers = False
        for element in value:
            te = type(element)
            if te is dict or te is list:
                containers = True
                break
        if not containers:
            if node.field is not None:
                for element in value:
                    out.append((node.field, element, mem))
            return
        array_id = id(value)  # unique while the event is alive; no counter to thread through
        base = mem or ()
        for i, element in enumerate(value):
            te = type(element)
            if te is dict or te is list:
                _value(element, node, base + ((array_id, i),), out)
            elif node.field is not None:
                # a scalar element carries no membership of its own array (event-ruler Event.java)
                out.append((node.field, element, mem))
    elif node.field is not None:
        out.append((node.field, value, mem))
