from __future__ import annotations

import json

import pytest

from eventmesh.mesh import Mesh
from eventmesh.services.sns.errors import InvalidParameter
from tests.services.sns.helpers import RecordingQueue, attrs, make_topic, publish


def _fan_out(vmesh: Mesh):
    topic = make_topic(vmesh)
    by_attr = RecordingQueue(vmesh, "by-attr")
    by_body = RecordingQueue(vmesh, "by-body")
    everything = RecordingQueue(vmesh, "everything")
    topic.subscriptions.subscribe("sqs", by_attr.arn, {
        "FilterPolicy": json.dumps({"color": ["red", {"prefix": "bl"}]}), "RawMessageDelivery": "true"})
    topic.subscriptions.subscribe("sqs", by_body.arn, {
        "FilterPolicy": json.dumps({"order": {"total": [{"numeric": [">", 100]}]}}),
        "FilterPolicyScope": "MessageBody", "RawMessageDelivery": "true"})
    topic.subscriptions.subscribe("sqs", everything.arn, {"RawMessageDelivery": "true"})
    return topic, by_attr, by_body, everything


def test_attribute_and_body_filters_fan_out_once_per_subscription(vmesh: Mesh) -> None:
    topic, by_attr, by_body, everything = _fan_out(vmesh)
    publish(topic, '{"order": {"total": 150}}', message_attributes=attrs(color="red"))  # both
    publish(topic, '{"order": {"total": 50}}', message_attributes=attrs(color="blue"))  # attr only
    publish(topic, '{"order": {"total": 500}}', message_attributes=attrs(color="green"))  # body only
    publish(topic, "not json")  # neither: no attributes, invalid body
    assert by_attr.bodies == ['{"order": {"total": 150}}', '{"order": {"total": 50}}']
    assert by_body.bodies == ['{"order": {"total": 150}}', '{"order": {"total": 500}}']
    assert len(everything.bodies) == 4
    stats = topic.statistics()
    assert stats.number_of_notifications_delivered == 8
    assert stats.number_of_notifications_filtered_out_message_attributes == 1
    assert stats.number_of_notifications_filtered_out_no_message_attributes == 1
    assert stats.number_of_notifications_filtered_out_message_body == 1
    assert stats.number_of_notifications_filtered_out_invalid_message_body == 1
    assert stats.number_of_notifications_filtered_out == 4


def test_string_array_and_numeric_attributes_match(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    queue = RecordingQueue(vmesh, "q")
    topic.subscriptions.subscribe("sqs", queue.arn, {"RawMessageDelivery": "true", "FilterPolicy": json.dumps(
        {"sizes": ["m"], "price": [{"numeric": ["<=", 3.015e2]}]})})
    publish(topic, "yes", message_attributes={
        "sizes": {"DataType": "String.Array", "StringValue": '["s", "m"]'},
        "price": {"DataType": "Number", "StringValue": "301.5"}})
    publish(topic, "no", message_attributes={
        "sizes": {"DataType": "String.Array", "StringValue": '["l"]'},
        "price": {"DataType": "Number", "StringValue": "1"}})
    assert queue.bodies == ["yes"]


def test_changing_the_filter_policy_takes_effect_at_once(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    queue = RecordingQueue(vmesh, "q")
    sub = topic.subscriptions.subscribe("sqs", queue.arn, {"RawMessageDelivery": "true",
                                                           "FilterPolicy": '{"a": ["1"]}'})
    publish(topic, "one", message_attributes=attrs(a="1"))
    topic.subscriptions.set_attribute(sub, "FilterPolicy", '{"a": ["2"]}')
    publish(topic, "two", message_attributes=attrs(a="1"))
    publish(topic, "three", message_attributes=attrs(a="2"))
    topic.subscriptions.set_attribute(sub, "FilterPolicy", "")
    publish(topic, "four")
    assert queue.bodies == ["one", "three", "four"]
    assert "FilterPolicy" not in topic.subscriptions.attributes(sub)


def test_delivery_order_follows_subscription_order(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    order: list[str] = []

    class Target(RecordingQueue):
        def accept(self, items, source_arn):  # type: ignore[no-untyped-def]
            order.append(self.arn.rsplit(":", 1)[1])
            return super().accept(items, source_arn)

    for i in range(5):
        target = Target(vmesh, f"q{i}")
        policy = {"FilterPolicy": '{"k": ["v"]}'} if i % 2 else {}
        topic.subscriptions.subscribe("sqs", target.arn, policy)
    publish(topic, "x", message_attributes=attrs(k="v"))
    assert order == ["q0", "q1", "q2", "q3", "q4"]


def test_invalid_filter_policy_uses_the_operation_wording(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    queue = vmesh.arn("sqs", "q")
    with pytest.raises(InvalidParameter) as exc:
        topic.subscriptions.subscribe("sqs", queue, {"FilterPolicy": '{"key_a": "x"}'})
    assert exc.value.message.startswith("Invalid parameter: Attributes Reason: FilterPolicy: ")
    sub = topic.subscriptions.subscribe("sqs", queue)
    with pytest.raises(InvalidParameter) as exc:
        topic.subscriptions.set_attribute(sub, "FilterPolicy", '{"key_a": "x"}')
    assert exc.value.message.startswith("Invalid parameter: FilterPolicy: ")
    with pytest.raises(InvalidParameter) as exc:
        topic.subscriptions.set_attribute(sub, "FilterPolicy", '{"a": {"b": ["c"]}}')
    assert "nested" in exc.value.message
    assert sub.filter_policy is None


def test_switching_scope_revalidates_the_policy(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    sub = topic.subscriptions.subscribe("sqs", vmesh.arn("sqs", "q"), {
        "FilterPolicy": '{"a": {"b": ["c"]}}', "FilterPolicyScope": "MessageBody"})
    with pytest.raises(InvalidParameter):
        topic.subscriptions.set_attribute(sub, "FilterPolicyScope", "MessageAttributes")
    assert sub.filter_scope == "MessageBody"
