"""Record shapes: invocation record, EventBridge envelope, DLQ attributes."""

from __future__ import annotations

import json

from eventmesh.services.lambda_.records import (
    dlq_attributes,
    encode_record,
    invocation_record,
    iso_millis,
)

FN = "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST"


def test_record_keys_in_aws_order_and_absent_response_when_never_ran():
    record = invocation_record(now=1_700_000_000.5, request_id="r", function_arn=FN,
                               condition="ZeroReservedConcurrency", invoke_count=0,
                               request_payload=b'{"a":1}')
    assert encode_record(record) == (
        '{"version":"1.0","timestamp":"2023-11-14T22:13:20.500Z","requestContext":{"requestId":"r",'
        f'"functionArn":"{FN}","condition":"ZeroReservedConcurrency","approximateInvokeCount":0}},'
        '"requestPayload":{"a":1}}')


def test_success_record_has_no_function_error_and_a_null_payload_stays():
    record = invocation_record(now=1_700_000_000.0, request_id="r", function_arn=FN, condition="Success",
                               invoke_count=1, request_payload=b"[]", executed_version="$LATEST",
                               response_payload=b"null")
    body = json.loads(encode_record(record))
    assert body["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert "responsePayload" in body and body["responsePayload"] is None


def test_non_json_payloads_travel_as_text():
    record = invocation_record(now=0.0, request_id="r", function_arn=FN, condition="Success", invoke_count=1,
                               request_payload=b"plain text", executed_version="1", response_payload=b"ok?")
    body = json.loads(encode_record(record))
    assert (body["requestPayload"], body["responsePayload"]) == ("plain text", "ok?")


def test_dlq_error_message_is_cut_at_1_kb():
    attributes = dlq_attributes("r", 200, "é" * 1000)
    assert len(attributes["ErrorMessage"]["StringValue"].encode()) <= 1024
    assert attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}


def test_iso_millis_rounds_into_the_next_second():
    assert iso_millis(1_700_000_000.9996) == "2023-11-14T22:13:21.000Z"
