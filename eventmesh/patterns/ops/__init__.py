"""One module per operator family: each defines the Condition classes of its operators (with a plain
``matches(value)`` used for array-consistency checks, ``--explain`` and tests) and ``build(entries)``,
which turns every condition of that family registered on one field into value indexes.

A built index answers, for one event value, which (sub-rule, field-bit) pairs it satisfies, by OR-ing
the bit into ``masks[sub_rule]``. Collectors are grouped by the event value's JSON type:

* ``on_str(value, masks)`` for strings,
* ``on_num(value, key, masks)`` for numbers (``key`` is the flavour's comparable float or None),
* ``on_lit(value, masks)`` for ``null``, ``true`` and ``false``.

Cost model: each family's lookup is O(1) or O(distinct lengths / log n) in the number of conditions on
the field, plus the number of hits it produces; never a loop over rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

__all__ = ["Condition", "Hit", "Masks", "Collectors", "apply_hits", "NO_COLLECTORS"]

Hit = tuple[int, int]  # (sub-rule id, bit of the field inside that sub-rule)
Masks = dict[int, int]


class Condition:
    """One entry of a field's OR-list, e.g. ``{"prefix": "us-"}``."""

    __slots__ = ()
    family = ""

    def matches(self, value: Any) -> bool:
        """True when a present event value (str, int, float, bool or None) satisfies this condition."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def predicate(self) -> Callable[[Any], bool]:
        """A fast ``matches`` for the matcher's hot path (conditions override it with a closure)."""
        return self.matches

    def __repr__(self) -> str:
        return self.describe()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    def _key(self) -> Any:
        names: tuple[str, ...] = self.__slots__  # type: ignore[assignment]
        return tuple(getattr(self, name) for name in names)


class Collectors(NamedTuple):
    on_str: Callable[[str, Masks], None] | None = None
    on_num: Callable[[Any, float | None, Masks], None] | None = None
    on_lit: Callable[[Any, Masks], None] | None = None


NO_COLLECTORS = Collectors()


def apply_hits(hits: Sequence[Hit], masks: Masks) -> None:
    get = masks.get
    for sr, bit in hits:
        masks[sr] = get(sr, 0) | bit


def group(entries: Sequence[tuple[Any, Any]]) -> dict[Any, list[Any]]:
    """Second items grouped by the first (for dict indexes)."""
    out: dict[Any, list[Any]] = {}
    for key, hit in entries:
        out.setdefault(key, []).append(hit)
    return out
