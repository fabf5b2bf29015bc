"""FIFO queue core in virtual time: group order and lock, deduplication window, sequence numbers."""

from __future__ import annotations

import pytest

from eventmesh.effects import Available
from eventmesh.mesh import Mesh
from eventmesh.services.sqs.errors import (
    InvalidParameterValueException,
    MissingRequiredParameterException,
)
from eventmesh.services.sqs.message import Message, SendEntry
from eventmesh.services.sqs.queue import Queue
from eventmesh.services.sqs.service import create_queue
from eventmesh.testing import VirtualDriver, virtual_mesh


@pytest.fixture
def env() -> tuple[Mesh, VirtualDriver]:
    return virtual_mesh()


def _fifo(mesh: Mesh, name: str = "q.fifo", **attributes: str) -> Queue:
    queue = create_queue(mesh, name, {"FifoQueue": "true", "ContentBasedDeduplication": "true", **attributes})
    assert isinstance(queue, Queue)
    return queue


def _send(queue: Queue, *pairs: tuple[str, str]) -> list[Message]:
    out = queue.send_batch([SendEntry(body, group_id=group) for group, body in pairs])
    assert all(isinstance(m, Message) for m in out), out
    return out  # type: ignore[return-value]


def _bodies(msgs: list[Message]) -> list[str]:
    return [m.body for m in msgs]


def test_order_within_a_group_and_the_group_lock(env) -> None:
    mesh, _ = env
    queue = _fifo(mesh)
    _send(queue, ("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2"), ("a", "a3"))
    first = queue.receive(2)
    assert _bodies(first) == ["a1", "a2"]  # the batch fills from one group first
    assert _bodies(queue.receive(10)) == ["b1", "b2"]  # group a is locked while a1, a2 are in flight
    assert queue.receive(10) == []
    queue.delete(first[0].receipt)
    assert queue.receive(10) == []  # a2 is still in flight: a3 waits
    queue.delete(first[1].receipt)
    assert _bodies(queue.receive(10)) == ["a3"]


def test_batch_fills_from_further_groups_in_order(env) -> None:
    mesh, _ = env
    queue = _fifo(mesh)
    _send(queue, ("a", "a1"), ("b", "b1"), ("c", "c1"), ("a", "a2"))
    assert _bodies(queue.receive(10)) == ["a1", "a2", "b1", "c1"]


def test_expired_messages_come_back_first_in_their_group(env) -> None:
    mesh, driver = env
    queue = _fifo(mesh, VisibilityTimeout="10")
    _send(queue, ("g", "1"), ("g", "2"), ("g", "3"))
    assert _bodies(queue.receive(2)) == ["1", "2"]
    driver.advance(10)
    again = queue.receive(10)
    assert _bodies(again) == ["1", "2", "3"]
    assert [m.receive_count for m in again] == [2, 2, 1]


def test_extending_a_middle_message_hands_out_only_the_visible_head_run(env) -> None:
    mesh, driver = env
    queue = _fifo(mesh, VisibilityTimeout="10")
    _send(queue, ("g", "1"), ("g", "2"), ("g", "3"), ("g", "4"))
    m1, m2, m3 = queue.receive(3)
    queue.change_visibility(m2.receipt, 100)
    driver.advance(10)  # 1 and 3 are visible again; 2 still in flight stops the run after 1
    assert queue.counts() == (3, 1, 0)
    assert _bodies(queue.receive(10)) == ["1"]
    assert queue.receive(10) == []  # 1 is in flight again: the head holds the group
    driver.advance(90)  # 1 (received at 10 for 10 s) and 2 are both visible again
    assert _bodies(queue.receive(10)) == ["1", "2", "3", "4"]


def test_a_group_is_receivable_again_when_its_head_becomes_visible(env) -> None:
    """Recorded on AWS: with g1-m1 and g1-m2 in flight, ChangeMessageVisibility(g1-m1, 0) makes
    the group receivable at once; a receive answers the other group first, then g1-m1 alone."""
    mesh, driver = env
    queue = _fifo(mesh, VisibilityTimeout="30")
    _send(queue, ("g1", "g1-m1"), ("g1", "g1-m2"), ("g2", "g2-m1"))
    m1, m2 = queue.receive(2)
    queue.change_visibility(m1.receipt, 0)
    assert _bodies(queue.receive(3)) == ["g2-m1", "g1-m1"]
    mesh2, driver2 = virtual_mesh()
    queue = _fifo(mesh2, VisibilityTimeout="30")
    _send(queue, ("g1", "g1-m1"), ("g1", "g1-m2"), ("g2", "g2-m1"))
    m1, m2 = queue.receive(2)
    queue.change_visibility(m1.receipt, 1)
    driver2.advance(2)
    assert _bodies(queue.receive(3)) == ["g2-m1", "g1-m1"]


def test_purge_forgets_the_deduplication_ids(env) -> None:
    mesh, _ = env
    queue = _fifo(mesh, ContentBasedDeduplication="false")
    queue.send_batch([SendEntry("message-1", group_id="g", deduplication_id="d")])
    queue.purge()
    queue.send_batch([SendEntry("message-2", group_id="g", deduplication_id="d")])
    assert _bodies(queue.receive(10)) == ["message-2"]


def test_deduplication_within_five_minutes_even_after_delete(env) -> None:
    mesh, driver = env
    queue = _fifo(mesh, ContentBasedDeduplication="false")
    [first] = queue.send_batch([SendEntry("x", group_id="g", deduplication_id="d1")])
    [dup] = queue.send_batch([SendEntry("other body", group_id="h", deduplication_id="d1")])
    assert isinstance(first, Message) and isinstance(dup, Message)
    assert (dup.id, dup.sequence_number) == (first.id, first.sequence_number)  # accepted, not enqueued
    [m] = queue.receive(10)
    queue.delete(m.receipt)
    driver.advance(299)
    queue.send_batch([SendEntry("x", group_id="g", deduplication_id="d1")])
    assert queue.receive(10) == []
    driver.advance(1)
    [fresh] = queue.send_batch([SendEntry("x", group_id="g", deduplication_id="d1")])
    assert isinstance(fresh, Message) and fresh.id != first.id
    assert _bodies(queue.receive(10)) == ["x"]
    stats = queue.statistics()
    assert (stats.number_of_messages_sent, stats.number_of_deduplicated_sent_messages) == (2, 2)


def test_content_based_deduplication_hashes_the_body_only(env) -> None:
    mesh, _ = env
    queue = _fifo(mesh)
    attrs = {"a": {"DataType": "String", "StringValue": "1"}}
    queue.send_batch([SendEntry("same", group_id="g"), SendEntry("same", attrs, group_id="g"),
                      SendEntry("same", group_id="g", deduplication_id="explicit")])
    assert _bodies(queue.receive(10)) == ["same", "same"]


def test_message_group_deduplication_scope(env) -> None:
    mesh, _ = env
    queue = _fifo(mesh, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    _send(queue, ("a", "x"), ("b", "x"), ("a", "x"))
    assert sorted(_bodies(queue.receive(10))) == ["x", "x"]


def test_sequence_numbers_increase_and_are_twenty_digits(env) -> None:
    mesh, driver = env
    queue = _fifo(mesh)
    first = _send(queue, ("g", "1"), ("h", "2"))
    driver.advance(1)
    [third] = _send(queue, ("g", "3"))
    numbers = [m.sequence_number for m in (*first, third)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    assert all(len(str(n)) == 20 for n in numbers)


def test_fifo_rules_for_sending(env) -> None:
    mesh, _ = env
    queue = _fifo(mesh, ContentBasedDeduplication="false")
    results = queue.send_batch([
        SendEntry("no group", deduplication_id="1"),
        SendEntry("no dedup", group_id="g"),
        SendEntry("delay", group_id="g", deduplication_id="2", delay_seconds=2),
        SendEntry("zero delay", group_id="g", deduplication_id="3", delay_seconds=0),
        SendEntry("bad group", group_id="has space", deduplication_id="4"),
    ])
    assert isinstance(results[0], MissingRequiredParameterException)
    assert results[0].message == "The request must contain the parameter MessageGroupId."
    assert isinstance(results[1], InvalidParameterValueException)
    assert "ContentBasedDeduplication enabled or MessageDeduplicationId" in results[1].message
    assert isinstance(results[2], InvalidParameterValueException)
    assert results[2].message.startswith("Value 2 for parameter DelaySeconds is invalid.")
    assert isinstance(results[3], Message)
    assert isinstance(results[4], InvalidParameterValueException)
    assert "MessageGroupId can only include alphanumeric and punctuation" in results[4].message


def test_expired_receipt_handle_fails_on_a_fifo_queue(env) -> None:
    mesh, driver = env
    queue = _fifo(mesh, VisibilityTimeout="5")
    _send(queue, ("g", "1"))
    [m] = queue.receive(1)
    driver.advance(5)
    failures = queue.delete_batch([m.receipt])
    assert isinstance(failures[0], InvalidParameterValueException)
    assert failures[0].message.endswith("Reason: The receipt handle has expired.")
    assert queue.counts() == (1, 0, 0)  # nothing lost


def test_receive_request_attempt_id_returns_the_same_messages(env) -> None:
    mesh, driver = env
    queue = _fifo(mesh)
    _send(queue, ("g", "1"), ("h", "2"))
    first = queue.receive(10, attempt_id="try-1")
    again = queue.receive(10, attempt_id="try-1")
    assert [(m.id, m.receipt) for m in again] == [(m.id, m.receipt) for m in first]
    queue.delete(first[0].receipt)
    assert queue.receive(10, attempt_id="try-1") == []  # changed: a new receive, nothing left visible


def test_queue_delay_holds_the_group(env) -> None:
    mesh, driver = env
    queue = _fifo(mesh, DelaySeconds="5")
    _send(queue, ("g", "1"))
    assert queue.counts() == (0, 0, 1)
    assert queue.receive(10) == []
    driver.advance(5)
    assert _bodies(queue.receive(10)) == ["1"]


def test_fifo_redrive_replaces_the_dedup_id_with_the_message_id(env) -> None:
    mesh, driver = env
    dlq = _fifo(mesh, "dlq.fifo")
    queue = _fifo(mesh, "src.fifo", VisibilityTimeout="1",
                  RedrivePolicy=f'{{"deadLetterTargetArn": "{dlq.arn}", "maxReceiveCount": 1}}')
    [sent] = queue.send_batch([SendEntry("x", group_id="g", deduplication_id="dd")])
    queue.receive(1)
    driver.advance(10)
    assert queue.receive(1) == []
    [moved] = dlq.receive(1)
    assert (moved.id, moved.group_id, moved.deduplication_id) == (sent.id, "g", sent.id)
    assert moved.enqueued == mesh.clock.now()  # FIFO resets the enqueue time on move
    assert moved.sequence_number > 0


def test_group_unlock_wakes_long_polls(env) -> None:
    mesh, _ = env
    woke: list[str] = []
    mesh.subscribe(Available, lambda e: woke.append(e.arn))
    queue = _fifo(mesh)
    _send(queue, ("g", "1"), ("g", "2"))
    mesh.flush()
    [m] = queue.receive(1)
    woke.clear()
    queue.delete(m.receipt)
    mesh.flush()
    assert woke == [queue.arn]
