"""Event source mappings with boto3 against the daemon (virtual clock): both kinds created through
the Lambda API and delivering to a function (a modelled one always; a Python one once the
function runner is installed by the daemon)."""

from __future__ import annotations

import io
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

from eventmesh.workers import serve_in_thread

# A Python handler in its own zip (over the wire a function runs only its own package).
HANDLER = "consumer.handler"


def _handler_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("consumer.py", "def handler(event, context):\n    return False\n")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def daemon(workers: int):
    handle = serve_in_thread(clock="virtual", workers=workers)
    yield handle
    handle.stop()


def client(daemon, name):
    return boto3.client(name, endpoint_url=daemon.url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def create_function(daemon, name, handler, code=None):
    return client(daemon, "lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role="arn:aws:iam::000000000000:role/r",
        Handler=handler, Code={"ZipFile": code} if code else {"S3Bucket": "none", "S3Key": "none"},
        Timeout=10)["FunctionArn"]


@pytest.fixture(scope="module")
def function_arn(daemon):
    return create_function(daemon, "consumer", "model:duration=10ms")


def statistics(daemon, uuid):
    mapping = next(m for m in daemon.mesh.resources("lambda") if getattr(m, "uuid", None) == uuid)
    return mapping.statistics()


def test_sqs_mapping_is_created_and_delivers_to_a_python_function(daemon, function_arn):
    sqs = client(daemon, "sqs")
    awslambda = client(daemon, "lambda")
    url = sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    created = awslambda.create_event_source_mapping(EventSourceArn=arn, FunctionName="consumer", BatchSize=5)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Creating"
    assert created["FunctionArn"] == function_arn
    assert created["EventSourceMappingArn"].endswith(f":event-source-mapping:{created['UUID']}")
    daemon.advance(1)
    assert awslambda.get_event_source_mapping(UUID=created["UUID"])["State"] == "Enabled"
    for i in range(7):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    daemon.advance(5)
    stats = statistics(daemon, created["UUID"])
    assert stats.deleted_event_count == 7
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
    with pytest.raises(ClientError) as err:
        awslambda.create_event_source_mapping(EventSourceArn=arn, FunctionName="consumer")
    assert err.value.response["Error"]["Code"] == "ResourceConflictException"
    listed = awslambda.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [created["UUID"]]
    deleted = awslambda.delete_event_source_mapping(UUID=created["UUID"])
    assert deleted["State"] == "Deleting"


def test_kinesis_mapping_is_created_and_delivers_to_a_python_function(daemon, function_arn):
    kinesis = client(daemon, "kinesis")
    awslambda = client(daemon, "lambda")
    kinesis.create_stream(StreamName="clicks", ShardCount=2)
    arn = kinesis.describe_stream_summary(StreamName="clicks")["StreamDescriptionSummary"]["StreamARN"]
    created = awslambda.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=function_arn, StartingPosition="TRIM_HORIZON",
        BatchSize=10, ParallelizationFactor=2)
    assert created["StartingPosition"] == "TRIM_HORIZON"
    assert created["ParallelizationFactor"] == 2
    assert created["MaximumRetryAttempts"] == -1
    assert created["DestinationConfig"] == {"OnFailure": {}}
    daemon.advance(1)
    kinesis.put_records(StreamName="clicks", Records=[
        {"Data": f"r{i}".encode(), "PartitionKey": f"k{i % 5}"} for i in range(25)])
    daemon.advance(5)
    stats = statistics(daemon, created["UUID"])
    assert stats.invoked_event_count == 25
    assert stats.offset_lag == 0
    updated = awslambda.update_event_source_mapping(UUID=created["UUID"], BatchSize=50)
    assert updated["BatchSize"] == 50
    with pytest.raises(ClientError) as err:
        awslambda.create_event_source_mapping(EventSourceArn=arn, FunctionName="consumer")
    assert err.value.response["Error"]["Code"] in ("ValidationException", "InvalidParameterValueException")


def test_both_kinds_deliver_to_a_python_function(daemon):
    create_function(daemon, "pyconsumer", HANDLER, _handler_zip())
    sqs = client(daemon, "sqs")
    kinesis = client(daemon, "kinesis")
    awslambda = client(daemon, "lambda")
    url = sqs.create_queue(QueueName="py-orders")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    kinesis.create_stream(StreamName="py-clicks", ShardCount=1)
    summary = kinesis.describe_stream_summary(StreamName="py-clicks")["StreamDescriptionSummary"]
    stream_arn = summary["StreamARN"]
    q = awslambda.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="pyconsumer")
    s = awslambda.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName="pyconsumer",
                                              StartingPosition="TRIM_HORIZON")
    daemon.advance(1)
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    kinesis.put_record(StreamName="py-clicks", Data=b"hello", PartitionKey="k")
    # The daemon runs Python handlers in worker processes in real time: step the virtual clock
    # until both completions are back.
    daemon.advance_until(lambda: statistics(daemon, q["UUID"]).deleted_event_count
                         and statistics(daemon, s["UUID"]).invoked_event_count)
    assert statistics(daemon, q["UUID"]).deleted_event_count == 1
    assert statistics(daemon, s["UUID"]).invoked_event_count == 1
