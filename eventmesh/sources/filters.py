"""FilterCriteria (spec event-source-mappings.md §4): EventBridge pattern syntax over the Lambda
record, with the SQS ``body`` / Kinesis ``data`` format rules.

A pattern compiles once (at create/update). Matching uses the pattern engine's
``compile_pattern`` when the package provides it, else a small built-in matcher covering the
operators AWS documents for ESM filters (exact values, null, prefix, suffix, exists,
anything-but, numeric) so mappings work before and independently of it.
"""

from __future__ import annotations

import base64
from typing import Any

import msgspec

from eventmesh.functions.errors import InvalidParameterValueException

__all__ = ["Filter", "compile_filter", "MAX_FILTER_PATTERN_CHARS"]

MAX_FILTER_PATTERN_CHARS = 4_096          # §4: each Pattern string
INVALID = "Invalid filter pattern definition."
_DATA_KEY = {"sqs": "body", "kinesis": "data"}
_decode = msgspec.json.Decoder()


class Filter:
    """One compiled pattern; ``match(record)`` takes the Lambda record as a dict."""

    __slots__ = ("data_is_json", "data_key", "kind", "pattern")

    def __init__(self, pattern: dict[str, Any], kind: str) -> None:
        self.pattern = pattern
        self.kind = kind
        self.data_key = _DATA_KEY[kind]
        data = pattern.get(self.data_key) if kind == "sqs" else (pattern.get("kinesis") or {}).get("data")
        self.data_is_json = isinstance(data, dict) if data is not None else None

    def match(self, record: dict[str, Any]) -> bool:
        """SQS/Kinesis format table: JSON data needs an object pattern, plain data a value list."""
        if self.data_is_json is not None:
            raw = record.get("body") if self.kind == "sqs" else record["kinesis"]["data"]
            if self.kind == "kinesis":
                raw = base64.b64decode(raw) if isinstance(raw, str) else raw
            try:
                parsed = _decode.decode(raw if isinstance(raw, bytes) else str(raw).encode())
                is_json = isinstance(parsed, dict)
            except msgspec.DecodeError:
                parsed, is_json = raw, False
            if is_json != self.data_is_json:
                return False   # format mismatch: dropped (§4 table)
            record = dict(record)
            if self.kind == "sqs":
                record["body"] = parsed
            else:
                record["kinesis"] = {**record["kinesis"], "data": parsed}
        return _match(self.pattern, record)


def compile_filter(text: str, kind: str) -> Filter:
    if len(text) > MAX_FILTER_PATTERN_CHARS:
        raise InvalidParameterValueException(INVALID)
    try:
        pattern = _decode.decode(text.encode())
    except msgspec.DecodeError:
        raise InvalidParameterValueException(INVALID) from None
    if not isinstance(pattern, dict) or not pattern or not _valid(pattern):
        raise InvalidParameterValueException(INVALID)
    if kind == "kinesis":
        kinesis = pattern.get("kinesis")
        data = kinesis.get("data") if isinstance(kinesis, dict) else None
        if data is not None and not isinstance(data, dict):
            raise InvalidParameterValueException(INVALID)   # §4: non-JSON data pattern rejected
    return Filter(pattern, kind)


_OPS = {"prefix", "suffix", "exists", "anything-but", "numeric", "equals-ignore-case"}


def _valid(node: dict[str, Any]) -> bool:
    for value in node.values():
        if isinstance(value, dict):
            if not value or not _valid(value):
                return False
        elif isinstance(value, list):
            if not value:
                return False
            for item in value:
                if isinstance(item, dict) and (len(item) != 1 or next(iter(item)) not in _OPS):
                    return False
        else:
            return False
    return True


def _match(pattern: dict[str, Any], event: Any) -> bool:
    if not isinstance(event, dict):
        return False
    for key, rule in pattern.items():
        present = key in event
        value = event.get(key)
        if isinstance(rule, dict):
            if not _match(rule, value if present else None):
                return False
        elif not _match_values(rule, value, present):
            return False
    return True


def _match_values(rules: list[Any], value: Any, present: bool) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(_one(rule, v, present) for rule in rules for v in values)


def _one(rule: Any, value: Any, present: bool) -> bool:
    if not isinstance(rule, dict):
        # exact match: same JSON type (1 and "1" differ; true is not 1)
        return present and rule == value and type(rule) is type(value)
    (op, arg), = rule.items()
    if op == "exists":
        return present == bool(arg)
    if not present:
        return False
    if op == "prefix":
        return isinstance(value, str) and value.startswith(arg)
    if op == "suffix":
        return isinstance(value, str) and value.endswith(arg)
    if op == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(arg).lower()
    if op == "anything-but":
        banned = arg if isinstance(arg, list) else [arg]
        return value not in banned
    if op == "numeric":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        return all(_compare(arg[i], value, arg[i + 1]) for i in range(0, len(arg) - 1, 2))
    return False


def _compare(op: str, value: float, bound: float) -> bool:
    return {"=": value == bound, "<": value < bound, "<=": value <= bound,
            ">": value > bound, ">=": value >= bound}.get(op, False)
