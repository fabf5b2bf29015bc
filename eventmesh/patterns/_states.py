"""The machine's pieces: states, the edges between them, and the steps that label the edges.

A sub-rule (one ``$or`` branch of one rule) is a sequence of *steps*, one per field it names:
``(field, conditions, absent_ok)``. Sub-rules that begin with the same steps share the states along
them (a trie over steps, as event-ruler's NameStates are shared between rules), so a value that
satisfies a step is looked up once for all of them. A state has one *edge* per field its outgoing
steps name; the edge indexes every condition of those steps (ops/, one family index per operator
family, exact strings inline) so that one lookup of an event value returns exactly the next states
whose step the value satisfies. A step that allows ``{"exists": false}`` also leads to its next state
through the edge's *absent* list, taken when the event has no value at the field.

A state where sub-rules end carries their rule names (``rules``) and the fields of that branch in
path order (``fields``, for array-consistency confirmation and ``--explain``).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, NamedTuple

from eventmesh.patterns.ops import EXACT_FAMILIES, Condition, Family
from eventmesh.patterns.ops.anything_but import AnythingButFamily
from eventmesh.patterns.ops.cidr import CidrFamily
from eventmesh.patterns.ops.exact import NumberFamily
from eventmesh.patterns.ops.exists import ExistsFamily
from eventmesh.patterns.ops.ignore_case import EqualsIgnoreCaseFamily
from eventmesh.patterns.ops.numeric import RangeFamily
from eventmesh.patterns.ops.prefix_suffix import (
    PrefixFamily,
    PrefixIgnoreCaseFamily,
    SuffixFamily,
    SuffixIgnoreCaseFamily,
)
from eventmesh.patterns.ops.wildcard import WildcardFamily

__all__ = ["State", "Edge", "Step", "FieldSpec", "FAMILIES"]

# Family index classes by Condition.family ("exact" is the edge's inline dict; "absent" its list).
FAMILIES: dict[str, type[Family]] = {
    f.name: f
    for f in (
        NumberFamily, EqualsIgnoreCaseFamily, PrefixFamily, SuffixFamily, PrefixIgnoreCaseFamily,
        SuffixIgnoreCaseFamily, WildcardFamily, CidrFamily, RangeFamily, ExistsFamily, AnythingButFamily,
    )
}


class FieldSpec(NamedTuple):
    """One field of a sub-rule: its path, field id, positive conditions, and whether absence matches."""

    path: str
    fid: int
    conds: tuple[Condition, ...]
    absent_ok: bool


class Step(NamedTuple):
    """The label of an edge transition: the conditions (as a set) and whether absence also passes."""

    conds: frozenset[Condition]
    absent_ok: bool


class State:
    """A node of the machine. ``edges`` is the hot-path view, ``(fid, Edge)`` pairs; ``by_fid`` the
    same as a dict; ``absent`` the ``(fid, next states)`` pairs taken when the field is missing."""

    __slots__ = ("edges", "by_fid", "absent", "rules", "fields", "names", "refs", "parent")

    def __init__(self, parent: tuple[State, Edge, Step] | None = None) -> None:
        self.edges: tuple[tuple[int, Edge], ...] = ()
        self.by_fid: dict[int, Edge] = {}
        self.absent: tuple[tuple[int, tuple[State, ...]], ...] = ()
        self.rules: tuple[Hashable, ...] = ()  # distinct names of the rules whose sub-rules end here
        self.fields: tuple[FieldSpec, ...] = ()  # those sub-rules' fields, in path order
        self.names: dict[Hashable, int] = {}  # sub-rules ending here, per rule name
        self.refs = 0  # sub-rules that pass through or end at this state
        self.parent = parent

    def edge(self, fid: int) -> Edge:
        found = self.by_fid.get(fid)
        if found is None:
            found = self.by_fid[fid] = Edge(fid)
            self.edges = tuple(self.by_fid.items())
        return found

    def drop_edge(self, fid: int) -> None:
        del self.by_fid[fid]
        self.edges = tuple(self.by_fid.items())
        self.refresh_absent()

    def refresh_absent(self) -> None:
        self.absent = tuple((fid, e.absent) for fid, e in self.by_fid.items() if e.absent)

    def end(self, rule: Hashable, fields: tuple[FieldSpec, ...]) -> None:
        self.names[rule] = self.names.get(rule, 0) + 1
        self.rules = tuple(self.names)
        self.fields = fields

    def unend(self, rule: Hashable) -> None:
        left = self.names[rule] - 1
        if left:
            self.names[rule] = left
        else:
            del self.names[rule]
            self.rules = tuple(self.names)


class Edge:
    """Every step leaving one state on one field, indexed for lookup by value.

    ``exact``: string / literal -> next states (inline in the walk); ``on_str`` / ``on_num`` /
    ``on_lit``: the family indexes' lookups for that JSON type; ``absent``: next states of steps
    that allow ``exists: false``; ``multi``: some step has two conditions one value can both
    satisfy, so lookups must drop duplicate states.
    """

    __slots__ = ("fid", "exact", "families", "on_str", "on_num", "on_lit", "absent", "steps", "multi")

    def __init__(self, fid: int) -> None:
        self.fid = fid
        self.exact: dict[Any, tuple[State, ...]] = {}
        self.families: dict[str, Family] = {}
        self.on_str: tuple[Any, ...] = ()
        self.on_num: tuple[Any, ...] = ()
        self.on_lit: tuple[Any, ...] = ()
        self.absent: tuple[State, ...] = ()
        self.steps: dict[Step, State] = {}
        self.multi = 0  # steps whose conditions may overlap

    def __bool__(self) -> bool:
        return bool(self.steps)

    def add_step(self, step: Step, target: State, dirty: set[Family]) -> None:
        self.steps[step] = target
        for cond in step.conds:
            family = cond.family
            if family == "exact":
                self._add_exact(cond.value, target)  # type: ignore[attr-defined]
                continue
            index = self.families.get(family)
            if index is None:
                index = self.families[family] = FAMILIES[family]()
                self._refresh_lookups()
            if index.add(cond, target):
                dirty.add(index)
        if step.absent_ok:
            self.absent = self.absent + (target,)
        if _overlapping(step):
            self.multi += 1

    def remove_step(self, step: Step, dirty: set[Family]) -> None:
        target = self.steps.pop(step)
        for cond in step.conds:
            family = cond.family
            if family == "exact":
                self._remove_exact(cond.value, target)  # type: ignore[attr-defined]
                continue
            index = self.families[family]
            rebuild = index.remove(cond, target)
            if not len(index):
                del self.families[family]
                dirty.discard(index)
                self._refresh_lookups()
            elif rebuild:
                dirty.add(index)
        if step.absent_ok:
            self.absent = tuple(s for s in self.absent if s is not target)
        if _overlapping(step):
            self.multi -= 1

    def _add_exact(self, value: Any, target: State) -> None:
        # A step holds an exact value once (its conditions are a set), so no count is needed.
        self.exact[value] = self.exact.get(value, ()) + (target,)

    def _remove_exact(self, value: Any, target: State) -> None:
        left = tuple(s for s in self.exact[value] if s is not target)
        if left:
            self.exact[value] = left
        else:
            del self.exact[value]

    def _refresh_lookups(self) -> None:
        # Sorted by family name so that lookups run in a stable order.
        families = [self.families[name] for name in sorted(self.families)]
        self.on_str = tuple(f.on_str for f in families if type(f).on_str is not None)
        self.on_num = tuple(f.on_num for f in families if type(f).on_num is not None)
        self.on_lit = tuple(f.on_lit for f in families if type(f).on_lit is not None)


def _overlapping(step: Step) -> bool:
    """Can one value satisfy two of the step's conditions (so that a lookup yields its state twice)?"""
    if len(step.conds) < 2:
        return False
    return any(c.family not in EXACT_FAMILIES for c in step.conds)
