"""Shared helpers of the EventBridge tests: a recording target and, until ``eventmesh.patterns``
exports its public face, a naive stand-in matcher (a loop over rules) with the same API."""

from __future__ import annotations

import fnmatch
import sys
import types
from collections.abc import Mapping
from typing import Any

import msgspec

from eventmesh.effects import Delivery, DeliveryResult

try:
    from eventmesh.patterns import RuleSet as _RealRuleSet  # noqa: F401
except ImportError:  # pragma: no cover - only while the pattern engine is being written
    _MISSING = object()

    class InvalidPatternError(ValueError):
        def __init__(self, reason: str) -> None:
            self.code = "InvalidEventPatternException"
            self.message = "Event pattern is not valid. Reason: " + reason
            super().__init__(self.message)

    def _leaf_ok(cond: Any, value: Any) -> bool:
        if not isinstance(cond, dict):
            return value is not _MISSING and value == cond and type(value) is type(cond)
        (op, arg), = cond.items()
        if op == "exists":
            return (value is not _MISSING) == arg
        if value is _MISSING:
            return False
        if op == "prefix":
            return isinstance(value, str) and value.startswith(arg)
        if op == "suffix":
            return isinstance(value, str) and value.endswith(arg)
        if op == "equals-ignore-case":
            return isinstance(value, str) and value.lower() == arg.lower()
        if op == "wildcard":
            return isinstance(value, str) and fnmatch.fnmatchcase(value, arg)
        if op == "anything-but":
            return value not in (arg if isinstance(arg, list) else [arg])
        if op == "numeric":
            ops = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__,
                   "=": float.__eq__}
            return isinstance(value, (int, float)) and all(
                ops[arg[i]](float(value), float(arg[i + 1])) for i in range(0, len(arg), 2))
        raise InvalidPatternError(f"Unrecognized match type {op}")

    def _match(pattern: Mapping[str, Any], event: Any) -> bool:
        for key, cond in pattern.items():
            value = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
            if isinstance(cond, dict):
                if not _match(cond, value if isinstance(value, Mapping) else {}):
                    return False
                continue
            values = value if isinstance(value, list) else [value]
            if not any(_leaf_ok(c, v) for c in cond for v in values):
                return False
        return True

    def _check(pattern: Any) -> None:
        if not isinstance(pattern, dict):
            raise InvalidPatternError("Filter is not an object")
        for key, cond in pattern.items():
            if isinstance(cond, dict):
                _check(cond)
            elif not isinstance(cond, list):
                raise InvalidPatternError(f'"{key}" must be an object or an array')
            elif not cond:
                raise InvalidPatternError("Empty arrays are not allowed")
            else:
                for c in cond:
                    if isinstance(c, dict):
                        _leaf_ok(c, None)

    class Pattern:
        def __init__(self, text: str) -> None:
            try:
                self.tree = msgspec.json.decode(text)
            except msgspec.DecodeError:
                raise InvalidPatternError("malformed JSON") from None
            _check(self.tree)

        def matches(self, event: Any) -> bool:
            if isinstance(event, (str, bytes)):
                event = msgspec.json.decode(event)
            return _match(self.tree, event)

    def compile_pattern(text: str) -> Pattern:
        return Pattern(text)

    class RuleSet:
        def __init__(self) -> None:
            self.rules: dict[str, Pattern] = {}

        def add(self, name: str, text: str) -> None:
            self.rules[name] = Pattern(text)

        def remove(self, name: str) -> None:
            self.rules.pop(name, None)

        def matches(self, event: Any) -> set[str]:
            if isinstance(event, (str, bytes)):
                event = msgspec.json.decode(event)
            return {name for name, p in self.rules.items() if p.matches(event)}

    stand_in = types.ModuleType("eventmesh.patterns")
    stand_in.RuleSet = RuleSet  # type: ignore[attr-defined]
    stand_in.compile_pattern = compile_pattern  # type: ignore[attr-defined]
    stand_in.InvalidPatternError = InvalidPatternError  # type: ignore[attr-defined]
    sys.modules["eventmesh.patterns"] = stand_in

ACCOUNT = "000000000000"
REGION = "us-east-1"


def sqs_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


class Recorder:
    """A delivery target that records what it accepts and answers from a script of results."""

    def __init__(self, arn: str, *results: DeliveryResult) -> None:
        self.arn = arn
        self.batches: list[tuple[float, list[Delivery], str]] = []
        self.results = list(results)
        self.clock: Any = None

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        self.batches.append((self.clock.now() if self.clock else 0.0, list(items), source_arn))
        return self.results.pop(0) if self.results else DeliveryResult(True)

    @property
    def bodies(self) -> list[str]:
        return [item.body for _, items, _ in self.batches for item in items]

    @property
    def items(self) -> list[Delivery]:
        return [item for _, items, _ in self.batches for item in items]


def recorder(mesh: Any, arn: str, *results: DeliveryResult) -> Recorder:
    rec = Recorder(arn, *results)
    rec.clock = mesh.clock
    mesh.add(rec)
    return rec
