"""``anything-but``: a value, a list (all strings or all numbers), or ``{"prefix"|"suffix"|"wildcard"|
"equals-ignore-case": value or list}``
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-anything-but).

It matches every present value the exclusion does not cover, JSON ``null``, booleans and numbers
included (a string exclusion never covers a number and a numeric one never covers a string), and it
never matches a missing field (AWS-verified). On an array it matches when some element is not excluded.

Index (AnythingButFamily), as event-ruler's ByteMachine does it: every anything-but condition on an
edge is satisfied unless the value proves otherwise. A value first collects the conditions that
exclude it (dict probes by exact value, lower-cased value and number, affix tables, the wildcard
index), then the next states of all the others are returned. Cost: the probes plus one step per
anything-but condition on the edge, which is the size of the answer (each lets almost every value
through). When a value is excluded by more than half of them through the exact table alone, the
states it lets through are kept per value, so the cost stays the size of the answer then too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventmesh.patterns.ops import Condition, Family
from eventmesh.patterns.ops.prefix_suffix import AffixTable
from eventmesh.patterns.ops.wildcard import Wildcard, WildcardIndex

__all__ = [
    "AnythingBut",
    "AnythingButPrefix",
    "AnythingButSuffix",
    "AnythingButIgnoreCase",
    "AnythingButWildcard",
    "AnythingButFamily",
]


class AnythingBut(Condition):
    """``{"anything-but": "x" | n | [..]}``: ``strings`` or numeric ``keys`` (comparable floats)."""

    __slots__ = ("strings", "keys", "numkey", "text")
    family = "anything-but"

    def __init__(self, strings: frozenset[str], keys: frozenset[float], numkey: Any, text: str) -> None:
        self.strings, self.keys, self.numkey, self.text = strings, keys, numkey, text

    def matches(self, value: Any) -> bool:
        t = type(value)
        if t is str:
            return value not in self.strings
        if t is int or t is float:
            return not self.keys or self.numkey(value) not in self.keys
        return True

    def describe(self) -> str:
        return f'{{"anything-but": {self.text}}}'

    def _key(self) -> Any:
        return (self.strings, self.keys)


class _AnythingButStrings(Condition):
    """Base of the string-only exclusions: they never exclude numbers, null or booleans."""

    __slots__ = ("values", "text")
    family = "anything-but"
    kind = ""

    def __init__(self, values: Sequence[str], text: str) -> None:
        self.values = tuple(values)
        self.text = text

    def excludes_str(self, value: str) -> bool:
        raise NotImplementedError

    def matches(self, value: Any) -> bool:
        return type(value) is not str or not self.excludes_str(value)

    def describe(self) -> str:
        return f'{{"anything-but": {{"{self.kind}": {self.text}}}}}'

    def _key(self) -> Any:
        return (self.kind, self.values)


class AnythingButPrefix(_AnythingButStrings):
    __slots__ = ()
    kind = "prefix"

    def excludes_str(self, value: str) -> bool:
        return any(value.startswith(v) for v in self.values)


class AnythingButSuffix(_AnythingButStrings):
    __slots__ = ()
    kind = "suffix"

    def excludes_str(self, value: str) -> bool:
        return any(value.endswith(v) for v in self.values)


class AnythingButIgnoreCase(_AnythingButStrings):
    __slots__ = ()
    kind = "equals-ignore-case"

    def __init__(self, values: Sequence[str], text: str) -> None:
        super().__init__([v.lower() for v in values], text)

    def excludes_str(self, value: str) -> bool:
        return value.lower() in self.values


class AnythingButWildcard(_AnythingButStrings):
    __slots__ = ("wildcards",)
    kind = "wildcard"

    def __init__(self, values: Sequence[str], text: str) -> None:
        super().__init__(values, text)
        self.wildcards = tuple(Wildcard(v) for v in values)

    def excludes_str(self, value: str) -> bool:
        return any(w.matches(value) for w in self.wildcards)


class AnythingButFamily(Family):
    """Exclusions are tracked per registered (condition, next state) pair, its position j, not per
    state: a field whose OR-list holds two anything-but conditions is satisfied when either one lets
    the value through."""

    __slots__ = (
        "states", "exact", "numbers", "folded", "prefixes", "suffixes", "wildcards", "exact_only", "lets_through",
    )
    name = "anything-but"

    def __init__(self) -> None:
        super().__init__()
        self.rebuild()

    def rebuild(self) -> None:
        exact: dict[str, set[int]] = {}
        numbers: dict[float, set[int]] = {}
        folded: dict[str, set[int]] = {}
        # the string-pattern exclusions exist only when some condition needs them (memory per rule)
        self.prefixes: AffixTable | None = None
        self.suffixes: AffixTable | None = None
        self.wildcards: WildcardIndex | None = None
        states: list[Any] = []
        self.exact_only = True  # only value / number lists: no affix, ignore-case or wildcard exclusions
        for cond, targets in self.targets.items():
            for target in targets:
                j = len(states)
                states.append(target)
                if isinstance(cond, AnythingBut):
                    for s in cond.strings:
                        exact.setdefault(s, set()).add(j)
                    for k in cond.keys:
                        numbers.setdefault(k, set()).add(j)
                    continue
                self.exact_only = False
                if isinstance(cond, AnythingButPrefix):
                    self.prefixes = self.prefixes or AffixTable(suffix=False)
                    for v in cond.values:
                        self.prefixes.add(v, j)
                elif isinstance(cond, AnythingButSuffix):
                    self.suffixes = self.suffixes or AffixTable(suffix=True)
                    for v in cond.values:
                        self.suffixes.add(v, j)
                elif isinstance(cond, AnythingButIgnoreCase):
                    for v in cond.values:
                        folded.setdefault(v, set()).add(j)
                elif isinstance(cond, AnythingButWildcard):
                    self.wildcards = self.wildcards or WildcardIndex()
                    for w in cond.wildcards:
                        self.wildcards.add(w, j)
        self.states: tuple[Any, ...] = tuple(states)
        self.exact = {k: frozenset(v) for k, v in exact.items()}
        self.numbers = {k: frozenset(v) for k, v in numbers.items()}
        self.folded = {k: frozenset(v) for k, v in folded.items()} if folded else None
        self.lets_through: dict[str, tuple[Any, ...]] | None = None  # value -> states, heavily excluded

    def _added(self, cond: Any, target: Any) -> bool:
        return True  # positions shift: rebuilt before the next match

    def _removed(self, cond: Any, target: Any) -> bool:
        return True

    def _except(self, excluded: Any, out: list[Any]) -> None:
        out += [s for j, s in enumerate(self.states) if j not in excluded]

    def on_str(self, value: str, out: list[Any]) -> None:  # type: ignore[override]
        found = self.exact.get(value)
        if found is not None and self.exact_only and 2 * len(found) > len(self.states):
            if self.lets_through is None:
                self.lets_through = {}
            through = self.lets_through.get(value)
            if through is None:
                through = self.lets_through[value] = tuple(s for j, s in enumerate(self.states) if j not in found)
            out += through
            return
        excluded: list[int] = list(found) if found is not None else []
        if self.folded is not None:
            more = self.folded.get(value.lower())
            if more is not None:
                excluded += more
        if self.prefixes is not None:
            self.prefixes.collect(value, excluded)
        if self.suffixes is not None:
            self.suffixes.collect(value, excluded)
        if self.wildcards is not None:
            self.wildcards.collect(value, excluded)
        if excluded:
            self._except(frozenset(excluded), out)
        else:
            out += self.states

    def on_num(self, value: Any, key: float | None, out: list[Any]) -> None:  # type: ignore[override]
        excluded = self.numbers.get(key) if key is not None else None  # type: ignore[arg-type]
        if excluded:
            self._except(excluded, out)
        else:
            out += self.states

    def on_lit(self, value: Any, out: list[Any]) -> None:  # type: ignore[override]
        out += self.states

    def sizeof_items(self) -> list[Any]:
        items = [self.targets, self.states, self.exact, self.numbers, self.folded, self.lets_through]
        for table in (self.prefixes, self.suffixes, self.wildcards):
            if table is not None:
                items += table.sizeof_items()
        return [i for i in items if i is not None]
