"""FilterCriteria patterns: the EventBridge language on Lambda records, with the data format rules."""

from __future__ import annotations

import base64
import json

import pytest

from eventmesh.services.esm.filters import compile_filter
from eventmesh.services.lambda_.errors import InvalidParameterValueException


def sqs_record(body: str) -> dict:
    return {"messageId": "1", "body": body, "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {}, "eventSource": "aws:sqs"}


def kinesis_record(data: bytes, key: str = "k") -> dict:
    return {"kinesis": {"data": base64.b64encode(data).decode(), "partitionKey": key}, "eventSource": "aws:kinesis"}


def test_json_body_matches_with_every_pattern_operator() -> None:
    f = compile_filter(json.dumps({"body": {"$or": [{"kind": [{"wildcard": "order-*"}]},
                                                    {"ip": [{"cidr": "10.0.0.0/8"}]}]}}), "sqs")
    assert f.match(sqs_record('{"kind": "order-created"}'))
    assert f.match(sqs_record('{"ip": "10.1.2.3"}'))
    assert not f.match(sqs_record('{"kind": "refund", "ip": "192.168.0.1"}'))


def test_plain_text_body_needs_a_value_pattern_and_json_body_an_object_pattern() -> None:
    plain = compile_filter('{"body": [{"prefix": "hello"}]}', "sqs")
    assert plain.match(sqs_record("hello world"))
    assert not plain.match(sqs_record('{"hello": 1}'))  # JSON data vs a plain pattern: dropped
    structured = compile_filter('{"body": {"a": [1]}}', "sqs")
    assert not structured.match(sqs_record("a=1"))      # plain data vs a JSON pattern: dropped


def test_kinesis_data_is_decoded_before_matching() -> None:
    f = compile_filter('{"kinesis": {"data": {"amount": [{"numeric": [">", 100]}]}}}', "kinesis")
    assert f.match(kinesis_record(b'{"amount": 150}'))
    assert not f.match(kinesis_record(b'{"amount": 50}'))


@pytest.mark.parametrize("text", ['{"body": "x"}', "not json", "{}", '{"body": [{"nope": 1}]}',
                                  '{"kinesis": {"data": ["plain"]}}'])
def test_invalid_patterns_are_rejected_with_the_lambda_message(text: str) -> None:
    kind = "kinesis" if "kinesis" in text else "sqs"
    with pytest.raises(InvalidParameterValueException, match="Invalid filter pattern definition."):
        compile_filter(text, kind)
