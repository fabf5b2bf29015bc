"""CloudWatch Logs through boto3 against the daemon: what functions write (every invocation type,
timeouts, LogType=Tail), and the Logs API's own writes, reads, pagination and errors."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from eventmesh.daemon import ServerHandle, _print_function_logs
from eventmesh.effects import LogEvents
from eventmesh.services.logs import recent_log_lines
from eventmesh.workers import serve_in_thread
from tests.clients import aws_client as client
from tests.zips import handler_zip

ROLE = "arn:aws:iam::000000000000:role/logs"
HANDLER = """
import os, time, boto3
QUEUE = os.environ.get("QUEUE_URL")
print("importing", os.environ["AWS_LAMBDA_FUNCTION_NAME"])

def handler(event, context):
    print("event", json_safe(event))
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("send"):   # no endpoint in the code: AWS_ENDPOINT_URL points at the daemon
        boto3.client("sqs").send_message(QueueUrl=QUEUE, MessageBody=event["send"])
    return "done"

def json_safe(event):
    return event if isinstance(event, dict) and "Records" not in event else "records"
"""




@pytest.fixture(scope="module")
def daemon(workers: int) -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual", workers=workers)
    try:
        yield handle
    finally:
        handle.stop()




@pytest.fixture(scope="module")
def function(daemon: ServerHandle) -> str:
    sqs = client(daemon, "sqs")
    url = sqs.create_queue(QueueName="from-handler")["QueueUrl"]
    client(daemon, "lambda").create_function(
        FunctionName="talker", Runtime="python3.12", Role=ROLE, Handler="app.handler", Timeout=1,
        Code={"ZipFile": handler_zip(HANDLER)}, Environment={"Variables": {"QUEUE_URL": url}})
    return "talker"


def messages(daemon: ServerHandle, **filters: Any) -> list[str]:
    logs = client(daemon, "logs")
    events = logs.filter_log_events(logGroupName="/aws/lambda/talker", **filters)["events"]
    return [e["message"] for e in events]


def invocation_lines(daemon: ServerHandle, request_id: str) -> list[str]:
    """The lines between the invocation's START and REPORT."""
    lines = messages(daemon)
    start = lines.index(next(m for m in lines if m.startswith(f"START RequestId: {request_id}")))
    end = lines.index(next(m for m in lines if m.startswith(f"REPORT RequestId: {request_id}")))
    return lines[start:end + 1]


def test_a_synchronous_call_logs_to_cloudwatch_and_tails_the_same_lines(daemon, function):
    out = client(daemon, "lambda").invoke(FunctionName=function, Payload=b'{"n": 1}', LogType="Tail")
    request_id = out["ResponseMetadata"]["RequestId"]
    tail = base64.b64decode(out["LogResult"]).decode()
    lines = invocation_lines(daemon, request_id)
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST\n"
    assert lines[1] == "event {'n': 1}\n"
    assert lines[2] == f"END RequestId: {request_id}\n"
    report = lines[3]
    assert report.startswith(f"REPORT RequestId: {request_id}\tDuration: ") and report.endswith("\t\n")
    fields = dict(part.split(": ", 1) for part in report.strip().split("\t")[1:])
    assert set(fields) >= {"Duration", "Billed Duration", "Memory Size", "Max Memory Used"}
    assert fields["Memory Size"] == "128 MB"
    assert tail.endswith("".join(lines))
    # the cold start: import-time output before START, and Init Duration in REPORT
    everything = messages(daemon)
    assert "importing talker\n" in everything
    assert any("Init Duration: " in m for m in everything if m.startswith("REPORT"))


def test_event_invocations_log_too(daemon, function):
    lam = client(daemon, "lambda")
    lam.invoke(FunctionName=function, InvocationType="Event", Payload=b'{"async": true}')
    daemon.advance_until(lambda: "event {'async': True}\n" in messages(daemon))
    assert any(m.startswith("END RequestId:") for m in messages(daemon))


def test_mapping_invocations_log_and_the_handlers_sdk_reaches_the_daemon(daemon, function):
    sqs = client(daemon, "sqs")
    lam = client(daemon, "lambda")
    source = sqs.create_queue(QueueName="to-handler")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function, BatchSize=1)
    daemon.advance(1)
    sqs.send_message(QueueUrl=source, MessageBody="via mapping")
    daemon.advance_until(lambda: "event records\n" in messages(daemon))
    # and a handler that calls SQS with a plain boto3 client: the message arrives in the daemon
    lam.invoke(FunctionName=function, Payload=json.dumps({"send": "from inside"}).encode())
    target = sqs.get_queue_url(QueueName="from-handler")["QueueUrl"]
    got = sqs.receive_message(QueueUrl=target)["Messages"]
    assert [m["Body"] for m in got] == ["from inside"]


def test_a_timed_out_call_logs_its_output_and_the_timeout(daemon, function):
    out = client(daemon, "lambda").invoke(FunctionName=function, Payload=b'{"sleep": 5}')
    assert out["FunctionError"] == "Unhandled"
    request_id = out["ResponseMetadata"]["RequestId"]
    lines = invocation_lines(daemon, request_id)
    assert lines[1] == "event {'sleep': 5}\n"
    assert lines[2].endswith(f" {request_id} Task timed out after 1.00 seconds\n")
    assert lines[3] == f"END RequestId: {request_id}\n"
    assert "Status: timeout" in lines[4]


def test_streams_and_groups_are_described_as_aws_does(daemon, function):
    logs = client(daemon, "logs")
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/aws/lambda/talker"]
    assert groups[0]["arn"].endswith(":log-group:/aws/lambda/talker:*")
    assert groups[0]["logGroupArn"] == groups[0]["arn"][:-2]
    streams = logs.describe_log_streams(logGroupName="/aws/lambda/talker", orderBy="LastEventTime",
                                        descending=True)["logStreams"]
    assert streams and all("/[$LATEST]" in s["logStreamName"] for s in streams)
    last = [s["lastEventTimestamp"] for s in streams]
    assert last == sorted(last, reverse=True)
    lines = recent_log_lines(daemon.mesh, "talker", limit=3)
    assert len(lines) == 3 and lines[-1].message.startswith("REPORT RequestId: ")
    assert recent_log_lines(daemon.mesh, "nobody") == []


def test_put_get_and_filter_with_pagination(daemon):
    logs = client(daemon, "logs")
    logs.create_log_group(logGroupName="app", tags={"team": "a"})
    logs.create_log_stream(logGroupName="app", logStreamName="one")
    logs.create_log_stream(logGroupName="app", logStreamName="two")
    now = int(daemon.mesh.clock.now() * 1000)
    logs.put_log_events(logGroupName="app", logStreamName="one",
                        logEvents=[{"timestamp": now + i, "message": f"one {i} ERROR" if i % 2 else f"one {i}"}
                                   for i in range(5)])
    logs.put_log_events(logGroupName="app", logStreamName="two",
                        logEvents=[{"timestamp": now + 10, "message": "two ERROR late"}])
    head = logs.get_log_events(logGroupName="app", logStreamName="one", startFromHead=True, limit=2)
    assert [e["message"] for e in head["events"]] == ["one 0", "one 1 ERROR"]
    rest = logs.get_log_events(logGroupName="app", logStreamName="one", nextToken=head["nextForwardToken"])
    assert [e["message"] for e in rest["events"]] == ["one 2", "one 3 ERROR", "one 4"]
    end = logs.get_log_events(logGroupName="app", logStreamName="one", nextToken=rest["nextForwardToken"])
    assert end["events"] == [] and end["nextForwardToken"] == rest["nextForwardToken"]
    newest = logs.get_log_events(logGroupName="app", logStreamName="one", limit=2)
    assert [e["message"] for e in newest["events"]] == ["one 3 ERROR", "one 4"]
    page = logs.filter_log_events(logGroupName="app", filterPattern="ERROR", limit=2)
    assert [(e["logStreamName"], e["message"]) for e in page["events"]] == [("one", "one 1 ERROR"),
                                                                            ("one", "one 3 ERROR")]
    more = logs.filter_log_events(logGroupName="app", filterPattern="ERROR", nextToken=page["nextToken"])
    assert [e["message"] for e in more["events"]] == ["two ERROR late"] and "nextToken" not in more
    paginated = [e["message"] for p in logs.get_paginator("filter_log_events").paginate(
        logGroupName="app", PaginationConfig={"PageSize": 1}) for e in p["events"]]
    assert paginated == ["one 0", "one 1 ERROR", "one 2", "one 3 ERROR", "one 4", "two ERROR late"]
    assert logs.filter_log_events(logGroupName="app", filterPattern="?late ?nothing")["events"][0]["message"] == \
        "two ERROR late"
    assert logs.filter_log_events(logGroupName="app", logStreamNames=["two"],
                                  filterPattern="-late")["events"] == []
    assert logs.list_tags_for_resource(resourceArn=logs.describe_log_groups(logGroupNamePrefix="app")[
        "logGroups"][0]["logGroupArn"])["tags"] == {"team": "a"}


def test_json_filter_patterns_and_list_pages(daemon):
    logs = client(daemon, "logs")
    for name in ("p-a", "p-b", "p-c"):
        logs.create_log_group(logGroupName=name)
    first = logs.describe_log_groups(logGroupNamePrefix="p-", limit=2)
    assert [g["logGroupName"] for g in first["logGroups"]] == ["p-a", "p-b"]
    second = logs.describe_log_groups(logGroupNamePrefix="p-", limit=2, nextToken=first["nextToken"])
    assert [g["logGroupName"] for g in second["logGroups"]] == ["p-c"] and "nextToken" not in second
    logs.create_log_stream(logGroupName="p-a", logStreamName="s")
    now = int(daemon.mesh.clock.now() * 1000)
    logs.put_log_events(logGroupName="p-a", logStreamName="s", logEvents=[
        {"timestamp": now, "message": json.dumps({"level": "ERROR", "ms": 12})},
        {"timestamp": now + 1, "message": json.dumps({"level": "INFO", "ms": 900})},
        {"timestamp": now + 2, "message": "not json"}])
    found = logs.filter_log_events(logGroupName="p-a", filterPattern='{ $.level = "ERR*" || $.ms > 500 }')
    assert len(found["events"]) == 2


def test_retention_hides_old_events_and_errors_have_aws_codes(daemon):
    logs = client(daemon, "logs")
    logs.create_log_group(logGroupName="kept")
    logs.create_log_stream(logGroupName="kept", logStreamName="s")
    now = int(daemon.mesh.clock.now() * 1000)
    logs.put_log_events(logGroupName="kept", logStreamName="s", logEvents=[{"timestamp": now, "message": "m"}])
    logs.put_retention_policy(logGroupName="kept", retentionInDays=1)
    assert len(logs.filter_log_events(logGroupName="kept")["events"]) == 1
    daemon.advance(2 * 86_400)
    assert logs.filter_log_events(logGroupName="kept")["events"] == []
    assert logs.describe_log_groups(logGroupNamePrefix="kept")["logGroups"][0]["retentionInDays"] == 1
    with pytest.raises(ClientError) as missing:
        logs.get_log_events(logGroupName="nope", logStreamName="s")
    assert missing.value.response["Error"] == {"Code": "ResourceNotFoundException",
                                               "Message": "The specified log group does not exist."}
    with pytest.raises(ClientError) as twice:
        logs.create_log_group(logGroupName="kept")
    assert twice.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as bad:
        logs.put_retention_policy(logGroupName="kept", retentionInDays=2)
    assert bad.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as unordered:
        logs.put_log_events(logGroupName="kept", logStreamName="s", logEvents=[
            {"timestamp": now + 5, "message": "b"}, {"timestamp": now + 1, "message": "a"}])
    assert unordered.value.response["Error"]["Code"] == "InvalidParameterException"


def test_verbose_console_prints_what_functions_write(caplog):
    with caplog.at_level(logging.INFO, logger="eventmesh.lambda"):
        _print_function_logs(LogEvents("000000000000", "us-east-1", "/aws/lambda/f", "s",
                                       [(1, "START RequestId: r Version: $LATEST\n"), (2, "hello\n")]))
    assert [r.getMessage() for r in caplog.records] == [
        "/aws/lambda/f START RequestId: r Version: $LATEST", "/aws/lambda/f hello"]
