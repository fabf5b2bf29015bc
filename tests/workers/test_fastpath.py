"""The hot requests a worker passes on undecoded: the resource read from the raw bytes, or None
whenever the bytes do not say it with certainty (then the request is decoded and routed)."""

from __future__ import annotations

import msgspec

from eventmesh.wire.auth import AccessKeys
from eventmesh.wire.router import Request
from eventmesh.workers.fastpath import resource_of

ACCOUNT, REGION = "000000000000", "us-east-1"


def _json(target: str, body: bytes, version: str = "1.0", **headers: str) -> Request:
    return Request("POST", "/", "", {"x-amz-target": target, "content-type": f"application/x-amz-json-{version}",
                                     **headers}, body)


def _of(request: Request, keys: AccessKeys | None = None) -> str | None:
    return resource_of(request, ACCOUNT, REGION, keys or AccessKeys())


def test_sqs_json_names_the_queue_of_its_url() -> None:
    body = msgspec.json.encode({"QueueUrl": "http://localhost:4566/000000000000/orders", "MessageBody": "x"})
    assert _of(_json("AmazonSQS.SendMessage", body)) == "arn:aws:sqs:us-east-1:000000000000:orders"
    # the Region of a queue URL that names one, the account of the caller's key
    url = "http://sqs.eu-west-1.localhost:4566/111122223333/orders"
    signed = {"authorization": "AWS4-HMAC-SHA256 Credential=111122223333/20260101/eu-west-1/sqs/aws4_request, "
                               "SignedHeaders=host, Signature=0"}
    request = _json("AmazonSQS.ReceiveMessage", msgspec.json.encode({"QueueUrl": url}), **signed)
    assert _of(request) == "arn:aws:sqs:eu-west-1:111122223333:orders"


def test_what_is_not_certain_goes_the_ordinary_way() -> None:
    url = "http://localhost:4566/000000000000/orders"
    assert _of(_json("AmazonSQS.CreateQueue", msgspec.json.encode({"QueueName": "orders"}))) is None
    # the member's name as a value, before the member itself: not read
    body = b'{"MessageBody": "QueueUrl", "QueueUrl": "' + url.encode() + b'"}'
    assert _of(_json("AmazonSQS.SendMessage", body)) is None
    assert _of(_json("AmazonSQS.SendMessage", b'{"QueueUrl": "http:\\/\\/localhost\\/0\\/q"}')) is None   # escapes
    assert _of(_json("AmazonSQS.SendMessage", b'{"QueueUrl": 7}')) is None
    cbor = Request("POST", "/", "", {"x-amz-target": "Kinesis_20131202.PutRecord",
                                     "content-type": "application/x-amz-cbor-1.1"}, b"\xa0")
    assert _of(cbor) is None
    assert _of(_json("Kinesis_20131202.CreateStream", b'{"StreamName": "s"}', "1.1")) is None


def test_kinesis_by_arn_or_name_and_sns_publish_by_topic() -> None:
    arn = "arn:aws:kinesis:us-east-1:000000000000:stream/clicks"
    put = _json("Kinesis_20131202.PutRecord", b'{"StreamARN": "' + arn.encode() + b'", "Data": "eA=="}', "1.1")
    assert _of(put) == arn
    assert _of(_json("Kinesis_20131202.PutRecords", b'{"StreamName":"clicks","Records":[]}', "1.1")) == arn
    topic = "arn:aws:sns:us-east-1:000000000000:alerts"
    publish = Request("POST", "/", "", {"content-type": "application/x-www-form-urlencoded"},
                      b"Action=Publish&TopicArn=" + topic.replace(":", "%3A").encode() + b"&Message=hi")
    assert _of(publish) == topic
    no_topic = Request("POST", "/", "", {}, b"Action=Publish&TargetArn=arn%3Aaws%3Asns%3Aus-east-1%3A0%3Aapp%2Fx")
    assert _of(no_topic) is None
