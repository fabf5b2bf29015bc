"""An event's Detail kept as JSON text (patterns/_text.py, _speedups.c): the compact text is byte for
byte what decoding and encoding again give, anything not certain is left to the decoder, and the
engine matches the text exactly as it matches the decoded object."""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventmesh.patterns import RuleSet, envelope_json, raw_json
from eventmesh.patterns._engines import available

pytestmark = pytest.mark.skipif("c" not in available(), reason="the compiled engine is not built here")

_encode = msgspec.json.encode
_decode = msgspec.json.Decoder().decode


def reencoded(text: str) -> bytes:
    return _encode(_decode(text))


# What msgspec escapes in a string (and lone surrogates, which are not UTF-8): such an envelope
# is left to msgspec; any other of str, list-of-str and Raw values is written by envelope_json.
PLAIN_REFUSED = re.compile(r'["\\\x00-\x1f\ud800-\udfff]')
KEYS = st.sampled_from(["a", "b", "c", "é", "a.b", ""]) | st.text(max_size=5)
SCALARS = (st.none() | st.booleans() | st.integers(-10**20, 10**20)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
           | st.sampled_from(["x", "y", "10.0.0.1", "Ü"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                      max_leaves=16)
OBJECTS = st.dictionaries(KEYS, VALUES, max_size=6)


@settings(max_examples=400, deadline=None)
@given(OBJECTS, st.sampled_from([None, 2]), st.sampled_from([(",", ":"), (", ", ": ")]), st.booleans())
def test_compact_text_is_what_decoding_and_encoding_again_give(doc: dict, indent: int | None,
                                                               separators: tuple[str, str], ascii_only: bool) -> None:
    text = json.dumps(doc, indent=indent, separators=separators, ensure_ascii=ascii_only)
    raw = raw_json(text)
    if raw is not None:
        assert bytes(raw) == reencoded(text)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False), st.integers(0, 18))
def test_numbers_are_written_as_msgspec_writes_them(x: float, digits: int) -> None:
    for number in (repr(x), f"{x:.{digits}f}", str(int(x)) if abs(x) < 1e18 else "0"):
        text = '{"n": ' + number + '}'
        raw = raw_json(text)
        if raw is not None:
            assert bytes(raw) == reencoded(text), number


@pytest.mark.parametrize("text, compact", [
    ('{"a": 1, "b": [1, 2.50, {"c": "x"}], "d": {"e": null, "f": true}}',
     b'{"a":1,"b":[1,2.5,{"c":"x"}],"d":{"e":null,"f":true}}'),
    ('{"\u00e9": "\u00fc", "n": -0.0, "z": 0.000, "big": 123456789012345678, "f": 100.00}',
     '{"\u00e9":"\u00fc","n":-0.0,"z":0.0,"big":123456789012345678,"f":100.0}'.encode()),
    ('{"amount": 1234.5, "tiny": 0.0001, "top": 1000000000000000.0}',
     b'{"amount":1234.5,"tiny":0.0001,"top":1000000000000000.0}'),
    (' {\n "a" : [ ] ,\t"b": {} }\r\n', b'{"a":[],"b":{}}'),
    ('{"a": "line\\nbreak", "b": "\\u00e9\\/\\u0001\\u0008", "q\\"k": "\\ud83d\\ude00 \\"\\\\"}',
     '{"a":"line\\nbreak","b":"\u00e9/\\u0001\\b","q\\"k":"\U0001f600 \\"\\\\"}'.encode()),
    ('{}', b'{}'),
])
def test_plain_documents_stay_text(text: str, compact: bytes) -> None:
    raw = raw_json(text)
    assert raw is not None and bytes(raw) == compact == reencoded(text)


@pytest.mark.parametrize("text", [
    '{"a": "\\ud83d"}', '{"a": "\\ude00"}', '{"a": "\\ud83d\\u0041"}',  # lone surrogates: refused
    '{"a": "\\x"}', '{"a": "\\u12"}', '{"\\u0061": 1, "a": 2}',      # bad escapes; a key repeated
    b'{"a": "\xc3\xa9"}',                                          # bytes past ASCII: UTF-8 left to check
    '{"a": 1e5}', '{"a": 1E-2}',                                      # exponents
    '{"a": -0}', '{"a": 1234567890123456789}',                        # -0 becomes 0; very long integers
    '{"a": 0.00001}', '{"a": 12345678901234567.5}', '{"a": 0.1234567890123456}',  # written another way
    '{"a": 1, "a": 2}', '{"a": {"b": 1, "c": 2, "b": 3}}',            # repeated keys: the last one wins
    '[1]', '"x"', '1', '', '   ',                                     # not an object
    '{"a": 1} x', '{"a": }', '{"a": 01}', '{"a": "\x01"}', '{"a" 1}', '{"a": tru}', '{"a": [1,]}',  # invalid
    '{"a": ' * 70 + '1' + '}' * 70,                                   # deeper than the decoder's own care
    json.dumps({f"k{i}": i for i in range(129)}),                     # keys past the pairwise check's bound
    '{"a": "\ud800"}',                                                # a lone surrogate in a str
])
def test_anything_not_certain_is_left_to_the_decoder(text: str | bytes) -> None:
    assert raw_json(text) is None


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, st.text(max_size=8) | st.lists(st.text(max_size=6), max_size=3), max_size=6), OBJECTS)
def test_the_envelope_is_what_msgspec_writes(event: dict[str, Any], detail: dict) -> None:
    raw = raw_json(json.dumps(detail, ensure_ascii=False))
    if raw is not None:
        event["detail"] = raw
    text = envelope_json(event)
    if text is not None:
        assert text == _encode(event).decode()
    # Plain strings (nothing msgspec escapes) and a Raw are always written, never left to msgspec.
    if raw is not None and all(not PLAIN_REFUSED.search(v) for value in event.values() if value is not raw
                               for v in ([value] if isinstance(value, str) else value)) \
            and all(not PLAIN_REFUSED.search(k) for k in event):
        assert text is not None


def test_a_hostile_detail_costs_time_linear_in_its_size() -> None:
    # 256 KB (PutEvents' request limit) of distinct keys: refused after the bound, not compared in pairs
    text = json.dumps({f"k{i}": i for i in range(20_000)})
    assert raw_json(text) is None
    assert raw_json(json.dumps({f"k{i}": i for i in range(128)})) is not None


def test_an_envelope_of_plain_strings_is_written_and_any_other_is_left_to_msgspec() -> None:
    raw = raw_json('{"n": 1}')
    plain = {"version": "0", "resources": ["arn:x", "\u00e9"], "detail": raw}
    assert envelope_json(plain) == '{"version":"0","resources":["arn:x","\u00e9"],"detail":{"n":1}}'
    assert envelope_json({}) == "{}"
    # An event without Resources, the common case, has an empty list: written too, not left over.
    bare = {"version": "0", "id": "e1", "resources": [], "detail": raw}
    assert envelope_json(bare) == '{"version":"0","id":"e1","resources":[],"detail":{"n":1}}'
    assert envelope_json({"resources": []}) == '{"resources":[]}'
    for other in ({"a": 1}, {"a": {"b": "c"}}, {"a": "x\ny"}, {"a": ['"']}, {"a": [1]}):
        assert envelope_json(other) is None


RULES = {
    "exact": '{"a": ["x"]}', "prefix": '{"b": [{"prefix": "x"}]}', "number": '{"c": [{"numeric": [">", 0]}]}',
    "nested": '{"a": {"b": ["y"]}}', "dotted": '{"a.b": ["y"]}', "absent": '{"c": [{"exists": false}]}',
    "array": '{"a": {"b": ["x"], "c": [null]}}', "ignore": '{"b": [{"equals-ignore-case": "ü"}]}',
    "anything": '{"a": [{"anything-but": "x"}]}', "or": '{"$or": [{"c": [true]}, {"b": [1]}]}',
}


@settings(max_examples=400, deadline=None)
@given(OBJECTS)
def test_the_engine_matches_text_as_it_matches_the_decoded_event(doc: dict) -> None:
    text = json.dumps(doc, ensure_ascii=False)
    raw = raw_json(text)
    if raw is None:
        return
    rules = RuleSet(engine="c")
    reference = RuleSet(engine="python")
    for name, pattern in RULES.items():
        rules.add(name, pattern)
        reference.add(name, pattern)
    decoded = _decode(text)
    expected = reference.match_event(decoded)
    assert rules.match_event(raw) == expected                          # a whole event kept as text
    assert rules.match_event({"source": "s", "detail": raw}) == rules.match_event({"source": "s", "detail": decoded})
    assert reference.match_event(raw) == expected                      # the reference decodes it


def test_text_the_engine_did_not_make_is_refused_not_misread() -> None:
    rules = RuleSet(engine="c")
    rules.add("r", '{"a": ["x"], "b": {"c": [1]}}')
    for bad in (b'{"a":', b'{"a" 1}', b'[1]', b'{"a":"x"', b'{"b":{"c":1}', b'', b'{"a":"x"}}'):
        with pytest.raises(ValueError):
            rules.match_event(msgspec.Raw(bad))
    assert rules.match_event(msgspec.Raw(b'{"a":"x","b":{"c":1}}')) == {"r"}
    assert rules.match_event(msgspec.Raw(b'{"a":"y","b":{"c":1}}')) == set()


FUZZ_SEEDS = [
    '{"a": "x", "b": [1, {"c": "\\u00e9"}], "c": 1.50, "d": "axb", "e\\"q": "\\\\"}',
    '{"a": {"b": ["x", "y"], "c": null}, "b": "xyz", "c": [1, 2, -0.5]}',
    '{"a": [{"b": "x", "c": null}, {"b": "y"}], "d": "\\ud83d\\ude00x\\n"}',
]
FUZZ_RULES = ['{"a": ["x"]}', '{"b": [{"prefix": "x"}]}', '{"a": {"b": ["y"]}}', '{"c": [{"numeric": [">", 0]}]}',
              '{"a": {"b": ["x"], "c": [null]}}', '{"d": [{"wildcard": "*x*"}]}', '{"e\\"q": ["\\\\"]}']
FUZZ_CASES = 3_000  # mutations of the seeds (bounded; a longer run is the same loop with more)


def test_mutated_and_random_text_is_either_exact_or_refused() -> None:
    import random

    rng = random.Random(20261207)
    rules, reference = RuleSet(engine="c"), RuleSet(engine="python")
    for i, pattern in enumerate(FUZZ_RULES):
        rules.add(i, pattern)
        reference.add(i, pattern)
    alphabet = '{}[],:"\\ \n0123456789.-eEtrufalsn\u00e9\x01'
    kept = 0
    for _ in range(FUZZ_CASES):
        chars = list(rng.choice(FUZZ_SEEDS))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(chars) + 1)
            roll = rng.random()
            if roll < 0.4 and chars:
                del chars[min(at, len(chars) - 1)]
            elif roll < 0.8:
                chars.insert(at, rng.choice(alphabet))
            else:
                chars = chars[:at]
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
        for value in (msgspec.Raw(junk), {"detail": msgspec.Raw(junk)}):
            try:
                rules.match_event(value)  # never read past the text, never a crash
            except ValueError:
                pass
        text = "".join(chars)
        raw = raw_json(text)
        if raw is None:
            continue
        kept += 1
        decoded = _decode(text)
        assert bytes(raw) == _encode(decoded), text
        assert rules.match_event(raw) == reference.match_event(decoded), text
        event = {"id": "x", "detail": raw}
        assert envelope_json(event) == _encode(event).decode()
    assert kept > FUZZ_CASES // 20  # the mutations that stay valid JSON do take the text path
