"""Running the machine over one flattened event: everything that decides whether rules match.

``walk`` (the common case: no leaf of the event on a rule path sits inside an array of objects):
start at the root; at each state reached, record the rules ending there, look each outgoing edge's
field up in ``F`` and push the next states the value's lookup returns (exact strings by one dict
probe, inline; the other operator families through their indexes, ops/); an edge's *absent* states
are pushed when the field has no value. Each state has one parent edge, so a state can only be
reached twice through one lookup (a field with several values, or a step whose conditions overlap);
those lookups drop duplicates, and no visited set is needed.

``walk_arrays`` (events with arrays of objects on rule paths): the same walk over (state, membership
chosen so far) pairs, a value taken only when its array elements agree with those chosen so far
(event-ruler ACFinder). The machine orders a sub-rule's steps by selectivity, not by path, and
``{"exists": false}`` inside arrays depends on the path order (absent among the elements chosen for
the fields before it); so an absent transition taken while the field has values in arrays is
*tentative*, and a sub-rule reached through one is confirmed by ``consistent_match`` in path order.

Cost per event: O(fields on rule paths + states reached), and the states reached are the ones whose
steps so far the event satisfies: the matches, and the partial matches of rules that share their
first steps with them. No loop over rules or candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from eventmesh.patterns._flatten import Values
from eventmesh.patterns._states import Edge, FieldSpec, State

__all__ = ["walk", "walk_arrays", "lookup", "consistent_match", "with_membership"]

# States with more edges than this look the event's fields up in ``by_fid`` when those are fewer.
EDGE_SCAN_MAX = 8
_MISSING = object()
_CONFLICT = object()
Membership = tuple[tuple[int, int], ...]
NumKey = Callable[[Any], "float | None"]


def walk(root: State, F: dict[int, Any], numkey: NumKey, X: dict[int, list[Any]] | None = None) -> set[Hashable]:
    """The rules matching an event flattened into ``F`` (and ``X``: field id -> [(value, membership)]
    for leaves inside arrays of objects, which send the walk on to walk_arrays)."""
    out: set[Hashable] = set()
    todo = [root]
    pop = todo.pop
    get = F.get
    arrays: list[tuple[State, Any, bool]] = []  # (state, membership so far, tentative) for walk_arrays
    while todo:
        s = pop()
        if s.rules:
            out.update(s.rules)
        edges: Any = s.edges
        if len(edges) > EDGE_SCAN_MAX and len(F) < len(edges) and X is None:
            by_fid = s.by_fid
            edges = [(fid, by_fid[fid]) for fid in F if fid in by_fid]
        for fid, e in edges:
            if X is not None and fid in X:
                _array_values(e, X[fid], None, False, numkey, arrays)
            v = get(fid, _MISSING)
            if v is _MISSING:
                continue
            t = type(v)
            if e.multi or t is Values:
                found: list[State] = []
                lookup(e, v, numkey, found)
                todo += set(found)
            elif t is str:
                hit = e.exact.get(v)
                if hit is not None:
                    todo += hit
                for op in e.on_str:
                    op(v, todo)
            elif t is int or t is float:
                if e.on_num:
                    key = numkey(v)
                    for op in e.on_num:
                        op(v, key, todo)
            else:
                hit = e.exact.get(v)
                if hit is not None:
                    todo += hit
                for op in e.on_lit:
                    op(v, todo)
        for fid, nexts in s.absent:
            if fid not in F:
                if X is not None and fid in X:
                    arrays += [(n, None, True) for n in nexts]  # absent among some elements: confirm
                else:
                    todo += nexts
    if arrays:
        walk_arrays(arrays, F, X, numkey, out)  # type: ignore[arg-type]
    return out


def _array_values(
    e: Edge, values: list[Any], so_far: Any, tentative: bool, numkey: NumKey, out: list[Any]
) -> None:
    """Append (next state, merged membership, tentative) for each value inside arrays of objects."""
    for v, mem in values:
        merged = _merge(so_far, mem)
        if merged is _CONFLICT:
            continue
        found: list[State] = []
        lookup(e, v, numkey, found)
        for n in found:
            out.append((n, merged, tentative))


def lookup(e: Edge, v: Any, numkey: NumKey, out: list[State]) -> None:
    """Append the next states one value (or each of several) reaches over edge ``e``; may repeat."""
    t = type(v)
    if t is str:
        hit = e.exact.get(v)
        if hit is not None:
            out += hit
        for op in e.on_str:
            op(v, out)
    elif t is int or t is float:
        if e.on_num:
            key = numkey(v)
            for op in e.on_num:
                op(v, key, out)
    elif t is Values:
        for one in v:
            lookup(e, one, numkey, out)
    else:
        hit = e.exact.get(v)
        if hit is not None:
            out += hit
        for op in e.on_lit:
            op(v, out)


def _merge(so_far: Membership | None, mem: Membership | None) -> Any:
    """The membership of both, or _CONFLICT when they chose different elements of one array."""
    if mem is None:
        return so_far
    if so_far is None:
        return mem
    merged = so_far
    for pair in mem:
        array_id = pair[0]
        for other, index in so_far:
            if other == array_id:
                if index != pair[1]:
                    return _CONFLICT
                break
        else:
            merged = merged + (pair,)
    return merged


def walk_arrays(
    todo: list[tuple[State, Any, bool]], F: dict[int, Any], X: dict[int, list[Any]], numkey: NumKey,
    out: set[Hashable],
) -> None:
    """Continue the walk from (state, membership so far, tentative) items, adding matches to ``out``.
    Values outside arrays of objects (``F``) agree with any membership; values inside (``X``) only
    with memberships that chose the same elements."""
    seen = set(todo)
    by_field: dict[int, list[tuple[Any, Any]]] | None = None
    while todo:
        s, so_far, tentative = todo.pop()
        if s.rules:
            if tentative:
                if by_field is None:
                    by_field = with_membership(F, X)
                if not consistent_match(s.fields, by_field):
                    continue
            out.update(s.rules)
        found: list[Any] = []
        for fid, e in s.edges:
            v = F.get(fid, _MISSING)
            if v is not _MISSING:
                states: list[State] = []
                lookup(e, v, numkey, states)
                found += [(n, so_far, tentative) for n in states]
            values = X.get(fid)
            if values is not None:
                _array_values(e, values, so_far, tentative, numkey, found)
        for fid, nexts in s.absent:
            if fid in F:
                continue  # a value outside arrays of objects agrees with any choice
            # absent among the elements path order would have chosen: confirm at the end
            maybe = tentative or fid in X
            found += [(n, so_far, maybe) for n in nexts]
        for item in found:
            if item not in seen:
                seen.add(item)
                todo.append(item)


def with_membership(F: dict[int, Any], X: dict[int, list[Any]]) -> dict[int, list[tuple[Any, Any]]]:
    """Field id -> [(value, membership)] over both kinds of leaves (for consistent_match)."""
    by_field: dict[int, list[tuple[Any, Any]]] = {fid: list(values) for fid, values in X.items()}
    for fid, v in F.items():
        plain = [(one, None) for one in v] if type(v) is Values else [(v, None)]
        by_field[fid] = plain + by_field.get(fid, [])
    return by_field


def _merge_dict(so_far: dict[int, int], mem: Any) -> dict[int, int] | None:
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


def consistent_match(fields: Sequence[FieldSpec], by_field: dict[int, list[tuple[Any, Any]]]) -> bool:
    """Is there one value per field, all from the same element of every array they share? Fields are
    tried in path order; ``exists: false`` holds when no value at the path is consistent with the
    elements chosen so far (event-ruler ACFinder semantics). The reference the walks agree with."""

    def step(i: int, so_far: dict[int, int]) -> bool:
        if i == len(fields):
            return True
        spec = fields[i]
        values = by_field.get(spec.fid, ())
        if spec.conds:
            for value, mem in values:
                if any(c.matches(value) for c in spec.conds):
                    merged = _merge_dict(so_far, mem)
                    if merged is not None and step(i + 1, merged):
                        return True
        if spec.absent_ok and all(_merge_dict(so_far, mem) is None for _, mem in values):
            return step(i + 1, so_far)
        return False

    return step(0, {})
