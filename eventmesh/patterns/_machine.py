"""The many-rule matcher: field indexes keyed by path, sub-rules as bit masks, one pass per event.

Everything that decides whether a compiled sub-rule matches an event lives here.

* Each sub-rule (one ``$or`` branch of one rule) gets an id; each of its fields a bit. A field's
  conditions are registered in the field's index with the hit ``(sub-rule id, bit)``.
* Matching an event: flatten it once (only paths some rule uses, _flatten.py), look each leaf up in
  its field's index (exact values inline in a dict, other operator families through their own
  indexes, ops/), OR the hits' bits into ``masks[sub_rule]``. A sub-rule matches when its mask is
  full; a field that allows ``{"exists": false}`` also counts when no leaf is at its path.
* Array consistency (aws/event-ruler ACFinder): values a sub-rule uses must come from the same element
  of any array of objects they share. Only events with leaves inside arrays of objects need it; there
  a candidate sub-rule is confirmed by a small search over its fields in sorted path order, which also
  gives ``exists: false`` event-ruler's meaning (absent among the elements chosen so far).

Cost per event: O(leaves on rule paths + hits produced), independent of the number of rules except
through the hits (a value satisfying many rules' conditions, e.g. ``anything-but``, costs one step
per satisfied condition). Indexes are rebuilt lazily, per field, after add/remove.
"""

from __future__ import annotations

from itertools import count
from typing import Any, Callable, Hashable, Iterable, Sequence

from eventmesh.patterns._flatten import PathNode, _object, build_trie
from eventmesh.patterns._numbers import NumberKey
from eventmesh.patterns._parse import SubRule
from eventmesh.patterns.ops import Collectors, Condition, Hit
from eventmesh.patterns.ops.anything_but import build_anything_but
from eventmesh.patterns.ops.cidr import build_cidr
from eventmesh.patterns.ops.exact import build_numbers
from eventmesh.patterns.ops.exists import build_exists
from eventmesh.patterns.ops.ignore_case import build_equals_ic
from eventmesh.patterns.ops.numeric import build_ranges
from eventmesh.patterns.ops.prefix_suffix import build_prefix, build_prefix_ic, build_suffix, build_suffix_ic
from eventmesh.patterns.ops.wildcard import build_wildcard

__all__ = ["Machine", "FieldIndex", "SubRuleRecord"]

# Index builders by operator family (the "exact" family is the inline dict, "absent" is not indexed).
BUILDERS: dict[str, Callable[[Sequence[tuple[Any, Hit]]], Collectors]] = {
    "number": build_numbers,
    "range": build_ranges,
    "prefix": build_prefix,
    "suffix": build_suffix,
    "prefix-ic": build_prefix_ic,
    "suffix-ic": build_suffix_ic,
    "equals-ic": build_equals_ic,
    "wildcard": build_wildcard,
    "cidr": build_cidr,
    "exists": build_exists,
    "anything-but": build_anything_but,
}


class FieldIndex:
    """Every condition registered on one path, and the indexes built from them."""

    __slots__ = ("path", "entries", "exact", "on_str", "on_num", "on_lit")

    def __init__(self, path: str) -> None:
        self.path = path
        self.entries: list[tuple[Condition, Hit]] = []
        self.exact: dict[Any, tuple[Hit, ...]] = {}
        self.on_str: tuple[Callable[..., None], ...] = ()
        self.on_num: tuple[Callable[..., None], ...] = ()
        self.on_lit: tuple[Callable[..., None], ...] = ()

    def rebuild(self) -> None:
        exact: dict[Any, list[Hit]] = {}
        families: dict[str, list[tuple[Any, Hit]]] = {}
        for cond, hit in self.entries:
            family = cond.family
            if family == "exact":
                exact.setdefault(cond.value, []).append(hit)  # type: ignore[attr-defined]
            else:
                families.setdefault(family, []).append((cond, hit))
        self.exact = {k: tuple(v) for k, v in exact.items()}
        built = [BUILDERS[f](items) for f, items in sorted(families.items())]
        self.on_str = tuple(c.on_str for c in built if c.on_str is not None)
        self.on_num = tuple(c.on_num for c in built if c.on_num is not None)
        self.on_lit = tuple(c.on_lit for c in built if c.on_lit is not None)


class SubRuleRecord:
    """One branch of one rule: ``need`` has a bit per field, ``optional`` the bits of fields that
    allow ``{"exists": false}``; ``fields`` are (path, index, positive conditions, absent ok, bit),
    sorted by path as event-ruler orders them."""

    __slots__ = ("rule", "need", "optional", "fields")

    def __init__(self, rule: Hashable, fields: list[tuple[str, FieldIndex, tuple[Condition, ...], bool, int]]) -> None:
        self.rule = rule
        self.fields = tuple(fields)
        self.need = sum(f[4] for f in fields)
        self.optional = sum(f[4] for f in fields if f[3])


class Machine:
    """Sub-rules of many rules over shared field indexes. ``match(event)`` returns the rule keys."""

    def __init__(self, numkey: NumberKey) -> None:
        self._numkey = numkey
        self._fields: dict[str, FieldIndex] = {}
        self._path_refs: dict[str, int] = {}  # sub-rule fields using each path
        self._subrules: dict[int, SubRuleRecord] = {}
        self._by_rule: dict[Hashable, list[int]] = {}
        self._zero: set[int] = set()  # sub-rules that can match without any value (all exists:false)
        self._ids = count()
        self._dirty: set[FieldIndex] = set()
        self._root = PathNode()
        self._trie_stale = False

    def __len__(self) -> int:
        return len(self._by_rule)

    def __contains__(self, rule: Hashable) -> bool:
        return rule in self._by_rule

    def rules(self) -> Iterable[Hashable]:
        return self._by_rule.keys()

    def add(self, rule: Hashable, subrules: Sequence[SubRule]) -> None:
        if rule in self._by_rule:
            self.remove(rule)
        ids = []
        for sub in subrules:
            sr = next(self._ids)
            fields = []
            for bit_no, path in enumerate(sorted(sub)):
                conds = sub[path]
                index = self._fields.get(path)
                if index is None:
                    index = self._fields[path] = FieldIndex(path)
                    self._trie_stale = True
                self._path_refs[path] = self._path_refs.get(path, 0) + 1
                positive = tuple(c for c in conds if c.family != "absent")
                absent_ok = len(positive) != len(conds)
                bit = 1 << bit_no
                for cond in positive:
                    index.entries.append((cond, (sr, bit)))
                self._dirty.add(index)
                fields.append((path, index, positive, absent_ok, bit))
            record = SubRuleRecord(rule, fields)
            self._subrules[sr] = record
            if record.need == record.optional:
                self._zero.add(sr)
            ids.append(sr)
        self._by_rule[rule] = ids

    def remove(self, rule: Hashable) -> bool:
        ids = self._by_rule.pop(rule, None)
        if ids is None:
            return False
        for sr in ids:
            record = self._subrules.pop(sr)
            self._zero.discard(sr)
            for path, index, _, _, _ in record.fields:
                index.entries = [e for e in index.entries if e[1][0] != sr]
                self._dirty.add(index)
                self._path_refs[path] -= 1
                if not self._path_refs[path]:
                    del self._path_refs[path]
                    self._fields.pop(path, None)
                    self._dirty.discard(index)
                    self._trie_stale = True
        return True

    def _refresh(self) -> None:
        for index in self._dirty:
            index.rebuild()
        self._dirty.clear()
        if self._trie_stale:
            self._root = build_trie(self._fields)
            self._trie_stale = False

    def match(self, event: dict) -> set[Hashable]:  # type: ignore[type-arg]
        """The keys of the rules matching a decoded event (a dict)."""
        subrules = self._subrules
        return {subrules[sr].rule for sr in self.matching_subrules(event)}

    def matching_subrules(self, event: dict) -> list[int]:  # type: ignore[type-arg]
        if self._dirty or self._trie_stale:
            self._refresh()
        leaves: list[Any] = []
        if self._root.children:
            _object(event, self._root.children, None, leaves, count())
        masks: dict[int, int] = {}
        get = masks.get
        numkey = self._numkey
        nested = False
        for index, value, mem in leaves:
            if mem is not None:
                nested = True
            t = type(value)
            if t is str:
                hits = index.exact.get(value)
                if hits is not None:
                    for sr, bit in hits:
                        masks[sr] = get(sr, 0) | bit
                for collect in index.on_str:
                    collect(value, masks)
            elif t is int or t is float:
                if index.on_num:
                    key = numkey(value)
                    for collect in index.on_num:
                        collect(value, key, masks)
            else:
                hits = index.exact.get(value)
                if hits is not None:
                    for sr, bit in hits:
                        masks[sr] = get(sr, 0) | bit
                for collect in index.on_lit:
                    collect(value, masks)
        if not masks and not self._zero:
            return []
        return self._decide(masks, leaves, nested)

    def _decide(self, masks: dict[int, int], leaves: list[Any], nested: bool) -> list[int]:
        subrules = self._subrules
        matched = []
        present: set[FieldIndex] | None = None
        by_field: dict[FieldIndex, list[tuple[Any, Any]]] | None = None
        candidates: Iterable[int] = masks
        if self._zero:
            candidates = list(masks) + [sr for sr in self._zero if sr not in masks]
        for sr in candidates:
            record = subrules[sr]
            mask = masks.get(sr, 0)
            need = record.need
            if (mask | record.optional) != need:
                continue
            if nested and len(record.fields) > 1:
                if by_field is None:
                    by_field = {}
                    for index, value, mem in leaves:
                        by_field.setdefault(index, []).append((value, mem))
                if _consistent_match(record.fields, by_field):
                    matched.append(sr)
                continue
            if mask != need:
                if present is None:
                    present = {leaf[0] for leaf in leaves}
                if any(f[1] in present for f in record.fields if f[4] & ~mask):
                    continue
            matched.append(sr)
        return matched


def _merge(so_far: dict[int, int], mem: Any) -> dict[int, int] | None:
    if not mem:
        return so_far
    merged = None
    for array_id, i in mem:
        j = so_far.get(array_id)
        if j is None:
            if merged is None:
                merged = dict(so_far)
            merged[array_id] = i
        elif j != i:
            return None
    return so_far if merged is None else merged


def _consistent_match(fields: Sequence[tuple[str, FieldIndex, tuple[Condition, ...], bool, int]],
                      by_field: dict[FieldIndex, list[tuple[Any, Any]]]) -> bool:
    """Is there one value per field, all from the same element of every array they share?
    Fields are tried in path order; ``exists: false`` holds when no value at the path is consistent
    with the elements chosen so far (event-ruler ACFinder semantics)."""

    def step(i: int, so_far: dict[int, int]) -> bool:
        if i == len(fields):
            return True
        _, index, conds, absent_ok, _ = fields[i]
        values = by_field.get(index, ())
        if conds:
            for value, mem in values:
                if any(c.matches(value) for c in conds):
                    merged = _merge(so_far, mem)
                    if merged is not None and step(i + 1, merged):
                        return True
        if absent_ok and all(_merge(so_far, mem) is None for _, mem in values):
            return step(i + 1, so_far)
        return False

    return step(0, {})
