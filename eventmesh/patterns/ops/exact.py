"""Exact values: strings, ``null``, ``true``, ``false`` and numbers.

Strings and literals are looked up in one dict per field, inline in the matcher's loop (the common
case, O(1)). Numbers compare by comparable key (``[300]`` matches ``300.0``, spec eventbridge.md §4
and the AWS-verified corpus); a pattern number that cannot be compared (outside the double range)
only matches the same literal text, as event-ruler keeps both forms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventmesh.patterns.ops import Collectors, Condition, Hit, Masks, apply_hits, group

__all__ = ["ExactString", "ExactLiteral", "ExactNumber", "build_numbers"]

_LITERAL_TEXT = {None: "null", True: "true", False: "false"}


class ExactString(Condition):
    __slots__ = ("value",)
    family = "exact"

    def __init__(self, value: str) -> None:
        self.value = value

    def matches(self, value: Any) -> bool:
        return type(value) is str and value == self.value

    def describe(self) -> str:
        return _json_str(self.value)


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


def _json_str(s: str) -> str:
    import json

    return json.dumps(s, ensure_ascii=False)


def build_numbers(entries: Sequence[tuple[ExactNumber, Hit]]) -> Collectors:
    by_key = group([(c.key, h) for c, h in entries if c.key is not None])
    by_text = group([(c.text, h) for c, h in entries if c.key is None])
    keyed = {k: tuple(v) for k, v in by_key.items()}
    texts = {k: tuple(v) for k, v in by_text.items()}

    def on_num(value: Any, key: float | None, masks: Masks) -> None:
        if key is not None:
            hits = keyed.get(key)
            if hits is not None:
                apply_hits(hits, masks)
        if texts:
            hits = texts.get(number_text(value))
            if hits is not None:
                apply_hits(hits, masks)

    return Collectors(on_num=on_num)
