"""Size of a compiled rule set: states, edges, conditions and the memory they hold.

``RuleSet.statistics()`` answers with a frozen RuleSetStatistics. Memory is the ``sys.getsizeof`` sum
of every object the machine owns (states, edges, their tables, the family indexes, the conditions and
the compiled sub-rules), each counted once; it leaves out the rule names and the pattern text, which
belong to the caller. O(size of the machine): read it when asked, never on a hot path.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import msgspec

from eventmesh.patterns._machine import Machine
from eventmesh.patterns._states import State

__all__ = ["RuleSetStatistics", "machine_statistics"]


class RuleSetStatistics(msgspec.Struct, frozen=True, gc=False):
    """What a RuleSet holds: rules, their sub-rules (``$or`` branches), the machine's states and edges,
    the conditions registered on the edges, and the bytes all of it takes."""

    rules: int
    sub_rules: int
    states: int
    edges: int
    conditions: int
    memory_bytes: int

    @property
    def bytes_per_rule(self) -> float:
        return self.memory_bytes / self.rules if self.rules else 0.0


class _Sizer:
    __slots__ = ("seen", "total")

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.total = 0

    def add(self, *objects: Any) -> None:
        for obj in objects:
            if obj is not None and id(obj) not in self.seen:
                self.seen.add(id(obj))
                self.total += sys.getsizeof(obj)

    def add_all(self, objects: Iterable[Any]) -> None:
        self.add(*objects)


def machine_statistics(machine: Machine) -> RuleSetStatistics:
    sizer = _Sizer()
    states = edges = conditions = 0
    todo: list[State] = [machine.root]
    while todo:
        state = todo.pop()
        states += 1
        sizer.add(state, state.edges, state.by_fid, state.absent, state.rules, state.names, state.parent)
        sizer.add_all(state.edges)
        for _, edge in state.edges:
            edges += 1
            sizer.add(edge, edge.exact, edge.families, edge.steps, edge.absent)
            sizer.add(edge.on_str, edge.on_num, edge.on_lit)
            sizer.add_all(edge.exact.values())
            for step, following in edge.steps.items():
                conditions += len(step.conds)
                sizer.add(step, step.conds)
                sizer.add_all(step.conds)
                todo.append(following)
            for family in edge.families.values():
                sizer.add(family)
                for container in family.sizeof_items():
                    sizer.add(container)
                    if isinstance(container, dict):
                        sizer.add_all(container.values())
                        sizer.add_all(k for k in container if isinstance(k, tuple))
    sub_rules = 0
    for record in machine.records():
        sub_rules += 1
        sizer.add(record, record.fields)
        sizer.add_all(record.fields)
    paths = machine.paths
    sizer.add(paths.ids, paths.refs)
    return RuleSetStatistics(
        rules=len(machine), sub_rules=sub_rules, states=states, edges=edges, conditions=conditions,
        memory_bytes=sizer.total,
    )
