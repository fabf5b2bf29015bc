"""Payload templates: per-event fields a load generator fills in, and sample files it replays.

A template is any YAML value. Strings may hold ``{…}`` fields; a string that is exactly one
field takes the field's type (``"{uniform(5, 500)}"`` becomes a JSON number), fields inside
longer strings are text (``"order-{counter}"``). ``{{`` and ``}}`` are literal braces.

==========================  =====================================================================
field                       value
==========================  =====================================================================
``counter``, ``counter(n)``  1, 2, 3 … (from ``n``), per template
``uniform(a, b)``           a float in [a, b] (2 decimals); ``randint(a, b)``: an int
``choice(a, b, c)``         one of the values, equally likely; ``choice(a=3, b=1)`` weighted
``zipf(n, s)``              ``key-<k>`` for k in 1..n drawn with P(k) ∝ 1/k^s: skewed keys
``hot(p, n)``               ``hot`` with probability p, else one of ``key-1`` … ``key-<n>``
``uuid``                    a random UUID v4;  ``now``: the virtual time, ISO 8601
``pad(n)``                  n characters (to give a payload its size)
==========================  =====================================================================

A template is compiled once into literal pieces and field functions, so rendering an event is
one ``str.join`` (a template without fields renders the same string every time, for nothing).
Every draw comes from the generator's own seeded random source.
"""

from __future__ import annotations

import bisect
import itertools
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from eventmesh.ids import uuid4_from

__all__ = ["Template", "TemplateError", "compile_template", "read_samples"]

_FIELD = re.compile(r"\{([a-z_]+)(?:\(([^{}]*)\))?\}")
_MARK = "\ue000"   # a private-use character marks a field's slot in the encoded JSON
_encode = msgspec.json.encode
_ROUND_DIGITS = 2
# The kinds of a field's values (_Fields.build): strings, quoted in JSON; numbers, written with
# str; text already as it is written (a counter's digits, a string template's quoted JSON).
QUOTED, NUMBER, TEXT = "quoted", "number", "text"


class TemplateError(ValueError):
    """A template field that cannot be compiled."""


class Template:
    """A compiled template: :meth:`render` gives the next event's text (``constant``: always
    ``text``, and callers may use it without calling)."""

    __slots__ = ("constant", "render", "text")

    def __init__(self, parts: list[str | Callable[[], str]]) -> None:
        merged: list[str | Callable[[], str]] = []
        for part in parts:   # adjacent literals become one
            if isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] = merged[-1] + part
            elif part != "":
                merged.append(part)
        functions = [p for p in merged if not isinstance(p, str)]
        self.constant = not functions
        self.text = "".join(p for p in merged if isinstance(p, str)) if self.constant else ""
        self.render: Callable[[], str] = _renderer(merged, functions, self.text)


def _renderer(parts: list[str | Callable[[], str]], functions: list[Callable[[], str]],
              text: str) -> Callable[[], str]:
    """The template's text per event: the literals joined once, the fields' text concatenated in
    between (for the common one- and two-field templates: 55 ns a field, where a ``str.format``
    call parsed its format string each time, 180 ns), one ``str.format`` call for more."""
    if not functions:
        return lambda: text
    if len(parts) == 1:
        return functions[0]
    literals = [""]   # the literal text before each field, and after the last
    for p in parts:
        if isinstance(p, str):
            literals[-1] += p
        else:
            literals.append("")
    if len(functions) == 1:
        (f0,), (before, after) = functions, literals
        return lambda: before + f0() + after
    if len(functions) == 2:
        (f0, f1), (before, between, after) = functions, literals
        return lambda: before + f0() + between + f1() + after
    fmt = "".join(p.replace("{", "{{").replace("}", "}}") if isinstance(p, str) else "{}" for p in parts)
    form = fmt.format
    return lambda: form(*[f() for f in functions])


class _Fields:
    """Builds field functions over one random source and clock."""

    def __init__(self, rng: Any, now: Callable[[], float]) -> None:
        self.random = rng
        self.now = now

    def build(self, name: str, args: str | None) -> tuple[Callable[[], Any], str]:
        """The field's function and the kind of its values: QUOTED strings (quoted in JSON),
        NUMBER (written with ``str``), or TEXT (already the text to write, as is)."""
        rng = self.random
        values = [a.strip() for a in args.split(",")] if args else []
        try:
            if name in ("counter", "seq"):
                counter = itertools.count(int(values[0]) if values else 1)
                return map(str, counter).__next__, TEXT   # already its text: a JSON number as is
            if name == "uniform":
                low, high = float(values[0]), float(values[1])
                return (lambda: round(rng.uniform(low, high), _ROUND_DIGITS)), NUMBER
            if name == "randint":
                low_i, high_i = int(values[0]), int(values[1])
                return (lambda: rng.randint(low_i, high_i)), NUMBER
            if name == "choice":
                return self._choice(values), QUOTED
            if name == "zipf":
                return self._zipf(int(values[0]), float(values[1]) if len(values) > 1 else 1.0), QUOTED
            if name == "hot":
                share, n = float(values[0]), int(values[1])
                keys = [f"key-{i}" for i in range(1, n + 1)]
                return (lambda: "hot" if rng.random() < share else keys[int(rng.random() * n)]), QUOTED
            if name == "uuid":
                return (lambda: uuid4_from(rng.getrandbits(128))), QUOTED
            if name == "now":
                return (lambda: _iso(self.now())), QUOTED
            if name == "pad":
                filler = "x" * int(values[0])
                return (lambda: filler), QUOTED
        except (ValueError, IndexError, ZeroDivisionError):
            raise TemplateError(f"bad arguments in {{{name}({args or ''})}}") from None
        raise TemplateError(f"unknown field {{{name}}} (counter, uniform, randint, choice, zipf, hot, uuid, now, pad)")

    def _choice(self, values: list[str]) -> Callable[[], str]:
        if not values:
            raise ValueError("choice needs values")
        rng = self.random
        if any("=" in v for v in values):
            names, weights = [], []
            for v in values:
                name, _, weight = v.partition("=")
                names.append(name.strip())
                weights.append(float(weight or 1))
            cumulative = list(itertools.accumulate(weights))
            total = cumulative[-1]
            if total <= 0:
                raise ValueError("weights")
            return lambda: names[bisect.bisect_right(cumulative, rng.random() * total)]
        n = len(values)
        return lambda: values[int(rng.random() * n)]

    def _zipf(self, n: int, s: float) -> Callable[[], str]:
        if n < 1:
            raise ValueError("zipf needs n >= 1")
        cumulative = list(itertools.accumulate(1.0 / k ** s for k in range(1, n + 1)))
        total = cumulative[-1]
        keys = [f"key-{k}" for k in range(1, n + 1)]
        rng = self.random
        return lambda: keys[min(n - 1, bisect.bisect_right(cumulative, rng.random() * total))]


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + f".{int((t % 1) * 1000):03d}Z"


def compile_template(value: Any, rng: Any, now: Callable[[], float], *, as_json: bool) -> Template:
    """Compile ``value``: ``as_json`` renders it as JSON text (a string template then renders
    its own text, unquoted, as a message body or record data usually is)."""
    fields = _Fields(rng, now)
    if isinstance(value, str):
        return Template(_string_parts(value, fields, escape=False))
    slots: list[tuple[Callable[[], Any], str]] = []

    def mark(node: Any) -> Any:
        if isinstance(node, dict):
            return {str(k): mark(v) for k, v in node.items()}
        if isinstance(node, list):
            return [mark(v) for v in node]
        if isinstance(node, str) and ("{" in node or "}" in node):
            whole = _FIELD.fullmatch(node) if "{{" not in node else None
            if whole is not None:
                slots.append(fields.build(whole.group(1), whole.group(2)))
                return f"{_MARK}{len(slots) - 1}{_MARK}"
            inner = _string_parts(node, fields, escape=True)
            slots.append((lambda: '"' + "".join([p if isinstance(p, str) else p() for p in inner]) + '"', TEXT))
            return f"{_MARK}{len(slots) - 1}{_MARK}"
        return node

    text = _encode(mark(value)).decode()
    parts: list[str | Callable[[], str]] = []
    pieces = text.split(f'"{_MARK}')
    parts.append(pieces[0])
    for piece in pieces[1:]:
        index, _, rest = piece.partition(f'{_MARK}"')
        function, kind = slots[int(index)]
        parts.append(_quoted(function) if kind == QUOTED else _plain(function) if kind == NUMBER else function)
        parts.append(rest)
    return Template(parts)


def _quoted(function: Callable[[], Any]) -> Callable[[], str]:
    return lambda: _encode(function()).decode()


def _plain(function: Callable[[], Any]) -> Callable[[], str]:
    return lambda: str(function())


def _string_parts(text: str, fields: _Fields, *, escape: bool) -> list[str | Callable[[], str]]:
    parts: list[str | Callable[[], str]] = []
    text = text.replace("{{", _OPEN).replace("}}", _CLOSE)
    position = 0
    for match in _FIELD.finditer(text):
        literal = text[position:match.start()]
        if literal:
            parts.append(_literal(literal, escape))
        function, kind = fields.build(match.group(1), match.group(2))
        # Unescaped, a field's text is its string itself (no call around it) or a number's str.
        parts.append(_escaped(function) if escape else _plain(function) if kind == NUMBER else function)
        position = match.end()
    if text[position:]:
        parts.append(_literal(text[position:], escape))
    return parts


_OPEN, _CLOSE = "", ""   # literal braces while fields are found


def _literal(text: str, escape: bool) -> str:
    text = text.replace(_OPEN, "{").replace(_CLOSE, "}")
    return _encode(text).decode()[1:-1] if escape else text


def _escaped(function: Callable[[], Any]) -> Callable[[], str]:
    return lambda: _encode(str(function())).decode()[1:-1]


def read_samples(path: Path) -> list[str]:
    """The lines of a sample file (JSON Lines or plain text), blank lines skipped."""
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line]
