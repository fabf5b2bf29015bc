from __future__ import annotations

import json

import pytest

from eventmesh.clock import VIRTUAL_EPOCH as T0
from eventmesh.mesh import Mesh
from eventmesh.services.sns import service as sns_service
from eventmesh.services.sns.delivery import (
    AWS_MANAGED_RETRY_POLICY,
    DEFAULT_HTTP_RETRY_POLICY,
    RetryPolicy,
    retry_schedule,
)
from eventmesh.services.sns.errors import InvalidParameter
from eventmesh.testing import VirtualDriver
from tests.services.sns.helpers import FakeHttp, RecordingQueue, attrs, make_topic, publish

URL = "http://127.0.0.1:9/hook"


def _confirmed_http(vmesh: Mesh, http: FakeHttp, attributes: dict[str, str] | None = None,
                    topic_attributes: dict[str, str] | None = None):
    topic = make_topic(vmesh, **(topic_attributes or {}))
    sub = topic.subscriptions.subscribe("http", URL, attributes)
    vmesh.flush()
    topic.subscriptions.confirm(sub.token)
    http.calls.clear()
    return topic, sub


def test_default_http_policy_is_three_retries_twenty_seconds_apart() -> None:
    assert retry_schedule(DEFAULT_HTTP_RETRY_POLICY) == [20.0, 20.0, 20.0]


def test_aws_managed_policy_phases() -> None:
    policy = AWS_MANAGED_RETRY_POLICY
    delays = [policy.delay_s(n) for n in range(1, 20)]
    assert delays[:5] == [0.0, 0.0, 0.0, 1.0, 1.0]  # 3 immediate, 2 pre-backoff 1 s apart
    backoff = delays[5:15]
    assert backoff[0] == 1.0 and backoff[-1] == 20.0 and backoff == sorted(backoff)
    assert delays[15:] == [20.0] * 4  # post-backoff
    assert policy.delay_s(100_015) == 20.0 and policy.delay_s(100_016) is None
    total = sum(retry_schedule(policy))
    assert 23 * 86_400 < total < 24 * 86_400  # "over ~23 days"


def test_backoff_functions_run_from_min_to_max() -> None:
    for function in ("linear", "arithmetic", "geometric", "exponential"):
        policy = RetryPolicy(min_delay_target=1, max_delay_target=60, num_retries=10,
                             backoff_function=function)
        delays = retry_schedule(policy)
        assert delays[0] == pytest.approx(1) and delays[-1] == pytest.approx(60) and delays == sorted(delays)


def test_http_policy_limits_are_checked() -> None:
    assert RetryPolicy(num_retries=101).check() is not None
    assert RetryPolicy(min_delay_target=30, max_delay_target=20).check() is not None
    assert RetryPolicy(backoff_function="cubic").check() is not None
    # more than 3,600 s of retries in all
    assert RetryPolicy(num_retries=100, min_delay_target=40, max_delay_target=40).check() is not None
    assert RetryPolicy(num_retries=3, num_no_delay_retries=2, num_max_delay_retries=2).check() is not None
    assert RetryPolicy(num_retries=50, min_delay_target=1, max_delay_target=60).check() is None


def test_unreachable_http_subscriber_exhausts_policy_then_dead_letters_unchanged(
        vmesh: Mesh, driver: VirtualDriver) -> None:
    http = FakeHttp(vmesh, status=None)
    dlq = RecordingQueue(vmesh, "dlq")
    redrive = {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq.arn})}
    topic, sub = _confirmed_http(vmesh, http, redrive)
    publish(topic, "important", subject="S", message_attributes=attrs(k="v"))
    driver.run_until_idle()
    assert [t - T0 for t, _ in http.calls] == [0.0, 20.0, 40.0, 60.0]
    bodies = {effect.body for _, effect in http.calls}
    assert len(bodies) == 1  # the same message, same MessageId, on every attempt
    (when, items, source) = dlq.batches[0]
    assert when == T0 + 60 and source == sub.arn
    assert [item.body for item in items] == [http.calls[0][1].body]
    assert json.loads(items[0].body)["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
    stats = topic.statistics()
    assert (stats.number_of_notifications_delivered, stats.number_of_notifications_failed,
            stats.number_of_notifications_redriven_to_dlq) == (0, 1, 1)
    assert vmesh.clock.pending() == 0


def test_http_4xx_is_not_retried(vmesh: Mesh, driver: VirtualDriver) -> None:
    http = FakeHttp(vmesh, status=403)
    dlq = RecordingQueue(vmesh, "dlq")
    topic, _ = _confirmed_http(vmesh, http, {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq.arn})})
    publish(topic, "x")
    driver.run_until_idle()
    assert len(http.calls) == 1 and len(dlq.items) == 1


def test_http_429_and_5xx_are_retried_until_success(vmesh: Mesh, driver: VirtualDriver) -> None:
    answers = [429, 503, 200]
    http = FakeHttp(vmesh, status=lambda effect: answers.pop(0) if effect.headers[
        "x-amz-sns-message-type"] == "Notification" else 200)
    topic, _ = _confirmed_http(vmesh, http)
    publish(topic, "x")
    driver.run_until_idle()
    assert [t - T0 for t, _ in http.calls] == [0.0, 20.0, 40.0]
    assert topic.statistics().number_of_notifications_delivered == 1
    assert topic.statistics().number_of_notifications_failed == 0


def test_subscription_delivery_policy_overrides_topic_policy(vmesh: Mesh, driver: VirtualDriver) -> None:
    http = FakeHttp(vmesh, status=500)
    policy = {"healthyRetryPolicy": {"numRetries": 2, "minDelayTarget": 5, "maxDelayTarget": 5},
              "requestPolicy": {"headerContentType": "application/json"}}
    topic, sub = _confirmed_http(vmesh, http, {"DeliveryPolicy": json.dumps(policy)})
    publish(topic, "x")
    driver.run_until_idle()
    assert [t - T0 for t, _ in http.calls] == [0.0, 5.0, 10.0]
    assert http.calls[0][1].headers["Content-Type"] == "application/json"
    effective = json.loads(topic.subscriptions.attributes(sub)["EffectiveDeliveryPolicy"])
    assert effective["healthyRetryPolicy"]["numRetries"] == 2


def test_topic_can_disable_subscription_overrides(vmesh: Mesh, driver: VirtualDriver) -> None:
    http = FakeHttp(vmesh, status=500)
    topic_policy = {"http": {"defaultHealthyRetryPolicy": {"numRetries": 1, "minDelayTarget": 7,
                                                           "maxDelayTarget": 7},
                             "disableSubscriptionOverrides": True}}
    sub_policy = {"healthyRetryPolicy": {"numRetries": 5}}
    topic, _ = _confirmed_http(vmesh, http, {"DeliveryPolicy": json.dumps(sub_policy)},
                               {"DeliveryPolicy": json.dumps(topic_policy)})
    publish(topic, "x")
    driver.run_until_idle()
    assert [t - T0 for t, _ in http.calls] == [0.0, 7.0]


def test_http_notification_headers_and_raw_body(vmesh: Mesh) -> None:
    http = FakeHttp(vmesh)
    topic, sub = _confirmed_http(vmesh, http, {"RawMessageDelivery": "true"})
    result = publish(topic, "raw!", message_attributes=attrs(a="b"))
    (_, effect), = http.calls
    assert effect.url == URL and effect.body == "raw!"
    assert effect.headers == {
        "Content-Type": "text/plain; charset=UTF-8",
        "User-Agent": "Amazon Simple Notification Service Agent",
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": result.message_id,
        "x-amz-sns-topic-arn": topic.arn,
        "x-amz-sns-subscription-arn": sub.arn,
        "x-amz-sns-rawdelivery": "true",
    }


def test_sqs_failures_follow_the_aws_managed_schedule(vmesh: Mesh, driver: VirtualDriver) -> None:
    topic = make_topic(vmesh)
    queue = RecordingQueue(vmesh, "q", fail=["ServiceUnavailable"] * 7)
    topic.subscriptions.subscribe("sqs", queue.arn)
    publish(topic, "x")
    driver.run_until_idle()
    # first attempt, 3 immediate retries, 2 one second apart, then the backoff from 1 s
    expected = [0, 0, 0, 0, 1, 2, 3, 3 + AWS_MANAGED_RETRY_POLICY.delay_s(7)]
    assert [t - T0 for t in queue.attempts] == pytest.approx(expected)
    assert queue.bodies and topic.statistics().number_of_notifications_delivered == 1


def test_missing_queue_is_a_permanent_failure_to_the_dlq(vmesh: Mesh, driver: VirtualDriver) -> None:
    topic = make_topic(vmesh)
    dlq = RecordingQueue(vmesh, "dlq")
    gone = vmesh.arn("sqs", "gone")
    topic.subscriptions.subscribe("sqs", gone, {"RawMessageDelivery": "true",
                                               "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq.arn})})
    publish(topic, "body", message_attributes=attrs(a="1"))
    driver.run_until_idle()
    (item,) = dlq.items
    assert item.body == "body" and item.attributes == attrs(a="1")
    assert vmesh.clock.pending() == 0
    assert topic.statistics().number_of_notifications_redriven_to_dlq == 1


def test_failed_redrive_is_counted(vmesh: Mesh, driver: VirtualDriver) -> None:
    topic = make_topic(vmesh)
    topic.subscriptions.subscribe("sqs", vmesh.arn("sqs", "gone"), {
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": vmesh.arn("sqs", "also-gone")})})
    publish(topic, "x")
    driver.run_until_idle()
    stats = topic.statistics()
    assert stats.number_of_notifications_failed == 1
    assert stats.number_of_notifications_failed_to_redrive_to_dlq == 1


def test_raw_sqs_delivery_with_more_than_ten_attributes_fails(vmesh: Mesh, driver: VirtualDriver) -> None:
    topic = make_topic(vmesh)
    queue = RecordingQueue(vmesh, "q")
    topic.subscriptions.subscribe("sqs", queue.arn, {"RawMessageDelivery": "true"})
    publish(topic, "many", message_attributes=attrs(**{f"a{i}": "v" for i in range(11)}))
    publish(topic, "few", message_attributes=attrs(a="v"))
    driver.run_until_idle()
    assert queue.bodies == ["few"]
    assert topic.statistics().number_of_notifications_failed == 1


def test_unsubscribing_stops_pending_retries(vmesh: Mesh, driver: VirtualDriver) -> None:
    http = FakeHttp(vmesh, status=500)
    topic, sub = _confirmed_http(vmesh, http)
    publish(topic, "x")
    driver.advance(25)
    topic.subscriptions.unsubscribe(sub)
    driver.run_until_idle()
    assert len(http.of_type("Notification")) == 2
    assert len(http.of_type("UnsubscribeConfirmation")) == 1


def test_deleting_the_topic_cancels_its_retry_timers(vmesh: Mesh, driver: VirtualDriver) -> None:
    http = FakeHttp(vmesh, status=500)
    topic, _ = _confirmed_http(vmesh, http)
    publish(topic, "x")
    assert vmesh.clock.pending() == 1
    sns_service.delete_topic(vmesh, topic.arn)
    assert vmesh.clock.pending() == 0


def test_one_timer_per_pending_delivery_not_per_message(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    queue = RecordingQueue(vmesh, "q", fail=["ServiceUnavailable"] * 5)
    topic.subscriptions.subscribe("sqs", queue.arn)
    from eventmesh.services.sns.topic import PublishEntry

    topic.publish_batch([PublishEntry(id=str(i), message=str(i)) for i in range(10)])
    vmesh.flush()
    assert vmesh.clock.pending() == 1


def test_invalid_delivery_policy_is_rejected(vmesh: Mesh) -> None:
    topic = make_topic(vmesh)
    with pytest.raises(InvalidParameter) as exc:
        topic.subscriptions.subscribe(
            "http", URL, {"DeliveryPolicy": '{"healthyRetryPolicy": {"numRetries": 500}}'})
    assert exc.value.message.startswith("Invalid parameter: DeliveryPolicy Reason: numRetries")


def test_fifo_retry_holds_later_messages_back(vmesh: Mesh, driver: VirtualDriver) -> None:
    topic = make_topic(vmesh, "ordered.fifo", FifoTopic="true", ContentBasedDeduplication="true")
    queue = RecordingQueue(vmesh, "q.fifo", fail=["ServiceUnavailable"] * 4)  # the first try and 3 immediate
    topic.subscriptions.subscribe("sqs", queue.arn, {"RawMessageDelivery": "true"})
    publish(topic, "first", message_group_id="g")
    publish(topic, "second", message_group_id="g")
    assert queue.bodies == []
    driver.advance(1)
    assert queue.bodies == ["first", "second"]
    publish(topic, "third", message_group_id="g")
    assert queue.bodies == ["first", "second", "third"]
    assert [t - T0 for t, _, _ in queue.batches] == [1, 1, 1]
