"""JSON text an event keeps as text: a PutEvents entry's ``Detail`` as a ``msgspec.Raw``.

A bus decodes each Detail only to match a few of its fields and to encode it again into the
envelope its targets get. With the compiled engine, ``raw_json(text)`` gives the bytes msgspec would
encode after decoding the text (no white space; numbers and strings as msgspec writes them) without
decoding it, and the engine reads the fields on rule paths straight from those bytes
(_speedups.c). Escapes are rewritten as msgspec writes them (``\u00e9`` becomes its UTF-8, a control
character keeps its short escape). Where that form is not certain (exponents, integers of more than
18 digits, decimals of more than 15 significant digits, repeated keys, objects of more than 128
keys, nesting past 64, lone surrogates, bytes past ASCII, anything not a JSON object), the answer
is None and the caller decodes the text as before; so the envelope a target gets is byte for byte
what decoding gave.

``envelope_json(event)`` writes a bus's envelope holding such a Raw as msgspec would.
``decoded(value)`` is the decoded form of either, for the code that reads an event's fields
(input transformers, partition key paths, the pure-Python engine).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from eventmesh.patterns._engines import speedups

__all__ = ["Raw", "raw_json", "envelope_json", "decoded", "decoded_detail"]

Raw = msgspec.Raw
_decode = msgspec.json.Decoder().decode


def _no_raw(text: str | bytes) -> None:
    return None


def _no_envelope(event: dict[str, Any]) -> None:
    return None


# raw_json(text) -> Raw | None: the JSON object ``text`` (str, or ASCII bytes) kept as its compact
# text, or None (decode it instead). Without the compiled engine: always None.
raw_json: Callable[[str | bytes], msgspec.Raw | None] = speedups.compact_raw if speedups is not None else _no_raw

# envelope_json(event) -> str | None: msgspec.json.encode(event).decode() for an envelope of str,
# list-of-str and Raw values, in one pass without the bytes in between; None for any other event
# (encode it with msgspec). Without the compiled engine: always None.
envelope_json: Callable[[dict[str, Any]], str | None] = speedups.envelope if speedups is not None else _no_envelope


def decoded(value: Any) -> Any:
    """``value`` itself, or the object a Raw holds."""
    return _decode(value) if type(value) is Raw else value


def decoded_detail(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its ``detail`` decoded in place, if it was kept as text."""
    detail = event.get("detail")
    if type(detail) is Raw:
        event["detail"] = _decode(detail)
    return event
