"""SQS service operations: create rules, attributes, listing, dead-letter sources, tags."""

from __future__ import annotations

import json

import pytest

from eventmesh.services.sqs import service as svc
from eventmesh.services.sqs.errors import (
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidParameterValueException,
    QueueDeletedRecently,
    QueueDoesNotExist,
    QueueNameExists,
)
from eventmesh.testing import virtual_mesh


@pytest.fixture
def env():
    return virtual_mesh()


def _policy(arn: str, count: int = 3) -> str:
    return json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": count})


def test_create_is_idempotent_only_with_the_same_attribute_values(env) -> None:
    mesh, _ = env
    queue = svc.create_queue(mesh, "q", {"VisibilityTimeout": "60"})
    assert svc.create_queue(mesh, "q", {"VisibilityTimeout": "60"}) is queue
    assert svc.create_queue(mesh, "q") is queue  # no attributes given: nothing differs
    assert svc.create_queue(mesh, "q", {"DelaySeconds": "0"}) is queue  # the default value matches
    with pytest.raises(QueueNameExists, match="different value for attribute VisibilityTimeout"):
        svc.create_queue(mesh, "q", {"VisibilityTimeout": "61"})


def test_deleted_queue_names_are_held_for_sixty_seconds(env) -> None:
    mesh, driver = env
    queue = svc.create_queue(mesh, "q")
    svc.delete_queue(mesh, queue)
    assert queue.closed
    with pytest.raises(QueueDoesNotExist):
        svc.queue_by_name(mesh, "q")
    with pytest.raises(QueueDeletedRecently):
        svc.create_queue(mesh, "q")
    driver.advance(60)
    assert svc.create_queue(mesh, "q") is not queue


def test_queue_names_and_types(env) -> None:
    mesh, _ = env
    for bad in ("", "x" * 81, "has space", "dot.ted"):
        with pytest.raises(InvalidParameterValueException):
            svc.create_queue(mesh, bad)
    with pytest.raises(InvalidParameterValueException, match="must end with .fifo"):
        svc.create_queue(mesh, "nofifo", {"FifoQueue": "true"})
    with pytest.raises(InvalidParameterValueException):
        svc.create_queue(mesh, "x.fifo")
    assert svc.create_queue(mesh, "x" * 75 + ".fifo", {"FifoQueue": "true"}).fifo
    with pytest.raises(InvalidAttributeName, match="Unknown Attribute ContentBasedDeduplication."):
        svc.create_queue(mesh, "std", {"ContentBasedDeduplication": "true"})
    with pytest.raises(InvalidAttributeName, match="DeduplicationScope only when FifoQueue is set to true"):
        svc.create_queue(mesh, "std", {"DeduplicationScope": "queue"})


def test_attribute_ranges(env) -> None:
    mesh, _ = env
    queue = svc.create_queue(mesh, "q")
    for name, bad in [("DelaySeconds", "901"), ("MaximumMessageSize", "1023"),
                      ("MaximumMessageSize", "1048577"), ("MessageRetentionPeriod", "59"),
                      ("MessageRetentionPeriod", "1209601"), ("ReceiveMessageWaitTimeSeconds", "21"),
                      ("VisibilityTimeout", "-1"), ("VisibilityTimeout", "abc"),
                      ("KmsDataKeyReusePeriodSeconds", "59"), ("SqsManagedSseEnabled", "maybe")]:
        with pytest.raises(InvalidAttributeValue, match=f"Invalid value for the parameter {name}."):
            svc.set_queue_attributes(mesh, queue, {name: bad})
    with pytest.raises(InvalidAttributeValue, match="Modifying queue type is not supported"):
        fifo = svc.create_queue(mesh, "f.fifo", {"FifoQueue": "true"})
        svc.set_queue_attributes(mesh, fifo, {"FifoQueue": "false"})
    with pytest.raises(InvalidAttributeName, match="Unknown Attribute QueueArn."):
        svc.set_queue_attributes(mesh, queue, {"QueueArn": "x"})
    with pytest.raises(InvalidAttributeValue, match="perMessageGroupId value is allowed only"):
        svc.create_queue(mesh, "g.fifo", {"FifoQueue": "true", "FifoThroughputLimit": "perMessageGroupId"})
    svc.set_queue_attributes(mesh, queue, {"VisibilityTimeout": "0", "DelaySeconds": "900"})
    assert (queue.config.visibility_timeout, queue.config.delay_seconds) == (0, 900)


def test_get_attributes_all_and_by_name(env) -> None:
    mesh, driver = env
    queue = svc.create_queue(mesh, "f.fifo", {"FifoQueue": "true", "KmsMasterKeyId": "alias/k"})
    driver.advance(5)
    svc.set_queue_attributes(mesh, queue, {"DelaySeconds": "1"})
    everything = svc.get_queue_attributes(queue, ["All"])
    assert everything["FifoQueue"] == "true" and everything["ContentBasedDeduplication"] == "false"
    assert everything["DeduplicationScope"] == "queue" and everything["FifoThroughputLimit"] == "perQueue"
    assert everything["SqsManagedSseEnabled"] == "false"
    assert everything["KmsDataKeyReusePeriodSeconds"] == "300"
    assert int(everything["LastModifiedTimestamp"]) == int(everything["CreatedTimestamp"]) + 5
    assert svc.get_queue_attributes(queue, ["DelaySeconds", "QueueArn"]) == {
        "DelaySeconds": "1", "QueueArn": queue.arn}
    assert svc.get_queue_attributes(queue, []) == {}
    with pytest.raises(InvalidAttributeName):
        svc.get_queue_attributes(queue, ["Bogus"])


def test_redrive_policy_checks_the_target(env) -> None:
    mesh, _ = env
    dlq = svc.create_queue(mesh, "dlq")
    fifo_dlq = svc.create_queue(mesh, "dlq.fifo", {"FifoQueue": "true"})
    queue = svc.create_queue(mesh, "src")
    cases = [
        ('{"maxReceiveCount": 1}', "does not contain mandatory attribute: deadLetterTargetArn"),
        (_policy(dlq.arn, 0), "Invalid value for maxReceiveCount: 0, valid values are from 1 to 1000"),
        (_policy(dlq.arn, 1001), "valid values are from 1 to 1000 both inclusive"),
        (_policy(mesh.arn("sqs", "missing")), "Dead letter target does not exist."),
        (_policy(fifo_dlq.arn), "must be same type of queue"),
        ("not json", "not a valid JSON map"),
    ]
    for policy, reason in cases:
        with pytest.raises(InvalidParameterValueException, match=reason):
            svc.set_queue_attributes(mesh, queue, {"RedrivePolicy": policy})
    svc.set_queue_attributes(mesh, queue, {"RedrivePolicy": _policy(dlq.arn, 5)})
    assert svc.get_queue_attributes(queue, ["RedrivePolicy"]) == {
        "RedrivePolicy": f'{{"deadLetterTargetArn":"{dlq.arn}","maxReceiveCount":5}}'}
    svc.set_queue_attributes(mesh, queue, {"RedrivePolicy": ""})
    assert queue.config.redrive_policy is None


def test_redrive_allow_policy_limits_sources(env) -> None:
    mesh, _ = env
    allowed = svc.create_queue(mesh, "allowed")
    other = svc.create_queue(mesh, "other")
    dlq = svc.create_queue(mesh, "dlq", {"RedriveAllowPolicy": json.dumps(
        {"redrivePermission": "byQueue", "sourceQueueArns": [allowed.arn]})})
    svc.set_queue_attributes(mesh, allowed, {"RedrivePolicy": _policy(dlq.arn)})
    with pytest.raises(InvalidParameterValueException, match="is not allowed to use"):
        svc.set_queue_attributes(mesh, other, {"RedrivePolicy": _policy(dlq.arn)})
    with pytest.raises(InvalidAttributeValue):
        svc.set_queue_attributes(mesh, dlq, {"RedriveAllowPolicy": '{"redrivePermission": "sometimes"}'})


def test_list_queues_by_prefix_with_pagination(env) -> None:
    mesh, _ = env
    for name in ("b", "a1", "a2", "a3"):
        svc.create_queue(mesh, name)
    assert [q.name for q in svc.list_queues(mesh)[0]] == ["a1", "a2", "a3", "b"]
    page, token = svc.list_queues(mesh, "a", 2)
    assert [q.name for q in page] == ["a1", "a2"] and token
    page, token = svc.list_queues(mesh, "a", 2, token)
    assert [q.name for q in page] == ["a3"] and token is None
    with pytest.raises(InvalidParameterValueException):
        svc.list_queues(mesh, None, 1001)


def test_dead_letter_sources_and_urls(env) -> None:
    mesh, _ = env
    dlq = svc.create_queue(mesh, "dlq")
    for name in ("s2", "s1"):
        svc.create_queue(mesh, name, {"RedrivePolicy": _policy(dlq.arn)})
    svc.create_queue(mesh, "unrelated")
    assert [q.name for q in svc.list_dead_letter_source_queues(mesh, dlq)[0]] == ["s1", "s2"]
    assert svc.queue_url("localhost:4566", dlq) == "http://localhost:4566/queue/us-east-1/000000000000/dlq"
    assert svc.queue_url("localhost:4566", dlq, "host") == "http://sqs.us-east-1.localhost:4566/000000000000/dlq"
    # A loopback address is named localhost (every *.localhost name is loopback); another address
    # literal has no name to carry the Region in, and keeps the path form.
    assert svc.queue_url("127.0.0.1:4566", dlq, "host") == "http://sqs.us-east-1.localhost:4566/000000000000/dlq"
    assert svc.queue_url("[::1]:4566", dlq, "host") == "http://sqs.us-east-1.localhost:4566/000000000000/dlq"
    assert svc.queue_url("10.0.0.5:4566", dlq, "host") == "http://10.0.0.5:4566/queue/us-east-1/000000000000/dlq"
    assert svc.queue_url("eventmesh", dlq, "host") == "http://sqs.us-east-1.eventmesh/000000000000/dlq"
    assert svc.queue_url("localhost:4566", dlq, "account") == "http://localhost:4566/000000000000/dlq"
    for url in ("https://sqs.us-east-1.amazonaws.com/000000000000/dlq", "http://x/000000000000/dlq/",
                "https://queue.amazonaws.com/000000000000/dlq", "http://x/queue/us-east-1/000000000000/dlq",
                "http://sqs.us-east-1.localhost:4566/000000000000/dlq", "dlq"):
        assert svc.queue_from_url(mesh, url) is dlq
    for url in ("http://x/111111111111/dlq", "http://x/000000000000/none", "none",
                "http://x/queue/eu-west-1/000000000000/dlq", "https://sqs.eu-west-1.amazonaws.com/000000000000/dlq"):
        with pytest.raises(QueueDoesNotExist):
            svc.queue_from_url(mesh, url)


def test_tags(env) -> None:
    mesh, _ = env
    queue = svc.create_queue(mesh, "q", tags={"a": "1"})
    svc.tag_queue(queue, {"b": "2"})
    svc.untag_queue(queue, ["a", "missing"])
    assert queue.tags == {"b": "2"}
    with pytest.raises(InvalidParameterValueException):
        svc.tag_queue(queue, {f"k{i}": "v" for i in range(50)})
