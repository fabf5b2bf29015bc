"""A SAM template with every event source kind served here, deployed by ``eventmesh serve
--template`` and driven end to end through boto3 in virtual time: SNS, EventBridge rules,
schedules (EventBridge and Scheduler), SQS and Kinesis mappings, destinations and every DLQ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from eventmesh.config import load_config
from eventmesh.daemon import ServerHandle
from eventmesh.services.lambda_.function import Function
from eventmesh.workers import serve_in_thread

TEMPLATE = Path(__file__).resolve().parent / "sam_app" / "template.yaml"
ACCOUNT = "000000000000"


@pytest.fixture
def daemon(workers: int) -> Iterator[ServerHandle]:
    handle = serve_in_thread(load_config(templates=[TEMPLATE]), workers=workers)
    try:
        yield handle
    finally:
        handle.stop()


def _client(daemon: ServerHandle, name: str) -> Any:
    return boto3.client(name, endpoint_url=daemon.url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


def _drain(sqs: Any, name: str) -> list[dict[str, Any]]:
    """Every message now in a queue (no long poll: in virtual time one would wait for the clock)."""
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    found = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            return found
        found += batch
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])


def _invocations(daemon: ServerHandle, name: str) -> int:
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"
    return daemon.mesh.get(arn, Function).statistics().invocations


def test_every_event_kind_runs_end_to_end(daemon: ServerHandle) -> None:
    sqs, sns, events, kinesis = (_client(daemon, n) for n in ("sqs", "sns", "events", "kinesis"))
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:Alerts"
    for severity in ("high", "low"):
        sns.publish(TopicArn=topic, Message=f"disk {severity}", MessageAttributes={
            "severity": {"DataType": "String", "StringValue": severity}})
    reply = events.put_events(Entries=[
        {"EventBusName": "shop-test", "Source": "shop.orders", "DetailType": "Order", "Detail": '{"total": 150}'},
        {"EventBusName": "shop-test", "Source": "shop.orders", "DetailType": "Order", "Detail": '{"total": 5}'},
    ])
    assert reply["FailedEntryCount"] == 0
    orders = sqs.get_queue_url(QueueName="Orders")["QueueUrl"]
    for i in range(7):
        sqs.send_message(QueueUrl=orders, MessageBody=json.dumps({"order": i}))
    kinesis.put_records(StreamName="Clicks", Records=[
        {"Data": json.dumps({"click": i}).encode(), "PartitionKey": f"user-{i}"} for i in range(10)])
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="Poison")["QueueUrl"], MessageBody="poison")

    daemon.advance(5)
    # SNS (filtered by the subscription's policy) and the bus rule (InputPath) reached Recorder.
    results = [json.loads(m["Body"]) for m in _drain(sqs, "Results")]
    assert len(results) == 2 and all(r["requestContext"]["condition"] == "Success" for r in results)
    from_bus, from_sns = sorted((r["requestPayload"] for r in results), key=lambda p: "Records" in p)
    assert from_bus == {"total": 150}
    sns_record = from_sns["Records"][0]
    assert sns_record["EventSource"] == "aws:sns" and sns_record["Sns"]["Message"] == "disk high"
    # The SQS mapping (BatchSize 5 from a parameter) and the Kinesis mapping fed Consumer.
    assert _invocations(daemon, "Consumer") >= 3   # 7 orders in batches of at most 5, and the clicks
    assert sqs.get_queue_attributes(QueueUrl=orders, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "0"

    # Failing's async failures (both alerts: its subscription has no filter) went to its DLQ.
    failures = _drain(sqs, "Failures")
    dlq = [m for m in failures if "RequestID" in m.get("MessageAttributes", {})]
    assert len(dlq) == 2
    assert {json.loads(m["Body"])["Records"][0]["Sns"]["Message"] for m in dlq} == {"disk high", "disk low"}
    assert all(m["MessageAttributes"]["ErrorCode"]["StringValue"] == "200" for m in dlq)
    # The failing Kinesis mapping retried once, then sent its batch's record to the destination.
    stream_failures = [json.loads(m["Body"]) for m in failures if m not in dlq]
    assert stream_failures and all(f["requestContext"]["condition"] == "RetryAttemptsExhausted"
                                   for f in stream_failures)
    assert sum(f["KinesisBatchInfo"]["batchSize"] for f in stream_failures) == 10

    # The poison message is received twice (visibility timeout 30 s), then redriven to the DLQ.
    daemon.advance(65)
    poison = _drain(sqs, "template-poison-dlq")
    assert [m["Body"] for m in poison] == ["poison"]

    # Schedules, from their creation at t=0: the Scheduler schedule every minute, the rule every five.
    daemon.advance(301 - 70)   # the invocations at t=300 finish 10 ms later
    ticks = [json.loads(m["Body"])["requestPayload"]["tick"] for m in _drain(sqs, "Results")]
    assert ticks.count("scheduler") == 5 and ticks.count("rule") == 1


def test_template_code_is_zipped_and_runs(daemon: ServerHandle) -> None:
    lam = _client(daemon, "lambda")
    reply = lam.invoke(FunctionName="FromDirectory", Payload=b'{"n": 1}')
    assert json.loads(reply["Payload"].read()) == {"stage": "test", "event": {"n": 1},
                                                   "function": "FromDirectory", "boto3": "boto3"}
    reply = lam.invoke(FunctionName="Inline", Payload=b'{"n": 2}')
    assert json.loads(reply["Payload"].read()) == {"inline": True, "got": {"n": 2}}
    config = lam.get_function_configuration(FunctionName="FromDirectory")
    assert config["Environment"]["Variables"]["RESULTS_URL"] == f"http://127.0.0.1:4566/{ACCOUNT}/Results"


def test_conditions_parameters_and_unserved_types(daemon: ServerHandle) -> None:
    names = {q.rsplit("/", 1)[-1] for q in _client(daemon, "sqs").list_queues()["QueueUrls"]}
    assert "ProdOnly" not in names   # Condition IsProd is false for Stage=test
    notices = daemon.daemon.config.notices
    assert any("Table (AWS::DynamoDB::Table)" in n and "not served" in n for n in notices)
    prod = load_config(templates=[TEMPLATE], parameter_overrides={"Stage": "prod"})
    assert "ProdOnly" in {q["QueueName"] for q in prod.resources["sqs"]["queues"]}
    assert "shop-prod" in {b["Name"] for b in prod.resources["events"]["buses"]}
