"""The example topology end to end, in virtual time: EventBridge → SNS → SQS → Lambda, and
Kinesis → Lambda, every hop a different core, driven through boto3 against the daemon."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from eventmesh.config import load_config
from eventmesh.services.lambda_.function import Function
from eventmesh.services.sqs.queue import Queue
from eventmesh.workers import serve_in_thread

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "example.yaml"


@pytest.fixture
def daemon(workers):
    handle = serve_in_thread(load_config(CONFIG), workers=workers)
    yield handle
    handle.stop()


def client(daemon, name: str):
    return boto3.client(name, endpoint_url=daemon.url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


def function_stats(daemon, name: str):
    return daemon.mesh.get(f"arn:aws:lambda:us-east-1:000000000000:function:{name}", Function).statistics()


def test_large_order_event_reaches_the_order_function_through_topic_and_queue(daemon) -> None:
    events = client(daemon, "events")
    detail = {"total": 150}
    reply = events.put_events(Entries=[
        {"EventBusName": "shop", "Source": "shop.orders", "DetailType": "Order", "Detail": json.dumps(detail)},
        {"EventBusName": "shop", "Source": "shop.orders", "DetailType": "Order", "Detail": '{"total": 5}'},
    ])
    assert reply["FailedEntryCount"] == 0
    daemon.advance(5)
    stats = function_stats(daemon, "process-order")
    # Only the large order passes the rule; the transformer's kind passes the subscription filter.
    assert stats.invocations == 1
    queue = daemon.mesh.get("arn:aws:sqs:us-east-1:000000000000:orders", Queue).statistics()
    assert queue.number_of_messages_sent == 1


def test_clicks_stream_feeds_its_function(daemon) -> None:
    kinesis = client(daemon, "kinesis")
    kinesis.put_records(StreamName="clicks", Records=[
        {"Data": json.dumps({"n": i}).encode(), "PartitionKey": f"user-{i % 3}"} for i in range(30)])
    daemon.advance(5)
    stats = function_stats(daemon, "count-clicks")
    assert stats.invocations >= 3  # at least one batch per partition-key lane that got records
    assert stats.errors == 0
