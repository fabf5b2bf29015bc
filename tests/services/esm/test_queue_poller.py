"""SQS event source mapping: long poll, delete on success, partial batch responses, DLQ after
maxReceiveCount, throttles that cost receives, scaling, FIFO groups, the visibility check."""

from __future__ import annotations

import random

import msgspec
import pytest

from eventmesh.clock import VIRTUAL_EPOCH
from eventmesh.services.esm.service import create_mapping, update_mapping
from eventmesh.services.lambda_.errors import InvalidParameterValueException
from eventmesh.services.sqs.message import SendEntry
from eventmesh.services.sqs.service import create_queue
from eventmesh.testing import virtual_mesh
from tests.services.esm.helpers import ScriptedFunction

T0 = VIRTUAL_EPOCH


def setup(attributes=None, fn=None, **params):
    mesh, driver = virtual_mesh()
    queue = create_queue(mesh, params.pop("name", "q"), attributes or {})
    function = ScriptedFunction(mesh, **(fn or {}))
    mapping = create_mapping(mesh, {"EventSourceArn": queue.arn, "FunctionName": "fn", **params})
    return mesh, driver, queue, function, mapping


def send(queue, *bodies, group=None):
    for i, body in enumerate(bodies):
        queue.send(SendEntry(body, group_id=group, deduplication_id=f"{body}-{i}" if group else None))


def bodies(event):
    return [r["body"] for r in event["Records"]]


def test_long_poll_delivers_the_exact_sqs_event_and_deletes_on_success():
    mesh, driver, queue, fn, mapping = setup()
    driver.advance(0)
    queue.send(SendEntry("Test message.", {"Author": {"DataType": "String", "StringValue": "John"}}))
    driver.advance(0)
    record = fn.batches[0]["Records"][0]
    msg_id = record["messageId"]
    assert record == {
        "messageId": msg_id,
        "receiptHandle": record["receiptHandle"],
        "body": "Test message.",
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(T0 * 1000)),
                       "SenderId": "000000000000", "ApproximateFirstReceiveTimestamp": str(int(T0 * 1000))},
        "messageAttributes": {"Author": {"dataType": "String", "stringValue": "John",
                                         "stringListValues": [], "binaryListValues": []}},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.arn,
        "awsRegion": "us-east-1",
        "md5OfMessageAttributes": record["md5OfMessageAttributes"],
    }
    assert record["receiptHandle"].startswith("AQEB")
    driver.advance(1)
    stats = queue.statistics()
    assert stats.number_of_messages_deleted == 1
    assert stats.approximate_number_of_messages_not_visible == 0
    assert mapping.deleted == 1


def test_failing_batch_reaches_the_dlq_after_max_receive_count():
    mesh, driver = virtual_mesh()
    dlq = create_queue(mesh, "dlq")
    queue = create_queue(mesh, "q", {"VisibilityTimeout": "30", "RedrivePolicy": msgspec.json.encode(
        {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 3}).decode()})
    fn = ScriptedFunction(mesh, respond=lambda e: (b'{"errorMessage": "x"}', "Unhandled"))
    create_mapping(mesh, {"EventSourceArn": queue.arn, "FunctionName": "fn"})
    driver.advance(0)
    send(queue, "bad")
    driver.advance(120)
    assert [bodies(b) for b in fn.batches] == [["bad"]] * 3
    assert fn.started_at == [T0, T0 + 30, T0 + 60]
    assert [b["Records"][0]["attributes"]["ApproximateReceiveCount"] for b in fn.batches] == ["1", "2", "3"]
    assert [m.body for m in dlq.receive(10)] == ["bad"]
    assert queue.statistics().approximate_number_of_messages_visible == 0


@pytest.mark.parametrize("response, deleted", [
    (b'{"batchItemFailures": []}', 4), (b'{"batchItemFailures": null}', 4), (b"{}", 4), (b"null", 4),
    (b'""', 4), (b"[]", 4), (b"", 4),
    (b'{"batchItemFailures": [{"itemIdentifier": ""}]}', 0),
    (b'{"batchItemFailures": [{"itemIdentifier": null}]}', 0),
    (b'{"batchItemFailures": [{"foo": "x"}]}', 0),
    (b'{"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}', 0),
    (b"not json", 0),
])
def test_partial_batch_response_edge_cases(response, deleted):
    mesh, driver, queue, fn, mapping = setup(FunctionResponseTypes=["ReportBatchItemFailures"],
                                             fn={"respond": lambda e: (response, None)})
    send(queue, "a", "b", "c", "d")
    driver.advance(1)
    assert queue.statistics().number_of_messages_deleted == deleted


def test_partial_batch_response_deletes_exactly_the_successes():
    def respond(event):
        ids = [r["messageId"] for r in event["Records"] if r["body"] in ("b", "d")]
        return msgspec.json.encode({"batchItemFailures": [{"itemIdentifier": i} for i in ids]}), None

    mesh, driver, queue, fn, mapping = setup({"VisibilityTimeout": "10"}, BatchSize=4,
                                             FunctionResponseTypes=["ReportBatchItemFailures"],
                                             fn={"respond": respond})
    send(queue, "a", "b", "c", "d")
    driver.advance(1)
    assert queue.statistics().number_of_messages_deleted == 2
    driver.advance(10)
    assert sorted(bodies(fn.batches[1])) == ["b", "d"]


def test_without_report_batch_item_failures_the_response_is_ignored():
    mesh, driver, queue, fn, mapping = setup(
        fn={"respond": lambda e: (b'{"batchItemFailures": [{"itemIdentifier": "x"}]}', None)})
    send(queue, "a", "b")
    driver.advance(1)
    assert queue.statistics().number_of_messages_deleted == 2


def test_function_error_deletes_nothing():
    mesh, driver, queue, fn, mapping = setup(fn={"respond": lambda e: (b"{}", "Unhandled")})
    send(queue, "a", "b")
    driver.advance(1)
    assert queue.statistics().number_of_messages_deleted == 0
    assert queue.statistics().approximate_number_of_messages_not_visible == 2


def test_throttles_still_count_as_receives_and_can_send_messages_to_the_dlq():
    mesh, driver = virtual_mesh()
    dlq = create_queue(mesh, "dlq")
    queue = create_queue(mesh, "q", {"VisibilityTimeout": "5", "RedrivePolicy": msgspec.json.encode(
        {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 2}).decode()})
    fn = ScriptedFunction(mesh)
    fn.throttled = True
    mapping = create_mapping(mesh, {"EventSourceArn": queue.arn, "FunctionName": "fn"})
    send(queue, "m")
    driver.advance(20)
    assert fn.batches == []
    assert mapping.throttles >= 2
    assert [m.body for m in dlq.receive(10)] == ["m"]


def test_concurrency_starts_at_five_batches_and_scales_by_300_a_minute():
    mesh, driver, queue, fn, mapping = setup({"VisibilityTimeout": "900"}, BatchSize=1,
                                             fn={"duration_s": 600.0, "timeout_s": 600.0})
    for i in range(0, 2000, 10):
        queue.send_batch([SendEntry(str(i + j)) for j in range(10)])
    driver.advance(0)
    assert fn.inflight == 5
    driver.advance(60)
    assert fn.inflight == 305
    driver.advance(60)
    assert fn.inflight == 605


def test_maximum_concurrency_caps_batches_in_flight():
    mesh, driver, queue, fn, mapping = setup({"VisibilityTimeout": "900"}, BatchSize=1,
                                             ScalingConfig={"MaximumConcurrency": 3},
                                             fn={"duration_s": 10.0})
    send(queue, *[str(i) for i in range(10)])
    driver.advance(60)
    assert fn.max_inflight == 3
    assert fn.throttles == 0
    assert queue.statistics().number_of_messages_deleted == 10


def test_fifo_has_one_batch_in_flight_per_message_group():
    mesh, driver, queue, fn, mapping = setup({"FifoQueue": "true"}, name="q.fifo", BatchSize=2,
                                             fn={"duration_s": 5.0})
    send(queue, "a1", "a2", "a3", "a4", group="A")
    send(queue, "b1", "b2", group="B")
    driver.advance(60)
    groups = [{r["attributes"]["MessageGroupId"] for r in b["Records"]} for b in fn.batches]
    order = {g: [x for b in fn.batches for x in bodies(b) if x.startswith(g.lower())] for g in "AB"}
    assert order == {"A": ["a1", "a2", "a3", "a4"], "B": ["b1", "b2"]}
    assert fn.max_inflight == 2 and all(len(g) >= 1 for g in groups)
    a_starts = [t for b, t in zip(fn.batches, fn.started_at, strict=True) if bodies(b)[0].startswith("a")]
    assert a_starts == [T0, T0 + 5]


def test_create_checks_the_visibility_timeout_against_the_function_timeout():
    mesh, driver = virtual_mesh()
    queue = create_queue(mesh, "q", {"VisibilityTimeout": "30"})
    ScriptedFunction(mesh, timeout_s=60)
    with pytest.raises(InvalidParameterValueException) as err:
        create_mapping(mesh, {"EventSourceArn": queue.arn, "FunctionName": "fn"})
    assert err.value.message == ("Queue visibility timeout: 30 seconds is less than Function timeout: "
                                 "60 seconds")


def test_batching_window_gathers_up_to_batch_size():
    mesh, driver, queue, fn, mapping = setup(BatchSize=100, MaximumBatchingWindowInSeconds=5)
    send(queue, "a")
    driver.advance(2)
    send(queue, "b", "c")
    driver.advance(10)
    assert [bodies(b) for b in fn.batches] == [["a", "b", "c"]]
    assert fn.started_at == [T0 + 5]


def test_filtered_out_messages_are_deleted():
    mesh, driver, queue, fn, mapping = setup(
        FilterCriteria={"Filters": [{"Pattern": '{"body": {"status": ["ERROR"]}}'}]})
    send(queue, '{"status": "ERROR"}', '{"status": "OK"}', "plain text")
    driver.advance(1)
    assert [bodies(b) for b in fn.batches] == [['{"status": "ERROR"}']]
    assert queue.statistics().number_of_messages_deleted == 3
    assert mapping.filtered_out == 2


def test_idle_pollers_each_end_a_long_poll_empty_every_20_seconds():
    mesh, driver, queue, fn, mapping = setup(BatchSize=10)
    driver.advance(0)
    driver.advance(60)   # three polls of the five pollers, nothing to receive
    assert queue.statistics().number_of_empty_receives == 15
    send(queue, "a")
    driver.advance(19)   # a poll that received a message is not an empty one
    assert queue.statistics().number_of_empty_receives == 15 and len(fn.batches) == 1
    driver.advance(21)
    assert queue.statistics().number_of_empty_receives == 20
    update_mapping(mesh, mapping.uuid, {"Enabled": False})
    driver.advance(120)  # a disabled mapping does not poll
    assert queue.statistics().number_of_empty_receives == 20


def test_pollers_all_waiting_on_invocations_count_no_empty_receives():
    mesh, driver, queue, fn, mapping = setup({"VisibilityTimeout": "900"}, BatchSize=1,
                                             ScalingConfig={"MaximumConcurrency": 2}, fn={"duration_s": 100.0})
    send(queue, *[str(i) for i in range(4)])
    driver.advance(90)
    assert fn.inflight == 2 and queue.statistics().number_of_empty_receives == 0


def test_fifo_groups_all_in_flight_are_not_a_dry_queue_and_keep_every_group_busy():
    mesh, driver, queue, fn, mapping = setup({"FifoQueue": "true", "VisibilityTimeout": "60"}, name="q.fifo",
                                             BatchSize=1, fn={"duration_s": 0.1})
    for n in range(40):   # 10 groups of 40 messages, interleaved
        for g in range(10):
            queue.send(SendEntry(f"{g}-{n}", group_id=f"g{g}", deduplication_id=f"{g}-{n}"))
    driver.advance(0)
    driver.advance(1.05)   # the pollers scale from 5 to 10 batches in the first second
    before = queue.statistics().number_of_messages_deleted
    driver.advance(1)      # then a batch per group per 0.1 s
    assert fn.max_inflight == 10 and fn.inflight == 10
    assert queue.statistics().number_of_messages_deleted - before == 100


def test_a_standard_queue_that_runs_dry_keeps_the_concurrency_its_batches_hold():
    mesh, driver, queue, fn, mapping = setup({"VisibilityTimeout": "60"}, BatchSize=1, fn={"duration_s": 0.08})
    for step in range(1_000):   # 200 messages/s for 10 s: a 0.08 s function needs 16 batches at once
        send(queue, *[str(step * 2 + k) for k in range(2)])
        driver.advance(0.01)
    # The pollers scale up by 5 batches a second past 16 and stay there; the ramp's backlog is gone.
    stats = queue.statistics()
    assert fn.max_inflight >= 16 and stats.approximate_number_of_messages_visible <= 2
    assert stats.number_of_messages_deleted >= 2_000 - 18


def _backlog_run(fails):
    """5,000 messages waiting, BatchSize 1, a 1 s function: the level after 20 s of scaling."""
    def respond(event):
        n = int(event["Records"][0]["body"])
        return (b"{}", "Unhandled") if fails(n) else (b"null", None)
    mesh, driver, queue, fn, mapping = setup({"VisibilityTimeout": "600"}, BatchSize=1,
                                             fn={"duration_s": 1.0, "timeout_s": 1.0, "respond": respond})
    for start in range(0, 5_000, 10):
        queue.send_batch([SendEntry(str(start + j)) for j in range(10)])
    driver.advance(0)
    driver.advance(20.5)
    return fn


def test_a_function_that_fails_now_and_then_still_scales_and_one_that_keeps_failing_backs_off():
    # 300 more batches a minute while messages wait; one batch fewer per failed batch that
    # follows a failed one.
    def failing(share):
        return lambda n: random.Random(n).random() < share
    assert _backlog_run(failing(0)).inflight == 107   # 5 + 20.5 s x 5 a second
    assert 85 <= _backlog_run(failing(0.1)).inflight < 107
    assert 10 < _backlog_run(failing(0.5)).inflight < 40
    assert _backlog_run(failing(1)).inflight == 5      # every batch fails: the floor
