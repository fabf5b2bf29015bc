"""Which implementation runs the per-event hot path (flatten + walk): the pure-Python reference
(_flatten.py, _walk.py) or the compiled accelerator (_speedups.c, built at install when a C compiler
is present). Both read the same machine; the same tests and the conformance corpus run against both.

The switch: ``RuleSet(engine=...)``, or the environment variable EVENTMESH_PATTERNS_ENGINE, read
when a rule set is created: ``auto`` (the default: the accelerator when it was built, else Python),
``python``, or ``c`` (an error when the accelerator is not built).
"""

from __future__ import annotations

import os
from types import ModuleType

import msgspec

from eventmesh.patterns._flatten import PathNode, Values
from eventmesh.patterns._numbers import eventbridge_number
from eventmesh.patterns._states import Edge, State
from eventmesh.patterns._walk import walk_arrays
from eventmesh.patterns.ops import Lengths, Table
from eventmesh.patterns.ops.anything_but import AnythingButFamily
from eventmesh.patterns.ops.cidr import CidrFamily
from eventmesh.patterns.ops.exact import NumberFamily
from eventmesh.patterns.ops.exists import ExistsFamily
from eventmesh.patterns.ops.ignore_case import EqualsIgnoreCaseFamily
from eventmesh.patterns.ops.numeric import IntervalIndex, RangeFamily
from eventmesh.patterns.ops.prefix_suffix import (
    AffixTable,
    PrefixFamily,
    PrefixIgnoreCaseFamily,
    SuffixFamily,
    SuffixIgnoreCaseFamily,
)
from eventmesh.patterns.ops.wildcard import MIDDLE_SCAN_MAX, Wildcard, WildcardFamily, WildcardIndex
from eventmesh.twins import built

__all__ = ["ENGINE_ENV", "AUTO", "PYTHON", "C", "ENGINES", "available", "resolve", "speedups"]

ENGINE_ENV = "EVENTMESH_PATTERNS_ENGINE"
AUTO = "auto"
PYTHON = "python"
C = "c"
ENGINES = (AUTO, PYTHON, C)

# None when not built (no compiler at install): the pure-Python engine serves alone.
speedups: ModuleType | None = built("eventmesh.patterns._speedups")

if speedups is not None:  # tell it the classes it reads (their slot offsets), once per process
    speedups.init(
        State, Edge, PathNode, Values, Table, AffixTable, Lengths, IntervalIndex, NumberFamily,
        EqualsIgnoreCaseFamily, PrefixFamily, SuffixFamily, PrefixIgnoreCaseFamily, SuffixIgnoreCaseFamily,
        RangeFamily, CidrFamily, ExistsFamily, WildcardFamily, WildcardIndex, Wildcard, AnythingButFamily,
        eventbridge_number, walk_arrays, MIDDLE_SCAN_MAX,
    )
    speedups.init_raw(msgspec.Raw)  # the JSON text an event may keep as text (_text.py)


def available() -> tuple[str, ...]:
    """The engines this installation can run."""
    return (PYTHON, C) if speedups is not None else (PYTHON,)


def resolve(engine: str | None) -> str:
    """``python`` or ``c`` for a requested engine (None: the environment variable, else auto)."""
    name = engine if engine is not None else os.environ.get(ENGINE_ENV, AUTO)
    if name not in ENGINES:
        raise ValueError(f"pattern engine must be one of {ENGINES}, not {name!r}")
    if name == AUTO:
        return C if speedups is not None else PYTHON
    if name == C and speedups is None:
        raise ValueError("the compiled pattern engine is not built in this installation (no C compiler at install)")
    return name
