"""Message move tasks: redrive out of a dead-letter queue.

``StartMessageMoveTask(SourceArn, DestinationArn?, MaxNumberOfMessagesPerSecond ≤ 500)`` moves
the DLQ's messages to ``DestinationArn`` or, without one, each back to the queue it was
dead-lettered from. Moved messages are **new** messages (new id, send time and retention).
One active task per source queue; at most 100 active per account. A task ticks once a second on
the mesh clock, moving up to its rate each tick, and completes when it has moved the number of
messages the source held when it started (or the source ran dry).
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
"""

from __future__ import annotations

import base64
import json
from typing import Any

import msgspec

from eventmesh.mesh import Mesh
from eventmesh.services.sqs.errors import InvalidParameterValueException, ResourceNotFoundException
from eventmesh.services.sqs.message import VISIBLE, Message, SendEntry
from eventmesh.services.sqs.queue import Queue
from eventmesh.timers import Timer

__all__ = [
    "MessageMoveTask",
    "MoveTasks",
    "start_message_move_task",
    "list_message_move_tasks",
    "cancel_message_move_task",
    "MAX_MOVE_RATE",
    "DEFAULT_MOVE_RATE",
]

MAX_MOVE_RATE = 500  # MaxNumberOfMessagesPerSecond upper bound
DEFAULT_MOVE_RATE = 500  # AWS picks a "system optimized" rate when none is given (unverified figure)
MAX_ACTIVE_TASKS = 100  # per account
MAX_TASK_DURATION_S = 36 * 3600  # a task runs at most 36 hours
MAX_LISTED_TASKS = 10  # ListMessageMoveTasks MaxResults 1..10
TICK_S = 1.0


class MoveTasks:
    """The account's move tasks by source queue ARN, newest first (account-level state)."""

    def __init__(self, mesh: Mesh) -> None:
        self.by_source: dict[str, list[MessageMoveTask]] = {}

    def of(self, source_arn: str) -> list[MessageMoveTask]:
        return self.by_source.setdefault(source_arn, [])

    def forget(self, source_arn: str) -> None:
        """The source queue was deleted: its tasks stop and are forgotten."""
        for task in self.by_source.pop(source_arn, ()):
            task.stop()

    def running(self) -> int:
        return sum(1 for tasks in self.by_source.values() for t in tasks if t.status == "RUNNING")


class MessageMoveTask:
    """One redrive out of a DLQ. ``status``: RUNNING, COMPLETED, CANCELLED or FAILED."""

    def __init__(self, mesh: Mesh, source: Queue, destination_arn: str | None, rate: int | None) -> None:
        self.mesh = mesh
        self.source = source
        self.destination_arn = destination_arn
        self.rate = rate
        self.task_id = mesh.ids.uuid()
        self.handle = base64.b64encode(json.dumps(
            {"taskId": self.task_id, "sourceArn": source.arn}, separators=(",", ":")).encode()).decode()
        self.started = mesh.clock.now()
        self.status = "RUNNING"
        self.moved = 0
        self.to_move = source.counts()[0]
        self.failure_reason: str | None = None
        self._timer: Timer | None = mesh.clock.call_at(self.started, self._tick)

    def stop(self, status: str | None = None) -> None:
        self.mesh.clock.cancel(self._timer)
        self._timer = None
        if status is not None and self.status == "RUNNING":
            self.status = status

    def _tick(self) -> None:
        self._timer = None
        if self.status != "RUNNING":
            return
        if self.source.closed:  # the DLQ was deleted: nothing left to move
            self.status, self.failure_reason = "FAILED", "AWS.SimpleQueueService.NonExistentQueue"
            return
        now = self.mesh.clock.now()
        if now >= self.started + MAX_TASK_DURATION_S:
            self.status, self.failure_reason = "FAILED", "Task exceeded the maximum duration of 36 hours."
            return
        limit = min(self.rate or DEFAULT_MOVE_RATE, self.to_move - self.moved)
        msgs = self.source.take_visible(limit) if limit > 0 else []
        if msgs:
            self._deliver(msgs)
        if self.status != "RUNNING":
            return
        if not msgs or self.moved >= self.to_move:
            self.status = "COMPLETED"
            return
        self._timer = self.mesh.clock.call_at(now + TICK_S, self._tick)

    def _deliver(self, msgs: list[Message]) -> None:
        by_target: dict[str, list[Message]] = {}
        for msg in msgs:
            target = self.destination_arn or msg.source_arn or ""
            by_target.setdefault(target, []).append(msg)
        for target, group in by_target.items():
            queue = self.mesh.find(target, Queue) if target else None
            if queue is None or queue.closed:
                # Nothing is lost: the messages go back into the DLQ and the task fails.
                self.source.take_redriven([msgspec.structs.replace(m, state=VISIBLE, receipt=0, lease=0)
                                           for m in group], self.source.arn)
                self.status = "FAILED"
                self.failure_reason = "AWS.SimpleQueueService.NonExistentQueue"
                continue
            entries = [SendEntry(m.body, m.attributes, 0 if queue.fifo else None,
                                 m.group_id or ("default" if queue.fifo else None),
                                 m.id if queue.fifo else None, m.trace_header) for m in group]
            results = queue.send_batch(entries)
            self.moved += sum(1 for r in results if isinstance(r, Message))

    def describe(self) -> dict[str, Any]:
        """One ListMessageMoveTasksResultEntry."""
        out: dict[str, Any] = {
            "Status": self.status,
            "SourceArn": self.source.arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": int(self.started * 1000),
        }
        if self.status == "RUNNING":
            out["TaskHandle"] = self.handle
        if self.destination_arn:
            out["DestinationArn"] = self.destination_arn
        if self.rate:
            out["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.failure_reason:
            out["FailureReason"] = self.failure_reason
        return out


def _is_dead_letter_queue(mesh: Mesh, arn: str) -> bool:
    for queue in mesh.resources("sqs"):
        if isinstance(queue, Queue):
            policy = queue.config.redrive_policy
            if policy is not None and policy.dead_letter_target_arn == arn:
                return True
    return False


def _source(mesh: Mesh, arn: str) -> Queue:
    queue = mesh.find(arn, Queue)
    if queue is None:
        raise ResourceNotFoundException(
            "The resource that you specified for the SourceArn parameter doesn't exist.")
    return queue


def start_message_move_task(mesh: Mesh, source_arn: str, destination_arn: str | None = None,
                            rate: int | None = None) -> MessageMoveTask:
    source = _source(mesh, source_arn)
    if not _is_dead_letter_queue(mesh, source_arn):
        raise InvalidParameterValueException("Source queue must be configured as a Dead Letter Queue.")
    if rate is not None and not 1 <= rate <= MAX_MOVE_RATE:
        raise InvalidParameterValueException(
            f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 "
            f"and {MAX_MOVE_RATE}.")
    if destination_arn:
        target = mesh.find(destination_arn, Queue)
        if target is None:
            raise ResourceNotFoundException(
                "The resource that you specified for the DestinationArn parameter doesn't exist.")
        if target.fifo != source.fifo:
            raise InvalidParameterValueException(
                "The source and destination queues must be of the same type.")
    tasks = mesh.state(MoveTasks)
    if any(t.status == "RUNNING" for t in tasks.of(source_arn)):
        raise InvalidParameterValueException(
            "There is already a task running. Only one active task is allowed for a source queue arn at a "
            "given time.")
    if tasks.running() >= MAX_ACTIVE_TASKS:
        raise InvalidParameterValueException(
            f"You have reached the maximum number of active message move tasks ({MAX_ACTIVE_TASKS}).")
    task = MessageMoveTask(mesh, source, destination_arn or None, rate)
    tasks.of(source_arn).insert(0, task)
    return task


def list_message_move_tasks(mesh: Mesh, source_arn: str,
                            max_results: int | None = None) -> list[dict[str, Any]]:
    source = _source(mesh, source_arn)
    if max_results is not None and not 1 <= max_results <= MAX_LISTED_TASKS:
        raise InvalidParameterValueException(
            f"Value {max_results} for parameter MaxResults is invalid. Reason: You must enter a number "
            f"that's between 1 and {MAX_LISTED_TASKS}.")
    return [t.describe() for t in mesh.state(MoveTasks).of(source.arn)[:max_results or 1]]


def cancel_message_move_task(mesh: Mesh, handle: str) -> int:
    """CancelMessageMoveTask: returns how many messages were moved before it stopped. A handle
    that does not decode answers InvalidParameterValue; one whose source queue or task does not
    exist, ResourceNotFoundException (HTTP 404)."""
    try:
        decoded = json.loads(base64.b64decode(handle, validate=True))
        source_arn, task_id = decoded["sourceArn"], decoded["taskId"]
        if not isinstance(source_arn, str) or not isinstance(task_id, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise InvalidParameterValueException("Value for parameter TaskHandle is invalid.") from None
    _source(mesh, source_arn)
    task = next((t for t in mesh.state(MoveTasks).of(source_arn) if t.task_id == task_id), None)
    if task is None or task.status != "RUNNING":
        raise ResourceNotFoundException("Task does not exist.")
    task.stop("CANCELLED")
    return task.moved
