"""The SQS adapter in process: model-shaped requests in, model-shaped results out, and the wire
encodings (JSON 1.0 errors with x-amzn-query-error, Query forms and XML) through the router."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import msgspec
import pytest

from eventmesh.config import Config, apply_config
from eventmesh.services import adapters
from eventmesh.services.sqs import api as adapter
from eventmesh.services.sqs.errors import (
    BatchRequestTooLong,
    MissingRequiredParameterException,
    QueueDoesNotExist,
)
from eventmesh.testing import virtual_mesh
from eventmesh.wire.router import Api, Request

HOST = "localhost:4566"


@pytest.fixture
def env():
    mesh, driver = virtual_mesh()
    return Api(mesh, adapters(["sqs"])), driver


def call(api: Api, operation: str, **params: Any) -> Any:
    return msgspec.to_builtins(api.call("sqs", operation, params))


def receive(api: Api, **params: Any) -> dict[str, Any]:
    """A short poll in process (a long poll answers later over the wire: see test_wire.py)."""
    ctx = api.context("sqs", operation="ReceiveMessage")
    answer = adapter.receive_message(ctx, params)
    assert isinstance(answer, dict), "a short poll answers at once"
    return answer


def json_wire(api: Api, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    headers = {"x-amz-target": f"AmazonSQS.{operation}", "content-type": "application/x-amz-json-1.0",
               "host": HOST}
    status, out_headers, body = api.handle(Request("POST", "/", "", headers, json.dumps(params).encode()))
    return status, dict(out_headers), json.loads(body) if body else None


def test_create_send_receive_in_process(env) -> None:
    api, _ = env
    url = call(api, "CreateQueue", QueueName="q")["QueueUrl"]
    assert url == f"http://{HOST}/queue/us-east-1/000000000000/q"
    sent = call(api, "SendMessage", QueueUrl=url, MessageBody="hi",
                MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    assert set(sent) == {"MessageId", "MD5OfMessageBody", "MD5OfMessageAttributes"}
    got = receive(api, QueueUrl=url, MessageAttributeNames=["k"], AttributeNames=["SentTimestamp"])
    [msg] = got["Messages"]
    assert msg["Body"] == "hi"
    assert msg["MessageAttributes"] == {"k": {"DataType": "String", "StringValue": "v"}}
    assert msg["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert msg["Attributes"] == {"SentTimestamp": "1700000000000"}
    assert receive(api, QueueUrl=url) == {}


def test_model_errors_use_sqs_codes(env) -> None:
    api, _ = env
    with pytest.raises(MissingRequiredParameterException, match="must contain the parameter QueueName"):
        api.call("sqs", "CreateQueue", {})
    with pytest.raises(QueueDoesNotExist):
        api.call("sqs", "GetQueueAttributes", {"QueueUrl": "http://x/000000000000/none"})


def test_json_errors_carry_the_query_error_header(env) -> None:
    api, _ = env
    status, headers, body = json_wire(api, "GetQueueUrl", {"QueueName": "none"})
    assert status == 400
    assert body == {"__type": "com.amazonaws.sqs#QueueDoesNotExist",
                    "message": "The specified queue does not exist."}
    assert headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    status, headers, body = json_wire(api, "SendMessage", {"QueueUrl": "http://x/000000000000/none"})
    assert status == 400 and headers["x-amzn-query-error"] == "MissingParameter;Sender"


def test_query_form_and_xml(env) -> None:
    api, _ = env
    url = call(api, "CreateQueue", QueueName="q")["QueueUrl"]
    entry = "SendMessageBatchRequestEntry"
    form = urlencode({"Action": "SendMessageBatch", "Version": "2012-11-05", "QueueUrl": url,
                      f"{entry}.1.Id": "a", f"{entry}.1.MessageBody": "x",
                      f"{entry}.2.Id": "b", f"{entry}.2.MessageBody": ""})
    headers = {"content-type": "application/x-www-form-urlencoded", "host": HOST}
    status, _, body = api.handle(Request("POST", "/000000000000/q", "", headers, form.encode()))
    text = body.decode()
    assert status == 200 and "<SendMessageBatchResponse" in text
    assert "<SendMessageBatchResultEntry><Id>a</Id>" in text
    assert "<BatchResultErrorEntry><Id>b</Id>" in text and "<Code>MissingParameter</Code>" in text


def test_batch_request_too_long(env) -> None:
    api, _ = env
    url = call(api, "CreateQueue", QueueName="q")["QueueUrl"]
    entries = [{"Id": str(i), "MessageBody": "x" * 200_000} for i in range(6)]
    with pytest.raises(BatchRequestTooLong, match="You have sent 1200000 bytes."):
        api.call("sqs", "SendMessageBatch", {"QueueUrl": url, "Entries": entries})
    assert call(api, "GetQueueAttributes", QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]) == {
        "Attributes": {"ApproximateNumberOfMessages": "0"}}


def test_change_visibility_batch_reports_each_entry(env) -> None:
    api, driver = env
    url = call(api, "CreateQueue", QueueName="q")["QueueUrl"]
    call(api, "SendMessage", QueueUrl=url, MessageBody="m")
    [msg] = receive(api, QueueUrl=url)["Messages"]
    result = call(api, "ChangeMessageVisibilityBatch", QueueUrl=url, Entries=[
        {"Id": "ok", "ReceiptHandle": msg["ReceiptHandle"], "VisibilityTimeout": 100},
        {"Id": "range", "ReceiptHandle": msg["ReceiptHandle"], "VisibilityTimeout": 43_201},
        {"Id": "bad", "ReceiptHandle": "nope", "VisibilityTimeout": 1}])
    assert result["Successful"] == [{"Id": "ok"}]
    assert [(f["Id"], f["Code"]) for f in result["Failed"]] == [
        ("range", "InvalidParameterValue"), ("bad", "ReceiptHandleIsInvalid")]
    driver.advance(99)
    assert receive(api, QueueUrl=url) == {}
    driver.advance(1)
    assert len(receive(api, QueueUrl=url)["Messages"]) == 1


def test_config_files_create_queues_through_the_same_handlers(env) -> None:
    api, _ = env
    config = Config(resources={"sqs": {"queues": [
        {"QueueName": "dlq"},
        {"QueueName": "orders", "Attributes": {"VisibilityTimeout": "60", "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq", "maxReceiveCount": 3})}},
    ]}})
    apply_config(config, api)
    attrs = call(api, "GetQueueAttributes", QueueUrl=f"http://{HOST}/000000000000/orders",
                 AttributeNames=["VisibilityTimeout", "RedrivePolicy"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "60" and '"maxReceiveCount":3' in attrs["RedrivePolicy"]
