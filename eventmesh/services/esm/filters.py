"""FilterCriteria: EventBridge pattern syntax over the Lambda
record, with the SQS ``body`` / Kinesis ``data`` format rules.

A pattern compiles once (at create/update) with the pattern engine, so ESM filters accept and
match exactly what EventBridge does (every operator, ``$or``, wildcard, cidr); what is particular
to mappings is only the data format rule of the table.
https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
"""

from __future__ import annotations

import base64
from typing import Any

import msgspec

from eventmesh.patterns import InvalidPatternError, Pattern, compile_pattern
from eventmesh.services.lambda_.errors import InvalidParameterValueException

__all__ = ["Filter", "compile_filter", "MAX_FILTER_PATTERN_CHARS"]

MAX_FILTER_PATTERN_CHARS = 4_096          # each Pattern string
INVALID = "Invalid filter pattern definition."
_DATA_KEY = {"sqs": "body", "kinesis": "data"}
_decode = msgspec.json.Decoder()


class Filter:
    """One compiled pattern; ``match(record)`` takes the Lambda record as a dict."""

    __slots__ = ("compiled", "data_is_json", "data_key", "kind", "pattern")

    def __init__(self, pattern: dict[str, Any], kind: str, compiled: Pattern) -> None:
        self.pattern = pattern
        self.compiled = compiled
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
                return False   # format mismatch: dropped
            record = dict(record)
            if self.kind == "sqs":
                record["body"] = parsed
            else:
                record["kinesis"] = {**record["kinesis"], "data": parsed}
        return self.compiled.matches(record)


def compile_filter(text: str, kind: str) -> Filter:
    if len(text) > MAX_FILTER_PATTERN_CHARS:
        raise InvalidParameterValueException(INVALID)
    try:
        pattern = _decode.decode(text.encode())
        compiled = compile_pattern(text)
    except (msgspec.DecodeError, InvalidPatternError):
        raise InvalidParameterValueException(INVALID) from None
    if not isinstance(pattern, dict) or not pattern:
        raise InvalidParameterValueException(INVALID)
    if kind == "kinesis":
        kinesis = pattern.get("kinesis")
        data = kinesis.get("data") if isinstance(kinesis, dict) else None
        if data is not None and not isinstance(data, dict):
            raise InvalidParameterValueException(INVALID)   # non-JSON data pattern rejected
    return Filter(pattern, kind, compiled)
