"""The many-rule matcher: sub-rules compiled into one machine of shared states, one walk per event.

* A rule's sub-rules (its ``$or`` branches) become step sequences (_states.py): one step per field,
  ordered most selective first (exact values, then ignore-case, cidr, affixes, wildcards, ranges,
  exists, anything-but, and fields that allow absence last; ties by path), so that the first step of
  a rule is the one fewest events satisfy, and rules sharing an anchor value share its state.
* Adding a rule walks down the machine creating the states it lacks, and registers each new step's
  conditions in its edge's indexes, in place: O(1) per condition in the dict tables, O(intervals
  covered) in the interval tables of ranges and CIDR blocks. Only an anything-but index (and a
  segment tree, for heavily overlapping ranges) is marked and rebuilt, for that one edge, before the
  next match. Removing a rule unregisters the steps only it used. Nothing is rebuilt machine-wide.
* Two implementations run the match over the same machine (_engines.py): the Python reference
  (``match``) and the compiled twin (``_match_accelerated``, _speedups.c).
* Matching (_walk.py) flattens the event once over the paths the rules use (_flatten.py) and walks
  from the root: O(fields on rule paths + states reached), the states reached being the matches and
  the partial matches of rules sharing their first steps, never a loop over rules.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from functools import partial
from typing import Any, NamedTuple

import msgspec

from eventmesh.patterns._engines import PYTHON, C, speedups
from eventmesh.patterns._flatten import Paths, flatten_into
from eventmesh.patterns._numbers import NumberKey
from eventmesh.patterns._parse import SubRule
from eventmesh.patterns._states import FieldSpec, State, Step
from eventmesh.patterns._text import decoded, decoded_detail
from eventmesh.patterns._walk import walk
from eventmesh.patterns.ops import Family

__all__ = ["Machine", "Record", "FAMILY_RANK"]

# Operator families by how few values they let through: a sub-rule's steps run in this order.
FAMILY_RANK = {
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
    "exists": 8,
    "anything-but": 9,
}
ABSENT_RANK = 10  # fields that also match when missing come last


class Record(NamedTuple):
    """One compiled sub-rule: its fields in path order and the state where it ends."""

    fields: tuple[FieldSpec, ...]
    state: State


def _order(spec: FieldSpec) -> tuple[int, str]:
    """Steps run most selective first: by family rank, then by path (as event-ruler orders fields).
    Ordering equal ranks by how many rules name the value instead was measured: no faster on the
    benchmarks, and twice the edges."""
    if spec.absent_ok or not spec.conds:
        return (ABSENT_RANK, spec.path)
    return (max(FAMILY_RANK[c.family] for c in spec.conds), spec.path)


class Machine:
    """Sub-rules of many rules over shared states. ``match(event)`` returns the rule keys."""

    def __init__(self, numkey: NumberKey, engine: str = PYTHON) -> None:
        self._numkey = numkey
        self.engine = engine
        if engine == C:
            assert speedups is not None
            self._accelerated = speedups.match
            self.match = self._match_accelerated  # type: ignore[method-assign]
        self._paths = Paths()
        self._root = State()
        self._batch: tuple[Any, Callable[..., set[Hashable]]] | None = None  # batch_match's, for its trie
        self._by_rule: dict[Hashable, list[Record]] = {}
        self._dirty: set[Family] = set()

    def __len__(self) -> int:
        return len(self._by_rule)

    def __contains__(self, rule: Hashable) -> bool:
        return rule in self._by_rule

    def rules(self) -> Iterable[Hashable]:
        return self._by_rule.keys()

    def records(self) -> Iterable[Record]:
        for records in self._by_rule.values():
            yield from records

    def add(self, rule: Hashable, subrules: Sequence[SubRule]) -> None:
        if rule in self._by_rule:
            self.remove(rule)
        records = []
        for sub in subrules:
            fields = []
            for path in sorted(sub):
                conds = sub[path]
                positive = tuple(c for c in conds if c.family != "absent")
                fields.append(FieldSpec(path, self._paths.acquire(path), positive, len(positive) != len(conds)))
            state = self._root
            state.refs += 1
            for spec in sorted(fields, key=_order):
                step = Step(frozenset(spec.conds), spec.absent_ok)
                edge = state.edge(spec.fid)
                following = edge.steps.get(step)
                if following is None:
                    following = State((state, edge, step))
                    edge.add_step(step, following, self._dirty)
                    if step.absent_ok:
                        state.refresh_absent()
                following.refs += 1
                state = following
            state.end(rule, tuple(fields))
            records.append(Record(tuple(fields), state))
        self._by_rule[rule] = records

    def remove(self, rule: Hashable) -> bool:
        records = self._by_rule.pop(rule, None)
        if records is None:
            return False
        for record in records:
            state: State | None = record.state
            record.state.unend(rule)
            while state is not None:
                state.refs -= 1
                parent = state.parent
                if parent is None:
                    break
                above, edge, step = parent
                if not state.refs:
                    edge.remove_step(step, self._dirty)
                    if step.absent_ok:
                        above.refresh_absent()
                    if not edge:
                        above.drop_edge(edge.fid)
                state = above
            for spec in record.fields:
                self._paths.release(spec.path)
        return True

    def _refresh(self) -> None:
        for family in self._dirty:
            family.rebuild()
        self._dirty.clear()

    def match(self, event: dict[str, Any] | msgspec.Raw) -> set[Hashable]:
        """The keys of the rules matching a decoded event (a dict), whose ``detail`` (or the whole
        event) may be kept as JSON text (_text.py): the reference decodes it, the twin reads it."""
        if not isinstance(event, dict):
            event = decoded(event)
        elif type(event.get("detail")) is msgspec.Raw:
            event = decoded_detail(dict(event))
        if not isinstance(event, dict):  # as the compiled twin answers a Raw that is not an object
            raise ValueError("a Raw event value that compact() did not make")
        if self._dirty:
            self._refresh()
        children = self._paths.root().children
        F: dict[int, Any] = {}
        X: dict[int, list[Any]] = {}
        if children:
            flatten_into(event, children, F, X)
        return walk(self._root, F, self._numkey, X or None)

    def _match_accelerated(self, event: dict[str, Any] | msgspec.Raw) -> set[Hashable]:
        """``match`` through the compiled twin of flatten_into + walk (_speedups.c)."""
        result: set[Hashable] = self._accelerated(self._root, self._ready_trie(), self._numkey, event)
        return result

    def _ready_trie(self) -> Any:
        """The paths trie, with every family index rebuilt that a rule change left stale."""
        if self._dirty:
            self._refresh()
        trie = self._paths.trie  # the trie, when no rule change since the last match voided it
        return trie if trie is not None else self._paths.root()

    def batch_match(self) -> Callable[[dict[str, Any] | msgspec.Raw], set[Hashable]]:
        """``match`` for a batch of events while no rule changes (a bus's PutEvents request): on
        the compiled twin, its C function with the machine's state bound (no Python frame per
        event); the reference's own ``match`` otherwise."""
        if self.engine != C:
            return self.match
        trie = self._ready_trie()
        if self._batch is None or self._batch[0] is not trie:
            self._batch = (trie, partial(self._accelerated, self._root, trie, self._numkey))
        return self._batch[1]

    @property
    def root(self) -> State:
        return self._root

    @property
    def paths(self) -> Paths:
        return self._paths
