"""Message move tasks: redrive out of a dead-letter queue at a rate, in virtual time."""

from __future__ import annotations

import json

import pytest

from eventmesh.services.sqs import move_tasks
from eventmesh.services.sqs import service as sqs_service
from eventmesh.services.sqs.errors import InvalidParameterValueException, ResourceNotFoundException
from eventmesh.services.sqs.message import SendEntry
from eventmesh.testing import virtual_mesh


@pytest.fixture
def env():
    mesh, driver = virtual_mesh()
    dlq = sqs_service.create_queue(mesh, "dlq")
    policy = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 1})
    source = sqs_service.create_queue(mesh, "src", {"VisibilityTimeout": "1", "RedrivePolicy": policy})
    return mesh, driver, source, dlq


def _dead_letter(driver, source, count: int) -> list[str]:
    ids = []
    for i in range(count):
        ids.append(source.send(SendEntry(f"m{i}")).id)
    source.receive(10)
    driver.advance(1)
    source.receive(10)  # the second receive moves them all to the DLQ
    return ids


def test_moves_back_to_the_original_source_as_new_messages(env) -> None:
    mesh, driver, source, dlq = env
    ids = _dead_letter(driver, source, 3)
    assert dlq.counts() == (3, 0, 0)
    task = move_tasks.start_message_move_task(mesh, dlq.arn)
    driver.advance(0)
    assert task.status == "COMPLETED" and task.moved == 3 and task.to_move == 3
    back = source.receive(10)
    assert sorted(m.body for m in back) == ["m0", "m1", "m2"]
    assert not {m.id for m in back} & set(ids) and all(m.receive_count == 1 for m in back)


def test_rate_limits_each_second_and_cancel_stops(env) -> None:
    mesh, driver, source, dlq = env
    _dead_letter(driver, source, 5)
    target = sqs_service.create_queue(mesh, "target")
    task = move_tasks.start_message_move_task(mesh, dlq.arn, target.arn, rate=2)
    driver.advance(0)
    assert target.counts()[0] == 2
    driver.advance(1)
    assert target.counts()[0] == 4
    [listed] = move_tasks.list_message_move_tasks(mesh, dlq.arn)
    assert listed["Status"] == "RUNNING" and listed["ApproximateNumberOfMessagesMoved"] == 4
    assert listed["TaskHandle"] == task.handle and listed["MaxNumberOfMessagesPerSecond"] == 2
    assert move_tasks.cancel_message_move_task(mesh, task.handle) == 4
    driver.advance(5)
    assert target.counts()[0] == 4 and dlq.counts()[0] == 1
    assert move_tasks.list_message_move_tasks(mesh, dlq.arn)[0]["Status"] == "CANCELLED"


def test_start_rules(env) -> None:
    mesh, driver, source, dlq = env
    with pytest.raises(ResourceNotFoundException):
        move_tasks.start_message_move_task(mesh, mesh.arn("sqs", "nope"))
    with pytest.raises(InvalidParameterValueException, match="Dead Letter Queue"):
        move_tasks.start_message_move_task(mesh, source.arn)
    with pytest.raises(InvalidParameterValueException):
        move_tasks.start_message_move_task(mesh, dlq.arn, rate=501)
    _dead_letter(driver, source, 2)
    move_tasks.start_message_move_task(mesh, dlq.arn, rate=1)
    with pytest.raises(InvalidParameterValueException, match="Only one active task"):
        move_tasks.start_message_move_task(mesh, dlq.arn)
    with pytest.raises(InvalidParameterValueException, match="Value for parameter TaskHandle is invalid."):
        move_tasks.cancel_message_move_task(mesh, "not-a-handle")


def test_missing_original_source_fails_the_task_and_keeps_the_messages(env) -> None:
    mesh, driver, source, dlq = env
    _dead_letter(driver, source, 2)
    other = sqs_service.create_queue(mesh, "other", {"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 1})})  # keeps dlq a DLQ
    sqs_service.delete_queue(mesh, source)
    task = move_tasks.start_message_move_task(mesh, dlq.arn)
    driver.advance(0)
    assert task.status == "FAILED" and task.failure_reason
    assert dlq.counts()[0] == 2 and other.counts()[0] == 0
