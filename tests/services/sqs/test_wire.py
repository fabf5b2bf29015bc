"""boto3 against the daemon (virtual clock): SQS over AWS JSON 1.0 and the legacy Query protocol.

Every test runs once per protocol. The Query client is boto3 loading the SQS model rewritten as
the 2012-11-05 Query model (``eventmesh.testing.sqs_query_client``): the same client code, but the
requests go out as ``Action=…`` forms and the answers come back as XML. Errors are asserted on
``Error.Code`` (the legacy code on both protocols); the JSON client also picks the modelled
exception class from ``x-amzn-query-error``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from eventmesh.daemon import ServerHandle, serve_in_thread
from eventmesh.services.sqs.md5 import md5_of_attributes
from eventmesh.testing import sqs_query_client

_names = itertools.count()


@pytest.fixture(scope="module")
def daemon() -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual", services=["sqs"])
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module", params=["json", "query"])
def sqs(request: pytest.FixtureRequest, daemon: ServerHandle) -> Any:
    config = Config(retries={"max_attempts": 1})
    if request.param == "json":
        return boto3.client("sqs", endpoint_url=daemon.url, region_name="us-east-1", aws_access_key_id="x",
                            aws_secret_access_key="x", config=config)
    return sqs_query_client(daemon.url, config=config)


def _name(prefix: str = "q") -> str:
    return f"{prefix}-{next(_names)}"


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def test_create_get_list_delete(sqs: Any, daemon: ServerHandle) -> None:
    name = _name("listed")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url == f"{daemon.url}/queue/us-east-1/000000000000/{name}"
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == url  # idempotent
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    assert url in sqs.list_queues(QueueNamePrefix="listed-")["QueueUrls"]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as excinfo:
        sqs.get_queue_url(QueueName=name)
    assert _code(excinfo) == "AWS.SimpleQueueService.NonExistentQueue"
    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName=name)
    assert _code(excinfo) == "AWS.SimpleQueueService.QueueDeletedRecently"


def test_modelled_exception_class_on_both_protocols(sqs: Any) -> None:
    # JSON: from the x-amzn-query-error header; Query: from the legacy code in the XML error.
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as excinfo:
        sqs.get_queue_url(QueueName="does-not-exist")
    assert excinfo.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    if sqs.meta.service_model.protocol == "json":
        assert excinfo.value.response["Error"]["QueryErrorCode"] == "QueueDoesNotExist"


def test_create_queue_with_different_attributes_is_rejected(sqs: Any) -> None:
    name = _name()
    sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "5"})
    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "6"})
    assert _code(excinfo) == "QueueAlreadyExists"
    assert "different value for attribute DelaySeconds" in excinfo.value.response["Error"]["Message"]


def test_list_queues_paginates(sqs: Any) -> None:
    prefix = _name("page")
    for i in range(5):
        sqs.create_queue(QueueName=f"{prefix}-{i}")
    first = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2)
    second = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, NextToken=first["NextToken"])
    third = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, NextToken=second["NextToken"])
    names = [u.rsplit("/", 1)[1] for u in first["QueueUrls"] + second["QueueUrls"] + third["QueueUrls"]]
    assert names == [f"{prefix}-{i}" for i in range(5)] and "NextToken" not in third


def test_attributes_defaults_and_validation(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert {k: attrs[k] for k in ("DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod",
                                  "ReceiveMessageWaitTimeSeconds", "VisibilityTimeout",
                                  "SqsManagedSseEnabled")} == {
        "DelaySeconds": "0", "MaximumMessageSize": "1048576", "MessageRetentionPeriod": "345600",
        "ReceiveMessageWaitTimeSeconds": "0", "VisibilityTimeout": "30", "SqsManagedSseEnabled": "true"}
    assert attrs["QueueArn"].endswith(url.rsplit("/", 1)[1])
    with pytest.raises(ClientError) as excinfo:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "43201"})
    assert _code(excinfo) == "InvalidAttributeValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "true"})
    assert _code(excinfo) == "InvalidAttributeName"
    with pytest.raises(ClientError) as excinfo:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Nope"])
    assert _code(excinfo) == "InvalidAttributeName"


def test_send_receive_delete_with_md5s_and_attributes(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    attributes = {"str": {"DataType": "String", "StringValue": "v"},
                  "num": {"DataType": "Number.int", "StringValue": "42"},
                  "bin": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}}
    sent = sqs.send_message(QueueUrl=url, MessageBody="héllo", MessageAttributes=attributes,
                            MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String",
                                                                        "StringValue": "Root=1-abc"}})
    assert sent["MD5OfMessageBody"] == hashlib.md5("héllo".encode()).hexdigest()
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attributes)
    assert "MD5OfMessageSystemAttributes" in sent
    plain = sqs.send_message(QueueUrl=url, MessageBody="plain")
    assert "MD5OfMessageAttributes" not in plain  # no attributes: no digest at all
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                              MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp",
                                                           "AWSTraceHeader"])["Messages"]
    assert [m["Body"] for m in got] == ["héllo", "plain"]
    first = got[0]
    assert first["MessageId"] == sent["MessageId"] and first["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert first["MessageAttributes"] == attributes
    assert first["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    assert first["Attributes"]["AWSTraceHeader"] == "Root=1-abc"
    assert len(first["Attributes"]["SentTimestamp"]) == 13  # epoch milliseconds
    assert "MessageAttributes" not in got[1] and "MD5OfMessageAttributes" not in got[1]
    result = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "ReceiptHandle": got[0]["ReceiptHandle"]}, {"Id": "b", "ReceiptHandle": "garbage"}])
    assert [e["Id"] for e in result["Successful"]] == ["a"]
    assert result["Failed"][0]["Id"] == "b" and result["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[1]["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_message_attribute_names_select_by_name_and_prefix(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    attributes = {name: {"DataType": "String", "StringValue": name} for name in ("a.x", "a.y", "b")}
    sqs.send_message(QueueUrl=url, MessageBody="m", MessageAttributes=attributes)
    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["a.*"], VisibilityTimeout=0)
    [msg] = got["Messages"]
    assert sorted(msg["MessageAttributes"]) == ["a.x", "a.y"]
    assert msg["MD5OfMessageAttributes"] == md5_of_attributes({k: attributes[k] for k in ("a.x", "a.y")})


def test_batch_errors(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name(), Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    result = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "ok", "MessageBody": "fine"}, {"Id": "big", "MessageBody": "x" * 1025}])
    assert [e["Id"] for e in result["Successful"]] == ["ok"]
    assert result["Failed"] == [{"Id": "big", "SenderFault": True, "Code": "InvalidParameterValue",
                                 "Message": "One or more parameters are invalid. Reason: Message must be "
                                            "shorter than 1024 bytes."}]
    cases = [
        ([{"Id": "x", "MessageBody": "1"}, {"Id": "x", "MessageBody": "2"}],
         "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
        ([{"Id": f"e{i}", "MessageBody": "b"} for i in range(11)],
         "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"),
        ([{"Id": "bad id!", "MessageBody": "b"}], "AWS.SimpleQueueService.InvalidBatchEntryId"),
        ([], "AWS.SimpleQueueService.EmptyBatchRequest"),
    ]
    for entries, code in cases:
        with pytest.raises(ClientError) as excinfo:
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert _code(excinfo) == code
    # Nothing already accepted was lost along the way.
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["fine"]


def test_bad_input_answers_the_sdk_errors(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    for kwargs, code in [
        ({"MaxNumberOfMessages": 11}, "InvalidParameterValue"),
        ({"WaitTimeSeconds": 21}, "InvalidParameterValue"),
    ]:
        with pytest.raises(ClientError) as excinfo:
            sqs.receive_message(QueueUrl=url, **kwargs)
        assert _code(excinfo) == code
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="bad \x01")
    assert _code(excinfo) == "InvalidMessageContents"
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="m", MessageAttributes={
            "n": {"DataType": "Number", "StringValue": "not a number"}})
    assert _code(excinfo) == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="nope", VisibilityTimeout=10)
    assert _code(excinfo) == "ReceiptHandleIsInvalid"


def test_visibility_timeout_and_receive_count_in_virtual_time(sqs: Any, daemon: ServerHandle) -> None:
    url = sqs.create_queue(QueueName=_name(), Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    first = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    daemon.advance(30)
    again = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert again["MessageId"] == first["MessageId"] and again["ReceiptHandle"] != first["ReceiptHandle"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=0)
    assert len(sqs.receive_message(QueueUrl=url)["Messages"]) == 1


def test_long_poll_returns_as_soon_as_a_message_arrives(sqs: Any, daemon: ServerHandle) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    result: dict[str, Any] = {}
    poller = threading.Thread(
        target=lambda: result.update(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)))
    poller.start()
    daemon.wait_for_polls(arn)
    before = daemon.mesh.clock.now()
    sqs.send_message(QueueUrl=url, MessageBody="late")
    poller.join(10)
    assert [m["Body"] for m in result["Messages"]] == ["late"]
    assert daemon.mesh.clock.now() == before  # no virtual time passed


def test_long_poll_times_out_empty(sqs: Any, daemon: ServerHandle) -> None:
    url = sqs.create_queue(QueueName=_name(), Attributes={"ReceiveMessageWaitTimeSeconds": "5"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    result: dict[str, Any] = {}
    poller = threading.Thread(target=lambda: result.update(sqs.receive_message(QueueUrl=url)))
    poller.start()
    daemon.wait_for_polls(arn)
    daemon.advance(5)
    poller.join(10)
    assert "Messages" not in result and not poller.is_alive()


def test_fifo_order_dedup_and_sequence_numbers(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name("f") + ".fifo",
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    sent = [sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g") for i in range(3)]
    dup = sqs.send_message(QueueUrl=url, MessageBody="m0", MessageGroupId="g")
    assert dup["MessageId"] == sent[0]["MessageId"]
    numbers = [int(s["SequenceNumber"]) for s in sent]
    assert numbers == sorted(numbers)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in got] == ["m0", "m1"]
    assert got[0]["Attributes"]["MessageGroupId"] == "g"
    assert got[0]["Attributes"]["SequenceNumber"] == sent[0]["SequenceNumber"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # group locked
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert _code(excinfo) == "MissingParameter"


def test_redrive_to_dlq_and_move_back(sqs: Any, daemon: ServerHandle) -> None:
    dlq_url = sqs.create_queue(QueueName=_name("dlq"))["QueueUrl"]
    dlq_attrs = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]
    dlq_arn = dlq_attrs["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url = sqs.create_queue(QueueName=_name("src"), Attributes={"RedrivePolicy": policy,
                                                               "VisibilityTimeout": "1"})["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="poison")
    sqs.receive_message(QueueUrl=url)
    daemon.advance(1)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    [moved] = sqs.receive_message(QueueUrl=dlq_url, AttributeNames=["All"], VisibilityTimeout=0)["Messages"]
    assert moved["MessageId"] == sent["MessageId"] and moved["Body"] == "poison"
    assert moved["Attributes"]["DeadLetterQueueSourceArn"].endswith(url.rsplit("/", 1)[1])
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)["queueUrls"] == [url]
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    daemon.advance(1)
    [task] = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert task["Status"] == "COMPLETED" and task["ApproximateNumberOfMessagesMoved"] == 1
    [back] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert back["Body"] == "poison" and back["MessageId"] != sent["MessageId"]  # a new message
    with pytest.raises(ClientError) as excinfo:
        sqs.cancel_message_move_task(TaskHandle=handle)
    assert _code(excinfo) == "ResourceNotFoundException"


def test_tags_purge_and_permissions(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name(), tags={"team": "a"})["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={"env": "dev"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "dev"}
    sqs.send_message(QueueUrl=url, MessageBody="m")
    sqs.purge_queue(QueueUrl=url)
    with pytest.raises(ClientError) as excinfo:
        sqs.purge_queue(QueueUrl=url)
    assert _code(excinfo) == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)
    sqs.add_permission(QueueUrl=url, Label="l1", AWSAccountIds=["111111111111"], Actions=["SendMessage"])
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]
    policy = json.loads(attrs["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["l1"]
    sqs.remove_permission(QueueUrl=url, Label="l1")


def test_aws_cli_v1_smoke(daemon: ServerHandle) -> None:
    """The AWS CLI v1 (Query protocol model of its bundled botocore, or JSON): create, send, receive."""
    aws = Path(sys.executable).parent / "aws"
    if not aws.exists():
        pytest.skip("aws CLI not installed in the environment")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}

    def cli(*args: str) -> Any:
        out = subprocess.run([str(aws), "--endpoint-url", daemon.url, "--output", "json", "sqs", *args],
                             capture_output=True, text=True, env=env, timeout=60, check=True)
        return json.loads(out.stdout) if out.stdout.strip() else None

    url = cli("create-queue", "--queue-name", "cli-queue")["QueueUrl"]
    sent = cli("send-message", "--queue-url", url, "--message-body", "from the cli")
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"from the cli").hexdigest()
    got = cli("receive-message", "--queue-url", url)
    assert [m["Body"] for m in got["Messages"]] == ["from the cli"]
