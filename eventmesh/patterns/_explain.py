"""Why an event does not match: for the sub-rule that came closest, the first field (in path order)
that failed, or the array-consistency reason. Used by ``Pattern.explain`` / ``FilterPolicy.explain``
and ``eventmesh test-pattern --explain``; slow and simple on purpose (not a hot path)."""

from __future__ import annotations

import json
from typing import Any

from eventmesh.patterns._flatten import leaves
from eventmesh.patterns._machine import Machine
from eventmesh.patterns._walk import consistent_match

__all__ = ["explain"]

# Values of one field shown in a failure message.
SHOWN_VALUES = 5


def explain(machine: Machine, event: dict[str, Any]) -> str:
    by_field: dict[int, list[tuple[Any, Any]]] = {}
    for fid, value, mem in leaves(event, machine.paths.root()):
        by_field.setdefault(fid, []).append((value, mem))
    best: tuple[int, str] | None = None
    for record in machine.records():
        failures = []
        for spec in record.fields:
            values = [v for v, _ in by_field.get(spec.fid, ())]
            wanted = ", ".join(c.describe() for c in spec.conds)
            if spec.absent_ok:
                wanted = (wanted + ", " if wanted else "") + '{"exists": false}'
            if not values:
                if not spec.absent_ok:
                    failures.append(
                        f"{spec.path}: the event has no value at this path (pattern wants [{wanted}])"
                    )
            elif not any(c.matches(v) for v in values for c in spec.conds):
                shown = ", ".join(json.dumps(v) for v in values[:SHOWN_VALUES])
                failures.append(f"{spec.path}: {shown} does not match [{wanted}]")
        if not failures and not consistent_match(record.fields, by_field):
            failures.append(
                "every field has a matching value, but not all from the same element of an array "
                "(array-consistent matching)"
            )
        if failures and (best is None or len(failures) < best[0]):
            best = (len(failures), failures[0])
    return best[1] if best else "no match"
