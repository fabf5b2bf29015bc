"""boto3 against the daemon (virtual clock): SNS over the Query protocol.

Queues are created and drained on the daemon's own loop (the mesh is not shared across threads);
HTTP subscribers are a loopback ``http.server`` the daemon POSTs to for real.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from eventmesh.daemon import ServerHandle, serve_in_thread
from eventmesh.services.sqs.service import create_queue, queue_by_name

T = TypeVar("T")
Received = queue.Queue[tuple[dict[str, str], str]]
POST_WAIT_S = 10  # how long to wait for the daemon's real POST to reach the loopback server


@pytest.fixture(scope="module")
def daemon() -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual")
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def sns(daemon: ServerHandle) -> Any:
    return boto3.client("sns", endpoint_url=daemon.url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))


def on_loop(handle: ServerHandle, fn: Callable[[], T]) -> T:
    async def call() -> T:
        return fn()

    return asyncio.run_coroutine_threadsafe(call(), handle.loop).result(timeout=30)


def queue_arn(handle: ServerHandle, name: str) -> str:
    return on_loop(handle, lambda: create_queue(handle.mesh, name).arn)


def drain(handle: ServerHandle, name: str) -> list[Any]:
    def receive() -> list[Any]:
        q = queue_by_name(handle.mesh, name)
        out: list[Any] = []
        while got := q.receive(10):
            out += got
        return out

    return on_loop(handle, receive)


def test_fan_out_with_attribute_and_body_filters(daemon: ServerHandle, sns: Any) -> None:
    topic = sns.create_topic(Name="fanout")["TopicArn"]
    by_attr = queue_arn(daemon, "fanout-attr")
    by_body = queue_arn(daemon, "fanout-body")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=by_attr, Attributes={
        "FilterPolicy": json.dumps({"color": ["red"]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=by_body, Attributes={
        "FilterPolicy": json.dumps({"size": [{"numeric": [">=", 10]}]}), "FilterPolicyScope": "MessageBody",
        "RawMessageDelivery": "true"})
    red = {"color": {"DataType": "String", "StringValue": "red"}}
    sns.publish(TopicArn=topic, Message=json.dumps({"size": 5}), Subject="small", MessageAttributes=red)
    sns.publish(TopicArn=topic, Message=json.dumps({"size": 50}))
    sns.publish(TopicArn=topic, Message="not json", MessageAttributes={
        "color": {"DataType": "String", "StringValue": "blue"}})

    (enveloped,) = drain(daemon, "fanout-attr")
    envelope = json.loads(enveloped.body)
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic
    assert envelope["Message"] == '{"size": 5}' and envelope["Subject"] == "small"
    assert envelope["MessageAttributes"] == {"color": {"Type": "String", "Value": "red"}}
    assert envelope["UnsubscribeURL"].startswith(f"{daemon.url}/?Action=Unsubscribe&SubscriptionArn={topic}:")
    (raw,) = drain(daemon, "fanout-body")
    assert raw.body == '{"size": 50}'


def test_raw_delivery_carries_attributes_as_sqs_attributes(daemon: ServerHandle, sns: Any) -> None:
    topic = sns.create_topic(Name="raw")["TopicArn"]
    target = queue_arn(daemon, "raw-q")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=target, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message="payload", MessageAttributes={
        "n": {"DataType": "Number", "StringValue": "42"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x01\x02"}})
    (message,) = drain(daemon, "raw-q")
    assert message.body == "payload"
    assert message.attributes["n"]["StringValue"] == "42"
    assert message.attributes["b"]["DataType"] == "Binary"


def test_publish_batch_and_listing(daemon: ServerHandle, sns: Any) -> None:
    topic = sns.create_topic(Name="batch.fifo", Attributes={"FifoTopic": "true",
                                                            "ContentBasedDeduplication": "true"})["TopicArn"]
    target = queue_arn(daemon, "batch-any")
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=target)["SubscriptionArn"]
    out = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "one", "Message": "1", "MessageGroupId": "g"},
        {"Id": "two", "Message": "2", "MessageGroupId": "g"}])
    assert [e["Id"] for e in out["Successful"]] == ["one", "two"] and out["Failed"] == []
    assert all(e["SequenceNumber"] for e in out["Successful"])
    assert [json.loads(m.body)["Message"] for m in drain(daemon, "batch-any")] == ["1", "2"]
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in listed] == [sub]
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["FifoTopic"] == "true" and attributes["SubscriptionsConfirmed"] == "1"
    sns.tag_resource(ResourceArn=topic, Tags=[{"Key": "k", "Value": "v"}])
    assert sns.list_tags_for_resource(ResourceArn=topic)["Tags"] == [{"Key": "k", "Value": "v"}]


def test_errors_come_back_as_sns_codes(daemon: ServerHandle, sns: Any) -> None:
    with pytest.raises(ClientError) as missing:
        sns.get_topic_attributes(TopicArn="arn:aws:sns:us-east-1:000000000000:nope")
    assert missing.value.response["Error"]["Code"] == "NotFound"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    topic = sns.create_topic(Name="errors")["TopicArn"]
    with pytest.raises(ClientError) as bad:
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(daemon, "errors-q"),
                      Attributes={"FilterPolicy": '{"a": "b"}'})
    assert bad.value.response["Error"]["Code"] == "InvalidParameter"
    message = bad.value.response["Error"]["Message"]
    assert message.startswith("Invalid parameter: Attributes Reason: FilterPolicy:")
    with pytest.raises(ClientError) as empty:
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
            {"Id": "same", "Message": "1"}, {"Id": "same", "Message": "2"}])
    assert empty.value.response["Error"]["Code"] == "BatchEntryIdsNotDistinct"


class _Receiver(BaseHTTPRequestHandler):
    received: Received

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.received.put((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, Received]]:
    received: Received = queue.Queue()
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sns", received
    finally:
        server.shutdown()
        server.server_close()


def test_http_subscriber_confirms_through_subscribe_url_and_gets_notifications(
        daemon: ServerHandle, sns: Any, receiver: tuple[str, Received]) -> None:
    url, received = receiver
    topic = sns.create_topic(Name="http")["TopicArn"]
    assert sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=url)["SubscriptionArn"] == \
        "pending confirmation"
    headers, body = received.get(timeout=POST_WAIT_S)
    confirmation = json.loads(body)
    assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert confirmation["Type"] == "SubscriptionConfirmation" and confirmation["TopicArn"] == topic
    with urllib.request.urlopen(confirmation["SubscribeURL"], timeout=POST_WAIT_S) as reply:
        assert b"<ConfirmSubscriptionResult><SubscriptionArn>" in reply.read()
    sns.publish(TopicArn=topic, Message="over http", Subject="hi")
    headers, body = received.get(timeout=POST_WAIT_S)
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert json.loads(body)["Message"] == "over http"
