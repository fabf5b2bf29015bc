"""``anything-but``: a value, a list (all strings or all numbers), or ``{"prefix"|"suffix"|"wildcard"|
"equals-ignore-case": value or list}``.

It matches every present value the exclusion does not cover, JSON ``null``, booleans and numbers
included (a string exclusion never covers a number and a numeric one never covers a string), and it
never matches a missing field (spec eventbridge.md §4, AWS-verified). On an array it matches when some
element is not excluded.

Index: all anything-but conditions of a field are satisfied by default; a value first collects the
conditions that exclude it (dict lookups by exact value, lower-cased value, affix, and wildcard
buckets) and the rest apply. Cost: the lookups plus one step per anything-but condition on the field,
which is the size of the answer (each such condition is satisfied by almost every value).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventmesh.patterns.ops import Collectors, Condition, Hit, Masks, group
from eventmesh.patterns.ops.prefix_suffix import affix_lookup
from eventmesh.patterns.ops.wildcard import Wildcard

__all__ = [
    "AnythingBut",
    "AnythingButPrefix",
    "AnythingButSuffix",
    "AnythingButIgnoreCase",
    "AnythingButWildcard",
    "build_anything_but",
]


class AnythingBut(Condition):
    """``{"anything-but": "x" | n | [..]}``: ``strings`` or numeric ``keys`` (comparable floats)."""

    __slots__ = ("strings", "keys", "numkey", "text")
    family = "anything-but"

    def __init__(self, strings: frozenset[str], keys: frozenset[float], numkey: Any, text: str) -> None:
        self.strings, self.keys, self.numkey, self.text = strings, keys, numkey, text

    def excludes(self, value: Any) -> bool:
        t = type(value)
        if t is str:
            return value in self.strings
        if t is int or t is float:
            return bool(self.keys) and self.numkey(value) in self.keys
        return False

    def matches(self, value: Any) -> bool:
        return not self.excludes(value)

    def predicate(self) -> Any:
        strings, keys, numkey = self.strings, self.keys, self.numkey

        def test(value: Any) -> bool:
            t = type(value)
            if t is str:
                return value not in strings
            if (t is int or t is float) and keys:
                return numkey(value) not in keys
            return True

        return test

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


def build_anything_but(entries: Sequence[tuple[Condition, Hit]]) -> Collectors:
    # Exclusions are tracked per registered condition (its position j), not per hit: a field whose
    # OR-list holds two anything-but conditions is satisfied when either one lets the value through.
    all_entries = tuple(enumerate(h for _, h in entries))
    exact: list[tuple[str, int]] = []
    numeric: list[tuple[float, int]] = []
    prefixes: list[tuple[str, int]] = []
    suffixes: list[tuple[str, int]] = []
    folded: list[tuple[str, int]] = []
    wildcards: list[tuple[Wildcard, int]] = []
    for j, (cond, _) in enumerate(entries):
        if isinstance(cond, AnythingBut):
            exact.extend((s, j) for s in cond.strings)
            numeric.extend((k, j) for k in cond.keys)
        elif isinstance(cond, AnythingButPrefix):
            prefixes.extend((v, j) for v in cond.values)
        elif isinstance(cond, AnythingButSuffix):
            suffixes.extend((v, j) for v in cond.values)
        elif isinstance(cond, AnythingButIgnoreCase):
            folded.extend((v, j) for v in cond.values)
        elif isinstance(cond, AnythingButWildcard):
            wildcards.extend((w, j) for w in cond.wildcards)
    exact_get = {k: frozenset(v) for k, v in group(exact).items()}.get
    numeric_get = {k: frozenset(v) for k, v in group(numeric).items()}.get
    folded_get = {k: frozenset(v) for k, v in group(folded).items()}.get
    prefix_lookup = affix_lookup({k: frozenset(v) for k, v in group(prefixes).items()}, suffix=False)
    suffix_lookup = affix_lookup({k: frozenset(v) for k, v in group(suffixes).items()}, suffix=True)
    has_folded = bool(folded)
    wildcard_list = tuple(wildcards)
    nothing: frozenset[int] = frozenset()

    def apply_except(excluded: set[int] | frozenset[int], masks: Masks) -> None:
        get = masks.get
        for j, (sr, bit) in all_entries:
            if j not in excluded:
                masks[sr] = get(sr, 0) | bit

    def on_str(value: str, masks: Masks) -> None:
        excluded: set[int] = set()
        found = exact_get(value)
        if found:
            excluded |= found
        if has_folded:
            found = folded_get(value.lower())
            if found:
                excluded |= found
        for found in prefix_lookup(value):
            excluded |= found
        for found in suffix_lookup(value):
            excluded |= found
        for w, j in wildcard_list:
            if j not in excluded and w.matches(value):
                excluded.add(j)
        apply_except(excluded, masks)

    def on_num(value: Any, key: float | None, masks: Masks) -> None:
        excluded = numeric_get(key) if key is not None else None
        apply_except(excluded or nothing, masks)

    def on_lit(value: Any, masks: Masks) -> None:
        apply_except(nothing, masks)

    return Collectors(on_str=on_str, on_num=on_num, on_lit=on_lit)
