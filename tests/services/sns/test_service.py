from __future__ import annotations

import json

import pytest

from eventmesh.mesh import Mesh
from eventmesh.services.sns import service as sns_service
from eventmesh.services.sns.errors import InvalidParameter, NotFound, ResourceNotFound, TagLimitExceeded
from eventmesh.testing import VirtualDriver
from tests.services.sns.helpers import FakeHttp, RecordingQueue, make_topic, publish

URL = "https://example.com/hook"


def test_http_subscription_is_pending_until_confirmed(vmesh: Mesh, driver: VirtualDriver) -> None:
    http = FakeHttp(vmesh)
    topic = make_topic(vmesh)
    sub = topic.subscriptions.subscribe("https", URL)
    vmesh.flush()
    (_, confirmation), = http.of_type("SubscriptionConfirmation")
    body = json.loads(confirmation.body)
    assert list(body) == ["Type", "MessageId", "Token", "TopicArn", "Message", "SubscribeURL", "Timestamp",
                          "SignatureVersion", "Signature", "SigningCertURL"]
    assert body["Token"] == sub.token and body["TopicArn"] == topic.arn
    assert body["SubscribeURL"] == (f"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
                                    f"&TopicArn={topic.arn}&Token={sub.token}")
    assert body["Message"].startswith(f"You have chosen to subscribe to the topic {topic.arn}.")
    assert "x-amz-sns-subscription-arn" not in confirmation.headers
    assert topic.subscriptions.attributes(sub)["PendingConfirmation"] == "true"
    assert topic.attributes()["SubscriptionsPending"] == "1"

    publish(topic, "before")
    assert not http.of_type("Notification")  # a pending subscription gets nothing

    assert topic.subscriptions.confirm(body["Token"]) is sub
    publish(topic, "after")
    (_, note), = http.of_type("Notification")
    assert json.loads(note.body)["Message"] == "after"
    assert topic.attributes()["SubscriptionsConfirmed"] == "1"


def test_confirm_with_a_bad_or_expired_token_fails(vmesh: Mesh, driver: VirtualDriver) -> None:
    FakeHttp(vmesh)
    topic = make_topic(vmesh)
    sub = topic.subscriptions.subscribe("http", "http://h/x")
    with pytest.raises(InvalidParameter) as exc:
        topic.subscriptions.confirm("nope")
    assert exc.value.message == "Invalid parameter: Token"
    driver.advance(3 * 86_400 + 1)
    with pytest.raises(InvalidParameter):
        topic.subscriptions.confirm(sub.token)


def test_sqs_and_lambda_subscriptions_are_confirmed_at_once(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    sqs = topic.subscriptions.subscribe("sqs", vmesh.arn("sqs", "q"))
    fn = topic.subscriptions.subscribe("lambda", "arn:aws:lambda:us-east-1:000000000000:function:f")
    assert sqs.confirmed and fn.confirmed
    assert topic.subscriptions.attributes(sqs) == {
        "ConfirmationWasAuthenticated": "true",
        "Endpoint": vmesh.arn("sqs", "q"),
        "Owner": "000000000000",
        "PendingConfirmation": "false",
        "Protocol": "sqs",
        "RawMessageDelivery": "false",
        "SubscriptionArn": sqs.arn,
        "SubscriptionPrincipal": "arn:aws:iam::000000000000:root",
        "TopicArn": topic.arn,
    }
    assert sqs.arn.startswith(topic.arn + ":") and len(sqs.arn.split(":")) == 7


def test_subscribing_again_returns_the_existing_subscription(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    queue = vmesh.arn("sqs", "q")
    first = topic.subscriptions.subscribe("sqs", queue, {"RawMessageDelivery": "true"})
    assert topic.subscriptions.subscribe("sqs", queue) is first
    assert topic.subscriptions.subscribe("sqs", queue, {"RawMessageDelivery": "true"}) is first
    with pytest.raises(InvalidParameter) as exc:
        topic.subscriptions.subscribe("sqs", queue, {"RawMessageDelivery": "false"})
    assert exc.value.message == ("Invalid parameter: Attributes Reason: Subscription already exists with "
                                 "different attributes")


@pytest.mark.parametrize(("protocol", "endpoint", "message"), [
    ("test-protocol", "x",
     "Invalid parameter: Amazon SNS does not support this protocol string: test-protocol"),
    ("sqs", "https://sqs.us-east-1.amazonaws.com/000000000000/q", "Invalid parameter: SQS endpoint ARN"),
    ("sqs", "arn:aws:sqs:us-east-1:000000000000:q.fifo",
     "Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to "
     "standard SNS topics"),
])
def test_subscribe_validates_protocol_and_endpoint(vmesh: Mesh, protocol: str, endpoint: str,
                                                   message: str) -> None:
    topic = make_topic(vmesh)
    with pytest.raises(InvalidParameter) as exc:
        topic.subscriptions.subscribe(protocol, endpoint)
    assert exc.value.message == message


def test_fifo_topics_take_only_sqs_subscribers_with_fifo_dlqs(vmesh: Mesh) -> None:
    topic = make_topic(vmesh, "t.fifo", FifoTopic="true")
    with pytest.raises(InvalidParameter):
        topic.subscriptions.subscribe("lambda", "arn:aws:lambda:us-east-1:000000000000:function:f")
    with pytest.raises(InvalidParameter):
        topic.subscriptions.subscribe("https", URL)
    with pytest.raises(InvalidParameter) as exc:
        topic.subscriptions.subscribe("sqs", vmesh.arn("sqs", "q.fifo"), {
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": vmesh.arn("sqs", "dlq")})})
    assert exc.value.message == ("Invalid parameter: RedrivePolicy: must use a FIFO queue as DLQ for a FIFO "
                                 "Subscription to a FIFO Topic.")
    topic.subscriptions.subscribe("sqs", vmesh.arn("sqs", "q.fifo"), {
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": vmesh.arn("sqs", "dlq.fifo")})})
    topic.subscriptions.subscribe("sqs", vmesh.arn("sqs", "standard"))


@pytest.mark.parametrize(("name", "value", "message"), [
    ("RawMessageDelivery", "yes",
     "Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [yes]. Must be true or false."),
    ("FilterPolicyScope", "Everything",
     "Invalid parameter: FilterPolicyScope: Invalid value [Everything]. Please use either MessageBody or "
     "MessageAttributes"),
    ("RedrivePolicy", '{"deadLetterTargetArn": "not-an-arn"}',
     "Invalid parameter: RedrivePolicy: deadLetterTargetArn is an invalid arn"),
])
def test_subscription_attributes_are_validated(vmesh: Mesh, name: str, value: str, message: str) -> None:
    topic = make_topic(vmesh)
    with pytest.raises(InvalidParameter) as exc:
        topic.subscriptions.subscribe("sqs", vmesh.arn("sqs", "q"), {name: value})
    assert exc.value.message == message
    assert len(topic.subscriptions) == 0


def test_raw_delivery_is_refused_for_lambda(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    sub = topic.subscriptions.subscribe("lambda", "arn:aws:lambda:us-east-1:000000000000:function:f")
    with pytest.raises(InvalidParameter):
        topic.subscriptions.set_attribute(sub, "RawMessageDelivery", "true")
    with pytest.raises(InvalidParameter) as exc:
        topic.subscriptions.set_attribute(sub, "Protocol", "sqs")
    assert exc.value.message == "Invalid parameter: AttributeName"


def test_set_subscription_attributes_changes_delivery(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    queue = RecordingQueue(vmesh, "q")
    sub = topic.subscriptions.subscribe("sqs", queue.arn)
    topic.subscriptions.set_attribute(sub, "RawMessageDelivery", "TRUE")
    publish(topic, "raw now")
    assert queue.bodies == ["raw now"]
    dlq = vmesh.arn("sqs", "dlq")
    topic.subscriptions.set_attribute(sub, "RedrivePolicy", json.dumps({"deadLetterTargetArn": dlq}))
    assert sub.dlq_arn == dlq
    assert json.loads(topic.subscriptions.attributes(sub)["RedrivePolicy"]) == {"deadLetterTargetArn": dlq}
    topic.subscriptions.set_attribute(sub, "RedrivePolicy", "")
    assert sub.dlq_arn is None and "RedrivePolicy" not in topic.subscriptions.attributes(sub)


def test_unsubscribe_is_idempotent_and_counts_deleted(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    sub = topic.subscriptions.subscribe("sqs", vmesh.arn("sqs", "q"))
    sns_service.unsubscribe(vmesh, sub.arn)
    sns_service.unsubscribe(vmesh, sub.arn)
    sns_service.unsubscribe(vmesh, f"{topic.arn}:00000000-0000-0000-0000-000000000000")
    assert topic.attributes()["SubscriptionsDeleted"] == "1"
    with pytest.raises(InvalidParameter) as exc:
        sns_service.unsubscribe(vmesh, "arn:aws:sns:us-east-1:000000000000")
    assert exc.value.message == ("Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 "
                                 "elements, not 5")
    with pytest.raises(NotFound) as missing:
        sns_service.find_subscription(vmesh, sub.arn)
    assert missing.value.message == "Subscription does not exist"


def test_topic_lookup_errors(vmesh: Mesh) -> None:
    with pytest.raises(NotFound) as exc:
        sns_service.get_topic(vmesh, vmesh.arn("sns", "missing"))
    assert exc.value.message == "Topic does not exist"
    with pytest.raises(InvalidParameter) as bad:
        sns_service.get_topic(vmesh, "not:an:arn")
    assert bad.value.message.startswith("Invalid parameter: TopicArn")


def test_delete_topic_is_idempotent_and_drops_subscriptions(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    sub = topic.subscriptions.subscribe("sqs", vmesh.arn("sqs", "q"))
    sns_service.delete_topic(vmesh, topic.arn)
    sns_service.delete_topic(vmesh, topic.arn)
    assert sns_service.list_topics(vmesh) == ([], None)
    assert not sub.active
    with pytest.raises(NotFound):
        sns_service.find_subscription(vmesh, sub.arn)


def test_list_topics_pages_by_100(vmesh: Mesh) -> None:
    for i in range(205):
        make_topic(vmesh, f"t{i:03d}")
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        arns, token = sns_service.list_topics(vmesh, token)
        seen += arns
        pages += 1
        if token is None:
            break
    assert pages == 3 and len(seen) == 205 and seen[0].endswith(":t000") and seen[-1].endswith(":t204")


def test_list_subscriptions_shows_pending_ones(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    other = make_topic(vmesh, "other")
    sqs = topic.subscriptions.subscribe("sqs", vmesh.arn("sqs", "q"))
    topic.subscriptions.subscribe("http", "http://h/x")
    other.subscriptions.subscribe("sqs", vmesh.arn("sqs", "q2"))
    subs, token = sns_service.list_subscriptions(vmesh)
    assert token is None and len(subs) == 3
    assert [sns_service.listed_arn(s) for s in subs[:2]] == [sqs.arn, "PendingConfirmation"]
    by_topic, _ = sns_service.list_subscriptions(vmesh, topic=other)
    assert [s.topic_arn for s in by_topic] == [other.arn]


def test_tags(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    sns_service.tag_resource(vmesh, topic.arn, [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    sns_service.untag_resource(vmesh, topic.arn, ["a", "zzz"])
    assert sns_service.list_tags(vmesh, topic.arn) == {"b": "2"}
    with pytest.raises(ResourceNotFound):
        sns_service.list_tags(vmesh, vmesh.arn("sns", "missing"))
    with pytest.raises(TagLimitExceeded):
        sns_service.tag_resource(vmesh, topic.arn, [{"Key": f"k{i}", "Value": "v"} for i in range(50)])


def test_email_and_cross_account_queues_confirm_with_their_token(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    email = topic.subscriptions.subscribe("email", "a@example.com")
    other = RecordingQueue(vmesh, "arn:aws:sqs:us-east-1:111122223333:theirs")
    queue = topic.subscriptions.subscribe("sqs", other.arn)
    vmesh.flush()
    assert not email.confirmed and not queue.confirmed
    confirmation = json.loads(other.bodies[0])
    assert confirmation["Type"] == "SubscriptionConfirmation" and confirmation["Token"] == queue.token
    publish(topic, "before")
    assert len(other.bodies) == 1  # pending: nothing but the confirmation
    sns_service.confirm_subscription(vmesh, topic.arn, confirmation["Token"])
    assert email.token is not None
    sns_service.confirm_subscription(vmesh, topic.arn, email.token, authenticate_on_unsubscribe=True)
    publish(topic, "after")
    assert [json.loads(b)["Message"] for b in other.bodies[1:]] == ["after"]
    attributes = topic.subscriptions.attributes(queue)
    assert attributes["PendingConfirmation"] == "false" and attributes["ConfirmationWasAuthenticated"] == "false"
    assert topic.subscriptions.attributes(email)["ConfirmationWasAuthenticated"] == "true"


def test_confirm_subscription_checks_topic_then_token(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    sub = topic.subscriptions.subscribe("email", "a@example.com")
    assert sub.token is not None
    cases = [("not-an-arn", sub.token, "Invalid parameter: Topic"),
             (topic.arn.replace("us-east-1", "eu-west-1"), sub.token, "Invalid parameter: Topic"),
             (topic.arn, "not hex", "Invalid token"),
             (topic.arn, "abc123", "Invalid parameter: Token"),
             (topic.arn + "x", sub.token, "Invalid parameter: Token")]
    for arn, token, message in cases:
        with pytest.raises(InvalidParameter) as exc:
            sns_service.confirm_subscription(vmesh, arn, token)
        assert exc.value.message == message
    assert sns_service.confirm_subscription(vmesh, topic.arn, sub.token) is sub


def test_topics_of_another_region_are_not_addressable(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    west = vmesh.scope(region="eu-west-1")
    with pytest.raises(InvalidParameter) as exc:
        sns_service.get_topic(west, topic.arn)
    assert exc.value.message == "Invalid parameter: TopicArn"
    assert make_topic(west).arn == "arn:aws:sns:eu-west-1:000000000000:orders"
