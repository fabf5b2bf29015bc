"""Standard queue core in virtual time: visibility, receive counts, delays, retention, redrive, errors."""

from __future__ import annotations

import pytest

from eventmesh.clock import VIRTUAL_EPOCH
from eventmesh.effects import Available, Delivery, Outcome
from eventmesh.mesh import Mesh
from eventmesh.services.sqs.errors import (
    InvalidMessageContents,
    InvalidParameterValueException,
    MissingRequiredParameterException,
    OverLimit,
    PurgeQueueInProgress,
    ReceiptHandleIsInvalid,
)
from eventmesh.services.sqs.message import Message, SendEntry
from eventmesh.services.sqs.queue import Queue
from eventmesh.services.sqs.service import create_queue
from eventmesh.services.sqs.standard import MAX_INFLIGHT_STANDARD
from eventmesh.testing import VirtualDriver, virtual_mesh
from tests.services.sqs.engines import sqs_engines, use_sqs_engine


@pytest.fixture(autouse=True, params=sqs_engines())
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs on the Python delivery path and on its C twin (when it is built)."""
    use_sqs_engine(monkeypatch, request.param)
    return str(request.param)


@pytest.fixture
def env() -> tuple[Mesh, VirtualDriver]:
    return virtual_mesh()


def _queue(mesh: Mesh, name: str = "q", **attributes: str) -> Queue:
    return create_queue(mesh, name, attributes)


def _send(queue: Queue, *bodies: str) -> list[Message]:
    out = queue.send_batch([SendEntry(b) for b in bodies])
    assert all(isinstance(m, Message) for m in out)
    return out  # type: ignore[return-value]


def test_message_returns_after_visibility_timeout(env) -> None:
    mesh, driver = env
    queue = _queue(mesh, VisibilityTimeout="30")
    _send(queue, "a")
    [first] = queue.receive(10)
    assert queue.counts() == (0, 1, 0)
    driver.advance(29.9)
    assert queue.receive(10) == []
    driver.advance(0.1)
    assert queue.counts() == (1, 0, 0)
    [again] = queue.receive(10)
    assert again.id == first.id and again.receive_count == 2
    assert again.first_receive == VIRTUAL_EPOCH and again.received == VIRTUAL_EPOCH + 30


def test_request_visibility_timeout_overrides_the_queue_default_for_that_receive_only(env) -> None:
    mesh, driver = env
    queue = _queue(mesh, VisibilityTimeout="100")
    _send(queue, "a")
    queue.receive(1, visibility_timeout=5)
    driver.advance(5)
    assert [m.body for m in queue.receive(1)] == ["a"]
    driver.advance(99)
    assert queue.receive(1) == []
    driver.advance(1)
    assert [m.receive_count for m in queue.receive(1)] == [3]


def test_zero_visibility_timeout_leaves_the_message_visible(env) -> None:
    mesh, _ = env
    queue = _queue(mesh)
    _send(queue, "a")
    assert [m.receive_count for m in queue.receive(1, visibility_timeout=0)] == [1]
    assert [m.receive_count for m in queue.receive(1, visibility_timeout=0)] == [2]


def test_receive_takes_at_most_max_messages_in_send_order(env) -> None:
    mesh, _ = env
    queue = _queue(mesh)
    _send(queue, *[f"m{i}" for i in range(10)])
    _send(queue, "m10", "m11")
    assert [m.body for m in queue.receive(3)] == ["m0", "m1", "m2"]
    assert [m.body for m in queue.receive(10)] == [f"m{i}" for i in range(3, 12)]
    assert queue.counts() == (0, 12, 0)


def test_delete_with_latest_receipt_removes_the_message_and_stale_receipt_is_a_no_op(env) -> None:
    mesh, driver = env
    queue = _queue(mesh, VisibilityTimeout="10")
    _send(queue, "a")
    [m] = queue.receive(1)
    old = m.receipt
    driver.advance(10)
    [m] = queue.receive(1)
    assert m.receipt != old
    assert queue.delete_batch([old]) == {}  # 200 on AWS, and the message stays
    assert queue.counts() == (0, 1, 0)
    queue.delete(m.receipt)
    assert queue.counts() == (0, 0, 0)
    assert queue.delete_batch([m.receipt]) == {}  # deleting twice is fine too
    driver.advance(60)
    assert queue.receive(10) == []
    assert queue.statistics().number_of_messages_deleted == 1


def test_latest_receipt_deletes_after_visibility_ran_out(env) -> None:
    mesh, driver = env
    queue = _queue(mesh, VisibilityTimeout="10")
    _send(queue, "a")
    [m] = queue.receive(1)
    driver.advance(11)
    assert queue.counts() == (1, 0, 0)
    queue.delete(m.receipt)
    assert queue.counts() == (0, 0, 0)
    assert queue.receive(1) == []


def test_receipt_handles_round_trip_and_foreign_handles_are_invalid(env) -> None:
    mesh, _ = env
    queue, other = _queue(mesh, "a"), _queue(mesh, "b")
    _send(queue, "x")
    [m] = queue.receive(1)
    handle = queue.receipt_handle(m)
    assert queue.parse_handle(handle) == m.receipt
    for bad in (other.receipt_handle(m), "garbage", handle + "zz", queue.handle_prefix + "ffff"):
        with pytest.raises(ReceiptHandleIsInvalid, match="is not a valid receipt handle"):
            queue.parse_handle(bad)


def test_change_visibility_counts_from_the_call_and_zero_makes_visible(env) -> None:
    mesh, driver = env
    queue = _queue(mesh, VisibilityTimeout="30")
    _send(queue, "a", "b")
    a, b = queue.receive(10)
    driver.advance(20)
    queue.change_visibility(a.receipt, 60)
    queue.change_visibility(b.receipt, 0)
    assert queue.counts() == (1, 1, 0)
    driver.advance(59)
    assert [m.body for m in queue.receive(10)] == ["b"]
    driver.advance(1)
    assert [m.body for m in queue.receive(10)] == ["a"]


def test_change_visibility_beyond_twelve_hours_from_receive_is_rejected(env) -> None:
    mesh, driver = env
    queue = _queue(mesh)
    _send(queue, "a")
    [m] = queue.receive(1)
    driver.advance(10)
    queue.change_visibility(m.receipt, 43_190)
    with pytest.raises(InvalidParameterValueException, match=r"beyond the limit \[43200 seconds\]"):
        queue.change_visibility(m.receipt, 43_191)
    [error] = queue.change_visibility_batch([(m.receipt + 99, 5)])  # no such message
    assert isinstance(error, InvalidParameterValueException) and "Message does not exist" in error.message


def test_queue_delay_and_per_message_delay(env) -> None:
    mesh, driver = env
    queue = _queue(mesh, DelaySeconds="5")
    queue.send_batch([SendEntry("queue-delay"), SendEntry("own-delay", delay_seconds=2),
                      SendEntry("no-delay", delay_seconds=0)])
    assert queue.counts() == (1, 0, 2)
    assert [m.body for m in queue.receive(10)] == ["no-delay"]
    driver.advance(2)
    assert [m.body for m in queue.receive(10)] == ["own-delay"]
    driver.advance(2.9)
    assert queue.receive(10) == []
    driver.advance(0.1)
    assert [m.body for m in queue.receive(10)] == ["queue-delay"]


def test_changing_the_queue_delay_is_not_retroactive_on_a_standard_queue(env) -> None:
    from eventmesh.services.sqs.service import set_queue_attributes

    mesh, driver = env
    queue = _queue(mesh, DelaySeconds="10")
    _send(queue, "a")
    set_queue_attributes(mesh, queue, {"DelaySeconds": "0"})
    _send(queue, "b")
    assert [m.body for m in queue.receive(10)] == ["b"]
    driver.advance(10)
    assert [m.body for m in queue.receive(10)] == ["a"]


def test_retention_expires_messages_whatever_their_state(env) -> None:
    mesh, driver = env
    queue = _queue(mesh, MessageRetentionPeriod="60", VisibilityTimeout="600")
    _send(queue, "in-flight", "visible")
    queue.receive(1)
    driver.advance(30)
    _send(queue, "younger")
    driver.advance(29.9)
    assert queue.counts() == (2, 1, 0)
    driver.advance(0.1)
    assert queue.counts() == (1, 0, 0)
    assert [m.body for m in queue.receive(10)] == ["younger"]


def test_lowering_retention_expires_existing_messages(env) -> None:
    from eventmesh.services.sqs.service import set_queue_attributes

    mesh, driver = env
    queue = _queue(mesh)
    _send(queue, "old")
    driver.advance(120)
    set_queue_attributes(mesh, queue, {"MessageRetentionPeriod": "60"})
    driver.advance(0)
    assert queue.counts() == (0, 0, 0)


def test_redrive_moves_message_after_max_receive_count_keeping_id_and_body(env) -> None:
    mesh, driver = env
    dlq = _queue(mesh, "dlq")
    policy = f'{{"deadLetterTargetArn": "{dlq.arn}", "maxReceiveCount": 2}}'
    queue = _queue(mesh, "src", VisibilityTimeout="10", RedrivePolicy=policy)
    [sent] = queue.send_batch([SendEntry("payload", {"k": {"DataType": "String", "StringValue": "v"}})])
    driver.advance(1)
    for count in (1, 2):
        assert [m.receive_count for m in queue.receive(1)] == [count]
        driver.advance(10)
    assert queue.receive(1) == []  # the third attempt moves it instead
    assert queue.counts() == (0, 0, 0) and dlq.counts() == (1, 0, 0)
    [moved] = dlq.receive(1)
    assert (moved.id, moved.body, moved.attributes) == (sent.id, "payload", sent.attributes)
    assert moved.receive_count == 3 and moved.sent == VIRTUAL_EPOCH
    assert moved.source_arn == queue.arn
    assert dlq.statistics().number_of_messages_sent == 0  # a move is not a send
    assert queue.statistics().number_of_empty_receives == 1


def test_standard_dlq_keeps_the_original_enqueue_time_for_retention(env) -> None:
    mesh, driver = env
    dlq = _queue(mesh, "dlq", MessageRetentionPeriod="300")
    queue = _queue(mesh, "src", VisibilityTimeout="100",
                   RedrivePolicy=f'{{"deadLetterTargetArn": "{dlq.arn}", "maxReceiveCount": 1}}')
    _send(dlq, "native")
    _send(queue, "moved")
    queue.receive(1)
    driver.advance(100)
    queue.receive(1)
    assert dlq.counts() == (2, 0, 0)
    assert dlq.oldest_age() == 100  # the age counts from the move, or the DLQ's own send
    driver.advance(200)  # 300 s after both sends: both expire (the moved one by its original time)
    assert dlq.counts() == (0, 0, 0)


def test_missing_dlq_leaves_messages_in_the_source(env) -> None:
    from eventmesh.services.sqs.service import delete_queue

    mesh, driver = env
    dlq = _queue(mesh, "dlq")
    queue = _queue(mesh, "src", VisibilityTimeout="1",
                   RedrivePolicy=f'{{"deadLetterTargetArn": "{dlq.arn}", "maxReceiveCount": 1}}')
    _send(queue, "a")
    queue.receive(1)
    delete_queue(mesh, dlq)
    driver.advance(1)
    assert [m.receive_count for m in queue.receive(1)] == [2]


def test_purge_removes_everything_and_is_limited_to_once_a_minute(env) -> None:
    mesh, driver = env
    queue = _queue(mesh, DelaySeconds="10")
    queue.send_batch([SendEntry("delayed"), SendEntry("now", delay_seconds=0)])
    _send(queue, "x")
    queue.receive(1)
    queue.purge()
    assert queue.counts() == (0, 0, 0)
    with pytest.raises(PurgeQueueInProgress, match="Only one PurgeQueue operation on q is allowed every 60"):
        queue.purge()
    driver.advance(60)
    assert queue.receive(10) == []
    queue.purge()


def test_available_is_emitted_when_messages_become_visible(env) -> None:
    mesh, driver = env
    woke: list[str] = []
    mesh.subscribe(Available, lambda e: woke.append(e.arn))
    queue = _queue(mesh, VisibilityTimeout="5")
    queue.send_batch([SendEntry("later", delay_seconds=3)])
    mesh.flush()
    assert woke == []
    driver.advance(3)
    assert woke == [queue.arn]
    queue.receive(1)
    driver.advance(5)
    assert woke == [queue.arn, queue.arn]


def test_statistics_are_cloudwatch_metrics(env) -> None:
    mesh, driver = env
    queue = _queue(mesh)
    queue.send_batch([SendEntry("abc"), SendEntry("de", delay_seconds=10)])
    assert queue.receive(10)[0].body == "abc"
    assert queue.receive(10) == []
    driver.advance(4)
    stats = queue.statistics()
    assert (stats.approximate_number_of_messages_visible, stats.approximate_number_of_messages_not_visible,
            stats.approximate_number_of_messages_delayed) == (0, 1, 1)
    assert (stats.number_of_messages_sent, stats.number_of_messages_received,
            stats.number_of_empty_receives, stats.sent_message_size) == (2, 1, 1, 5)
    assert stats.approximate_age_of_oldest_message == 4
    assert "number_of_messages_sent" in type(stats).counters
    assert "approximate_number_of_messages_visible" not in type(stats).counters
    assert queue.metric_namespace == "AWS/SQS" and queue.metric_dimensions() == {"QueueName": "q"}


def test_bad_messages_fail_alone_and_accepted_ones_are_kept(env) -> None:
    mesh, _ = env
    queue = _queue(mesh, MaximumMessageSize="1024")
    results = queue.send_batch([
        SendEntry("ok"),
        SendEntry("x" * 1025),
        SendEntry("bad\x00char"),
        SendEntry(""),
        SendEntry("also ok", {"n": {"DataType": "Number", "StringValue": "1.5"}}),
        SendEntry("dedup", deduplication_id="d"),
    ])
    assert isinstance(results[0], Message) and isinstance(results[4], Message)
    assert isinstance(results[1], InvalidParameterValueException)
    assert results[1].message == ("One or more parameters are invalid. Reason: Message must be shorter than "
                                  "1024 bytes.")
    assert isinstance(results[2], InvalidMessageContents)
    assert isinstance(results[3], MissingRequiredParameterException)
    assert isinstance(results[5], InvalidParameterValueException)
    assert [m.body for m in queue.receive(10)] == ["ok", "also ok"]
    assert queue.statistics().number_of_messages_sent == 2


def test_size_counts_body_and_attribute_names_types_and_values(env) -> None:
    mesh, _ = env
    queue = _queue(mesh, MaximumMessageSize="1024")
    attrs = {"ab": {"DataType": "String", "StringValue": "xyz"}}  # 2 + 6 + 3 = 11 bytes
    [ok, too_big] = queue.send_batch([SendEntry("x" * 1013, attrs), SendEntry("x" * 1014, attrs)])
    assert isinstance(ok, Message) and ok.size == 1024
    assert isinstance(too_big, InvalidParameterValueException)


def test_non_ascii_bodies_are_measured_in_utf8_bytes(env) -> None:
    mesh, _ = env
    queue = _queue(mesh, MaximumMessageSize="1024")
    [ok, too_big, bad] = queue.send_batch([SendEntry("é" * 512), SendEntry("é" * 513), SendEntry("\ufffe")])
    assert isinstance(ok, Message) and ok.size == 1024
    assert isinstance(too_big, InvalidParameterValueException)
    assert isinstance(bad, InvalidMessageContents)


def test_in_flight_limit_answers_overlimit_to_short_polls_only(env) -> None:
    mesh, _ = env
    queue = _queue(mesh)
    queue.n_inflight = MAX_INFLIGHT_STANDARD  # as if 120,000 messages were in flight
    with pytest.raises(OverLimit):
        queue.receive(1)
    assert queue.receive(1, wait=True) == []


def test_accepts_deliveries_from_other_cores(env) -> None:
    mesh, _ = env
    queue = _queue(mesh)
    attrs = {"a": {"DataType": "String", "StringValue": "1"}}
    result = mesh.deliver_now(queue.arn, [Delivery("from-sns", attrs), Delivery("two")], "arn:aws:sns:x")
    assert result.ok
    assert [(m.body, m.attributes) for m in queue.receive(10)] == [("from-sns", attrs), ("two", None)]
    failed = mesh.deliver_now(queue.arn, [Delivery("")])
    assert failed.kind is Outcome.INVALID and failed.code == "MissingRequiredParameterException"


def test_a_delivery_is_checked_byte_by_byte_unless_its_sender_encoded_it_as_json(env) -> None:
    mesh, _ = env
    queue = _queue(mesh)
    fifo = _queue(mesh, "q.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    raw = mesh.deliver_now(queue.arn, [Delivery("bad\x01char")])
    assert raw.kind is Outcome.INVALID and raw.code == "InvalidMessageContents"
    # JSON text escapes control characters: what an encoder wrote is stored without a byte scan,
    # on the plain path, with a trace header, and on a FIFO queue alike.
    envelope = '{"detail":{"note":"a\\u0001b"}}'
    for target, item in ((queue, Delivery(envelope, json_text=True)),
                         (queue, Delivery(envelope, trace_header="Root=1-a", json_text=True)),
                         (fifo, Delivery(envelope, group_id="g", json_text=True))):
        assert mesh.deliver_now(target.arn, [item]).ok
        [msg] = target.receive(1)
        assert (msg.body, msg.trace_header) == (envelope, item.trace_header)
    # Non-ASCII text is still checked whoever wrote it (noncharacters are not control characters).
    odd = mesh.deliver_now(queue.arn, [Delivery('{"a":"\ufffe"}', json_text=True)])
    assert odd.kind is Outcome.INVALID and odd.code == "InvalidMessageContents"


def test_many_messages_in_flight_expire_batch_by_batch(env) -> None:
    mesh, driver = env
    queue = _queue(mesh, VisibilityTimeout="30")
    for _ in range(100):
        _send(queue, *["m"] * 10)
    for _i in range(100):
        queue.receive(10)
        driver.advance(0.1)
    assert queue.counts() == (0, 1000, 0)
    assert mesh.clock.pending() <= 3  # one timer per lane, not one per batch or message
    driver.advance(30 - 9.9)
    assert queue.counts() == (10, 990, 0)
    driver.advance(10)
    assert queue.counts() == (1000, 0, 0)


def test_message_ids_are_distinct_uuid4_strings_across_batches(env) -> None:
    import uuid

    mesh, _ = env
    queue = _queue(mesh)
    queue._id_batch = (1 << 44) - 20   # the counter's low 44 bits wrap within this run
    ids = [m.id for _ in range(40) for m in _send(queue, "a", "b", "c")]
    assert len(set(ids)) == len(ids) == 120
    assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 4 for i in ids)
    # a batch's ids share its first 35 characters and count up in the last one
    assert [i[-1] for i in ids[:3]] == ["0", "1", "2"] and ids[0][:35] == ids[2][:35] != ids[3][:35]


def test_leases_deleted_before_they_expire_cost_no_timer_of_their_own(env) -> None:
    mesh, driver = env
    queue = _queue(mesh, VisibilityTimeout="30")
    for _ in range(10):
        _send(queue, *["m"] * 10)
    batches = []
    for _ in range(10):
        batches.append(queue.receive(10))
        driver.advance(0.1)
    kept = batches.pop(4)  # one lease stays in flight; the others are deleted in receive order
    for batch in batches:
        assert queue.delete_batch([m.receipt for m in batch]) == {}
    others = mesh.clock.pending() - 1   # the lane's timer, and whatever else the queue keeps
    driver.advance(29.5)   # past the kept lease's deadline: it expires, the deleted ones go with it
    assert queue.counts() == (10, 0, 0)
    assert mesh.clock.pending() == others  # no lane timer left for the five deleted leases behind it
    assert [m.id for m in queue.receive(10)] == [m.id for m in kept]


def test_retention_compacts_gone_batches_and_a_filling_queue_checks_once_per_doubling(env) -> None:
    """The queue keeps its sent batches in send order for retention; deleted messages leave gone
    batches behind, compacted when they outnumber the live messages. Whether to compact is
    looked at once per COMPACT_MIN_BATCHES sends, not at every send: a queue that only fills
    would pay for the look at every send."""
    from eventmesh.services.sqs.message import GONE
    from eventmesh.services.sqs.retention import COMPACT_MIN_BATCHES

    mesh, _ = env
    queue = _queue(mesh)
    retention = queue.retention
    looks = 0
    live = retention.live

    def counted() -> int:
        nonlocal looks
        looks += 1
        return live()

    retention.live = counted
    for i in range(4 * COMPACT_MIN_BATCHES):   # one message per batch, none received
        _send(queue, f"m{i}")
    assert looks == 3   # at 1,025, 2,050 and 3,075 batches
    assert len(retention.batches) == 4 * COMPACT_MIN_BATCHES
    # Delete all but every 100th message: most batches are now wholly gone.
    while got := queue.receive(10):
        for m in got:
            if int(m.body[1:]) % 100:
                queue.delete(m.receipt)
    assert sum(queue.counts()) == 41
    for i in range(COMPACT_MIN_BATCHES):   # the next look comes within this many sends
        _send(queue, f"n{i}")
    assert len(retention.batches) <= sum(queue.counts()) + COMPACT_MIN_BATCHES
    assert sorted(m.body for batch in retention.batches for m in batch if m.state != GONE) == sorted(
        [f"m{i}" for i in range(0, 4 * COMPACT_MIN_BATCHES, 100)] + [f"n{i}" for i in range(COMPACT_MIN_BATCHES)])
