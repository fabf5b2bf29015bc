"""``exists``. ``true`` matches any leaf value, ``null`` included, but not an object or an empty array
(spec eventbridge.md §4; AWS-verified). ``false`` matches only when no leaf is at the path; the
matcher handles it as an alternative that needs no value (see _machine.py), so it is never indexed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventmesh.patterns.ops import Collectors, Condition, Hit, Masks, apply_hits

__all__ = ["Exists", "build_exists"]


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


def build_exists(entries: Sequence[tuple[Exists, Hit]]) -> Collectors:
    hits = tuple(h for _, h in entries)

    def on_str(value: Any, masks: Masks) -> None:
        apply_hits(hits, masks)

    def on_num(value: Any, key: Any, masks: Masks) -> None:
        apply_hits(hits, masks)

    return Collectors(on_str=on_str, on_num=on_num, on_lit=on_str)
