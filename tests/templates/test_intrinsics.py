from __future__ import annotations

from typing import Any

import pytest

from eventmesh.templates.intrinsics import IntrinsicError, Resolver, pseudo_parameters, references


def resolver(conditions: dict[str, Any] | None = None, mappings: dict[str, Any] | None = None) -> Resolver:
    params = {**pseudo_parameters("123456789012", "eu-west-1", "shop"), "Stage": "prod", "Zones": ["a", "b"]}
    return Resolver(params, conditions or {}, mappings or {}, ref=lambda lid: f"ref:{lid}",
                    get_att=lambda lid, attr: f"{lid}.{attr}", region="eu-west-1")


def test_ref_of_parameters_pseudo_parameters_and_resources() -> None:
    r = resolver()
    assert r.resolve({"Ref": "Stage"}) == "prod"
    assert r.resolve({"Ref": "AWS::AccountId"}) == "123456789012"
    assert r.resolve({"Ref": "AWS::Region"}) == "eu-west-1"
    assert r.resolve({"Ref": "AWS::Partition"}) == "aws"
    assert r.resolve({"Ref": "Queue"}) == "ref:Queue"


def test_sub_with_references_attributes_variables_and_literals() -> None:
    r = resolver()
    assert r.resolve({"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${Stage}-q"}) == (
        "arn:aws:sqs:eu-west-1:123456789012:prod-q")
    assert r.resolve({"Fn::Sub": "${Queue.Arn}/${Queue}"}) == "Queue.Arn/ref:Queue"
    assert r.resolve({"Fn::Sub": ["${x}-${Stage}", {"x": {"Ref": "Topic"}}]}) == "ref:Topic-prod"
    assert r.resolve({"Fn::Sub": "${!Literal}"}) == "${Literal}"


def test_join_select_split_getatt_find_in_map() -> None:
    r = resolver(mappings={"Sizes": {"prod": {"Memory": 512}}})
    assert r.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}, 3]]}) == "a-prod-3"
    assert r.resolve({"Fn::Select": [1, {"Ref": "Zones"}]}) == "b"
    assert r.resolve({"Fn::Split": [",", "x,y"]}) == ["x", "y"]
    assert r.resolve({"Fn::GetAtt": "Fn.Arn"}) == r.resolve({"Fn::GetAtt": ["Fn", "Arn"]}) == "Fn.Arn"
    assert r.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}) == 512
    with pytest.raises(IntrinsicError, match="out of range"):
        r.resolve({"Fn::Select": [5, ["a"]]})


def test_conditions_if_and_no_value() -> None:
    r = resolver({"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
                  "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
                  "Either": {"Fn::Or": [{"Condition": "IsDev"}, {"Condition": "IsProd"}]},
                  "Both": {"Fn::And": [{"Condition": "IsDev"}, {"Condition": "IsProd"}]}})
    assert r.condition("IsProd") and not r.condition("IsDev") and r.condition("Either") and not r.condition("Both")
    value = {"Size": {"Fn::If": ["IsProd", 10, 1]}, "Extra": {"Fn::If": ["IsDev", 1, {"Ref": "AWS::NoValue"}]},
             "List": ["a", {"Fn::If": ["IsDev", "b", {"Ref": "AWS::NoValue"}]}]}
    assert r.resolve(value) == {"Size": 10, "List": ["a"]}
    with pytest.raises(IntrinsicError, match="unknown condition"):
        r.condition("Nope")


def test_references_finds_ref_getatt_and_sub_names() -> None:
    assert references({"a": {"Ref": "A"}, "b": [{"Fn::GetAtt": "B.Arn"}], "c": {"Fn::Sub": "${C.Arn}-${D}"}}) == {
        "A", "B", "C", "D"}


def test_import_value_is_refused_with_a_reason() -> None:
    with pytest.raises(IntrinsicError, match="exports of other stacks"):
        resolver().resolve({"Fn::ImportValue": "x"})
