"""``exists``
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-exists-matching).
``true`` matches any leaf value, ``null`` included, but not an object or an empty array (AWS-verified).
``false`` matches only when no leaf is at the path: the machine takes it as an *absent* transition of
the edge (_states.py), so it is never indexed here.

Index (ExistsFamily): the next states of the ``exists: true`` conditions on an edge, all returned for
any value: O(1) plus the answer.
"""

from __future__ import annotations

from typing import Any

from eventmesh.patterns.ops import Condition, Family, Table

__all__ = ["Exists", "ExistsFamily"]


class Exists(Condition):
    __slots__ = ("present",)

    def __init__(self, present: bool) -> None:
        self.present = present

    @property
    def family(self) -> str:  # type: ignore[override]
        return "exists" if self.present else "absent"

    def matches(self, value: Any) -> bool:
        return self.present

    def describe(self) -> str:
        return f'{{"exists": {"true" if self.present else "false"}}}'


class ExistsFamily(Family):
    __slots__ = ("table",)
    name = "exists"

    def __init__(self) -> None:
        super().__init__()
        self.table = Table()

    def _added(self, cond: Exists, target: Any) -> bool:
        self.table.add(None, target)
        return False

    def _removed(self, cond: Exists, target: Any) -> bool:
        self.table.remove(None, target)
        return False

    def on_str(self, value: Any, out: list[Any]) -> None:  # type: ignore[override]
        out += self.table.map[None]

    def on_num(self, value: Any, key: Any, out: list[Any]) -> None:  # type: ignore[override]
        out += self.table.map[None]

    on_lit = on_str  # type: ignore[assignment]

    def sizeof_items(self) -> list[Any]:
        return [self.targets, self.table.map, self.table.refs]
