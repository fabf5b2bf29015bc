"""SNS into the real SQS cores: standard and FIFO queues, raw attributes, the subscription DLQ."""

from __future__ import annotations

import json

from eventmesh.mesh import Mesh
from eventmesh.services.sqs.service import create_queue
from eventmesh.testing import VirtualDriver
from tests.services.sns.helpers import FakeHttp, attrs, make_topic, publish


def test_enveloped_and_raw_delivery_into_sqs_queues(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    plain = create_queue(vmesh, "plain")
    raw = create_queue(vmesh, "raw")
    topic.subscriptions.subscribe("sqs", plain.arn)
    topic.subscriptions.subscribe("sqs", raw.arn, {"RawMessageDelivery": "true"})
    result = publish(topic, "hello", message_attributes=attrs(color="red"))
    (enveloped,) = plain.receive(10)
    assert json.loads(enveloped.body)["MessageId"] == result.message_id
    (direct,) = raw.receive(10)
    assert direct.body == "hello"
    assert json.loads(json.dumps(direct.attributes, default=str)) == {
        "color": {"DataType": "String", "StringValue": "red"}}


def test_fifo_topic_into_a_fifo_queue_keeps_group_and_dedup(vmesh: Mesh) -> None:
    topic = make_topic(vmesh, "orders.fifo", FifoTopic="true", ContentBasedDeduplication="true")
    queue = create_queue(vmesh, "orders.fifo", {"FifoQueue": "true"})
    topic.subscriptions.subscribe("sqs", queue.arn, {"RawMessageDelivery": "true"})
    for body in ("a", "b", "c"):
        publish(topic, body, message_group_id="g")
    got = queue.receive(10)
    assert [m.body for m in got] == ["a", "b", "c"]


def test_unreachable_http_endpoint_dead_letters_into_a_real_queue(
        vmesh: Mesh, driver: VirtualDriver) -> None:
    http = FakeHttp(vmesh, status=None)
    dlq = create_queue(vmesh, "dlq")
    topic = make_topic(vmesh)
    sub = topic.subscriptions.subscribe("http", "http://127.0.0.1:9/", {
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq.arn})})
    vmesh.flush()
    topic.subscriptions.confirm(sub.token)
    publish(topic, "lost")
    driver.advance(60)  # the default HTTP policy: 3 retries 20 s apart
    (message,) = dlq.receive(10)
    assert message.body == http.of_type("Notification")[0][1].body
    assert topic.statistics().number_of_notifications_redriven_to_dlq == 1


def test_fifo_topic_into_a_standard_queue_drops_the_dedup_id(vmesh: Mesh) -> None:
    topic = make_topic(vmesh, "mixed.fifo", FifoTopic="true")
    queue = create_queue(vmesh, "standard")
    topic.subscriptions.subscribe("sqs", queue.arn)
    publish(topic, "x", message_group_id="g", message_deduplication_id="d")
    (message,) = queue.receive(10)
    assert json.loads(message.body)["SequenceNumber"] == "10000000000000000001"
    assert topic.statistics().number_of_notifications_delivered == 1
