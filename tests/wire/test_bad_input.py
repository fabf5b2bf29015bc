"""Bad input over the wire is the client's fault: a 4xx in the protocol's error shape, never a 500.

Each case is one the hostile-client review of the daemon found answered with ``InternalFailure``;
the layer that fixes them (decode errors → the service's 400, every request checked against its
model before a handler runs) is in ``eventmesh/wire/router.py``.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest

from eventmesh.config import Config
from eventmesh.daemon import ServerHandle, serve_in_thread
from eventmesh.wire.protocols import cbor

ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/r"
SHARD = "shardId-000000000000"
JSON10 = "application/x-amz-json-1.0"
JSON11 = "application/x-amz-json-1.1"
CBOR = "application/x-amz-cbor-1.1"


@pytest.fixture(scope="module")
def daemon() -> Iterator[ServerHandle]:
    config = Config(resources={
        "sqs": {"queues": [{"QueueName": "q"}, {"QueueName": "q.fifo", "Attributes": {"FifoQueue": "true"}}]},
        "kinesis": {"streams": [{"StreamName": "s", "ShardCount": 1}]},
        "lambda": {"functions": [{"FunctionName": "f", "Role": ROLE, "Handler": "model:duration=1ms",
                                  "Runtime": "python3.12", "Code": {"ZipFile": b""}}]},
        "events": {"rules": [{"Name": "r", "EventPattern": '{"source": ["a"]}'}]},
    })
    handle = serve_in_thread(config)
    yield handle
    handle.stop()


def send(handle: ServerHandle, method: str, path: str, headers: dict[str, str],
         body: bytes | str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", handle.daemon.bound_port, timeout=10)
    try:
        conn.request(method, path, body.encode() if isinstance(body, str) else body,
                     {"Host": f"127.0.0.1:{handle.daemon.bound_port}", **headers})
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        conn.close()


def error_code(protocol: str, headers: dict[str, str], body: bytes) -> str:
    """The error code as the SDKs read it from each protocol's error shape."""
    if protocol == "rest-json":
        assert "Message" in json.loads(body) or "message" in json.loads(body)
        return headers["x-amzn-errortype"]
    if protocol == "cbor":
        document = cbor.decode(body)
        assert headers["content-type"] == CBOR and isinstance(document["message"], str)
        return str(document["__type"]).rsplit("#", 1)[-1]
    if protocol == "query":
        assert headers["content-type"] == "text/xml" and b"<ErrorResponse" in body
        return body.split(b"<Code>", 1)[1].split(b"</Code>", 1)[0].decode()
    document = json.loads(body)
    assert isinstance(document["message"], str)
    return str(document["__type"]).rsplit("#", 1)[-1]


def _url(handle: ServerHandle, queue: str = "q") -> str:
    return f"http://127.0.0.1:{handle.daemon.bound_port}/{ACCOUNT}/{queue}"


def sqs(op: str, body: Any) -> tuple[str, str, dict[str, str], Any, str]:
    return "POST", "/", {"X-Amz-Target": f"AmazonSQS.{op}", "Content-Type": JSON10}, body, "json"


def kinesis(op: str, body: Any) -> tuple[str, str, dict[str, str], Any, str]:
    return "POST", "/", {"X-Amz-Target": f"Kinesis_20131202.{op}", "Content-Type": JSON11}, body, "json"


def events(op: str, body: Any) -> tuple[str, str, dict[str, str], Any, str]:
    return "POST", "/", {"X-Amz-Target": f"AWSEvents.{op}", "Content-Type": JSON11}, body, "json"


def cbor_call(target: str, body: bytes) -> tuple[str, str, dict[str, str], Any, str]:
    return "POST", "/", {"X-Amz-Target": target, "Content-Type": CBOR}, body, "cbor"


QUEUE = "{queue}"   # replaced by the daemon's queue URL
DEEP = "[" * 10_000 + "]" * 10_000
STREAM_ARN = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/s"

# (case id, request, expected error code)
CASES: list[tuple[str, tuple[str, str, dict[str, str], Any, str], str]] = [
    # the 22 sites (and their near neighbours)
    ("sqs-receive-attribute-names-int", sqs("ReceiveMessage", {"QueueUrl": QUEUE, "AttributeNames": -1}),
     "InvalidParameterValueException"),
    ("sqs-send-delay-list", sqs("SendMessage", {"QueueUrl": QUEUE, "MessageBody": "x", "DelaySeconds": []}),
     "InvalidParameterValueException"),
    ("sqs-send-attribute-not-struct",
     sqs("SendMessage", {"QueueUrl": QUEUE, "MessageBody": "x", "MessageAttributes": {"a": "x"}}),
     "InvalidParameterValueException"),
    ("sqs-send-group-id-int",
     sqs("SendMessage", {"QueueUrl": QUEUE, "MessageBody": "x", "MessageGroupId": -1}),
     "InvalidParameterValueException"),
    ("sqs-send-batch-null-entry", sqs("SendMessageBatch", {"QueueUrl": QUEUE, "Entries": [None]}),
     "InvalidParameterValueException"),
    ("sqs-send-batch-entry-int", sqs("SendMessageBatch", {"QueueUrl": QUEUE, "Entries": [1]}),
     "InvalidParameterValueException"),
    ("sqs-send-batch-entries-string", sqs("SendMessageBatch", {"QueueUrl": QUEUE, "Entries": "x"}),
     "InvalidParameterValueException"),
    ("sqs-delete-batch-null-entry", sqs("DeleteMessageBatch", {"QueueUrl": QUEUE, "Entries": [None]}),
     "InvalidParameterValueException"),
    ("sqs-delete-receipt-int", sqs("DeleteMessage", {"QueueUrl": QUEUE, "ReceiptHandle": 5}),
     "InvalidParameterValueException"),
    ("sqs-receive-max-string", sqs("ReceiveMessage", {"QueueUrl": QUEUE, "MaxNumberOfMessages": "5"}),
     "InvalidParameterValueException"),
    ("sqs-send-attribute-null-value",
     sqs("SendMessage", {"QueueUrl": QUEUE, "MessageBody": "x", "MessageAttributes": {"a": None}}),
     "InvalidParameterValueException"),
    ("sqs-queue-url-list", sqs("GetQueueAttributes", {"QueueUrl": ["x"]}), "InvalidParameterValueException"),
    ("sqs-cbor-map", cbor_call("AmazonSQS.ListQueues", b"{}"), "SerializationException"),
    ("sqs-deep-json", sqs("ListQueues", DEEP), "SerializationException"),
    ("sqs-body-array", sqs("ListQueues", "[1]"), "SerializationException"),
    ("sqs-body-not-json", sqs("ListQueues", "{"), "SerializationException"),
    ("kinesis-at-timestamp-string",
     kinesis("GetShardIterator", {"StreamName": "s", "ShardId": SHARD, "ShardIteratorType": "AT_TIMESTAMP",
                                  "Timestamp": "x"}), "ValidationException"),
    ("kinesis-ordering-not-a-number",
     kinesis("PutRecord", {"StreamName": "s", "Data": "AA==", "PartitionKey": "k",
                           "SequenceNumberForOrdering": "a"}), "ValidationException"),
    ("kinesis-data-not-base64", kinesis("PutRecord", {"StreamName": "s", "Data": "!!", "PartitionKey": "k"}),
     "SerializationException"),
    ("kinesis-put-records-null-record", kinesis("PutRecords", {"StreamName": "s", "Records": [None]}),
     "ValidationException"),
    ("kinesis-put-records-arn-int", kinesis("PutRecords", {"StreamARN": 5, "Records": [{"Data": "AA==",
                                                                                          "PartitionKey": "k"}]}),
     "ValidationException"),
    ("kinesis-limit-past-int32",
     kinesis("GetRecords", {"ShardIterator": "x", "Limit": 2**31}), "ValidationException"),
    ("kinesis-cbor-break", cbor_call("Kinesis_20131202.PutRecords", b"\xbf"), "SerializationException"),
    ("kinesis-cbor-not-map", cbor_call("Kinesis_20131202.DescribeStream", b"\x01"), "SerializationException"),
    ("kinesis-cbor-truncated", cbor_call("Kinesis_20131202.PutRecords", cbor.encode({"Records": [1]})[:-1]),
     "SerializationException"),
    ("kinesis-cbor-record-not-map",
     cbor_call("Kinesis_20131202.PutRecords", cbor.encode({"StreamName": "s", "Records": [1]})),
     "ValidationException"),
    ("events-put-targets-null", events("PutTargets", {"Rule": "r", "Targets": [None]}), "ValidationException"),
    ("events-create-bus-null-tag", events("CreateEventBus", {"Name": "b", "Tags": [None]}),
     "ValidationException"),
    ("events-put-events-null-entry", events("PutEvents", {"Entries": [None]}), "ValidationException"),
    ("events-put-events-resources-int",
     events("PutEvents", {"Entries": [{"Source": "a", "DetailType": "d", "Detail": "{}", "Resources": 1}]}),
     "ValidationException"),
    ("events-put-rule-name-int", events("PutRule", {"Name": 1}), "ValidationException"),
    # timestamps an RFC 3339 date-time cannot write (found by fuzz_daemon.py --seed 13)
    ("events-put-events-time-past-year-9999",
     events("PutEvents", {"Entries": [{"Source": "a", "DetailType": "d", "Detail": "{}", "Time": 253402300800}]}),
     "ValidationException"),
    ("events-put-events-11-entries-time-past-year-9999",
     events("PutEvents", {"Entries": [{"Source": "a", "DetailType": "d", "Detail": "{}", "Time": 1e20}] * 11}),
     "ValidationException"),
    ("events-put-events-time-before-year-1",
     events("PutEvents", {"Entries": [{"Source": "a", "DetailType": "d", "Detail": "{}", "Time": -1e12}]}),
     "ValidationException"),
    ("kinesis-at-timestamp-past-year-9999",
     kinesis("GetShardIterator", {"StreamName": "s", "ShardId": SHARD, "ShardIteratorType": "AT_TIMESTAMP",
                                  "Timestamp": 1e300}), "ValidationException"),
    ("lambda-create-body-int",
     ("POST", "/2015-03-31/functions", {"Content-Type": "application/json"}, "1", "rest-json"),
     "InvalidRequestContentException"),
    ("lambda-create-body-deep",
     ("POST", "/2015-03-31/functions", {"Content-Type": "application/json"}, DEEP, "rest-json"),
     "InvalidRequestContentException"),
    ("lambda-invocation-type-past-int32",
     ("POST", "/2015-03-31/functions/f/invocations", {"X-Amz-Invocation-Type": "-2147483649"}, "{}",
      "rest-json"), "ValidationException"),
    ("lambda-zip-not-base64",
     ("PUT", "/2015-03-31/functions/f/code", {"Content-Type": "application/json"}, '{"ZipFile": "abcde"}',
      "rest-json"), "InvalidRequestContentException"),
    ("lambda-memory-string",
     ("PUT", "/2015-03-31/functions/f/configuration", {"Content-Type": "application/json"},
      '{"MemorySize": "x"}', "rest-json"), "ValidationException"),
    ("lambda-max-items-not-int",
     ("GET", "/2015-03-31/functions/?MaxItems=x", {}, "", "rest-json"), "InvalidRequestContentException"),
    ("lambda-variables-null-value",
     ("PUT", "/2015-03-31/functions/f/configuration", {"Content-Type": "application/json"},
      '{"Environment": {"Variables": {"A": null}}}', "rest-json"), "ValidationException"),
    ("lambda-log-type-not-in-enum",
     ("POST", "/2015-03-31/functions/f/invocations", {"X-Amz-Log-Type": "Everything"}, "{}", "rest-json"),
     "ValidationException"),
    ("query-sqs-delay-not-int",
     ("POST", f"/{ACCOUNT}/q", {"Content-Type": "application/x-www-form-urlencoded"},
      "Action=SendMessage&MessageBody=x&DelaySeconds=zz", "query"), "InvalidParameterValue"),
    ("query-sns-publish-missing-message",
     ("POST", "/", {"Content-Type": "application/x-www-form-urlencoded"},
      f"Action=Publish&Version=2010-03-31&TopicArn=arn:aws:sns:us-east-1:{ACCOUNT}:t", "query"),
     "InvalidParameter"),   # SNS: "Invalid parameter: Message Reason: no value for required parameter"
]


@pytest.mark.parametrize(("request_", "code"), [(r, c) for _, r, c in CASES], ids=[i for i, _, _ in CASES])
def test_bad_input_is_the_clients_fault(daemon: ServerHandle, request_: tuple, code: str) -> None:
    method, path, headers, body, protocol = request_
    if isinstance(body, dict):
        body = json.dumps({k: (_url(daemon) if v == QUEUE else v) for k, v in body.items()})
    status, reply_headers, reply = send(daemon, method, path, headers, body)
    assert 400 <= status < 500, (status, reply[:300])
    assert error_code(protocol, reply_headers, reply) == code, reply[:300]


def test_the_daemon_serves_on_after_bad_input(daemon: ServerHandle) -> None:
    status, _, body = send(daemon, "POST", "/", {"X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": JSON10},
                           json.dumps({"QueueUrl": _url(daemon), "MessageBody": "still here"}))
    assert status == 200 and b"MessageId" in body


def test_the_last_instants_rfc_3339_can_write_are_timestamps(daemon: ServerHandle) -> None:
    """The bounds themselves are accepted, and the event's ``time`` is written as AWS writes it."""
    for at, text in ((253402300799, "9999-12-31T23:59:59Z"), (-62135596800, "0001-01-01T00:00:00Z")):
        body = json.dumps({"Entries": [{"Source": "a", "DetailType": "d", "Detail": "{}", "Time": at}]})
        status, _, reply = send(daemon, *events("PutEvents", body)[:3], body)
        assert status == 200 and json.loads(reply)["FailedEntryCount"] == 0, reply
        body = json.dumps({"Event": json.dumps({"id": "1", "account": ACCOUNT, "source": "a", "time": text,
                                                "region": "us-east-1", "resources": [], "detail-type": "d",
                                                "detail": {}}), "EventPattern": '{"time": ["' + text + '"]}'})
        status, _, reply = send(daemon, *events("TestEventPattern", body)[:3], body)
        assert status == 200 and json.loads(reply) == {"Result": True}, reply
