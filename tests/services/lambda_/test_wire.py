"""boto3 against the daemon (virtual clock): Lambda over REST-JSON, python handlers in worker processes."""

from __future__ import annotations

import base64
import importlib.util
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from eventmesh.daemon import ServerHandle
from eventmesh.effects import Delivery, DeliveryResult
from eventmesh.workers import serve_in_thread
from tests.zips import handler_zip

ROLE = "arn:aws:iam::000000000000:role/wire"
HANDLER_SOURCE = """
import os

def handler(event, context):
    print("event", event)
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"doubled": event["n"] * 2, "stage": os.environ["STAGE"],
            "function": context.function_name, "memory": context.memory_limit_in_mb}
"""
HAS_SQS = importlib.util.find_spec("eventmesh.services.sqs.api") is not None


def _zip(source: str) -> bytes:
    return handler_zip(source, "handler.py")


class Recorder:
    """An in-process destination: records bodies and signals arrival to the test thread."""

    def __init__(self, arn: str) -> None:
        self.arn = arn
        self.bodies: list[str] = []
        self.arrived = threading.Event()

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        self.bodies += [item.body for item in items]
        self.arrived.set()
        return DeliveryResult()


@pytest.fixture(scope="module")
def daemon(workers: int) -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual", services=["lambda", "sqs"] if HAS_SQS else ["lambda"], workers=workers)
    try:
        yield handle
    finally:
        handle.stop()


def _client(daemon: ServerHandle, name: str) -> Any:
    return boto3.client(name, endpoint_url=daemon.url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def lam(daemon: ServerHandle) -> Any:
    return _client(daemon, "lambda")


def _recorder(daemon: ServerHandle, arn: str) -> Recorder:
    recorder = Recorder(arn)
    done = threading.Event()
    daemon.loop.call_soon_threadsafe(lambda: (daemon.mesh.add(recorder), done.set()))
    assert done.wait(10)
    return recorder


def test_python_zip_function_sync_and_async(daemon, lam):
    created = lam.create_function(FunctionName="py", Runtime="python3.12", Role=ROLE,
                                  Handler="handler.handler", Code={"ZipFile": _zip(HANDLER_SOURCE)},
                                  MemorySize=256, Environment={"Variables": {"STAGE": "wire"}})
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:py"
    out = lam.invoke(FunctionName="py", Payload=json.dumps({"n": 21}), LogType="Tail")
    assert out["StatusCode"] == 200 and out["ExecutedVersion"] == "$LATEST"
    assert json.loads(out["Payload"].read()) == {"doubled": 42, "stage": "wire", "function": "py",
                                                 "memory": "256"}
    failed = lam.invoke(FunctionName="py", Payload=json.dumps({"fail": True}))
    assert failed["StatusCode"] == 200 and failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorMessage"] == "asked to fail"

    success = _recorder(daemon, "arn:aws:sqs:us-east-1:000000000000:py-success")
    lam.put_function_event_invoke_config(FunctionName="py", DestinationConfig={
        "OnSuccess": {"Destination": success.arn}})
    queued = lam.invoke(FunctionName="py", InvocationType="Event", Payload=json.dumps({"n": 5}))
    assert queued["StatusCode"] == 202
    assert success.arrived.wait(30)   # the worker process finishes in real time
    record = json.loads(success.bodies[0])
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"]["doubled"] == 10


def test_invoke_with_response_stream_answers_one_chunk_then_complete(lam):
    lam.create_function(FunctionName="streamed", Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                        Code={"ZipFile": _zip(HANDLER_SOURCE)}, Environment={"Variables": {"STAGE": "s"}})
    out = lam.invoke_with_response_stream(FunctionName="streamed", Payload=json.dumps({"n": 4}), LogType="Tail")
    assert out["StatusCode"] == 200 and out["ExecutedVersion"] == "$LATEST"
    events = list(out["EventStream"])
    assert [next(iter(e)) for e in events] == ["PayloadChunk", "InvokeComplete"]
    assert json.loads(events[0]["PayloadChunk"]["Payload"])["doubled"] == 8
    assert "ErrorCode" not in events[1]["InvokeComplete"]
    assert base64.b64decode(events[1]["InvokeComplete"]["LogResult"]).decode().startswith("START RequestId:")
    failed = list(lam.invoke_with_response_stream(FunctionName="streamed",
                                                  Payload=json.dumps({"fail": True}))["EventStream"])
    assert json.loads(failed[0]["PayloadChunk"]["Payload"])["errorMessage"] == "asked to fail"
    assert failed[1]["InvokeComplete"] == {"ErrorCode": "Unhandled", "ErrorDetails": "asked to fail"}
    with pytest.raises(ClientError) as caught:
        lam.invoke_with_response_stream(FunctionName="absent")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_response_over_the_payload_limit_is_the_functions_error(lam):
    lam.create_function(FunctionName="bulky", Runtime="python3.12", Role=ROLE, Handler="handler.handler",
                        Code={"ZipFile": _zip("def handler(event, context):\n    return 'x' * (7 * 1024 * 1024)\n")})
    out = lam.invoke(FunctionName="bulky")
    assert out["StatusCode"] == 200 and out["FunctionError"] == "Unhandled"
    error = json.loads(out["Payload"].read())
    assert error["errorType"] == "Function.ResponseSizeTooLarge" and "6291456 bytes" in error["errorMessage"]


def test_reserved_concurrency_zero_throttles(lam):
    lam.create_function(FunctionName="off", Role=ROLE, Handler="model:duration=0", Code={})
    lam.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as err:
        lam.invoke(FunctionName="off", Payload=b"{}")
    response = err.value.response
    assert response["Error"]["Code"] == "TooManyRequestsException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert response["Error"]["Message"] == "Rate Exceeded."
    assert response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
    assert lam.get_function_concurrency(FunctionName="off")["ReservedConcurrentExecutions"] == 0


def test_failing_async_invocation_reaches_on_failure_destination_after_retries(daemon, lam):
    failure = _recorder(daemon, "arn:aws:sqs:us-east-1:000000000000:failures")
    lam.create_function(FunctionName="flaky", Role=ROLE, Handler="model:duration=0.5,error_rate=1", Code={})
    lam.put_function_event_invoke_config(FunctionName="flaky", DestinationConfig={
        "OnFailure": {"Destination": failure.arn}})
    assert lam.invoke(FunctionName="flaky", InvocationType="Event", Payload=b'{"id": 7}')["StatusCode"] == 202
    daemon.advance(120)
    assert failure.bodies == []              # retry 2 is due at 0.5 + 60 + 0.5 + 120
    daemon.advance(62)
    record = json.loads(failure.bodies[0])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(":function:flaky:$LATEST")
    assert record["requestPayload"] == {"id": 7}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                         "functionError": "Unhandled"}


@pytest.mark.skipif(not HAS_SQS, reason="the SQS adapter is not in this tree yet")
def test_failure_record_arrives_in_a_real_sqs_queue(daemon, lam):
    sqs = _client(daemon, "sqs")
    url = sqs.create_queue(QueueName="lambda-failures")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam.create_function(FunctionName="flaky-sqs", Role=ROLE, Handler="model:duration=0.5,error_rate=1",
                        Code={})
    lam.put_function_event_invoke_config(FunctionName="flaky-sqs", MaximumRetryAttempts=1,
                                         DestinationConfig={"OnFailure": {"Destination": arn}})
    lam.invoke(FunctionName="flaky-sqs", InvocationType="Event", Payload=b'{"id": 8}')
    daemon.advance(62)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    record = json.loads(messages[0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2


def test_function_metrics_are_scraped(daemon, lam):
    import http.client

    lam.create_function(FunctionName="counted", Role=ROLE, Handler="model:duration=0", Code={})
    lam.invoke(FunctionName="counted", InvocationType="Event", Payload=b"{}")
    daemon.advance(1)
    conn = http.client.HTTPConnection(daemon.daemon.host, daemon.daemon.bound_port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    assert 'aws_lambda_invocations_total{function_name="counted"} 1.0' in text
    assert 'aws_lambda_async_events_received_total{function_name="counted"} 1.0' in text
    assert 'aws_lambda_duration_seconds_count{function_name="counted"} 1.0' in text
    assert 'aws_lambda_concurrent_executions{function_name="counted"} 0.0' in text
