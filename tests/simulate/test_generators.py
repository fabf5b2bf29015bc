"""Producers: they see each API's answers and retry what the SDK retries, with its back-off."""

from __future__ import annotations

import random

import pytest

import eventmesh.simulate as sim
from eventmesh.simulate.generators import RetryPolicy
from tests.simulate.helpers import scenario


def test_sdk_standard_backoff_is_full_jitter_with_a_cap():
    policy, rng = RetryPolicy(), random.Random(1)
    draws = [policy.delay_s(rng, attempt, throttled=True) for attempt in (1, 2, 3, 6) for _ in range(200)]
    first, second, third, sixth = (draws[i * 200:(i + 1) * 200] for i in range(4))
    assert max(first) <= 1 and max(second) <= 2 and max(third) <= 4 and max(sixth) <= 20
    assert 0.4 < sum(first) / 200 < 0.6 and 8 < sum(sixth) / 200 < 12
    assert max(policy.delay_s(rng, 1, throttled=False) for _ in range(100)) <= 0.05


def test_throttled_records_are_retried_then_given_up_and_every_event_is_accounted():
    # 1 shard, 2,000 records/s offered in one burst per second: half is throttled each second.
    result = sim.run(scenario(
        "30s", resources={"kinesis": {"streams": [{"StreamName": "s", "ShardCount": 1}]}},
        load=[{"name": "p", "api": "PutRecords", "target": "s", "batch": 500, "rate": 2_000,
               "retry": {"max_attempts": 4}}]))
    p = result.total("generator", "p")
    assert p.sent == 60_000 and p.balanced and p.sent == p.delivered + p.failed + p.remaining
    assert p.delivered == sum(result.series("IncomingRecords", "Sum", StreamName="s").values) == 30_000
    assert p.throttled == sum(result.series("WriteProvisionedThroughputExceeded", "Sum", StreamName="s").values)
    assert p.detail["retried"] > p.failed > 0
    no_retry = sim.run(scenario(
        "30s", resources={"kinesis": {"streams": [{"StreamName": "s", "ShardCount": 1}]}},
        load=[{"name": "p", "api": "PutRecords", "target": "s", "batch": 500, "rate": 2_000, "retry": "none"}]))
    assert no_retry.total("generator", "p").failed == 30_000 and no_retry.total("generator", "p").detail["retried"] == 0


def test_a_queue_outage_is_retried_by_producers_and_recovers():
    result = sim.run(scenario(
        "60s", resources={"sqs": {"queues": [{"QueueName": "q"}]}},
        load=[{"name": "p", "api": "SendMessageBatch", "target": "q", "batch": 10, "rate": 100,
               "retry": {"max_attempts": 10}}],
        faults=[{"kind": "unavailable", "target": "q", "at": "20s", "duration": "2s"}]))
    p = result.total("generator", "p")
    assert p.sent == 6_000 and p.detail["retried"] > 0 and p.failed == 0
    assert p.delivered + p.remaining == 6_000 and result.total("sqs", "q").sent == p.delivered


@pytest.mark.parametrize("api, batch", [("Publish", 1), ("PublishBatch", 10)])
def test_sns_producers_fan_out_to_their_subscriptions(api, batch):
    result = sim.run(scenario(
        "20s", resources={"sns": {"topics": [{"Name": "t"}], "subscriptions": [
            {"TopicArn": "arn:aws:sns:us-east-1:000000000000:t", "Protocol": "sqs",
             "Endpoint": "arn:aws:sqs:us-east-1:000000000000:q", "Attributes": {"RawMessageDelivery": True}},
            {"TopicArn": "arn:aws:sns:us-east-1:000000000000:t", "Protocol": "https",
             "Endpoint": "https://hooks.example/notify"}]},
            "sqs": {"queues": [{"QueueName": "q"}]}},
        load=[{"name": "p", "api": api, "target": "t", "batch": batch, "rate": 10,
               "payload": {"message": {"n": "{counter}"}, "attributes": {"kind": "{choice(a, b)}"}}}]))
    assert result.total("generator", "p").delivered == 200
    topic = result.total("sns", "t")
    assert topic.sent == 400 and topic.delivered + topic.remaining == 400 and topic.balanced
    # Calls evenly spaced in the middle of their events' time, each notification 100 ms on its way
    # (sns->* latency): what was published in the last 100 ms has not reached the queue at 20 s.
    arrived = sum(batch for k in range(200 // batch) if (k + 0.5) * batch / 10 + 0.1 <= 20)
    assert arrived == (199 if batch == 1 else 200)
    assert result.total("sqs", "q").sent == arrived
