from __future__ import annotations

from typing import Any

import msgspec
import pytest

from eventmesh.services.events.errors import ValidationException
from eventmesh.services.events.transform import RenderContext, TransformFailed, compile_target_input

EVENT: dict[str, Any] = {
    "version": "0", "id": "e-1", "detail-type": "State Change", "source": "my.app",
    "account": "000000000000", "time": "2023-11-14T22:13:20Z", "region": "us-east-1",
    "resources": ["arn:r"],
    "detail": {"instance": "i-1", "state": "RUNNING", "count": 3, "ok": True,
               "tags": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}, "levels": ["HIGH"],
               "states": ["ACTIVE", "INACTIVE"], "nothing": None},
}
EVENT_JSON = msgspec.json.encode(EVENT).decode()
CTX = RenderContext(rule_arn="arn:aws:events:us-east-1:000000000000:rule/r1", rule_name="r1",
                    ingestion_time=1_700_000_000.0)


def render(target: dict[str, Any]) -> str:
    compiled = compile_target_input(target)
    assert compiled is not None
    return compiled.render(EVENT, EVENT_JSON, CTX)


def transformer(template: str, **paths: str) -> dict[str, Any]:
    return {"InputTransformer": {"InputPathsMap": paths, "InputTemplate": template}}


def test_no_input_fields_sends_the_event() -> None:
    assert compile_target_input({"Id": "t", "Arn": "a"}) is None


def test_constant_input_replaces_the_event() -> None:
    assert render({"Input": '{"fixed": 1}'}) == '{"fixed": 1}'


def test_input_path_selects_part_of_the_event() -> None:
    assert render({"InputPath": "$.detail.tags"}) == '{"acc_id":"0a787ecb-4015","sf_id":"baz"}'
    assert render({"InputPath": "$.detail.states[1]"}) == '"INACTIVE"'
    assert render({"InputPath": "$"}) == EVENT_JSON


def test_input_path_to_nothing_fails() -> None:
    with pytest.raises(TransformFailed):
        render({"InputPath": "$.detail.absent"})


def test_json_template_inserts_json_values_unquoted() -> None:
    out = render(transformer('{"i": <i>, "n": <n>, "t": <t>, "ok": <ok>, "nil": <nil>}',
                             i="$.detail.instance", n="$.detail.count", t="$.detail.tags",
                             ok="$.detail.ok", nil="$.detail.nothing"))
    assert out == ('{"i": "i-1", "n": 3, "t": {"acc_id":"0a787ecb-4015","sf_id":"baz"}, '
                   '"ok": true, "nil": null}')


def test_json_template_inserts_raw_text_inside_strings() -> None:
    out = render(transformer('{"msg": "instance <i> is \\"<s>\\""}',
                             i="$.detail.instance", s="$.detail.state"))
    assert out == '{"msg": "instance i-1 is \\"RUNNING\\""}'


def test_json_template_with_object_inside_quotes_fails_silently() -> None:
    with pytest.raises(TransformFailed):
        render(transformer('{"payload": "<t>"}', t="$.detail.tags"))


def test_json_template_with_missing_variable_fails_silently() -> None:
    with pytest.raises(TransformFailed):
        render(transformer('{"x": <m>}', m="$.detail.absent"))


def test_string_template_keeps_its_quotes() -> None:
    out = render(transformer('"instance <i> is in <s>"', i="$.detail.instance", s="$.detail.state"))
    assert out == '"instance i-1 is in RUNNING"'


def test_string_template_renders_objects_and_arrays_without_quotes() -> None:
    out = render(transformer('"<t> <l> <st> <ok> <m>."', t="$.detail.tags", l="$.detail.levels",
                             st="$.detail.states", ok="$.detail.ok", m="$.detail.absent"))
    assert out == '"{acc_id:0a787ecb-4015,sf_id:baz} [HIGH] [ACTIVE,INACTIVE] true ."'


def test_plain_text_template_is_not_delivered() -> None:
    with pytest.raises(TransformFailed):
        render(transformer("<l> single list item", l="$.detail.levels"))


def test_reserved_variables() -> None:
    out = render(transformer('{"arn": <aws.events.rule-arn>, "name": <aws.events.rule-name>, '
                             '"at": <aws.events.event.ingestion-time>, "e": <aws.events.event>}'))
    assert msgspec.json.decode(out) == {
        "arn": CTX.rule_arn, "name": "r1", "at": "2023-11-14T22:13:20Z",
        "e": {"id": "e-1", "account": "000000000000", "detailType": "State Change",
              "time": "2023-11-14T22:13:20Z", "source": "my.app", "region": "us-east-1",
              "resources": ["arn:r"], "version": "0"}}
    assert render(transformer('{"whole": <aws.events.event.json>}')) == '{"whole": ' + EVENT_JSON + "}"


def test_unknown_angle_brackets_stay_literal() -> None:
    assert render(transformer('"<b>bold</b> <i>"', i="$.detail.instance")) == '"<b>bold</b> i-1"'


@pytest.mark.parametrize("target", [
    {"Input": "{not json"},
    {"Input": "{}", "InputPath": "$.detail"},
    {"InputPath": "detail"},
    transformer('{"a": <AWSx>}', AWSx="$.detail"),
    transformer(""),
    {"Input": "1" * 8193},
])
def test_invalid_target_input_is_rejected(target: dict[str, Any]) -> None:
    with pytest.raises(ValidationException):
        compile_target_input(target)
