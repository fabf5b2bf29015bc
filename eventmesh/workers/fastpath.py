"""The hot operations routed from the request's bytes, before anything decodes them.

A request the worker passes on is decoded and checked by its owner anyway; decoding it here
first (the router's way) would double the cost of every forwarded request. For the operations a
load is made of, the resource is found in the raw request instead:

* SQS over AWS JSON (``X-Amz-Target: AmazonSQS.*`` but the account-level ones): the
  ``"QueueUrl"`` member (SQS Query requests go the ordinary way);
* Kinesis over AWS JSON: ``"StreamARN"`` or ``"StreamName"`` (PutRecord(s), GetShardIterator, ...);
* SNS Query ``Publish``/``PublishBatch``: the ``TopicArn`` form field.

Whatever this cannot read with certainty (an escape inside the string, a member whose value is
not a string, CBOR, another operation) goes the ordinary way: decoded here, routed by
``routes.py``. A wrong guess costs a hop, never an answer: the worker it lands on routes it
again (``node.MAX_HOPS``).
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from eventmesh.arn import format_arn
from eventmesh.services.sqs.service import parse_queue_url
from eventmesh.wire.router import Request, caller_scope

__all__ = ["resource_of"]

# SQS operations that name no queue (they go the ordinary way).
_SQS_ACCOUNT_LEVEL = frozenset({"AmazonSQS.CreateQueue", "AmazonSQS.GetQueueUrl", "AmazonSQS.ListQueues",
                                "AmazonSQS.StartMessageMoveTask", "AmazonSQS.ListMessageMoveTasks",
                                "AmazonSQS.CancelMessageMoveTask"})
_KINESIS_STREAM_OPS = frozenset({"Kinesis_20131202.PutRecord", "Kinesis_20131202.PutRecords",
                                 "Kinesis_20131202.GetShardIterator", "Kinesis_20131202.DescribeStreamSummary"})
_JSON = "application/x-amz-json-"


def _string_member(body: bytes, key: bytes) -> str | None:
    """The value of ``"key": "..."`` if its first occurrence is a plain string, else None."""
    at = body.find(key)
    if at < 0:
        return None
    colon = at + len(key)
    while colon < len(body) and body[colon] in b" \t\r\n":
        colon += 1
    if colon >= len(body) or body[colon] != 0x3A:   # the name as a value ("MessageBody": "QueueUrl")
        return None
    start = colon + 1
    while start < len(body) and body[start] in b" \t\r\n":
        start += 1
    if start >= len(body) or body[start] != 0x22:   # a value that is not a string: not ours to read
        return None
    end = body.find(b'"', start + 1)
    if end < 0:
        return None
    value = body[start + 1:end]
    if b"\\" in value:
        return None
    return value.decode("utf-8", "replace")


def _form_field(body: bytes, name: bytes) -> str | None:
    at = body.find(name)
    if at < 0 or (at and body[at - 1] != 0x26):   # at the start or after "&"
        return None
    end = body.find(b"&", at)
    return unquote_plus(body[at + len(name):end if end >= 0 else len(body)].decode("latin-1"))


def resource_of(request: Request, default_account: str, default_region: str, access_keys: object) -> str | None:
    """The ARN a hot request acts on, read from its bytes; None when not certain."""
    headers = request.headers
    target = headers.get("x-amz-target")
    body = request.body
    if type(body) is not bytes:
        return None
    if target is not None:
        if not headers.get("content-type", "").startswith(_JSON):
            return None
        if target.startswith("AmazonSQS."):
            if target in _SQS_ACCOUNT_LEVEL:
                return None
            url = _string_member(body, b'"QueueUrl"')
            if url is None:
                return None
            account, region = _scope(request, default_account, default_region, access_keys)
            url_region, _, name = parse_queue_url(url)
            return format_arn("sqs", url_region or region, account, name)
        if target in _KINESIS_STREAM_OPS:
            arn = _string_member(body, b'"StreamARN"')
            if arn is not None:
                return arn
            stream = _string_member(body, b'"StreamName"')
            if stream is None:
                return None
            account, region = _scope(request, default_account, default_region, access_keys)
            return format_arn("kinesis", region, account, f"stream/{stream}")
        return None
    if request.method == "POST" and body.startswith(b"Action=Publish") and request.path == "/":
        topic = _form_field(body, b"TopicArn=")
        return topic if topic is not None and topic.startswith("arn:aws:sns:") else None
    return None


def _scope(request: Request, default_account: str, default_region: str, access_keys: object) -> tuple[str, str]:
    try:
        account, region = caller_scope(request.headers, access_keys, request.query)  # type: ignore[arg-type]
    except Exception:   # an unknown key: the owner refuses it as the router would
        return default_account, default_region
    return account or default_account, region or default_region
