"""A strict JSON reader for patterns that keeps what the matcher needs and reports errors as AWS does.

Patterns are read by Jackson inside AWS, so syntax errors carry Jackson's wording and location, for
example ``Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token
'null', 'true' or 'false')\\n at [Source: (String)"this is not json"; line: 1, column: 5]``. The
reader also keeps numbers as written (``3.018e2`` stays text until an operator decides what it
means) and objects as ordered key/value pairs, repeats included (the last occurrence wins, but every
occurrence is validated, in document order). Anything after the root object is ignored, as the
streaming compiler in AWS stops reading there.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
"""

from __future__ import annotations

from typing import Union

from eventmesh.patterns._errors import PatternSyntaxError

__all__ = ["JsonObject", "JsonNumber", "JsonValue", "parse_json", "source_location"]

# Jackson shortens the source it quotes in locations to this many characters.
JACKSON_MAX_SOURCE_CHARS = 500
_EXPECTING_VALUE = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
_WS = " \t\r\n"
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class JsonObject:
    """An object as its (key, value) pairs in document order, repeated keys kept. Deliberately not a
    list, so that ``isinstance(v, list)`` means a JSON array."""

    __slots__ = ("pairs",)

    def __init__(self) -> None:
        self.pairs: list[tuple[str, JsonValue]] = []

    def append(self, pair: tuple[str, JsonValue]) -> None:
        self.pairs.append(pair)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> tuple[str, JsonValue]:
        return self.pairs[i]

    def __repr__(self) -> str:
        return f"JsonObject({self.pairs!r})"

    def last(self) -> dict[str, JsonValue]:
        """The object as AWS sees it: the last occurrence of each key wins."""
        return dict(self.pairs)


class JsonNumber:
    """A JSON number kept as written; operators decide whether they need it as a double."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    @property
    def is_integer_literal(self) -> bool:
        return not any(c in self.text for c in ".eE")

    def __repr__(self) -> str:
        return f"JsonNumber({self.text})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonNumber) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


JsonValue = Union[JsonObject, list, str, JsonNumber, bool, None]  # type: ignore[type-arg]  # noqa: UP007


def source_location(text: str, pos: int) -> str:
    """Jackson's ``\\n at [Source: (String)"..."; line: L, column: C]`` suffix for offset ``pos``."""
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    shown = text
    if len(shown) > JACKSON_MAX_SOURCE_CHARS:
        shown = shown[:JACKSON_MAX_SOURCE_CHARS] + f"[truncated {len(text) - JACKSON_MAX_SOURCE_CHARS} chars]"
    return f'\n at [Source: (String)"{shown}"; line: {line}, column: {column}]'


def _char_desc(c: str) -> str:
    if c < " ":
        return f"(CTRL-CHAR, code {ord(c)})"
    return f"('{c}' (code {ord(c)}))"


class _Reader:
    __slots__ = ("text", "pos", "n")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.n = len(text)

    def fail(self, message: str, pos: int | None = None) -> PatternSyntaxError:
        return PatternSyntaxError(message + source_location(self.text, self.pos if pos is None else pos))

    def skip_ws(self) -> str:
        text, n, pos = self.text, self.n, self.pos
        while pos < n and text[pos] in _WS:
            pos += 1
        self.pos = pos
        return text[pos] if pos < n else ""

    def eof(self, what: str, start: int) -> PatternSyntaxError:
        return self.fail(
            f"Unexpected end-of-input: expected close marker for {what} (start marker at"
            + source_location(self.text, start)[4:]
            + ")"
        )

    def value(self) -> JsonValue:
        c = self.skip_ws()
        if c == "{":
            return self.obj()
        if c == "[":
            return self.array()
        if c == '"':
            return self.string()
        if c == "-" or c.isdigit():
            return self.number()
        if c == "":
            raise self.fail("No content to map due to end-of-input")
        if c in "]}":
            raise self.fail(f"Unexpected close marker '{c}': expected a value")
        start = self.pos
        end = start
        while end < self.n and (self.text[end].isalnum() or self.text[end] in "_$'"):
            end += 1
        word = self.text[start:end]
        if word in ("true", "false", "null"):
            self.pos = end
            return {"true": True, "false": False, "null": None}[word]
        if end > start:
            self.pos = end
            raise self.fail(f"Unrecognized token '{word}': was expecting {_EXPECTING_VALUE}")
        self.pos += 1
        raise self.fail(f"Unexpected character {_char_desc(c)}: expected a valid value {_EXPECTING_VALUE}")

    def obj(self) -> JsonObject:
        start = self.pos
        self.pos += 1
        pairs = JsonObject()
        c = self.skip_ws()
        if c == "}":
            self.pos += 1
            return pairs
        while True:
            if c == "":
                raise self.eof("Object", start)
            if c != '"':
                self.pos += 1
                if c == "]":
                    raise self.fail(
                        "Unexpected close marker ']': expected '}' (for Object starting at"
                        + source_location(self.text, start)[4:]
                        + ")"
                    )
                raise self.fail(
                    f"Unexpected character {_char_desc(c)}: was expecting double-quote to start field name"
                )
            key = self.string()
            c = self.skip_ws()
            if c != ":":
                if c == "":
                    raise self.eof("Object", start)
                self.pos += 1
                raise self.fail(
                    f"Unexpected character {_char_desc(c)}: was expecting a colon to separate field name and value"  # noqa: E501
                )
            self.pos += 1
            pairs.append((key, self.value()))
            c = self.skip_ws()
            if c == ",":
                self.pos += 1
                c = self.skip_ws()
                continue
            if c == "}":
                self.pos += 1
                return pairs
            if c == "":
                raise self.eof("Object", start)
            self.pos += 1
            if c == "]":
                raise self.fail(
                    "Unexpected close marker ']': expected '}' (for Object starting at"
                    + source_location(self.text, start)[4:]
                    + ")"
                )
            raise self.fail(
                f"Unexpected character {_char_desc(c)}: was expecting comma to separate Object entries"
            )

    def array(self) -> list:  # type: ignore[type-arg]
        start = self.pos
        self.pos += 1
        items: list = []  # type: ignore[type-arg]
        c = self.skip_ws()
        if c == "]":
            self.pos += 1
            return items
        while True:
            if c == "":
                raise self.eof("Array", start)
            if c == "}":
                self.pos += 1
                raise self.fail(
                    "Unexpected close marker '}': expected ']' (for Array starting at"
                    + source_location(self.text, start)[4:]
                    + ")"
                )
            items.append(self.value())
            c = self.skip_ws()
            if c == ",":
                self.pos += 1
                c = self.skip_ws()
                continue
            if c == "]":
                self.pos += 1
                return items
            if c == "":
                raise self.eof("Array", start)
            self.pos += 1
            if c == "}":
                raise self.fail(
                    "Unexpected close marker '}': expected ']' (for Array starting at"
                    + source_location(self.text, start)[4:]
                    + ")"
                )
            raise self.fail(
                f"Unexpected character {_char_desc(c)}: was expecting comma to separate Array entries"
            )

    def string(self) -> str:
        text, n = self.text, self.n
        pos = self.pos + 1
        out: list[str] = []
        run = pos
        while True:
            if pos >= n:
                self.pos = pos
                raise self.fail("Unexpected end-of-input: was expecting closing quote for a string value")
            c = text[pos]
            if c == '"':
                out.append(text[run:pos])
                self.pos = pos + 1
                return "".join(out)
            if c == "\\":
                out.append(text[run:pos])
                if pos + 1 >= n:
                    self.pos = pos + 1
                    raise self.fail("Unexpected end-of-input in character escape sequence")
                e = text[pos + 1]
                if e == "u":
                    digits = text[pos + 2 : pos + 6]
                    if len(digits) < 4 or any(d not in "0123456789abcdefABCDEF" for d in digits):
                        self.pos = pos + 2
                        raise self.fail(
                            "Unexpected character in Unicode escape: expected a hex-digit for character escape sequence"  # noqa: E501
                        )
                    out.append(chr(int(digits, 16)))
                    pos += 6
                elif e in _ESCAPES:
                    out.append(_ESCAPES[e])
                    pos += 2
                else:
                    self.pos = pos + 2
                    raise self.fail(f"Unrecognized character escape {_char_desc(e)}")
                run = pos
                continue
            if c < " ":
                self.pos = pos + 1
                raise self.fail(
                    f"Illegal unquoted character {_char_desc(c)}: has to be escaped using backslash "
                    "to be included in string value"
                )
            pos += 1

    def number(self) -> JsonNumber:
        text, n = self.text, self.n
        start = pos = self.pos
        if text[pos] == "-":
            pos += 1
            if pos >= n or not text[pos].isdigit():
                self.pos = pos
                got = text[pos] if pos < n else "end-of-input"
                raise self.fail(
                    f"Unexpected character ({got!r}) in numeric value: expected digit (0-9) to follow "
                    "minus sign, for valid numeric value"
                )
        if text[pos] == "0" and pos + 1 < n and text[pos + 1].isdigit():
            self.pos = pos + 1
            raise self.fail("Invalid numeric value: Leading zeroes not allowed")
        while pos < n and text[pos].isdigit():
            pos += 1
        if pos < n and text[pos] == ".":
            pos += 1
            if pos >= n or not text[pos].isdigit():
                self.pos = pos
                raise self.fail(
                    "Unexpected character in numeric value: Decimal point not followed by a digit"
                )
            while pos < n and text[pos].isdigit():
                pos += 1
        if pos < n and text[pos] in "eE":
            pos += 1
            if pos < n and text[pos] in "+-":
                pos += 1
            if pos >= n or not text[pos].isdigit():
                self.pos = pos
                raise self.fail(
                    "Unexpected character in numeric value: Exponent indicator not followed by a digit"
                )
            while pos < n and text[pos].isdigit():
                pos += 1
        if pos < n and (text[pos].isalpha() or text[pos] == "_"):
            end = pos
            while end < n and (text[end].isalnum() or text[end] == "_"):
                end += 1
            self.pos = end
            raise self.fail(f"Unrecognized token '{text[start:end]}': was expecting {_EXPECTING_VALUE}")
        self.pos = pos
        return JsonNumber(text[start:pos])


def parse_json(text: str) -> JsonValue:
    """Parse the first JSON value of ``text`` (trailing content is ignored, as AWS's reader does)."""
    return _Reader(text).value()
