"""``prefix`` and ``suffix`` (strings only; spec eventbridge.md §4), with their equals-ignore-case forms.

Index: one dict per family from affix to hits, probed once per distinct affix length, so a value costs
O(distinct lengths) dict lookups however many rules share the field. Case-insensitive forms compare
lower-cased text (event-ruler folds each character both ways; ``str.lower`` agrees outside a few
special letters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eventmesh.patterns.ops import Collectors, Condition, Hit, Masks, apply_hits, group

__all__ = ["Prefix", "Suffix", "PrefixIgnoreCase", "SuffixIgnoreCase", "affix_lookup"]


class Prefix(Condition):
    __slots__ = ("value",)
    family = "prefix"

    def __init__(self, value: str) -> None:
        self.value = value

    def matches(self, value: Any) -> bool:
        return type(value) is str and value.startswith(self.value)

    def predicate(self) -> Any:
        prefix = self.value
        return lambda value: type(value) is str and value.startswith(prefix)

    def describe(self) -> str:
        return f'{{"prefix": {_q(self.value)}}}'


class Suffix(Condition):
    __slots__ = ("value",)
    family = "suffix"

    def __init__(self, value: str) -> None:
        self.value = value

    def matches(self, value: Any) -> bool:
        return type(value) is str and value.endswith(self.value)

    def predicate(self) -> Any:
        suffix = self.value
        return lambda value: type(value) is str and value.endswith(suffix)

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


def _q(s: str) -> str:
    import json

    return json.dumps(s, ensure_ascii=False)


def affix_lookup(affixes: dict[str, Any], suffix: bool) -> Callable[[str], list[Any]]:
    """A function returning the values stored under every affix of ``s`` present in ``affixes``."""
    lengths = sorted({len(a) for a in affixes})
    get = affixes.get
    if suffix:

        def lookup(s: str) -> list[Any]:
            n = len(s)
            found = []
            for length in lengths:
                if length > n:
                    break
                v = get(s[n - length :])
                if v is not None:
                    found.append(v)
            return found
    else:

        def lookup(s: str) -> list[Any]:
            n = len(s)
            found = []
            for length in lengths:
                if length > n:
                    break
                v = get(s[:length])
                if v is not None:
                    found.append(v)
            return found

    return lookup


def _build(entries: Sequence[tuple[Any, Hit]], suffix: bool, fold: bool) -> Collectors:
    table = {k: tuple(v) for k, v in group([(c.value, h) for c, h in entries]).items()}
    lookup = affix_lookup(table, suffix)

    def on_str(value: str, masks: Masks) -> None:
        for hits in lookup(value.lower() if fold else value):
            apply_hits(hits, masks)

    return Collectors(on_str=on_str)


def build_prefix(entries: Sequence[tuple[Any, Hit]]) -> Collectors:
    return _build(entries, suffix=False, fold=False)


def build_suffix(entries: Sequence[tuple[Any, Hit]]) -> Collectors:
    return _build(entries, suffix=True, fold=False)


def build_prefix_ic(entries: Sequence[tuple[Any, Hit]]) -> Collectors:
    return _build(entries, suffix=False, fold=True)


def build_suffix_ic(entries: Sequence[tuple[Any, Hit]]) -> Collectors:
    return _build(entries, suffix=True, fold=True)
