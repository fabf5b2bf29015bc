"""Array-consistent matching (event-ruler ACFinder): values of one rule from one array element."""

from __future__ import annotations

from conftest import RuleSetFactory, hits

ORDER = {
    "detail": {
        "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 5}],
        "notes": [{"kind": "gift"}, {"kind": "fragile"}],
    }
}


def test_fields_of_one_array_come_from_one_element(rule_set: RuleSetFactory) -> None:
    rules = rule_set(
        {
            "b-many": {"detail": {"items": {"sku": ["b"], "qty": [{"numeric": [">", 2]}]}}},
            "a-many": {"detail": {"items": {"sku": ["a"], "qty": [{"numeric": [">", 2]}]}}},
        }
    )
    assert hits(rules, ORDER) == {"b-many"}


def test_fields_of_different_arrays_combine_freely(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"r": {"detail": {"items": {"sku": ["a"]}, "notes": {"kind": ["fragile"]}}}})
    assert hits(rules, ORDER) == {"r"}
    assert hits(rules, {"detail": {"items": [{"sku": "a"}], "notes": [{"kind": "gift"}]}}) == set()


def test_nested_arrays_and_scalar_elements(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"r": {"a": {"b": ["1"], "c": ["2"]}}, "s": {"a": ["top"]}})
    assert hits(rules, {"a": [[{"b": "1", "c": "2"}], "top"]}) == {"r", "s"}
    assert hits(rules, {"a": [[{"b": "1"}, {"c": "2"}]]}) == set()


def test_exists_false_inside_arrays_looks_at_the_elements_chosen_before_it_in_path_order(
    rule_set: RuleSetFactory,
) -> None:
    # "a" comes first in path order: no element is chosen yet, so any "a" anywhere rules it out.
    before = rule_set({"r": {"d": {"a": [{"exists": False}], "z": ["1"]}}})
    assert hits(before, {"d": [{"z": "1"}, {"a": 5}]}) == set()
    assert hits(before, {"d": [{"z": "1"}]}) == {"r"}
    # "z" comes after "a": the element chosen for "a" has no "z", so the absence holds.
    after = rule_set({"r": {"d": {"a": ["1"], "z": [{"exists": False}]}}})
    assert hits(after, {"d": [{"a": "1"}, {"z": 5}]}) == {"r"}
    assert hits(after, {"d": [{"a": "1", "z": 5}]}) == set()


def test_a_plain_value_beside_array_values_agrees_with_every_element(rule_set: RuleSetFactory) -> None:
    rules = rule_set({"r": {"source": ["s"], "items": {"sku": ["b"]}, "gone": [{"exists": False}]}})
    assert hits(rules, {"source": "s", "items": [{"sku": "a"}, {"sku": "b"}]}) == {"r"}
    assert hits(rules, {"source": "s", "items": [{"sku": "a"}, {"sku": "b"}], "gone": 1}) == set()
    assert hits(rules, {"source": "t", "items": [{"sku": "b"}]}) == set()
