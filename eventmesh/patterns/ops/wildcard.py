"""``wildcard``: ``*`` matches any run of characters, ``\\*`` a literal star, ``\\\\`` a backslash; any
other escape, a trailing backslash and ``**`` are rejected, and so is a pattern whose matching could
keep too many states alive at once
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-wildcard-matching;
the limit is in _budget.py).

Index (WildcardIndex): each pattern is filed under its most selective literal anchor, so that a value
only checks the patterns whose anchor it carries:

* no ``*``: an exact string (one dict probe);
* a literal before the first ``*`` (``arn:aws:s3:::bucket/*``): the prefix table, probed once per
  distinct prefix length; ``P*`` needs no further check, ``P*S`` a length and ``endswith`` check,
  anything else one regex ``fullmatch``;
* ``*`` first, a literal after the last ``*`` (``*.png``): the suffix table, likewise;
* ``*`` alone: every string;
* ``*`` at both ends (``*/lib/*``): filed under one MIDDLE_GRAM_CHARS-character piece of its literal
  text (_gram); up to MIDDLE_SCAN_MAX such pieces are tried with a substring test each, more are
  found by probing, at each position of the value, the pieces that start with its character there
  (AffixTable): O(value length), whatever their count.

Cost: O(distinct anchor lengths) probes plus one check per pattern whose anchor the value carries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from eventmesh.patterns._budget import check_wildcard_complexity
from eventmesh.patterns._errors import PatternSyntaxError
from eventmesh.patterns.ops import Condition, Family, Table
from eventmesh.patterns.ops.prefix_suffix import AffixTable

__all__ = [
    "Wildcard", "parse_wildcard", "WildcardIndex", "WildcardFamily", "MIDDLE_SCAN_MAX", "MIDDLE_GRAM_CHARS",
]

# Up to this many ``*x*`` patterns on one index are tried one by one; beyond, substrings are probed.
MIDDLE_SCAN_MAX = 16
# ``*x*`` patterns are filed under one substring of their literal text of this many characters.
MIDDLE_GRAM_CHARS = 4
Check = Callable[[str], Any] | None


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
    """A wildcard pattern; ``where`` / ``anchor`` / ``check`` say how WildcardIndex files it."""

    __slots__ = ("text", "tokens", "regex", "where", "anchor", "check", "tail", "least")
    family = "wildcard"

    def __init__(self, text: str) -> None:
        tokens = parse_wildcard(text)
        check_wildcard_complexity(tokens)
        self.text = text
        self.tokens = tuple(tokens)
        self.regex = re.compile("".join(".*" if t is None else re.escape(t) for t in tokens), re.DOTALL)
        segments = _segments(self.tokens)
        self.where, self.anchor, self.check = _filing(self, segments)
        # a P*S pattern's check, as data for the compiled lookup: len(s) >= least and s.endswith(tail)
        one_star = len(segments) == 2 and all(segments)
        self.tail = segments[1] if one_star else ""
        self.least = len(segments[0]) + len(segments[1]) if one_star else 0

    def matches(self, value: Any) -> bool:
        return type(value) is str and self.regex.fullmatch(value) is not None

    def describe(self) -> str:
        return f'{{"wildcard": {json.dumps(self.text, ensure_ascii=False)}}}'

    def _key(self) -> Any:
        return self.text


def _segments(tokens: tuple[str | None, ...]) -> list[str]:
    """The literal runs between stars, empty ones included (``a*b*`` -> ``["a", "b", ""]``)."""
    runs: list[str] = []
    current: list[str] = []
    for t in tokens:
        if t is None:
            runs.append("".join(current))
            current = []
        else:
            current.append(t)
    runs.append("".join(current))
    return runs


def _filing(w: Wildcard, segments: list[str]) -> tuple[str, str, Check]:
    """(table, anchor, what remains to check once the anchor matched: None, a cheap test or the regex)."""
    if len(segments) == 1:
        return "exact", segments[0], None
    check: Check = w.regex.fullmatch
    if len(segments) == 2:  # one star: P*S
        head, tail = segments
        least = len(head) + len(tail)
        check = None if not head or not tail else (lambda s: len(s) >= least and s.endswith(tail))
    if segments[0]:
        return "prefix", segments[0], check
    if segments[-1]:
        return "suffix", segments[-1], check
    if len(segments) == 2:
        return "every", "", None
    return "middle", _gram(segments), check


def _gram(segments: list[str]) -> str:
    """The substring of MIDDLE_GRAM_CHARS a ``*x*`` pattern is filed under: among its segments' grams
    the one with the most distinct characters, the rightmost of those (numbers and names tend to sit
    at the end); a pattern whose segments are all shorter is filed under its longest segment."""
    longest = max(segments, key=len)
    if len(longest) <= MIDDLE_GRAM_CHARS:
        return longest
    grams = [seg[i : i + MIDDLE_GRAM_CHARS] for seg in segments for i in range(len(seg) - MIDDLE_GRAM_CHARS + 1)]
    return max(reversed(grams), key=lambda g: len(set(g)))


class WildcardIndex:
    """Wildcard patterns -> items (next states, or anything-but positions), filed by anchor."""

    __slots__ = ("exact", "prefixes", "suffixes", "every", "middles")

    def __init__(self) -> None:
        self.exact = Table()
        self.prefixes = AffixTable(suffix=False)  # anchor -> (pattern, item)
        self.suffixes = AffixTable(suffix=True)
        self.every = Table()  # key None: the ``*`` pattern
        self.middles = AffixTable(suffix=False)  # a piece of the literal text -> (pattern, item)

    def add(self, w: Wildcard, item: Any) -> None:
        where = w.where
        if where == "exact":
            self.exact.add(w.anchor, item)
        elif where == "prefix":
            self.prefixes.add(w.anchor, (w, item))
        elif where == "suffix":
            self.suffixes.add(w.anchor, (w, item))
        elif where == "every":
            self.every.add(None, item)
        else:
            self.middles.add(w.anchor, (w, item))

    def remove(self, w: Wildcard, item: Any) -> None:
        where = w.where
        if where == "exact":
            self.exact.remove(w.anchor, item)
        elif where == "prefix":
            self.prefixes.remove(w.anchor, (w, item))
        elif where == "suffix":
            self.suffixes.remove(w.anchor, (w, item))
        elif where == "every":
            self.every.remove(None, item)
        else:
            self.middles.remove(w.anchor, (w, item))

    def collect(self, s: str, out: list[Any]) -> None:
        """Append the item of every pattern ``s`` matches."""
        exact = self.exact.map.get(s)
        if exact is not None:
            out += exact
        if self.every.map:
            out += self.every.map[None]
        candidates: list[Any] = []
        if self.prefixes:
            self.prefixes.collect(s, candidates)
        if self.suffixes:
            self.suffixes.collect(s, candidates)
        if self.middles:
            self._middles(s, candidates)
        for w, item in candidates:
            check = w.check
            if check is None or check(s):
                out.append(item)

    def _middles(self, s: str, out: list[Any]) -> None:
        entries = self.middles.table.map
        if len(entries) <= MIDDLE_SCAN_MAX:
            for anchor, group in entries.items():
                if anchor in s:
                    out += group
            return
        found: list[Any] = []
        by_first = self.middles.by_end
        get = entries.get
        n = len(s)
        for i, c in enumerate(s):  # the pieces at each position; one probe where no piece starts
            lengths = by_first.get(c)
            if lengths is not None:
                for length in lengths.sorted:
                    if i + length > n:
                        break
                    items = get(s[i : i + length])
                    if items is not None:
                        found += items
        if len(found) > 1:  # a piece seen twice in the value must not check its patterns twice
            found = list({id(item): item for item in found}.values())
        out += found

    def sizeof_items(self) -> list[Any]:
        return [
            self.exact.map, self.exact.refs, *self.prefixes.sizeof_items(), *self.suffixes.sizeof_items(),
            self.every.map, self.every.refs, *self.middles.sizeof_items(),
        ]


class WildcardFamily(Family):
    __slots__ = ("index",)
    name = "wildcard"

    def __init__(self) -> None:
        super().__init__()
        self.index = WildcardIndex()

    def _added(self, cond: Wildcard, target: Any) -> bool:
        self.index.add(cond, target)
        return False

    def _removed(self, cond: Wildcard, target: Any) -> bool:
        self.index.remove(cond, target)
        return False

    def on_str(self, value: str, out: list[Any]) -> None:  # type: ignore[override]
        self.index.collect(value, out)

    def sizeof_items(self) -> list[Any]:
        return [self.targets, *self.index.sizeof_items()]
