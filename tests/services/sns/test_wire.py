"""boto3 against the daemon (virtual clock): SNS over the Query protocol.

Queues are created and drained on the daemon's own loop (the mesh is not shared across threads);
HTTP subscribers are a loopback ``http.server`` the daemon POSTs to for real.
"""

from __future__ import annotations

import asyncio
import base64
import json
import queue
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from eventmesh.daemon import ServerHandle
from eventmesh.services.sqs.service import create_queue, queue_by_name
from eventmesh.workers import serve_in_thread

T = TypeVar("T")
Received = queue.Queue[tuple[dict[str, str], str]]
POST_WAIT_S = 10  # how long to wait for the daemon's real POST to reach the loopback server


@pytest.fixture(scope="module")
def daemon(workers: int) -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual", workers=workers)
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
    handle.settle()   # deliveries from a topic on another worker have landed

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


# -- fidelity to recorded AWS answers ----------------------------------------------------------


def client(daemon: ServerHandle, region: str = "us-east-1", **config: Any) -> Any:
    return boto3.client("sns", endpoint_url=daemon.url, region_name=region, aws_access_key_id="x",
                        aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}, **config))


def error(call: Callable[[], Any]) -> tuple[str, str, int]:
    """(Code, Message, HTTP status) of the ClientError ``call`` raises."""
    with pytest.raises(ClientError) as exc:
        call()
    response = exc.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_query_errors_carry_no_detail_element(daemon: ServerHandle) -> None:
    form = urllib.parse.urlencode({"Action": "GetTopicAttributes", "Version": "2010-03-31",
                                   "TopicArn": "arn:aws:sns:us-east-1:000000000000:nope"}).encode()
    request = urllib.request.Request(daemon.url, data=form, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=10)
    body = exc.value.read().decode()
    assert exc.value.code == 404
    assert body.endswith("<Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist"
                         "</Message></Error><RequestId>" + body.split("<RequestId>")[1])
    assert "<Detail" not in body


def test_arn_and_target_errors_are_aws_codes(daemon: ServerHandle, sns: Any) -> None:
    topic = sns.create_topic(Name="arns")["TopicArn"]
    assert error(lambda: sns.publish(TopicArn="randomstring", Message="m")) == (
        "InvalidParameter", "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 1", 400)
    assert error(lambda: sns.publish(TopicArn="", Message="m"))[1].endswith("not 1")
    endpoint = "arn:aws:sns:us-east-1:000000000000:endpoint/APNS/app/0f7d5971-aa8b-4bd5-b585-0826e9f93a66"
    assert error(lambda: sns.publish(TargetArn=endpoint, Message="push")) == (
        "InvalidParameter", "Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified",
        400)
    assert error(lambda: sns.publish(TopicArn=topic + "-fake", Message="m")) == (
        "NotFound", "Topic does not exist", 404)
    west = client(daemon, "eu-west-1")
    for call in (lambda: west.publish(TopicArn=topic, Message="m"),
                 lambda: west.get_topic_attributes(TopicArn=topic),
                 lambda: west.subscribe(TopicArn=topic, Protocol="sms", Endpoint="+15551234567"),
                 lambda: west.delete_topic(TopicArn=topic)):
        assert error(call) == ("InvalidParameter", "Invalid parameter: TopicArn", 400)
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["TopicArn"] == topic  # still there
    unchecked = client(daemon, parameter_validation=False)
    assert error(lambda: unchecked.unsubscribe(SubscriptionArn="arn:aws:sns:us-east-1:random"))[1] == (
        "Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 5")
    assert error(lambda: unchecked.unsubscribe(SubscriptionArn="arn:aws:sns:us-east-1:000000000000:random"))[1] \
        == "Invalid parameter: SubscriptionId"
    assert error(lambda: unchecked.unsubscribe()) == (
        "InvalidParameter", "Invalid parameter: SubscriptionArn Reason: no value for required parameter", 400)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(daemon, "arns-q"))["SubscriptionArn"]
    assert error(lambda: sns.get_subscription_attributes(SubscriptionArn=sub[:-8] + "00000000")) == (
        "NotFound", "Subscription does not exist", 404)


def test_email_subscriptions_wait_for_confirmation(daemon: ServerHandle, sns: Any) -> None:
    topic = sns.create_topic(Name="email")["TopicArn"]
    assert sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="a@example.com")["SubscriptionArn"] == \
        "pending confirmation"
    arn = sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint="b@example.com",
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    assert arn.startswith(topic + ":")
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in listed] == ["PendingConfirmation", "PendingConfirmation"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["PendingConfirmation"] == "true" and attributes["ConfirmationWasAuthenticated"] == "false"
    assert attributes["SubscriptionPrincipal"] == "arn:aws:iam::000000000000:root"
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsPending"] == "2"
    sms = sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint="+12/34-567.890")["SubscriptionArn"]
    assert sms.startswith(topic + ":")  # SMS is confirmed at once
    for number in ("+15--551234567", "NAA+15551234567", "+15551234567.", "/+15551234567"):
        assert error(lambda number=number: sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint=number)) == (
            "InvalidParameter", f"Invalid SMS endpoint: {number}", 400)


def test_subscribe_and_create_topic_are_as_idempotent_as_aws(daemon: ServerHandle, sns: Any) -> None:
    tags = [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    topic = sns.create_topic(Name="idem", Tags=tags)["TopicArn"]
    for again in (tags, [tags[0]], []):
        assert sns.create_topic(Name="idem", Tags=again)["TopicArn"] == topic
    assert error(lambda: sns.create_topic(Name="idem", Tags=[{"Key": "c", "Value": "3"}])) == (
        "InvalidParameter", "Invalid parameter: Tags Reason: Topic already exists with different tags", 400)
    sns.set_topic_attributes(TopicArn=topic, AttributeName="DisplayName", AttributeValue="Set")
    assert sns.create_topic(Name="idem")["TopicArn"] == topic
    assert error(lambda: sns.create_topic(Name="idem", Attributes={"DisplayName": "Other"}))[1] == (
        "Invalid parameter: Attributes Reason: Topic already exists with different attributes")
    assert error(lambda: sns.tag_resource(ResourceArn=topic, Tags=[*tags, tags[1]])) == (
        "InvalidParameter", "Invalid parameter: Duplicated keys are not allowed.", 400)

    endpoint = queue_arn(daemon, "idem-q")

    def subscribe(attributes: dict[str, str] | None = None) -> str:
        extra = {} if attributes is None else {"Attributes": attributes}
        return str(sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=endpoint, ReturnSubscriptionArn=True,
                                 **extra)["SubscriptionArn"])

    first = subscribe({"RawMessageDelivery": "True"})
    for attributes in ({"RawMessageDelivery": "true"},
                       {"RawMessageDelivery": "true", "FilterPolicyScope": "MessageAttributes"},
                       None, {}, {"FilterPolicyScope": "MessageAttributes"}):
        assert subscribe(attributes) == first
    assert error(lambda: subscribe({"RawMessageDelivery": "false", "FilterPolicyScope": "MessageBody"}))[1] == (
        "Invalid parameter: Attributes Reason: Subscription already exists with different attributes")


def test_signatures_verify_with_the_certificate_at_signing_cert_url(daemon: ServerHandle, sns: Any) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    for version in ("1", "2"):
        topic = sns.create_topic(Name=f"signed-{version}", Attributes={"SignatureVersion": version})["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(daemon, f"signed-{version}"))
        sns.publish(TopicArn=topic, Message="check me", Subject="s",
                    MessageAttributes={"attr1": {"DataType": "Number", "StringValue": "1"}})
        (message,) = drain(daemon, f"signed-{version}")
        body = json.loads(message.body)
        assert body["SignatureVersion"] == version
        with urllib.request.urlopen(body["SigningCertURL"], timeout=10) as reply:
            certificate = x509.load_pem_x509_certificate(reply.read())
        canonical = "".join(f"{field}\n{body[field]}\n" for field in
                            ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"))
        certificate.public_key().verify(  # type: ignore[call-arg, union-attr]
            base64.b64decode(body["Signature"]), canonical.encode(), padding.PKCS1v15(),  # type: ignore[arg-type]
            hashes.SHA1() if version == "1" else hashes.SHA256())


def test_trace_header_reaches_the_queue(daemon: ServerHandle, sns: Any) -> None:
    trace = "Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1"

    def add_header(request: Any, **_: Any) -> None:
        request.headers["X-Amzn-Trace-Id"] = trace

    topic = sns.create_topic(Name="traced")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(daemon, "traced-q"))
    sns.meta.events.register("before-send.sns.Publish", add_header)
    try:
        sns.publish(TargetArn=topic, Message="traced")
    finally:
        sns.meta.events.unregister("before-send.sns.Publish", add_header)
    sns.publish(TopicArn=topic, Message="untraced")
    assert [(m.body and json.loads(m.body)["Message"], m.trace_header) for m in drain(daemon, "traced-q")] == [
        ("traced", trace), ("untraced", None)]


def test_publish_validation_in_aws_words(daemon: ServerHandle, sns: Any) -> None:
    topic = sns.create_topic(Name="validate")["TopicArn"]
    unchecked = client(daemon, parameter_validation=False)
    too_long = 262_144 - len(b"attr1Number1") + 1
    attrs = {"attr1": {"DataType": "Number", "StringValue": "1"}}
    assert error(lambda: sns.publish(TopicArn=topic, Message="a" * too_long, MessageAttributes=attrs))[1] == \
        "Invalid parameter: Message too long"
    assert sns.publish(TopicArn=topic, Message="a" * (too_long - 1), MessageAttributes=attrs)["MessageId"]
    assert error(lambda: sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "1", "Message": "a" * (too_long - 1), "MessageAttributes": attrs},
        {"Id": "2", "Message": "bb"}])) == (
        "BatchRequestTooLong", "The length of all the messages put together is more than the limit.", 400)
    cases = {
        "a" * 257: ("String", "v", "Length of message attribute name must be less than 256 bytes."),
        ".abc": ("String", "v", "Invalid message attribute name starting with character '.' was found."),
        "abc.": ("String", "v", "Invalid message attribute name ending with character '.' was found."),
        "a..bc": ("String", "v", "Message attribute name can not have successive '.' character."),
        "attr1": ("String.", "v", "The message attribute 'attr1' has an invalid message attribute type, the set "
                                  "of supported type prefixes is Binary, Number, and String."),
    }
    for name, (kind, value, message) in cases.items():
        attributes = {name: {"DataType": kind, "StringValue": value}}
        assert error(lambda a=attributes: unchecked.publish(TopicArn=topic, Message="m", MessageAttributes=a)) == (
            "ParameterValueInvalid", message, 400)
        assert error(lambda a=attributes: unchecked.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
            {"Id": "1", "Message": "m", "MessageAttributes": a}]))[1] == message
    assert sns.publish(TopicArn=topic, Message="m", MessageAttributes={
        "attr1": {"DataType": "String.  prefixed.", "StringValue": "v"}})["MessageId"]
    assert error(lambda: unchecked.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "1", "Message": "m", "MessageAttributes": {"attr1": {"StringValue": "v"}}}]))[1] == (
        "1 validation error detected: Value null at 'publishBatchRequestEntries.1.member.messageAttributes.attr1."
        "member.dataType' failed to satisfy constraint: Member must not be null")
    assert error(lambda: sns.publish(PhoneNumber="+1a234", Message="m")) == (
        "InvalidParameter", "Invalid parameter: PhoneNumber Reason: +1a234 is not valid to publish to", 400)
    assert sns.publish(PhoneNumber="+15551234567", Message="sms")["MessageId"]


def test_confirm_subscription_errors(daemon: ServerHandle, sns: Any) -> None:
    topic = sns.create_topic(Name="confirm")["TopicArn"]
    token = "51b2ff3edb475b7d91550e0ab6edf0c1de2a34e6ebaf6c2262a001bcb7e051c4"
    assert error(lambda: sns.confirm_subscription(TopicArn=topic[:-1] + "i", Token=token))[1] == \
        "Invalid parameter: Token"
    assert error(lambda: sns.confirm_subscription(TopicArn=topic, Token="randomtoken"))[1] == "Invalid token"
    assert error(lambda: sns.confirm_subscription(TopicArn=topic, Token=token))[1] == "Invalid parameter: Token"
    assert error(lambda: sns.confirm_subscription(TopicArn="not-an-arn", Token=token))[1] == \
        "Invalid parameter: Topic"
    other_region = topic.replace("us-east-1", "eu-central-1")
    assert error(lambda: sns.confirm_subscription(TopicArn=other_region, Token=token))[1] == \
        "Invalid parameter: Topic"


def test_permissions_and_data_protection_policy(daemon: ServerHandle, sns: Any) -> None:
    topic = sns.create_topic(Name="perms")["TopicArn"]
    sns.add_permission(TopicArn=topic, Label="share", AWSAccountId=["111122223333"], ActionName=["Publish"])
    statements = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])["Statement"]
    assert statements[-1] == {"Sid": "share", "Effect": "Allow",
                              "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                              "Action": "SNS:Publish", "Resource": topic}
    assert error(lambda: sns.add_permission(TopicArn=topic, Label="share", AWSAccountId=["111122223333"],
                                            ActionName=["Publish"]))[1] == "Invalid parameter: Statement already exists"
    assert error(lambda: sns.add_permission(TopicArn=topic, Label="all", AWSAccountId=["111122223333"],
                                            ActionName=["*"]))[1] == (
        "Invalid parameter: Policy statement action out of service scope!")
    sns.remove_permission(TopicArn=topic, Label="share")
    statements = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["__default_statement_ID"]
    assert sns.get_data_protection_policy(ResourceArn=topic)["DataProtectionPolicy"] == ""
    policy = json.dumps({"Name": "p", "Version": "2021-06-01", "Statement": []})
    sns.put_data_protection_policy(ResourceArn=topic, DataProtectionPolicy=policy)
    assert sns.get_data_protection_policy(ResourceArn=topic)["DataProtectionPolicy"] == policy
    assert error(lambda: sns.put_data_protection_policy(ResourceArn=topic + "x", DataProtectionPolicy=policy)) == (
        "NotFound", "Topic does not exist", 404)


def test_delivery_policies_show_as_aws_normalizes_them(daemon: ServerHandle, sns: Any) -> None:
    topic = sns.create_topic(Name="policies", Attributes={"DeliveryPolicy": json.dumps(
        {"http": {"defaultRequestPolicy": {"headerContentType": "application/json"}}})})["TopicArn"]
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert json.loads(attributes["DeliveryPolicy"]) == {"http": {
        "disableSubscriptionOverrides": False, "defaultRequestPolicy": {"headerContentType": "application/json"}}}
    assert json.loads(attributes["EffectiveDeliveryPolicy"])["http"]["defaultRequestPolicy"] == {
        "headerContentType": "application/json"}
    sns.set_topic_attributes(TopicArn=topic, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(
        {"http": {"defaultHealthyRetryPolicy": {"minDelayTarget": 5, "maxDelayTarget": 6, "numRetries": 1}}}))
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert json.loads(attributes["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"] == {
        "minDelayTarget": 5, "maxDelayTarget": 6, "numRetries": 1, "numMaxDelayRetries": 0,
        "numNoDelayRetries": 0, "numMinDelayRetries": 0, "backoffFunction": "linear"}
    sns.set_topic_attributes(TopicArn=topic, AttributeName="DeliveryPolicy", AttributeValue="")
    assert "DeliveryPolicy" not in sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    sub = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:9/x",
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(
        {"requestPolicy": {"headerContentType": "text/csv"}}))
    attributes = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert json.loads(attributes["DeliveryPolicy"]) == {
        "healthyRetryPolicy": None, "sicklyRetryPolicy": None, "throttlePolicy": None,
        "requestPolicy": {"headerContentType": "text/csv"}, "guaranteed": False}
    assert json.loads(attributes["EffectiveDeliveryPolicy"])["requestPolicy"] == {"headerContentType": "text/csv"}


def test_sms_settings(daemon: ServerHandle, sns: Any) -> None:
    assert sns.list_phone_numbers_opted_out()["phoneNumbers"] == []
    assert sns.check_if_phone_number_is_opted_out(phoneNumber="+15551234567")["isOptedOut"] is False
    sns.opt_in_phone_number(phoneNumber="+15551234567")
    sns.set_sms_attributes(attributes={"DefaultSMSType": "Transactional"})
    assert sns.get_sms_attributes()["attributes"] == {"DefaultSMSType": "Transactional"}


def error_of(call: Callable[[], Any]) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"],
            response["Error"]["Message"])


def test_sms_sandbox(daemon: ServerHandle, sns: Any) -> None:
    from eventmesh.services.sns.sms import SmsSettings

    assert sns.get_sms_sandbox_account_status()["IsInSandbox"] is True
    sns.create_sms_sandbox_phone_number(PhoneNumber="+15555550123", LanguageCode="en-GB")
    assert sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"] == [
        {"PhoneNumber": "+15555550123", "Status": "Pending"}]
    assert error_of(lambda: sns.verify_sms_sandbox_phone_number(
        PhoneNumber="+15555550123", OneTimePassword="00000000"))[:2] == ("VerificationException", 400)
    otp = on_loop(daemon, lambda: daemon.mesh.state(SmsSettings).sandbox["+15555550123"].otp)
    sns.verify_sms_sandbox_phone_number(PhoneNumber="+15555550123", OneTimePassword=otp)
    assert sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"][0]["Status"] == "Verified"
    sns.delete_sms_sandbox_phone_number(PhoneNumber="+15555550123")
    assert error_of(lambda: sns.delete_sms_sandbox_phone_number(PhoneNumber="+15555550123"))[:2] == (
        "ResourceNotFound", 404)
    assert sns.list_origination_numbers()["PhoneNumbers"] == []
    assert error_of(lambda: sns.create_sms_sandbox_phone_number(PhoneNumber="12-34")) == (
        "ValidationError", 400, "1 validation error detected: Value at 'phoneNumber' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ^(\\+[0-9]{8,}|[0-9]{0,9})$")


def test_platform_applications_and_endpoints(daemon: ServerHandle, sns: Any) -> None:
    app = sns.create_platform_application(Name="push-app", Platform="GCM",
                                          Attributes={"PlatformCredential": "server-key"})["PlatformApplicationArn"]
    assert app == "arn:aws:sns:us-east-1:000000000000:app/GCM/push-app"
    assert sns.get_platform_application_attributes(PlatformApplicationArn=app)["Attributes"] == {
        "Enabled": "true", "AuthenticationMethod": "Key"}
    listed = sns.list_platform_applications()["PlatformApplications"]
    assert {"PlatformApplicationArn": app, "Attributes": {"Enabled": "true", "AuthenticationMethod": "Key"}} in listed
    assert error_of(lambda: sns.create_platform_application(
        Name="apple", Platform="APNS", Attributes={"PlatformCredential": "key"}))[:2] == ("InvalidParameter", 400)
    assert error_of(lambda: sns.create_platform_application(
        Name="x", Platform="NOKIA", Attributes={"PlatformCredential": "k"}))[2] == "Invalid parameter: Platform"

    endpoint = sns.create_platform_endpoint(PlatformApplicationArn=app, Token="device-1",
                                            CustomUserData="alice")["EndpointArn"]
    assert endpoint.startswith("arn:aws:sns:us-east-1:000000000000:endpoint/GCM/push-app/")
    # Idempotent for the same token and attributes; the same token with others is an error.
    assert sns.create_platform_endpoint(PlatformApplicationArn=app, Token="device-1",
                                        CustomUserData="alice")["EndpointArn"] == endpoint
    assert error_of(lambda: sns.create_platform_endpoint(
        PlatformApplicationArn=app, Token="device-1", CustomUserData="bob")) == (
        "InvalidParameter", 400, f"Invalid parameter: Token Reason: Endpoint {endpoint} already exists with the "
        "same Token, but different attributes.")
    assert sns.get_endpoint_attributes(EndpointArn=endpoint)["Attributes"] == {
        "Enabled": "true", "Token": "device-1", "CustomUserData": "alice"}
    assert [e["EndpointArn"] for e in sns.list_endpoints_by_platform_application(
        PlatformApplicationArn=app)["Endpoints"]] == [endpoint]

    assert "MessageId" in sns.publish(TargetArn=endpoint, Message="hello")
    topic = sns.create_topic(Name="push-topic")["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="application", Endpoint=endpoint)["SubscriptionArn"]
    assert sub.startswith(topic + ":")
    missing = endpoint[:-8] + "00000000"
    assert error_of(lambda: sns.subscribe(TopicArn=topic, Protocol="application", Endpoint=missing)) == (
        "InvalidParameter", 400,
        f"Invalid parameter: Endpoint Reason: Endpoint does not exist for endpoint arn{missing}")

    sns.set_endpoint_attributes(EndpointArn=endpoint, Attributes={"Enabled": "false"})
    assert error_of(lambda: sns.publish(TargetArn=endpoint, Message="hello")) == (
        "EndpointDisabled", 400, "Endpoint is disabled")
    sns.delete_platform_application(PlatformApplicationArn=app)
    sns.delete_platform_application(PlatformApplicationArn=app)  # idempotent
    sns.delete_endpoint(EndpointArn=endpoint)  # idempotent too: it went with its application
    assert error_of(lambda: sns.get_endpoint_attributes(EndpointArn=endpoint)) == (
        "NotFound", 404, "Endpoint does not exist")
    assert error_of(lambda: sns.get_platform_application_attributes(PlatformApplicationArn=app)) == (
        "NotFound", 404, "PlatformApplication does not exist")
    assert error_of(lambda: sns.publish(TargetArn=endpoint, Message="hello"))[2] == (
        "Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified")
