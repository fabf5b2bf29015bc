"""Prefix and suffix, with their ignore-case forms: affix tables probed by length."""

from __future__ import annotations

from conftest import RuleSetFactory, hits


def test_many_prefixes_behind_one_anchor(rule_set: RuleSetFactory) -> None:
    rules = rule_set({f"p{i}": {"s": ["shop"], "id": [{"prefix": f"x-{i}-"}]} for i in range(400)})
    rules.add("short", '{"s": ["shop"], "id": [{"prefix": "x-"}]}')
    assert hits(rules, {"s": "shop", "id": "x-17-abc"}) == {"p17", "short"}
    assert hits(rules, {"s": "shop", "id": "y-17-abc"}) == set()
    assert hits(rules, {"s": "shop", "id": "x-"}) == {"short"}
    assert hits(rules, {"s": "shop", "id": 17}) == set()


def test_many_suffixes_behind_one_anchor(rule_set: RuleSetFactory) -> None:
    rules = rule_set({f"s{i}": {"c": ["EUR"], "email": [{"suffix": f"@host-{i}.net"}]} for i in range(400)})
    assert hits(rules, {"c": "EUR", "email": "a@host-9.net"}) == {"s9"}
    assert hits(rules, {"c": "EUR", "email": "a@host-9.net.x"}) == set()
    assert hits(rules, {"c": "USD", "email": "a@host-9.net"}) == set()


def test_ignore_case_forms(rule_set: RuleSetFactory) -> None:
    rules = rule_set(
        {
            "prefix": {"a": [{"prefix": {"equals-ignore-case": "KIOSK-"}}]},
            "suffix": {"a": [{"suffix": {"equals-ignore-case": ".PNG"}}]},
            "exact-prefix": {"a": [{"prefix": "kiosk-"}]},
        }
    )
    assert hits(rules, {"a": "Kiosk-7.png"}) == {"prefix", "suffix"}
    assert hits(rules, {"a": "kiosk-7.PNG"}) == {"prefix", "suffix", "exact-prefix"}
    assert hits(rules, {"a": "kiosk7.pn"}) == set()


def test_an_or_list_of_overlapping_affixes_matches_once(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"r": {"a": [{"prefix": "ab"}, {"prefix": "a"}, "abc"], "b": ["1"]}})
    assert hits(rules, {"a": "abc", "b": "1"}) == {"r"}
    assert hits(rules, {"a": "abc", "b": "2"}) == set()
    assert hits(rules, {"a": "b", "b": "1"}) == set()


def test_removing_the_last_affix_of_an_end_character_stops_its_matches(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"x": {"a": [{"prefix": "x-"}]}, "xy": {"a": [{"prefix": "xy"}]},
                      "e": {"a": [{"suffix": "-é"}]}, "other": {"a": [{"prefix": "q"}]}})
    assert hits(rules, {"a": "xy-1"}) == {"xy"} and hits(rules, {"a": "x-é"}) == {"x", "e"}
    rules.remove("x")
    assert hits(rules, {"a": "x-é"}) == {"e"} and hits(rules, {"a": "xy-1"}) == {"xy"}
    rules.remove("xy")
    rules.remove("e")
    assert hits(rules, {"a": "xy-é"}) == set() and hits(rules, {"a": "q1"}) == {"other"}
    rules.add("x2", '{"a": [{"prefix": "x"}]}')
    assert hits(rules, {"a": "xy-é"}) == {"x2"}


def test_the_empty_prefix_matches_every_string_until_its_last_rule_goes(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"e1": {"a": [{"prefix": ""}]}, "e2": {"a": [{"prefix": ""}]},
                      "w": {"a": [{"wildcard": "*-x-*"}]}, "s": {"a": [{"suffix": ""}]}})
    assert hits(rules, {"a": "q-x-1"}) == {"e1", "e2", "w", "s"} and hits(rules, {"a": ""}) == {"e1", "e2", "s"}
    rules.remove("e1")
    assert hits(rules, {"a": "q"}) == {"e2", "s"}
    rules.remove("e2")
    rules.remove("s")
    assert hits(rules, {"a": "q"}) == set() and hits(rules, {"a": "q-x-1"}) == {"w"}
    assert hits(rules, {"a": 5}) == set()


def test_an_affix_table_pickled_before_its_code_point_index_still_works() -> None:
    import pickle

    from eventmesh.patterns.ops.prefix_suffix import ASCII_CHARS, AffixTable

    table = AffixTable(suffix=False)
    for affix, value in (("ab", 1), ("", 2), ("é", 3)):
        table.add(affix, value)
    state = table.__getstate__()  # type: ignore[misc]
    slots = {k: v for k, v in state[1].items() if k != "has_empty"}
    slots["ascii_ends"] = bytearray(ASCII_CHARS)  # the older layout: flags
    old = AffixTable.__new__(AffixTable)
    old.__setstate__((None, slots))
    assert old.has_empty and old.ascii_ends[ord("a")] is old.by_end["a"] and old.ascii_ends[ord("b")] is None
    restored = pickle.loads(pickle.dumps(table))
    assert restored.ascii_ends[ord("a")] is restored.by_end["a"] and restored.has_empty
    found: list[int] = []
    restored.collect("abc", found)
    assert sorted(found) == [1, 2]
