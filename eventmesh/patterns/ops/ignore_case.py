"""``equals-ignore-case`` (strings only,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).

Index: one dict from the lower-cased pattern value to next states; a value costs one ``lower()`` and
one dict probe, O(1) however many conditions share the edge. (event-ruler folds each character both
ways; ``str.lower`` agrees outside a few special letters.)
"""

from __future__ import annotations

import json
from typing import Any

from eventmesh.patterns.ops import Condition, Family, Table

__all__ = ["EqualsIgnoreCase", "EqualsIgnoreCaseFamily"]


class EqualsIgnoreCase(Condition):
    __slots__ = ("value",)
    family = "equals-ic"

    def __init__(self, value: str) -> None:
        self.value = value.lower()

    def matches(self, value: Any) -> bool:
        return type(value) is str and value.lower() == self.value

    def describe(self) -> str:
        return f'{{"equals-ignore-case": {json.dumps(self.value, ensure_ascii=False)}}}'


class EqualsIgnoreCaseFamily(Family):
    __slots__ = ("table",)
    name = "equals-ic"

    def __init__(self) -> None:
        super().__init__()
        self.table = Table()

    def _added(self, cond: EqualsIgnoreCase, target: Any) -> bool:
        self.table.add(cond.value, target)
        return False

    def _removed(self, cond: EqualsIgnoreCase, target: Any) -> bool:
        self.table.remove(cond.value, target)
        return False

    def on_str(self, value: str, out: list[Any]) -> None:  # type: ignore[override]
        found = self.table.map.get(value.lower())
        if found is not None:
            out += found

    def sizeof_items(self) -> list[Any]:
        return [self.targets, self.table.map, self.table.refs]
