"""Filter patterns of FilterLogEvents, compiled once per request.

Supported, as CloudWatch Logs matches them (case-sensitive): terms (every term must appear),
``"quoted phrases"``, ``?term`` (any of the ``?`` terms), ``-term`` (must not appear),
``%regex%``, and JSON patterns over a JSON message: ``{ $.field = "value" }`` with ``=``, ``!=``,
``<``, ``<=``, ``>``, ``>=`` (numbers), ``*`` wildcards in strings, ``EXISTS`` / ``NOT EXISTS``,
and ``&&`` / ``||`` (left to right, parentheses around a whole comparison are accepted). Space-
delimited patterns (``[ip, user, …]``) are refused with InvalidParameterException.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from collections.abc import Callable
from typing import Any

from eventmesh.services.logs.errors import InvalidParameterException

__all__ = ["compile_filter"]

Matcher = Callable[[str], bool]
_COMPARISON = re.compile(r"^\(?\s*\$\.([\w.\[\]]+)\s*(=|!=|<=|>=|<|>|IS|NOT EXISTS|EXISTS)?\s*(.*?)\s*\)?$")


def _invalid(pattern: str) -> InvalidParameterException:
    return InvalidParameterException(f"Invalid filter pattern: {pattern}")


def compile_filter(pattern: str | None) -> Matcher:
    """A predicate over event messages (see the module docstring)."""
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text.startswith("{"):
        return _json_filter(text)
    if text.startswith("["):
        raise InvalidParameterException("Space-delimited filter patterns are not supported by eventmesh")
    try:
        terms = shlex.split(text, posix=True)
    except ValueError:
        raise _invalid(text) from None
    required: list[Matcher] = []
    optional: list[Matcher] = []
    excluded: list[Matcher] = []
    for term in terms:
        bucket = required
        if term.startswith("?") and len(term) > 1:
            bucket, term = optional, term[1:]
        elif term.startswith("-") and len(term) > 1:
            bucket, term = excluded, term[1:]
        bucket.append(_term(term))
    return lambda m: (all(t(m) for t in required) and (not optional or any(t(m) for t in optional))
                      and not any(t(m) for t in excluded))


def _term(term: str) -> Matcher:
    if len(term) > 1 and term.startswith("%") and term.endswith("%"):
        try:
            regex = re.compile(term[1:-1])
        except re.error:
            raise _invalid(term) from None
        return lambda m: regex.search(m) is not None
    return lambda m: term in m


def _json_filter(text: str) -> Matcher:
    if not text.endswith("}"):
        raise _invalid(text)
    body = text[1:-1].strip()
    clauses: list[tuple[str, Matcher]] = []   # (joiner before it, predicate)
    joiner = "&&"
    for part in re.split(r"(&&|\|\|)", body):
        part = part.strip()
        if part in ("&&", "||"):
            joiner = part
            continue
        clauses.append((joiner, _comparison(part, text)))

    def matches(message: str) -> bool:
        try:
            document = json.loads(message)
        except ValueError:
            return False
        result = True
        for i, (join, predicate) in enumerate(clauses):
            value = predicate(document)
            result = value if i == 0 else (result and value if join == "&&" else result or value)
        return result

    return matches  # type: ignore[return-value]


def _comparison(part: str, whole: str) -> Callable[[Any], bool]:
    found = _COMPARISON.match(part)
    if found is None:
        raise _invalid(whole)
    path, op, raw = found.group(1), found.group(2), found.group(3)
    keys = [k for k in re.split(r"\.|\[(\d+)\]", path) if k]

    def lookup(document: Any) -> tuple[bool, Any]:
        value = document
        for key in keys:
            if isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                return False, None
        return True, value

    if op in ("EXISTS", "NOT EXISTS") or (op == "IS" and raw in ("NULL", "TRUE", "FALSE")):
        if op == "IS":
            wanted = {"NULL": None, "TRUE": True, "FALSE": False}[raw]
            return lambda d: lookup(d) == (True, wanted)
        exists = op == "EXISTS"
        return lambda d: lookup(d)[0] == exists
    if op is None or not raw:
        raise _invalid(whole)
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        expected: Any = raw[1:-1]
    else:
        try:
            expected = float(raw)
        except ValueError:
            expected = raw
    if op in ("=", "!="):
        def equal(d: Any) -> bool:
            found_, value = lookup(d)
            if not found_:
                return False
            if isinstance(expected, float):
                return isinstance(value, (int, float)) and not isinstance(value, bool) and value == expected
            return isinstance(value, str) and fnmatch.fnmatchcase(value, expected)
        return equal if op == "=" else (lambda d: lookup(d)[0] and not equal(d))
    if not isinstance(expected, float):
        raise _invalid(whole)
    compare = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}[op]

    def ordered(d: Any) -> bool:
        found_, value = lookup(d)
        return (found_ and isinstance(value, (int, float)) and not isinstance(value, bool)
                and compare(float(value), expected))
    return ordered
