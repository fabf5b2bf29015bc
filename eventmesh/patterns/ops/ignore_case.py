"""``equals-ignore-case`` (strings only): one dict from the lower-cased value to hits, O(1) per value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventmesh.patterns.ops import Collectors, Condition, Hit, Masks, apply_hits, group

__all__ = ["EqualsIgnoreCase", "build_equals_ic"]


class EqualsIgnoreCase(Condition):
    __slots__ = ("value",)
    family = "equals-ic"

    def __init__(self, value: str) -> None:
        self.value = value.lower()

    def matches(self, value: Any) -> bool:
        return type(value) is str and value.lower() == self.value

    def describe(self) -> str:
        import json

        return f'{{"equals-ignore-case": {json.dumps(self.value, ensure_ascii=False)}}}'


def build_equals_ic(entries: Sequence[tuple[EqualsIgnoreCase, Hit]]) -> Collectors:
    table = {k: tuple(v) for k, v in group([(c.value, h) for c, h in entries]).items()}
    get = table.get

    def on_str(value: str, masks: Masks) -> None:
        hits = get(value.lower())
        if hits is not None:
            apply_hits(hits, masks)

    return Collectors(on_str=on_str)
