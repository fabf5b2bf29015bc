from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.exceptions import InvalidSignature

from eventmesh.clock import VIRTUAL_EPOCH
from eventmesh.mesh import Mesh
from eventmesh.services.sns import service as sns_service
from eventmesh.services.sns.errors import InvalidParameter, ParameterValueInvalid
from eventmesh.services.sns.signing import Signer
from eventmesh.services.sns.topic import MAX_MESSAGE_BYTES, PublishEntry
from eventmesh.testing import VirtualDriver
from tests.services.sns.helpers import RecordingQueue, attrs, make_topic, publish, verify_signature

BASE = "https://sns.us-east-1.amazonaws.com"


def test_sqs_subscriber_gets_the_json_envelope_in_aws_key_order(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    queue = RecordingQueue(vmesh, "q")
    sub = topic.subscriptions.subscribe("sqs", queue.arn)
    result = publish(topic, "Hello world!", subject="My First Message",
                     message_attributes={"attr1": {"DataType": "Number", "StringValue": "100.12"},
                                         "bin": {"DataType": "Binary", "BinaryValue": b"\x02\x03\x04"}})
    (item,) = queue.items
    body = json.loads(item.body)
    assert list(body) == ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
                          "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL",
                          "MessageAttributes"]
    canonical = (f"Message\nHello world!\nMessageId\n{result.message_id}\nSubject\nMy First Message\n"
                 f"Timestamp\n2023-11-14T22:13:20.000Z\nTopicArn\n{topic.arn}\nType\nNotification\n")
    assert body == {
        "Type": "Notification",
        "MessageId": result.message_id,
        "TopicArn": "arn:aws:sns:us-east-1:000000000000:orders",
        "Subject": "My First Message",
        "Message": "Hello world!",
        "Timestamp": "2023-11-14T22:13:20.000Z",
        "SignatureVersion": "1",
        "Signature": body["Signature"],
        "SigningCertURL": body["SigningCertURL"],
        "UnsubscribeURL": f"{BASE}/?Action=Unsubscribe&SubscriptionArn={sub.arn}",
        "MessageAttributes": {"attr1": {"Type": "Number", "Value": "100.12"},
                              "bin": {"Type": "Binary", "Value": "AgME"}},
    }
    assert body["SigningCertURL"] == f"{BASE}/{topic.signer.cert_name}"
    verify_signature(topic, canonical, body["Signature"], "1")
    assert item.attributes == {}
    assert queue.batches[0][2] == topic.arn


def test_envelope_omits_subject_and_attributes_when_absent(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    queue = RecordingQueue(vmesh, "q")
    topic.subscriptions.subscribe("sqs", queue.arn)
    publish(topic, '{"json": "stays a string"}')
    body = json.loads(queue.bodies[0])
    assert "Subject" not in body and "MessageAttributes" not in body
    assert body["Message"] == '{"json": "stays a string"}'


def test_signature_version_2_signs_with_sha256_rsa(vmesh: Mesh) -> None:
    topic = make_topic(vmesh, SignatureVersion="2")
    queue = RecordingQueue(vmesh, "q")
    topic.subscriptions.subscribe("sqs", queue.arn)
    result = publish(topic, "m")
    body = json.loads(queue.bodies[0])
    canonical = (f"Message\nm\nMessageId\n{result.message_id}\nTimestamp\n{body['Timestamp']}\n"
                 f"TopicArn\n{topic.arn}\nType\nNotification\n")
    assert body["SignatureVersion"] == "2"
    verify_signature(topic, canonical, body["Signature"], "2")
    with pytest.raises(InvalidSignature):  # not a SHA1 signature
        verify_signature(topic, canonical, body["Signature"], "1")


def test_digest_mode_signs_with_a_plain_digest(vmesh: Mesh) -> None:
    vmesh.root.state(Signer).mode = "digest"
    topic = make_topic(vmesh, SignatureVersion="2")
    queue = RecordingQueue(vmesh, "q")
    topic.subscriptions.subscribe("sqs", queue.arn)
    result = publish(topic, "m")
    body = json.loads(queue.bodies[0])
    canonical = (f"Message\nm\nMessageId\n{result.message_id}\nTimestamp\n{body['Timestamp']}\n"
                 f"TopicArn\n{topic.arn}\nType\nNotification\n")
    assert base64.b64decode(body["Signature"]) == hashlib.sha256(canonical.encode()).digest()


def test_raw_delivery_sends_the_message_with_sqs_attributes(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    queue = RecordingQueue(vmesh, "q")
    topic.subscriptions.subscribe("sqs", queue.arn, {"RawMessageDelivery": "true"})
    publish(topic, "raw body", message_attributes={
        **attrs(color="red"), "bin": {"DataType": "Binary", "BinaryValue": b"\x01"}})
    (item,) = queue.items
    assert item.body == "raw body"
    assert item.attributes == {"color": {"DataType": "String", "StringValue": "red"},
                               "bin": {"DataType": "Binary", "BinaryValue": b"\x01"}}


def test_lambda_gets_one_event_per_message_with_one_record(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    function = RecordingQueue(vmesh, "arn:aws:lambda:us-east-1:000000000000:function:fn")
    sub = topic.subscriptions.subscribe("lambda", function.arn)
    result = publish(topic, "Hello from SNS!", message_attributes={
        **attrs(Test="TestString"), "n": {"DataType": "Number", "StringValue": "5"}})
    (item,) = function.items
    event = json.loads(item.body)
    assert list(event["Records"][0]) == ["EventSource", "EventVersion", "EventSubscriptionArn", "Sns"]
    record = event["Records"][0]
    assert record["EventSource"] == "aws:sns" and record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == sub.arn
    sns = record["Sns"]
    assert list(sns) == ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
                         "SignatureVersion", "Signature", "SigningCertUrl", "UnsubscribeUrl",
                         "MessageAttributes"]
    assert sns["Subject"] is None and sns["MessageId"] == result.message_id
    assert sns["SignatureVersion"] == "1"
    assert sns["MessageAttributes"] == {"Test": {"Type": "String", "Value": "TestString"},
                                        "n": {"Type": "String", "Value": "5"}}


def test_lambda_record_has_empty_attributes_when_none(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    function = RecordingQueue(vmesh, "arn:aws:lambda:us-east-1:000000000000:function:fn")
    topic.subscriptions.subscribe("lambda", function.arn)
    publish(topic, "x")
    assert json.loads(function.bodies[0])["Records"][0]["Sns"]["MessageAttributes"] == {}


def test_message_structure_json_overrides_per_protocol(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    sqs = RecordingQueue(vmesh, "q")
    raw = RecordingQueue(vmesh, "raw")
    function = RecordingQueue(vmesh, "arn:aws:lambda:us-east-1:000000000000:function:fn")
    topic.subscriptions.subscribe("sqs", sqs.arn)
    topic.subscriptions.subscribe("sqs", raw.arn, {"RawMessageDelivery": "true"})
    topic.subscriptions.subscribe("lambda", function.arn)
    publish(topic, json.dumps({"default": "dflt", "sqs": "for sqs"}), message_structure="json",
            message_attributes=attrs(a="1"))
    envelope = json.loads(sqs.bodies[0])
    assert envelope["Message"] == "for sqs"
    assert "MessageAttributes" not in envelope  # attributes only travel with the plain structure
    assert raw.bodies == ["for sqs"]
    assert json.loads(function.bodies[0])["Records"][0]["Sns"]["Message"] == "dflt"


@pytest.mark.parametrize(("message", "error"), [
    ("not json", "Invalid parameter: Message Structure - JSON message body failed to parse"),
    ('{"sqs": "x"}', "Invalid parameter: Message Structure - No default entry in JSON message body"),
])
def test_message_structure_json_is_validated(vmesh: Mesh, message: str, error: str) -> None:
    topic = make_topic(vmesh)
    with pytest.raises(InvalidParameter) as exc:
        topic.publish(PublishEntry(message=message, message_structure="json"))
    assert exc.value.message == error


def test_publish_batch_makes_one_delivery_per_subscription(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    queues = [RecordingQueue(vmesh, f"q{i}") for i in range(2)]
    for queue in queues:
        topic.subscriptions.subscribe("sqs", queue.arn, {"RawMessageDelivery": "true"})
    results = topic.publish_batch([PublishEntry(id=str(i), message=f"m{i}") for i in range(3)])
    vmesh.flush()
    assert [r.id for r in results] == ["0", "1", "2"]
    for queue in queues:
        assert len(queue.batches) == 1
        assert queue.bodies == ["m0", "m1", "m2"]
    assert topic.statistics().number_of_notifications_delivered == 6
    assert topic.statistics().number_of_messages_published == 3


def test_an_invalid_batch_entry_fails_the_whole_batch(vmesh: Mesh) -> None:
    topic = make_topic(vmesh, "t.fifo", FifoTopic="true", ContentBasedDeduplication="true")
    queue = RecordingQueue(vmesh, "q")
    topic.subscriptions.subscribe("sqs", queue.arn, {"RawMessageDelivery": "true"})
    with pytest.raises(InvalidParameter) as exc:
        topic.publish_batch([PublishEntry(id="ok", message="fine", message_group_id="g"),
                             PublishEntry(id="bad", message="", message_group_id="g")])
    vmesh.flush()
    assert exc.value.message == "Invalid parameter: Empty message"
    assert queue.bodies == []
    assert topic.statistics().number_of_messages_published == 0
    # nothing was admitted: the valid entry is not a duplicate when sent again
    topic.publish(PublishEntry(message="fine", message_group_id="g"))
    vmesh.flush()
    assert queue.bodies == ["fine"]


def test_publish_validates_message_subject_and_size(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    cases = [
        (PublishEntry(message=""), "Invalid parameter: Empty message"),
        (PublishEntry(message="x", subject=""), "Invalid parameter: Subject"),
        (PublishEntry(message="x", subject="a" * 100), "Invalid parameter: Subject"),
        (PublishEntry(message="x", subject="line\nbreak"), "Invalid parameter: Subject"),
        (PublishEntry(message="x" * (MAX_MESSAGE_BYTES + 1)), "Invalid parameter: Message too long"),
        (PublishEntry(message="x" * (MAX_MESSAGE_BYTES - 5), message_attributes=attrs(abc="def")),
         "Invalid parameter: Message too long"),
        (PublishEntry(message="x", message_deduplication_id="d"),
         "Invalid parameter: MessageDeduplicationId Reason: The request includes MessageDeduplicationId "
         "parameter that is not valid for this topic type"),
    ]
    for entry, message in cases:
        with pytest.raises(InvalidParameter) as exc:
            topic.publish(entry)
        assert exc.value.message == message
    assert topic.publish(PublishEntry(message="x" * MAX_MESSAGE_BYTES)).message_id
    assert topic.statistics().number_of_messages_published == 1


@pytest.mark.parametrize(("attributes", "message"), [
    ({"attr1": {"DataType": "Number", "BinaryValue": b"1"}},
     "The message attribute 'attr1' with type 'Number' must use field 'String'."),
    ({"attr1": {"DataType": "String", "StringValue": ""}},
     "The message attribute 'attr1' must contain non-empty message attribute value for message "
     "attribute type 'String'."),
    ({"a^b": {"DataType": "String", "StringValue": "v"}},
     "Invalid non-alphanumeric character '#x5E' was found in the message attribute name. Can only "
     "include alphanumeric characters, hyphens, underscores, or dots."),
    ({"attr1": {"DataType": "Number", "StringValue": "abc"}},
     "Could not cast message attribute 'attr1' value to number."),
    ({"attr1": {"DataType": "Custom", "StringValue": "v"}},
     "The message attribute 'attr1' has an invalid message attribute type, the set of supported type "
     "prefixes is Binary, Number, and String."),
])
def test_message_attributes_are_validated(vmesh: Mesh, attributes: dict, message: str) -> None:
    topic = make_topic(vmesh)
    with pytest.raises(ParameterValueInvalid) as exc:
        topic.publish(PublishEntry(message="x", message_attributes=attributes))
    assert exc.value.message == message


def test_valid_attribute_kinds_are_accepted_and_delivered_as_sent(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    queue = RecordingQueue(vmesh, "q")
    topic.subscriptions.subscribe("sqs", queue.arn, {"RawMessageDelivery": "true"})
    attributes = {
        "n": {"DataType": "Number.float", "StringValue": "-1000000000"},
        "arr": {"DataType": "String.Array", "StringValue": '["a", 1, true, null]'},
        "s.custom": {"DataType": "String.custom", "StringValue": "v"}}
    result = publish(topic, "x", message_attributes=attributes)
    assert result.message_id and topic.statistics().number_of_messages_published == 1
    assert [(item.body, item.attributes) for item in queue.items] == [("x", attributes)]


# -- FIFO -----------------------------------------------------------------------------------


def _fifo(vmesh: Mesh, **attributes: str):
    topic = make_topic(vmesh, "orders.fifo", FifoTopic="true", **attributes)
    queue = RecordingQueue(vmesh, "q.fifo")
    topic.subscriptions.subscribe("sqs", queue.arn)
    return topic, queue


def test_fifo_topic_forwards_group_dedup_and_sequence_numbers(vmesh: Mesh) -> None:
    topic, queue = _fifo(vmesh, ContentBasedDeduplication="true")
    first = publish(topic, "one", message_group_id="g1")
    second = publish(topic, "two", message_group_id="g2", message_deduplication_id="d2")
    assert (first.sequence_number, second.sequence_number) == ("10000000000000000001", "10000000000000000002")
    one, two = queue.items
    assert (one.group_id, one.deduplication_id) == ("g1", hashlib.sha256(b"one").hexdigest())
    assert (two.group_id, two.deduplication_id) == ("g2", "d2")
    envelope = json.loads(one.body)
    assert list(envelope) == ["Type", "MessageId", "SequenceNumber", "TopicArn", "Message", "Timestamp",
                              "UnsubscribeURL"]
    assert envelope["SequenceNumber"] == "10000000000000000001"


def test_fifo_duplicate_within_five_minutes_is_not_delivered_again(
        vmesh: Mesh, driver: VirtualDriver) -> None:
    topic, queue = _fifo(vmesh)
    first = publish(topic, "one", message_group_id="g", message_deduplication_id="d")
    driver.advance(299)
    again = publish(topic, "one again", message_group_id="g", message_deduplication_id="d")
    assert (again.message_id, again.sequence_number) == (first.message_id, first.sequence_number)
    assert queue.bodies and len(queue.items) == 1
    driver.advance(1)
    later = publish(topic, "one later", message_group_id="g", message_deduplication_id="d")
    assert later.message_id != first.message_id and len(queue.items) == 2
    assert topic.statistics().number_of_messages_published == 2


def test_fifo_dedup_scope_message_group(vmesh: Mesh) -> None:
    topic, queue = _fifo(vmesh, FifoThroughputScope="MessageGroup")
    publish(topic, "a", message_group_id="g1", message_deduplication_id="d")
    publish(topic, "b", message_group_id="g2", message_deduplication_id="d")
    assert len(queue.items) == 2


def test_fifo_publish_needs_group_and_dedup(vmesh: Mesh) -> None:
    topic, _ = _fifo(vmesh)
    with pytest.raises(InvalidParameter) as exc:
        topic.publish(PublishEntry(message="x"))
    assert exc.value.message == "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
    with pytest.raises(InvalidParameter) as exc:
        topic.publish(PublishEntry(message="x", message_group_id="g"))
    assert exc.value.message == ("Invalid parameter: The topic should either have ContentBasedDeduplication "
                                 "enabled or MessageDeduplicationId provided explicitly")


# -- topic attributes -----------------------------------------------------------------------


def test_default_topic_attributes(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    got = topic.attributes()
    assert got["TopicArn"] == topic.arn and got["Owner"] == "000000000000"
    assert (got["SubscriptionsConfirmed"], got["SubscriptionsPending"], got["SubscriptionsDeleted"]) == \
        ("0", "0", "0")
    assert got["DisplayName"] == ""
    assert json.loads(got["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 3
    policy = json.loads(got["Policy"])
    assert len(policy["Statement"][0]["Action"]) == 8
    assert policy["Statement"][0]["Resource"] == topic.arn
    assert "FifoTopic" not in got


def test_fifo_topic_attributes(vmesh: Mesh) -> None:
    topic = make_topic(vmesh, "t.fifo", FifoTopic="true")
    got = topic.attributes()
    assert (got["FifoTopic"], got["ContentBasedDeduplication"]) == ("true", "false")
    topic.set_attribute("ContentBasedDeduplication", "True")
    assert topic.attributes()["ContentBasedDeduplication"] == "true"


def test_set_topic_attributes(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    topic.set_attribute("DisplayName", "Orders")
    assert topic.attributes()["DisplayName"] == "Orders"
    with pytest.raises(InvalidParameter) as exc:
        topic.set_attribute("Bogus", "x")
    assert exc.value.message == "Invalid parameter: AttributeName"
    with pytest.raises(InvalidParameter):
        topic.set_attribute("ContentBasedDeduplication", "true")  # standard topic
    with pytest.raises(InvalidParameter):
        topic.set_attribute("DeliveryPolicy", '{"http": {"defaultHealthyRetryPolicy": {"numRetries": 101}}}')


@pytest.mark.parametrize(("name", "attributes"), [
    ("bad name", {}), ("x" * 257, {}), ("t.fifo", {}), ("t", {"FifoTopic": "true"}), ("", {}),
])
def test_topic_names_are_validated(vmesh: Mesh, name: str, attributes: dict) -> None:
    with pytest.raises(InvalidParameter) as exc:
        sns_service.create_topic(vmesh, name, attributes)
    assert exc.value.message == "Invalid parameter: Topic Name"


def test_create_topic_is_idempotent_for_same_attributes(vmesh: Mesh) -> None:
    topic = sns_service.create_topic(vmesh, "t", {"DisplayName": "x"}, {"k": "v"})
    assert sns_service.create_topic(vmesh, "t", {"DisplayName": "x"}) is topic
    assert sns_service.create_topic(vmesh, "t") is topic
    with pytest.raises(InvalidParameter) as exc:
        sns_service.create_topic(vmesh, "t", {"DisplayName": "y"})
    assert exc.value.message == ("Invalid parameter: Attributes Reason: Topic already exists with "
                                 "different attributes")
    with pytest.raises(InvalidParameter) as exc:
        sns_service.create_topic(vmesh, "t", tags={"k": "other"})
    assert exc.value.message == "Invalid parameter: Tags Reason: Topic already exists with different tags"


def test_accept_publishes_deliveries_from_other_cores(vmesh: Mesh) -> None:
    from eventmesh.effects import Deliver, Delivery

    topic = make_topic(vmesh)
    queue = RecordingQueue(vmesh, "q")
    topic.subscriptions.subscribe("sqs", queue.arn, {"RawMessageDelivery": "true"})
    replies = []
    vmesh.emit(Deliver(topic.arn, [Delivery('{"detail": 1}', attrs(a="b"))], "arn:aws:events:x",
                       vmesh.expect(replies.append)))
    vmesh.flush()
    assert replies[0].ok
    assert queue.items[0].body == '{"detail": 1}' and queue.items[0].attributes == attrs(a="b")


def test_timestamps_follow_the_virtual_clock(vmesh: Mesh, driver: VirtualDriver) -> None:
    topic = make_topic(vmesh)
    queue = RecordingQueue(vmesh, "q")
    topic.subscriptions.subscribe("sqs", queue.arn)
    driver.advance(61.5)
    publish(topic, "x")
    assert json.loads(queue.bodies[0])["Timestamp"] == "2023-11-14T22:14:21.500Z"
    assert queue.batches[0][0] == VIRTUAL_EPOCH + 61.5
