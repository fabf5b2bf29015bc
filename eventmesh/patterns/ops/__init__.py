"""One module per operator family. Each defines the Condition classes of its operators and a *family
index*: every condition of that family registered on one edge of the machine (one field, leaving one
state), each leading to the next states of the sub-rules that use it.

A family index answers, for one event value, which next states the value reaches, by appending them
to ``out``. Its lookups are grouped by the event value's JSON type:

* ``on_str(value, out)`` for strings,
* ``on_num(value, key, out)`` for numbers (``key`` is the flavour's comparable float, or None),
* ``on_lit(value, out)`` for ``null``, ``true`` and ``false``;

a family sets the ones it does not answer to None. Tables are updated in place by ``add`` /
``remove``, which answer True when the family must instead be rebuilt, once, before the next match
(Machine._refresh): anything-but always, ranges and CIDR blocks only in their segment-tree mode.

Cost model, which every family states in its docstring: a lookup costs O(1), O(distinct affix
lengths) or O(log n) in the number of conditions on the edge, plus one step per next state it
returns; never a loop over the edge's conditions (anything-but is the one family whose answer is
"almost all of them", and it costs the size of that answer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Condition", "Family", "Table", "Lengths", "EXACT_FAMILIES"]

# Families whose conditions can never both match one value when they differ (no dedup needed).
EXACT_FAMILIES = frozenset({"exact", "number", "equals-ic"})


class Condition:
    """One entry of a field's OR-list, e.g. ``{"prefix": "us-"}``."""

    __slots__ = ()
    family = ""

    def matches(self, value: Any) -> bool:
        """True when a present event value (str, int, float, bool or None) satisfies this condition."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.describe()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    def _key(self) -> Any:
        names: tuple[str, ...] = self.__slots__  # type: ignore[assignment]
        return tuple(getattr(self, name) for name in names)


class Family:
    """Base of the family indexes: the conditions registered on one edge and their next states.
    ``add`` / ``remove`` answer True when the index must be rebuilt before the next match."""

    __slots__ = ("targets",)
    name = ""
    on_str: Callable[[str, list[Any]], None] | None = None
    on_num: Callable[[Any, float | None, list[Any]], None] | None = None
    on_lit: Callable[[Any, list[Any]], None] | None = None

    def __init__(self) -> None:
        self.targets: dict[Condition, list[Any]] = {}

    def __len__(self) -> int:
        return len(self.targets)

    def add(self, cond: Condition, target: Any) -> bool:
        self.targets.setdefault(cond, []).append(target)
        return self._added(cond, target)

    def remove(self, cond: Condition, target: Any) -> bool:
        targets = self.targets[cond]
        targets.remove(target)
        if not targets:
            del self.targets[cond]
        return self._removed(cond, target)

    def _added(self, cond: Any, target: Any) -> bool:
        """Update the lookup tables in place; True when they must be rebuilt instead."""
        return False

    def _removed(self, cond: Any, target: Any) -> bool:
        """The reverse of _added."""
        return False

    def rebuild(self) -> None:
        """Rebuild the lookup tables from ``targets``."""

    def sizeof_items(self) -> Iterable[Any]:
        """The containers this index owns, for memory statistics."""
        return [self.targets]


class Table:
    """A dict from a key to the tuple of distinct targets registered under it, updated in place. A
    target registered twice under one key (``[300, 3.0e2]``) is counted in ``refs`` (made only then)
    and stays until both go."""

    __slots__ = ("map", "refs")

    def __init__(self) -> None:
        self.map: dict[Any, tuple[Any, ...]] = {}
        self.refs: dict[tuple[Any, Any], int] | None = None

    def add(self, key: Any, target: Any) -> bool:
        """Register; True when the key is new."""
        found = self.map.get(key)
        if found is None:
            self.map[key] = (target,)
            return True
        if target in found:
            if self.refs is None:
                self.refs = {}
            self.refs[(key, target)] = self.refs.get((key, target), 1) + 1
        else:
            self.map[key] = found + (target,)
        return False

    def remove(self, key: Any, target: Any) -> bool:
        """Unregister; True when the key is gone."""
        if self.refs is not None:
            count = self.refs.get((key, target))
            if count is not None:
                if count > 2:
                    self.refs[(key, target)] = count - 1
                else:
                    del self.refs[(key, target)]
                return False
        left = tuple(t for t in self.map[key] if t != target)
        if left:
            self.map[key] = left
            return False
        del self.map[key]
        return True


class Lengths:
    """The distinct lengths of a table's keys, sorted, with a count per length (affix probes)."""

    __slots__ = ("sorted", "counts")

    def __init__(self) -> None:
        self.sorted: list[int] = []
        self.counts: dict[int, int] = {}

    def add(self, n: int) -> None:
        if n in self.counts:
            self.counts[n] += 1
        else:
            self.counts[n] = 1
            self.sorted.append(n)
            self.sorted.sort()

    def remove(self, n: int) -> None:
        self.counts[n] -= 1
        if not self.counts[n]:
            del self.counts[n]
            self.sorted.remove(n)
