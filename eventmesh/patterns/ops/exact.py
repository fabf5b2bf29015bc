"""Exact values: strings, ``null``, ``true``, ``false`` and numbers.

Strings and literals are looked up in one dict per edge, inline in the matcher's loop (the common
case, O(1); the dict lives on the edge, see _states.py). Numbers compare by comparable key (``[300]``
matches ``300.0``, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
and the AWS-verified corpus); a pattern number that cannot be compared (outside the double range)
only matches the same literal text, as event-ruler keeps both forms. NumberFamily: two dicts, O(1).
"""

from __future__ import annotations

import json
from typing import Any

from eventmesh.patterns.ops import Condition, Family, Table

__all__ = ["ExactString", "ExactLiteral", "ExactNumber", "NumberFamily", "number_text"]

_LITERAL_TEXT = {None: "null", True: "true", False: "false"}


class ExactString(Condition):
    __slots__ = ("value",)
    family = "exact"

    def __init__(self, value: str) -> None:
        self.value = value

    def matches(self, value: Any) -> bool:
        return type(value) is str and value == self.value

    def describe(self) -> str:
        return json.dumps(self.value, ensure_ascii=False)


class ExactLiteral(Condition):
    """``null``, ``true`` or ``false``; never equal to the strings "null", "true", "false"."""

    __slots__ = ("value",)
    family = "exact"

    def __init__(self, value: bool | None) -> None:
        self.value = value

    def matches(self, value: Any) -> bool:
        return value is self.value

    def describe(self) -> str:
        return _LITERAL_TEXT[self.value]


class ExactNumber(Condition):
    """A number in a value list, or ``{"numeric": ["=", n]}``. ``key`` is None when not comparable."""

    __slots__ = ("text", "key", "numkey")
    family = "number"

    def __init__(self, text: str, key: float | None, numkey: Any) -> None:
        self.text = text
        self.key = key
        self.numkey = numkey

    def matches(self, value: Any) -> bool:
        if type(value) not in (int, float):
            return False
        if self.key is None:
            return number_text(value) == self.text
        return self.numkey(value) == self.key

    def describe(self) -> str:
        return self.text

    def _key(self) -> Any:
        return (self.text, self.key)


def number_text(value: int | float) -> str:
    """The JSON text of a decoded number (used only for numbers that are not comparable)."""
    return repr(value) if type(value) is float else str(value)


class NumberFamily(Family):
    """Exact numbers on one edge: comparable keys in one dict, uncomparable literals in another."""

    __slots__ = ("keys", "texts")
    name = "number"

    def __init__(self) -> None:
        super().__init__()
        self.keys = Table()
        self.texts = Table()

    def _added(self, cond: ExactNumber, target: Any) -> bool:
        if cond.key is None:
            self.texts.add(cond.text, target)
        else:
            self.keys.add(cond.key, target)
        return False

    def _removed(self, cond: ExactNumber, target: Any) -> bool:
        if cond.key is None:
            self.texts.remove(cond.text, target)
        else:
            self.keys.remove(cond.key, target)
        return False

    def on_num(self, value: Any, key: float | None, out: list[Any]) -> None:  # type: ignore[override]
        if key is not None:
            found = self.keys.map.get(key)
            if found is not None:
                out += found
        if self.texts.map:
            found = self.texts.map.get(number_text(value))
            if found is not None:
                out += found

    def sizeof_items(self) -> list[Any]:
        return [self.targets, self.keys.map, self.keys.refs, self.texts.map, self.texts.refs]
