"""Property tests: the compiled many-rule matcher agrees with the reference evaluator on generated
patterns and events (arrays of objects, nesting, every operator family, $or, exists false)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pattern_reference import ref_matches

from eventmesh.patterns import RuleSet, compile_pattern

KEYS = st.sampled_from(["a", "b", "c"])
STRINGS = st.sampled_from(["x", "y", "xy", "X", "", "yx", "xyz", "Xy"])
NONEMPTY = st.sampled_from(["x", "y", "xy", "X"])
NUMBERS = st.sampled_from([0, 1, 2.5, -1, 300, 300.0])
SCALARS = st.one_of(STRINGS, NUMBERS, st.booleans(), st.none())

# Dense events (most keys present) so that a good share of generated pairs match.
events = st.recursive(
    st.dictionaries(KEYS, SCALARS, min_size=2, max_size=3),
    lambda inner: st.dictionaries(
        KEYS,
        st.one_of(SCALARS, inner, st.lists(st.one_of(SCALARS, inner), max_size=3)),
        min_size=2,
        max_size=3,
    ),
    max_leaves=12,
)


@st.composite
def ranges(draw: st.DrawFn) -> dict:
    lo, hi = sorted(
        draw(st.lists(st.sampled_from([-1, 0, 1, 2.5, 300]), min_size=2, max_size=2, unique=True))
    )
    return {"numeric": [draw(st.sampled_from([">", ">="])), lo, draw(st.sampled_from(["<", "<="])), hi]}


CONDITIONS = st.one_of(
    STRINGS,
    NUMBERS,
    st.booleans(),
    st.none(),
    st.builds(lambda s: {"prefix": s}, STRINGS),
    st.builds(lambda s: {"suffix": s}, STRINGS),
    st.builds(lambda s: {"equals-ignore-case": s}, STRINGS),
    st.builds(lambda s: {"prefix": {"equals-ignore-case": s}}, STRINGS),
    st.builds(lambda s: {"suffix": {"equals-ignore-case": s}}, STRINGS),
    st.builds(lambda s: {"anything-but": s}, STRINGS),
    st.builds(lambda s: {"anything-but": s}, st.lists(STRINGS, min_size=1, max_size=3)),
    st.builds(lambda n: {"anything-but": n}, NUMBERS),
    st.builds(lambda s: {"anything-but": {"prefix": s}}, NONEMPTY),
    st.builds(lambda s: {"anything-but": {"suffix": s}}, NONEMPTY),
    st.builds(lambda s: {"anything-but": {"equals-ignore-case": s}}, STRINGS),
    st.builds(lambda s: {"anything-but": {"wildcard": s}}, st.sampled_from(["x*", "*y"])),
    st.builds(lambda op, n: {"numeric": [op, n]}, st.sampled_from([">", ">=", "<", "<=", "="]), NUMBERS),
    ranges(),
    st.builds(lambda b: {"exists": b}, st.booleans()),
    st.builds(lambda s: {"wildcard": s}, st.sampled_from(["x*", "*y", "*", "x*y*", "*x*"])),
)
FIELDS = st.lists(CONDITIONS, min_size=1, max_size=3)

objects = st.recursive(
    st.dictionaries(KEYS, FIELDS, min_size=1, max_size=2),
    lambda inner: st.dictionaries(KEYS, st.one_of(FIELDS, inner), min_size=1, max_size=2),
    max_leaves=4,
)


@st.composite
def patterns(draw: st.DrawFn) -> dict:
    pattern = draw(objects)
    if draw(st.booleans()):
        pattern["$or"] = draw(st.lists(objects, min_size=2, max_size=3))
    return pattern


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=patterns(), event=events)
def test_single_pattern_agrees_with_reference(pattern: dict, event: dict) -> None:
    assert compile_pattern(json.dumps(pattern)).matches(json.dumps(event)) == ref_matches(pattern, event)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(patterns(), min_size=1, max_size=8), batch=st.lists(events, min_size=1, max_size=5))
def test_rule_set_agrees_with_reference_for_every_rule(rules: list[dict], batch: list[dict]) -> None:
    rule_set = RuleSet()
    for i, pattern in enumerate(rules):
        rule_set.add(i, json.dumps(pattern))
    for event in batch:
        expected = {i for i, pattern in enumerate(rules) if ref_matches(pattern, event)}
        assert rule_set.matches(json.dumps(event)) == expected
