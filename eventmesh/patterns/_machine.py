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

from collections.abc import Callable, Hashable, Iterable, Sequence
from itertools import count
from typing import Any

from eventmesh.patterns._flatten import PathNode, _object, build_trie
from eventmesh.patterns._numbers import NumberKey
from eventmesh.patterns._parse import SubRule
from eventmesh.patterns.ops import Collectors, Condition, Hit
from eventmesh.patterns.ops.anything_but import build_anything_but
from eventmesh.patterns.ops.cidr import build_cidr
from eventmesh.patterns.ops.exact import ExactString, build_numbers
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


# Re-choose all anchors when this fraction of the sub-rules was added since the last time.
REANCHOR_FRACTION = 0.1


class FieldIndex:
    """Every condition registered on one path, and the indexes built from them."""

    __slots__ = ("path", "entries", "counts", "exact", "on_str", "on_num", "on_lit")

    def __init__(self, path: str) -> None:
        self.path = path
        self.entries: list[tuple[Condition, Hit]] = []
        self.counts: dict[Any, int] = {}  # registrations per equality value (anchor choice)
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

    __slots__ = (
        "rule",
        "need",
        "optional",
        "fields",
        "deferred",
        "deferred_mask",
        "checks",
        "loose",
        "multi",
    )

    def __init__(
        self,
        rule: Hashable,
        fields: list[tuple[str, FieldIndex, tuple[Condition, ...], bool, int]],
        deferred: Sequence[tuple[str, FieldIndex, tuple[Condition, ...], bool, int]] = (),
    ) -> None:
        self.rule = rule
        self.fields = tuple(fields)
        self.need = sum(f[4] for f in fields)
        self.optional = sum(f[4] for f in fields if f[3])
        self.deferred = tuple(deferred)  # fields checked only once the anchor field has matched
        self.deferred_mask = sum(f[4] for f in deferred)
        self.loose = self.deferred_mask | self.optional  # bits that may be satisfied after the index
        self.multi = len(fields) > 1
        # per deferred field: (index, exact strings as a set, predicates of the other conditions, bit)
        self.checks = tuple(
            (
                index,
                frozenset(c.value for c in conds if type(c) is ExactString),  # type: ignore[attr-defined]
                tuple(c.predicate() for c in conds if type(c) is not ExactString),
                bit,
            )
            for _, index, conds, _, bit in deferred
        )


class Machine:
    """Sub-rules of many rules over shared field indexes. ``match(event)`` returns the rule keys."""

    def __init__(self, numkey: NumberKey) -> None:
        self._numkey = numkey
        self._fields: dict[str, FieldIndex] = {}
        self._path_refs: dict[str, int] = {}  # sub-rule fields using each path
        self._subrules: dict[int, SubRuleRecord] = {}
        self._by_rule: dict[Hashable, list[int]] = {}
        self._zero: set[SubRuleRecord] = set()  # sub-rules that may match with no value (all exists:false)
        self._ids = count()
        self._dirty: set[FieldIndex] = set()
        self._root = PathNode()
        self._trie_stale = False
        self._anchored_at = 0  # sub-rules when anchors were last chosen with everything known
        self._added_since = 0

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
                for cond in positive:
                    key = _equality_key(cond)
                    if key is not None:
                        index.counts[key] = index.counts.get(key, 0) + 1
                fields.append((path, index, positive, len(positive) != len(conds), 1 << bit_no))
            self._register(sr, rule, fields)
            ids.append(sr)
        self._by_rule[rule] = ids
        self._added_since += len(ids)

    def _register(
        self, sr: int, rule: Hashable, fields: list[tuple[str, FieldIndex, tuple[Condition, ...], bool, int]]
    ) -> None:
        # Hits carry the record itself (hashed by identity) so the hot path needs no id -> record lookup.
        anchor = _choose_anchor(fields)
        deferred = [] if anchor is None else [f for f in fields if f is not anchor and f[2]]
        record = SubRuleRecord(rule, fields, deferred)
        for _, index, positive, _, bit in fields if anchor is None else [anchor]:
            for cond in positive:
                index.entries.append((cond, (record, bit)))  # type: ignore[arg-type]
            self._dirty.add(index)
        self._subrules[sr] = record
        if record.need == record.optional:
            self._zero.add(record)

    def _reanchor(self) -> None:
        """Choose every sub-rule's anchor again now that all values are known (rules added early chose
        theirs before the crowded values were known). Amortised: runs when the sub-rules added since
        the last time reach REANCHOR_FRACTION of all of them."""
        for index in self._fields.values():
            index.entries = []
            self._dirty.add(index)
        self._zero.clear()
        for sr, record in list(self._subrules.items()):
            self._register(sr, record.rule, list(record.fields))
        self._anchored_at = len(self._subrules)
        self._added_since = 0

    def remove(self, rule: Hashable) -> bool:
        ids = self._by_rule.pop(rule, None)
        if ids is None:
            return False
        for sr in ids:
            record = self._subrules.pop(sr)
            self._zero.discard(record)
            for path, index, positive, _, _ in record.fields:
                for cond in positive:
                    key = _equality_key(cond)
                    if key is not None:
                        index.counts[key] -= 1
                        if not index.counts[key]:
                            del index.counts[key]
                index.entries = [e for e in index.entries if e[1][0] is not record]
                self._dirty.add(index)
                self._path_refs[path] -= 1
                if not self._path_refs[path]:
                    del self._path_refs[path]
                    self._fields.pop(path, None)
                    self._dirty.discard(index)
                    self._trie_stale = True
        return True

    def _refresh(self) -> None:
        if self._added_since and self._added_since >= REANCHOR_FRACTION * len(self._subrules):
            self._reanchor()
        for index in self._dirty:
            index.rebuild()
        self._dirty.clear()
        if self._trie_stale:
            self._root = build_trie(self._fields)
            self._trie_stale = False

    def match(self, event: dict) -> set[Hashable]:  # type: ignore[type-arg]
        """The keys of the rules matching a decoded event (a dict)."""
        records = self.matching_subrules(event)
        if len(records) == 1:  # the common case, without a comprehension's frame
            return {records[0].rule}
        return {record.rule for record in records}

    def matching_subrules(self, event: dict) -> list[SubRuleRecord]:  # type: ignore[type-arg]
        if self._dirty or self._trie_stale:
            self._refresh()
        leaves: list[Any] = []
        if self._root.children:
            _object(event, self._root.children, None, leaves, None)
        masks: dict[Any, int] = {}
        get = masks.get
        numkey = self._numkey
        for index, value, _ in leaves:
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
        return self._decide(masks, leaves)

    def _decide(self, masks: dict[Any, int], leaves: list[Any]) -> list[SubRuleRecord]:
        """Sub-rules whose every field is satisfied. Hot path: the candidate record's deferred fields
        are checked against the event's values at their path (set membership for exact strings)."""
        matched = []
        nested: bool | None = None  # does any leaf sit in an array of objects? (asked only if needed)
        by_field: dict[FieldIndex, Any] | None = None
        present: set[FieldIndex] | None = None
        items: Iterable[tuple[SubRuleRecord, int]] = masks.items()
        if self._zero:
            items = list(items) + [(r, 0) for r in self._zero if r not in masks]
        for record, mask in items:
            need = record.need
            if mask != need and (mask | record.loose) != need:
                continue
            multi = record.multi
            if multi and nested is None:
                nested = False
                for leaf in leaves:
                    if leaf[2] is not None:
                        nested = True
                        break
            if mask == need and not (multi and nested):
                matched.append(record)
                continue
            if multi and nested:
                if _consistent_match(record.fields, _with_membership(leaves)):
                    matched.append(record)
                continue
            checks = record.checks
            if checks and len(leaves) <= _SCAN_LEAVES:
                # few leaves (the common envelope pattern): scanning them beats building by_field
                for index, strings, tests, bit in checks:
                    for leaf in leaves:
                        if leaf[0] is index:
                            value = leaf[1]
                            if value in strings or (tests and _any_test(tests, value)):
                                mask |= bit
                                break
                if mask == need:
                    matched.append(record)
                    continue
            elif checks:
                if by_field is None:
                    # one value per field is the rule; a field with several values gets a _Values list
                    by_field = {}
                    for leaf in leaves:
                        index = leaf[0]
                        if index in by_field:
                            found = by_field[index]
                            if type(found) is _Values:
                                found.append(leaf[1])
                            else:
                                by_field[index] = _Values((found, leaf[1]))
                        else:
                            by_field[index] = leaf[1]
                for index, strings, tests, bit in checks:
                    if index not in by_field:
                        continue
                    value = by_field[index]
                    if type(value) is _Values:
                        for one in value:
                            if one in strings or _any_test(tests, one):
                                mask |= bit
                                break
                    elif value in strings or (tests and _any_test(tests, value)):
                        mask |= bit
                if mask == need:
                    matched.append(record)
                    continue
            if (need & ~mask) & ~record.optional:
                continue
            if present is None:
                present = {leaf[0] for leaf in leaves}
            if any(f[1] in present for f in record.fields if f[4] & ~mask):
                continue
            matched.append(record)
        return matched


# Up to this many leaves, deferred checks scan the leaves instead of grouping them by field.
_SCAN_LEAVES = 8


class _Values(list):  # type: ignore[type-arg]
    """Several values of one field in one event (arrays)."""


def _any_test(tests: tuple[Any, ...], value: Any) -> bool:
    for test in tests:
        if test(value):
            return True
    return False


def _with_membership(leaves: list[Any]) -> dict[FieldIndex, list[tuple[Any, Any]]]:
    by_field: dict[FieldIndex, list[tuple[Any, Any]]] = {}
    for index, value, mem in leaves:
        by_field.setdefault(index, []).append((value, mem))
    return by_field


# Operator families by how few values they let through: the matcher indexes one "anchor" field per
# sub-rule, the most selective one, and checks the others only for sub-rules whose anchor matched.
# Anything-but and exists let almost every value through, so they never anchor.
_FAMILY_RANK = {
    "exact": 0,
    "number": 0,
    "equals-ic": 1,
    "cidr": 2,
    "prefix": 3,
    "prefix-ic": 3,
    "suffix": 3,
    "suffix-ic": 3,
    "wildcard": 4,
    "range": 5,
}
_UNRANKED = 99


def _equality_key(cond: Condition) -> Any:
    family = cond.family
    if family == "exact":
        return cond.value  # type: ignore[attr-defined]
    if family == "number":
        return ("#", cond.key if cond.key is not None else cond.text)  # type: ignore[attr-defined]
    return None


def _choose_anchor(fields: list[tuple[str, FieldIndex, tuple[Condition, ...], bool, int]]) -> Any:
    """The field to index for a sub-rule, or None to index every field (no selective field).

    A field qualifies when it must have a value (no ``exists: false``) and all its conditions rank.
    Among those: the best family rank, then the fewest rules already registered for the field's
    equality values (so a low-cardinality field like detail-type yields to source), then path order.
    """
    best = None
    best_cost: tuple[int, int] | None = None
    for field in fields:
        _, index, conds, absent_ok, _ = field
        if absent_ok or not conds:
            continue
        rank = max(_FAMILY_RANK.get(c.family, _UNRANKED) for c in conds)
        if rank == _UNRANKED:
            continue
        crowd = max(index.counts.get(_equality_key(c), 0) for c in conds) if rank == 0 else 0
        cost = (rank, crowd)
        if best_cost is None or cost < best_cost:
            best, best_cost = field, cost
    return best


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


def _consistent_match(
    fields: Sequence[tuple[str, FieldIndex, tuple[Condition, ...], bool, int]],
    by_field: dict[FieldIndex, list[tuple[Any, Any]]],
) -> bool:
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
