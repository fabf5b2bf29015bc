"""POST/GET/DELETE /_eventmesh/faults against a running daemon: the scenarios' fault model,
seen through the AWS SDK."""

from __future__ import annotations

import http.client
import json
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from eventmesh.workers import serve_in_thread
from tests.simulate.helpers import ROLE


def _call(daemon: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", daemon.daemon.bound_port, timeout=10)
    conn.request(method, path, json.dumps(body).encode() if body is not None else None,
                 {"Content-Type": "application/json"})
    reply = conn.getresponse()
    return reply.status, json.loads(reply.read() or b"null")


@pytest.fixture(scope="module")
def daemon(workers):
    handle = serve_in_thread(clock="virtual", services=["lambda", "sqs", "kinesis"], workers=workers)
    yield handle
    handle.stop()


def _client(daemon: Any, name: str) -> Any:
    return boto3.client(name, endpoint_url=daemon.url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x", config=BotoConfig(retries={"max_attempts": 1}))


def test_a_throttles_fault_refuses_invocations_until_its_duration_passes(daemon):
    lam = _client(daemon, "lambda")
    lam.create_function(FunctionName="thr", Role=ROLE, Handler="model:duration=0", Code={"ZipFile": b""})
    status, body = _call(daemon, "POST", "/_eventmesh/faults",
                         {"kind": "throttles", "target": "thr", "duration": "30s", "id": "t1"})
    assert status == 201 and body["faults"][0]["id"] == "t1" and body["faults"][0]["active"]
    with pytest.raises(ClientError) as refused:
        lam.invoke(FunctionName="thr", Payload=b"{}")
    assert refused.value.response["Error"]["Code"] == "TooManyRequestsException"
    daemon.advance(31)
    assert lam.invoke(FunctionName="thr", Payload=b"{}")["StatusCode"] == 200
    assert _call(daemon, "GET", "/_eventmesh/faults")[1]["faults"][0]["active"] is False
    assert _call(daemon, "DELETE", "/_eventmesh/faults/t1") == (200, {"cleared": 1})


def test_an_unavailable_queue_and_a_lowered_shard_limit_are_seen_by_the_sdk(daemon):
    sqs, kinesis = _client(daemon, "sqs"), _client(daemon, "kinesis")
    url = sqs.create_queue(QueueName="down")["QueueUrl"]
    kinesis.create_stream(StreamName="slow", ShardCount=1)
    status, body = _call(daemon, "POST", "/_eventmesh/faults", {"faults": [
        {"kind": "unavailable", "target": "down"},
        {"kind": "shard_write_limit", "target": "slow", "records_per_second": 5}]})
    assert status == 201 and len(body["faults"]) == 2
    with pytest.raises(ClientError) as outage:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert outage.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    put = kinesis.put_records(StreamName="slow", Records=[{"Data": b"x", "PartitionKey": str(i)} for i in range(8)])
    assert put["FailedRecordCount"] == 3
    assert put["Records"][-1]["ErrorCode"] == "ProvisionedThroughputExceededException"
    assert _call(daemon, "DELETE", "/_eventmesh/faults") == (200, {"cleared": 2})
    assert sqs.send_message(QueueUrl=url, MessageBody="x")["MessageId"]
    assert _call(daemon, "GET", "/_eventmesh/faults") == (200, {"faults": []})


def test_bad_faults_are_refused_with_their_problems_and_nothing_is_added(daemon):
    status, body = _call(daemon, "POST", "/_eventmesh/faults", [
        {"kind": "errors", "target": "thr"}, {"kind": "errors", "target": "nope"}])
    assert status == 400 and body["message"] == "target: no function nope"
    status, body = _call(daemon, "POST", "/_eventmesh/faults", {"kind": "errors", "rate": "half"})
    assert status == 400 and "target: required" in body["message"] and "rate: must be a number" in body["message"]
    assert _call(daemon, "GET", "/_eventmesh/faults") == (200, {"faults": []})
    assert _call(daemon, "DELETE", "/_eventmesh/faults/missing")[0] == 404
