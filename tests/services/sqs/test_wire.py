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

from eventmesh.daemon import ServerHandle
from eventmesh.services.sqs.md5 import md5_of_attributes
from eventmesh.testing import sqs_query_client
from eventmesh.workers import serve_in_thread

_names = itertools.count()


@pytest.fixture(scope="module")
def daemon(workers: int) -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual", services=["sqs"], workers=workers)
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


# -- fidelity: answers recorded against AWS ------------------------------------------------------


def _is_json(sqs: Any) -> bool:
    return bool(sqs.meta.service_model.protocol == "json")


def test_fifo_attributes_on_a_standard_queue_are_unknown(sqs: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName=_name(), Attributes={"FifoQueue": "false"})
    assert _code(excinfo) == "InvalidAttributeName"
    assert excinfo.value.response["Error"]["Message"] == "Unknown Attribute FifoQueue."
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    with pytest.raises(ClientError) as excinfo:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "true"})
    assert excinfo.value.response["Error"]["Message"] == "Unknown Attribute FifoQueue."
    fifo = sqs.create_queue(QueueName=_name("f") + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=fifo, Attributes={"FifoQueue": "true"})  # what it is: fine
    with pytest.raises(ClientError) as excinfo:
        sqs.set_queue_attributes(QueueUrl=fifo, Attributes={"FifoQueue": "false"})
    assert _code(excinfo) == "InvalidAttributeValue"
    assert excinfo.value.response["Error"]["Message"] == (
        "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.")


def test_fifo_batch_entry_without_group_or_deduplication_id_fails_the_request(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name("f") + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    good = {"Id": "a", "MessageBody": "m", "MessageGroupId": "g", "MessageDeduplicationId": "d1"}
    for bad, message in [
        ({"Id": "b", "MessageBody": "m", "MessageGroupId": "g"},
         "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided "
         "explicitly"),
        ({"Id": "b", "MessageBody": "m", "MessageDeduplicationId": "d2"},
         "The request must contain the parameter MessageGroupId."),
    ]:
        with pytest.raises(ClientError) as excinfo:
            sqs.send_message_batch(QueueUrl=url, Entries=[good, bad])
        assert _code(excinfo) == "InvalidParameterValue"
        assert excinfo.value.response["Error"]["Message"] == message
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # nothing of the batch was sent


def test_change_visibility_of_a_deleted_message(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="foo")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=42)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)  # deleting again is fine
    with pytest.raises(ClientError) as excinfo:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=42)
    assert _code(excinfo) == "InvalidParameterValue"
    assert excinfo.value.response["Error"]["Message"] == (
        f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not "
        "available for visibility timeout change.")


def test_visibility_zero_with_an_earlier_receipt_makes_the_message_receivable(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="test")
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]["ReceiptHandle"]
    assert len(sqs.receive_message(QueueUrl=url, VisibilityTimeout=3)["Messages"]) == 1
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first, VisibilityTimeout=0)
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["test"]


def test_inflight_message_comes_back_before_later_sends(sqs: Any, daemon: ServerHandle) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="test1")
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=3)
    daemon.advance(1.5)
    sqs.send_message(QueueUrl=url, MessageBody="test2")
    daemon.advance(3)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["test1", "test2"]


def test_fifo_group_is_receivable_when_its_head_is_visible_again(sqs: Any, daemon: ServerHandle) -> None:
    url = sqs.create_queue(QueueName=_name("f") + ".fifo", Attributes={
        "FifoQueue": "true", "VisibilityTimeout": "30", "ContentBasedDeduplication": "true"})["QueueUrl"]
    for body, group in [("g1-m1", "group-1"), ("g1-m2", "group-1"), ("g2-m1", "group-2")]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    assert [m["Body"] for m in got] == ["g1-m1", "g1-m2"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"], VisibilityTimeout=1)
    daemon.advance(2)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)["Messages"]
    assert [m["Body"] for m in again] == ["g2-m1", "g1-m1"]  # g1-m2 is still in flight


def test_purge_clears_the_fifo_deduplication_ids(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name("f") + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="message-1", MessageGroupId="g", MessageDeduplicationId="d")
    sqs.purge_queue(QueueUrl=url)
    sqs.send_message(QueueUrl=url, MessageBody="message-2", MessageGroupId="g", MessageDeduplicationId="d")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["message-2"]


def test_fifo_switches_to_high_throughput_and_back_one_attribute_at_a_time(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name("f") + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]

    def mode() -> tuple[str, str]:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return attrs["DeduplicationScope"], attrs["FifoThroughputLimit"]

    sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoThroughputLimit": "perMessageGroupId"})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DeduplicationScope": "messageGroup"})
    assert mode() == ("messageGroup", "perMessageGroupId")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DeduplicationScope": "queue"})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoThroughputLimit": "perQueue"})
    assert mode() == ("queue", "perQueue")
    with pytest.raises(ClientError) as excinfo:  # both at once, contradicting each other
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"DeduplicationScope": "queue",
                                                           "FifoThroughputLimit": "perMessageGroupId"})
    assert _code(excinfo) == "InvalidAttributeValue"


def test_message_attribute_name_filters(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name(), Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    attributes = {"Help.Me": {"DataType": "String", "StringValue": "Me"},
                  "Hello": {"DataType": "String", "StringValue": "There"},
                  "General": {"DataType": "String", "StringValue": "Kenobi"}}
    sqs.send_message(QueueUrl=url, MessageBody="msg", MessageAttributes=attributes)

    def received(names: list[str]) -> dict[str, Any]:
        return dict(sqs.receive_message(QueueUrl=url, MessageAttributeNames=names)["Messages"][0])

    assert "MessageAttributes" not in received([])
    for every in (["All"], ["*"], [".*"]):
        got = received(every)
        assert got["MessageAttributes"] == attributes
        assert got["MD5OfMessageAttributes"] == md5_of_attributes(attributes)
    got = received(["Foo", "Help"])  # none of them: an empty map, no digest
    assert got.get("MessageAttributes", {}) == {} and "MD5OfMessageAttributes" not in got
    assert set(received(["Hello", "General"])["MessageAttributes"]) == {"Hello", "General"}
    assert set(received(["Foo", "Hello"])["MessageAttributes"]) == {"Hello"}
    got = received(["Hel.*"])
    assert set(got["MessageAttributes"]) == {"Hello", "Help.Me"}
    assert got["MD5OfMessageAttributes"] == md5_of_attributes({k: attributes[k] for k in ("Hello", "Help.Me")})
    assert set(received(["Help.*"])["MessageAttributes"]) == {"Help.Me"}
    for illegal in (["AWS."], ["..foo"]):
        assert "MessageAttributes" not in received(illegal)


def test_message_move_task_errors_are_404(sqs: Any) -> None:
    import base64

    with pytest.raises(ClientError) as excinfo:
        sqs.cancel_message_move_task(TaskHandle="not-a-handle")
    assert _code(excinfo) == "InvalidParameterValue"
    assert excinfo.value.response["Error"]["Message"] == "Value for parameter TaskHandle is invalid."
    dlq_arn = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName=_name("dlq"))["QueueUrl"],
                                       AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for source, message in [
        ("arn:aws:sqs:us-east-1:000000000000:nope",
         "The resource that you specified for the SourceArn parameter doesn't exist."),
        (dlq_arn, "Task does not exist."),
    ]:
        handle = base64.b64encode(json.dumps({"taskId": "t", "sourceArn": source}).encode()).decode()
        with pytest.raises(ClientError) as excinfo:
            sqs.cancel_message_move_task(TaskHandle=handle)
        assert _code(excinfo) == "ResourceNotFoundException"
        assert excinfo.value.response["Error"]["Message"] == message
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as excinfo:
        sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn="arn:aws:sqs:us-east-1:000000000000:nope")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 404)


def test_purge_in_progress_is_403_on_both_protocols(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    with pytest.raises(ClientError) as excinfo:
        sqs.purge_queue(QueueUrl=url)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    if _is_json(sqs):
        assert excinfo.value.response["Error"]["QueryErrorCode"] == "PurgeQueueInProgress"


def test_add_permission_creates_the_default_policy(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.add_permission(QueueUrl=url, Label="both", AWSAccountIds=["000000000000", "668614515564"],
                       Actions=["ReceiveMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert policy == {"Version": "2008-10-17", "Id": f"{arn}/SQSDefaultPolicy", "Statement": [{
        "Sid": "both", "Effect": "Allow",
        "Principal": {"AWS": ["arn:aws:iam::668614515564:root", "arn:aws:iam::000000000000:root"]},
        "Action": "SQS:ReceiveMessage", "Resource": arn}]}
    sqs.add_permission(QueueUrl=url, Label="one", AWSAccountIds=["000000000000"], Actions=["SendMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert policy["Statement"][1]["Principal"] == {"AWS": "arn:aws:iam::000000000000:root"}
    sqs.remove_permission(QueueUrl=url, Label="both")
    sqs.remove_permission(QueueUrl=url, Label="one")
    answer = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    assert answer.get("Attributes", {}) == {}
    if _is_json(sqs):
        assert answer["Attributes"] == {}  # the map is there, empty
    with pytest.raises(ClientError) as excinfo:
        sqs.remove_permission(QueueUrl=url, Label="one")
    assert excinfo.value.response["Error"]["Message"] == (
        "Value one for parameter Label is invalid. Reason: can't find label.")


def test_aws_trace_header_round_trip(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    attributes = {"timestamp": {"StringValue": "1493147359900", "DataType": "Number"}}
    trace = {"AWSTraceHeader": {"StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;"
                                               "Sampled=1", "DataType": "String"}}
    plain = sqs.send_message(QueueUrl=url, MessageBody="test", MessageAttributes=attributes)
    traced = sqs.send_message(QueueUrl=url, MessageBody="test", MessageAttributes=attributes,
                              MessageSystemAttributes=trace)
    assert plain["MD5OfMessageAttributes"] == traced["MD5OfMessageAttributes"]
    assert "MD5OfMessageSystemAttributes" not in plain
    assert traced["MD5OfMessageSystemAttributes"] == "5ae4d5d7636402d80f4eb6d213245a88"  # recorded on AWS
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                              MessageSystemAttributeNames=["AWSTraceHeader"])["Messages"]
    assert [m.get("Attributes", {}).get("AWSTraceHeader") for m in got] == [
        None, trace["AWSTraceHeader"]["StringValue"]]
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "t", "MessageBody": "b", "MessageSystemAttributes": trace}])["Successful"]
    assert batch[0]["MD5OfMessageSystemAttributes"] == "5ae4d5d7636402d80f4eb6d213245a88"


def test_queue_name_accepted_as_queue_url(sqs: Any) -> None:
    name = _name()
    sqs.create_queue(QueueName=name)
    sent = sqs.send_message(QueueUrl=name, MessageBody="Using name instead of URL")
    assert sent["MD5OfMessageBody"] == "86a83f96652a1bfad3891e7d523750cb"


def test_query_gets_at_a_queue_url(sqs: Any, daemon: ServerHandle) -> None:
    """Raw Query-protocol GETs on a queue URL, as AWS answers them: queue actions work, account
    actions are InvalidAction, and no Action at all is a bare ``<UnknownOperationException/>``."""
    import http.client
    from urllib.parse import urlencode, urlsplit

    if _is_json(sqs):
        pytest.skip("raw Query requests: once is enough")
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    path = urlsplit(url).path
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(daemon.url).port)

    def get(params: dict[str, str], headers: dict[str, str] | None = None) -> tuple[int, str]:
        conn.request("GET", f"{path}?{urlencode(params)}" if params else path, headers=headers or {})
        reply = conn.getresponse()
        return reply.status, reply.read().decode()

    status, body = get({"Action": "SendMessage", "MessageBody": "foobar"})
    assert status == 200 and "<MD5OfMessageBody>" in body
    status, body = get({"Action": "ReceiveMessage"})
    assert status == 200 and "<Body>foobar</Body>" in body
    for action in ("CreateQueue", "ListQueues"):
        status, body = get({"Action": action, "QueueName": "other"})
        assert status == 400 and "<Code>InvalidAction</Code>" in body and "<Type>Sender</Type>" in body
        assert f"<Message>The action {action} is not valid for this endpoint.</Message>" in body
    status, body = get({"Action": "FooBar", "Version": "2012-11-05"})
    assert status == 400 and "<Message>The action FooBar is not valid for this endpoint.</Message>" in body
    status, body = get({"Action": "GetQueueUrl", "QueueName": path.rsplit("/", 1)[1]})
    assert status == 200 and f"<QueueUrl>{url}</QueueUrl>" in body
    status, body = get({"Action": "SendMessage"})
    assert status == 400 and "<Code>MissingParameter</Code>" in body
    for headers in ({}, {"Accept": "application/json"}):
        status, body = get({}, headers)
        assert status == 404 and "<UnknownOperationException" in body


def test_non_existent_queue_words_per_protocol(sqs: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        sqs.get_queue_url(QueueName="nope-never")
    expected = ("The specified queue does not exist." if _is_json(sqs)
                else "The specified queue does not exist for this wsdl version.")
    assert excinfo.value.response["Error"]["Message"] == expected
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_attribute_names_of_any_script_and_values_with_control_characters(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="test",
                     MessageAttributes={"attr.1øßä": {"StringValue": "Valida", "DataType": "String"}})
    for name in ("Invalid-!-attr", "Invalid-§-attr", "aWs.x", ".x", "x.", "L" * 257):
        with pytest.raises(ClientError) as excinfo:
            sqs.send_message(QueueUrl=url, MessageBody="test",
                             MessageAttributes={name: {"StringValue": "Valid", "DataType": "String"}})
        assert _code(excinfo) == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="test", MessageAttributes={
            "attr1": {"StringValue": f"Invalid-{chr(8)},{chr(11)}", "DataType": "String"}})
    assert _code(excinfo) == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody=f"Invalid-{chr(0)}-{chr(8)}")
    assert _code(excinfo) == "InvalidMessageContents"


def test_redrive_policy_with_a_target_that_is_no_arn(sqs: Any) -> None:
    policy = json.dumps({"deadLetterTargetArn": "dummy", "maxReceiveCount": 42})
    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName=_name(), Attributes={"RedrivePolicy": policy})
    assert _code(excinfo) == "InvalidParameterValue"
    assert excinfo.value.response["Error"]["Message"] == (
        f"Value {policy} for parameter RedrivePolicy is invalid. Reason: Invalid value for deadLetterTargetArn.")


def test_empty_results_over_the_query_protocol_are_one_empty_element(daemon: ServerHandle) -> None:
    import http.client
    from urllib.parse import urlsplit

    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(daemon.url).port)
    name = _name()
    conn.request("POST", "/", f"Action=CreateQueue&QueueName={name}&Version=2012-11-05",
                 {"Content-Type": "application/x-www-form-urlencoded"})
    conn.getresponse().read()
    conn.request("GET", f"/000000000000/{name}?Action=ReceiveMessage")
    body = conn.getresponse().read().decode()
    assert "<ReceiveMessageResult/>" in body
