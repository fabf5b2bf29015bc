"""``prefix`` and ``suffix`` (strings only), with their equals-ignore-case forms
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).

Index (AffixTable): one dict per family from affix to next states, plus, per first character (last,
for suffixes), the sorted distinct lengths of the affixes that start (end) with it; a value is probed
once per such length up to its own length, so it costs one probe when no affix shares its first
character, and O(distinct lengths) slices and dict probes at most, however many conditions share the
edge (a character trie would cost a probe per character instead, more for the usual few lengths).
Case-insensitive forms compare lower-cased text (event-ruler folds each character both ways;
``str.lower`` agrees outside a few special letters).
"""

from __future__ import annotations

import json
from typing import Any

from eventmesh.patterns.ops import Condition, Family, Lengths, Table

__all__ = [
    "Prefix",
    "Suffix",
    "PrefixIgnoreCase",
    "SuffixIgnoreCase",
    "AffixTable",
    "PrefixFamily",
    "SuffixFamily",
    "PrefixIgnoreCaseFamily",
    "SuffixIgnoreCaseFamily",
]


class Prefix(Condition):
    __slots__ = ("value",)
    family = "prefix"

    def __init__(self, value: str) -> None:
        self.value = value

    def matches(self, value: Any) -> bool:
        return type(value) is str and value.startswith(self.value)

    def describe(self) -> str:
        return f'{{"prefix": {_q(self.value)}}}'


class Suffix(Condition):
    __slots__ = ("value",)
    family = "suffix"

    def __init__(self, value: str) -> None:
        self.value = value

    def matches(self, value: Any) -> bool:
        return type(value) is str and value.endswith(self.value)

    def describe(self) -> str:
        return f'{{"suffix": {_q(self.value)}}}'


class PrefixIgnoreCase(Condition):
    __slots__ = ("value",)
    family = "prefix-ic"

    def __init__(self, value: str) -> None:
        self.value = value.lower()

    def matches(self, value: Any) -> bool:
        return type(value) is str and value.lower().startswith(self.value)

    def describe(self) -> str:
        return f'{{"prefix": {{"equals-ignore-case": {_q(self.value)}}}}}'


class SuffixIgnoreCase(Condition):
    __slots__ = ("value",)
    family = "suffix-ic"

    def __init__(self, value: str) -> None:
        self.value = value.lower()

    def matches(self, value: Any) -> bool:
        return type(value) is str and value.lower().endswith(self.value)

    def describe(self) -> str:
        return f'{{"suffix": {{"equals-ignore-case": {_q(self.value)}}}}}'


ASCII_CHARS = 128


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


class AffixTable:
    """Affix -> values, probed by the distinct lengths of the affixes that share the value's first
    character (last, for suffixes): a value whose end character no affix has costs one dict probe.
    Shared with the wildcard and anything-but indexes (which also probe it at every ``start``)."""

    __slots__ = ("table", "by_end", "ascii_ends", "has_empty", "suffix")

    def __init__(self, suffix: bool) -> None:
        self.table = Table()
        self.by_end: dict[str, Lengths] = {}  # first (last) character -> lengths of those affixes
        # by_end's ASCII entries by code point (None: no affix ends so), so that the compiled lookup
        # finds a value's lengths, or rejects it, without making a one-character string to look up
        self.ascii_ends: list[Lengths | None] = [None] * ASCII_CHARS
        self.has_empty = False  # the empty affix is in the table (every value has it): probe it
        self.suffix = suffix

    def __bool__(self) -> bool:
        return bool(self.table.map)

    def __setstate__(self, state: tuple[None, dict[str, Any]]) -> None:
        """Unpickling (a snapshot): a table pickled before ``ascii_ends`` held Lengths (it held
        flags) and before ``has_empty`` gets both from ``by_end`` and the table."""
        for name, value in state[1].items():
            setattr(self, name, value)
        if not isinstance(self.ascii_ends, list):
            self.ascii_ends = [None] * ASCII_CHARS
            for end, lengths in self.by_end.items():
                if ord(end) < ASCII_CHARS:
                    self.ascii_ends[ord(end)] = lengths
        if not hasattr(self, "has_empty"):
            self.has_empty = "" in self.table.map

    def add(self, affix: str, value: Any) -> None:
        new = self.table.add(affix, value)
        if not affix:
            self.has_empty = True
        elif new:
            end = affix[-1] if self.suffix else affix[0]
            lengths = self.by_end.get(end)
            if lengths is None:
                lengths = self.by_end[end] = Lengths()
                if ord(end) < ASCII_CHARS:
                    self.ascii_ends[ord(end)] = lengths
            lengths.add(len(affix))

    def remove(self, affix: str, value: Any) -> None:
        gone = self.table.remove(affix, value)
        if not affix:
            self.has_empty = not gone
        elif gone:
            end = affix[-1] if self.suffix else affix[0]
            lengths = self.by_end[end]
            lengths.remove(len(affix))
            if not lengths.counts:
                del self.by_end[end]
                if ord(end) < ASCII_CHARS:
                    self.ascii_ends[ord(end)] = None

    def collect(self, s: str, out: list[Any], start: int = 0) -> None:
        """Append the values stored under every affix of ``s`` (for prefixes: of ``s[start:]``)."""
        get = self.table.map.get
        found = get("")
        if found is not None:
            out += found
        n = len(s)
        if start >= n:
            return
        lengths = self.by_end.get(s[-1] if self.suffix else s[start])
        if lengths is None:
            return
        if self.suffix:
            for length in lengths.sorted:
                if length > n:
                    break
                found = get(s[n - length :])
                if found is not None:
                    out += found
        else:
            for length in lengths.sorted:
                if start + length > n:
                    break
                found = get(s[start : start + length])
                if found is not None:
                    out += found

    def sizeof_items(self) -> list[Any]:
        items: list[Any] = [self.table.map, self.table.refs, self.by_end, self.ascii_ends]
        for lengths in self.by_end.values():
            items += [lengths, lengths.sorted, lengths.counts]
        return items


class _AffixFamily(Family):
    __slots__ = ("affixes",)
    suffix = False
    fold = False

    def __init__(self) -> None:
        super().__init__()
        self.affixes = AffixTable(self.suffix)

    def _added(self, cond: Any, target: Any) -> bool:
        self.affixes.add(cond.value, target)
        return False

    def _removed(self, cond: Any, target: Any) -> bool:
        self.affixes.remove(cond.value, target)
        return False

    def on_str(self, value: str, out: list[Any]) -> None:  # type: ignore[override]
        self.affixes.collect(value.lower() if self.fold else value, out)

    def sizeof_items(self) -> list[Any]:
        return [self.targets, *self.affixes.sizeof_items()]


class PrefixFamily(_AffixFamily):
    __slots__ = ()
    name = "prefix"


class SuffixFamily(_AffixFamily):
    __slots__ = ()
    name = "suffix"
    suffix = True


class PrefixIgnoreCaseFamily(_AffixFamily):
    __slots__ = ()
    name = "prefix-ic"
    fold = True


class SuffixIgnoreCaseFamily(_AffixFamily):
    __slots__ = ()
    name = "suffix-ic"
    suffix = True
    fold = True
