"""``wildcard``: ``*`` matches any run of characters, ``\\*`` a literal star, ``\\\\`` a backslash; any
other escape, a trailing backslash and ``**`` are rejected, and so is a pattern whose matching could
keep too many states alive at once (spec eventbridge.md §4; limit in _budget.py).

Index: patterns are bucketed by their literal text before the first ``*``; a value only runs the
regexes of the buckets its own prefixes select (O(distinct literal-prefix lengths) lookups, then one
``fullmatch`` per candidate). Patterns starting with ``*`` share the empty bucket and run for every
value of the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from eventmesh.patterns._budget import check_wildcard_complexity
from eventmesh.patterns._errors import PatternSyntaxError
from eventmesh.patterns.ops import Collectors, Condition, Hit, Masks, apply_hits, group
from eventmesh.patterns.ops.prefix_suffix import affix_lookup

__all__ = ["Wildcard", "parse_wildcard", "build_wildcard"]


def parse_wildcard(text: str) -> list[str | None]:
    """The pattern as tokens: a literal character, or None for ``*``. Raises on invalid forms."""
    tokens: list[str | None] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 < n and text[i + 1] in "*\\":
                tokens.append(text[i + 1])
                i += 2
                continue
            raise PatternSyntaxError(f"Invalid escape character at pos {i + 1}")
        if c == "*":
            if tokens and tokens[-1] is None and text[i - 1] == "*":
                raise PatternSyntaxError(f"Consecutive wildcard characters at pos {i}")
            tokens.append(None)
        else:
            tokens.append(c)
        i += 1
    return tokens


class Wildcard(Condition):
    __slots__ = ("text", "regex", "literal_prefix")
    family = "wildcard"

    def __init__(self, text: str) -> None:
        tokens = parse_wildcard(text)
        check_wildcard_complexity(tokens)
        self.text = text
        self.regex = re.compile("".join(".*" if t is None else re.escape(t) for t in tokens), re.DOTALL)
        prefix = []
        for t in tokens:
            if t is None:
                break
            prefix.append(t)
        self.literal_prefix = "".join(prefix)

    def matches(self, value: Any) -> bool:
        return type(value) is str and self.regex.fullmatch(value) is not None

    def describe(self) -> str:
        import json

        return f'{{"wildcard": {json.dumps(self.text, ensure_ascii=False)}}}'

    def _key(self) -> Any:
        return self.text


def build_wildcard(entries: Sequence[tuple[Wildcard, Hit]]) -> Collectors:
    buckets = {
        prefix: tuple((regex, tuple(hits)) for regex, hits in group([(c.regex, h) for c, h in items]).items())
        for prefix, items in group([(c.literal_prefix, (c, h)) for c, h in entries]).items()
    }
    lookup = affix_lookup(buckets, suffix=False)

    def on_str(value: str, masks: Masks) -> None:
        for bucket in lookup(value):
            for regex, hits in bucket:
                if regex.fullmatch(value) is not None:
                    apply_hits(hits, masks)

    return Collectors(on_str=on_str)
