"""Kinesis event source mapping: batches, ordering, parallelization, bisect, retries, destinations."""

from __future__ import annotations

import base64

import msgspec

from eventmesh.clock import VIRTUAL_EPOCH
from eventmesh.services.esm.service import create_mapping
from eventmesh.services.kinesis.service import create_stream
from eventmesh.services.kinesis.stream import PutRecordsRequestEntry
from eventmesh.services.sqs.queue import Queue
from eventmesh.testing import virtual_mesh
from tests.services.esm.helpers import ScriptedFunction, kinesis_keys

T0 = VIRTUAL_EPOCH


def put(stream, items):
    stream.put_records([PutRecordsRequestEntry(data.encode(), key) for key, data in items])


def setup(shards=1, **params):
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", shards)
    fn = ScriptedFunction(mesh, **params.pop("fn", {}))
    request = {"EventSourceArn": stream.arn, "FunctionName": "fn", "StartingPosition": "TRIM_HORIZON"}
    request.update(params)
    mapping = create_mapping(mesh, request)
    return mesh, driver, stream, fn, mapping


def test_mapping_is_created_then_enabled_and_delivers_the_exact_kinesis_event():
    mesh, driver, stream, fn, mapping = setup(BatchSize=10)
    assert mapping.state == "Creating"
    put(stream, [("k1", "hello")])
    driver.advance(0)
    assert mapping.state == "Enabled"
    shard = stream.open_shards[0]
    record = fn.batches[0]["Records"][0]
    seq = record["kinesis"]["sequenceNumber"]
    assert record == {
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "k1", "sequenceNumber": seq,
                    "data": base64.b64encode(b"hello").decode(), "approximateArrivalTimestamp": T0},
        "eventSource": "aws:kinesis", "eventVersion": "1.0",
        "eventID": f"{shard.shard_id}:{seq}", "eventName": "aws:kinesis:record",
        "invokeIdentityArn": fn.role, "awsRegion": "us-east-1", "eventSourceARN": stream.arn,
    }


def test_batches_respect_batch_size_and_run_one_at_a_time_per_shard():
    mesh, driver, stream, fn, mapping = setup(BatchSize=3)
    put(stream, [("k", str(i)) for i in range(7)])
    driver.run_until_idle()
    assert [len(b["Records"]) for b in fn.batches] == [3, 3, 1]
    assert fn.started_at == [T0, T0 + 1, T0 + 2]
    assert [d for b in fn.batches for _, d in kinesis_keys(b)] == [str(i) for i in range(7)]
    assert mapping.invoked == 7


def test_latest_starts_after_the_records_already_in_the_stream():
    mesh, driver, stream, fn, mapping = setup(StartingPosition="LATEST")
    put(stream, [("k", "old")])
    driver.advance(0)
    assert fn.batches == []
    put(stream, [("k", "new")])
    driver.run_until_idle()
    assert [kinesis_keys(b) for b in fn.batches] == [[("k", "new")]]


def test_batching_window_waits_for_more_records():
    mesh, driver, stream, fn, mapping = setup(BatchSize=5, MaximumBatchingWindowInSeconds=2)
    put(stream, [("k", "a")])
    driver.advance(1)
    put(stream, [("k", "b")])
    driver.run_until_idle()
    assert [len(b["Records"]) for b in fn.batches] == [2]
    assert fn.started_at == [T0 + 2]


def test_poison_record_with_bisect_and_two_retries_goes_to_the_destination_while_the_shard_flows_on():
    def respond(event):
        poison = any(d == "poison" for _, d in kinesis_keys(event))
        return (b'{"errorMessage":"boom"}', "Unhandled") if poison else (b"null", None)

    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", 1)
    dlq = mesh.add(Queue(mesh, "failures"))
    fn = ScriptedFunction(mesh, respond=respond)
    mapping = create_mapping(mesh, {
        "EventSourceArn": stream.arn, "FunctionName": "fn", "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 8, "BisectBatchOnFunctionError": True, "MaximumRetryAttempts": 2,
        "DestinationConfig": {"OnFailure": {"Destination": dlq.arn}}})
    put(stream, [("k", str(i)) for i in range(5)] + [("k", "poison")] + [("k", str(i)) for i in range(6, 8)])
    put(stream, [("k", "after")])
    driver.advance(60)   # not run_until_idle: the destination queue's retention would expire it
    delivered = [d for b in fn.batches for _, d in kinesis_keys(b) if not b.get("failed")]
    # every good record succeeded exactly once in a successful batch; order kept
    ok = [kinesis_keys(b) for b in fn.batches if all(d != "poison" for _, d in kinesis_keys(b))]
    assert [d for batch in ok for _, d in batch] == ["0", "1", "2", "3", "4", "6", "7", "after"]
    assert delivered.count("poison") == 1 + 1 + 1 + 3   # 8 → 4 → 2 → 1, then 2 retries
    assert mapping.dropped == 1
    messages = dlq.receive(10)
    assert len(messages) == 1
    body = msgspec.json.decode(messages[0].body)
    poison_seq = next(r["kinesis"]["sequenceNumber"] for b in fn.batches for r in b["Records"]
                      if base64.b64decode(r["kinesis"]["data"]) == b"poison")
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["requestContext"]["approximateInvokeCount"] == 3
    assert body["requestContext"]["functionArn"] == fn.arn
    assert body["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                       "functionError": "Unhandled"}
    assert body["version"] == "1.0"
    info = body["KinesisBatchInfo"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == poison_seq
    assert info["batchSize"] == 1
    assert info["shardId"] == "shardId-000000000000"
    assert info["streamArn"] == stream.arn
    assert mapping.destination_delivered == 1


def test_parallelization_factor_keeps_order_per_key_while_running_batches_concurrently():
    mesh, driver, stream, fn, mapping = setup(BatchSize=2, ParallelizationFactor=10)
    keys = ["alpha", "beta", "gamma"]
    put(stream, [(keys[i % 3], f"{keys[i % 3]}-{i // 3}") for i in range(30)])
    driver.run_until_idle()
    assert fn.max_inflight >= 2
    seen: dict[str, list[int]] = {k: [] for k in keys}
    running: dict[str, float] = {}
    for event, started in zip(fn.batches, fn.started_at, strict=True):
        for key, data in kinesis_keys(event):
            seen[key].append(int(data.rsplit("-", 1)[1]))
            # a key never has two batches in flight: its previous batch ended (duration 1 s)
            assert running.get(key, -1.0) <= started
        for key in {k for k, _ in kinesis_keys(event)}:
            running[key] = started + 1.0
    assert all(seen[k] == list(range(10)) for k in keys)
    assert mapping.invoked == 30


def test_partial_batch_response_retries_from_the_lowest_failed_sequence_number():
    calls = []

    def respond(event):
        calls.append([d for _, d in kinesis_keys(event)])
        if len(calls) == 1:
            seqs = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
            return msgspec.json.encode({"batchItemFailures": [{"itemIdentifier": seqs[3]},
                                                              {"itemIdentifier": seqs[2]}]}), None
        return b"{}", None

    mesh, driver, stream, fn, mapping = setup(BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"],
                                              fn={"respond": respond})
    put(stream, [("k", str(i)) for i in range(5)])
    driver.run_until_idle()
    assert calls == [["0", "1", "2", "3", "4"], ["2", "3", "4"]]
    assert mapping.invoked == 5


def test_invalid_partial_response_fails_the_whole_batch():
    answers = [b'{"batchItemFailures": [{"itemIdentifier": ""}]}', b'{"batchItemFailures": []}']

    def respond(event):
        return answers.pop(0), None

    mesh, driver, stream, fn, mapping = setup(BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"],
                                              fn={"respond": respond})
    put(stream, [("k", str(i)) for i in range(3)])
    driver.run_until_idle()
    assert [len(b["Records"]) for b in fn.batches] == [3, 3]


def test_iterator_age_grows_while_throttled_and_falls_after():
    mesh, driver, stream, fn, mapping = setup(BatchSize=10)
    fn.throttled = True
    put(stream, [("k", "x")])
    driver.advance(1)
    first = mapping.statistics().iterator_age
    driver.advance(10)
    second = mapping.statistics().iterator_age
    assert 0 < first < second
    assert second >= 10_000
    assert mapping.throttles >= 3
    fn.throttled = False
    driver.run_until_idle()
    assert len(fn.batches) == 1
    put(stream, [("k", "y")])
    driver.run_until_idle()
    assert mapping.statistics().iterator_age == 1_000    # caught up: just the 1 s run of the batch
    assert second == 11_000
    assert mapping.statistics().offset_lag == 0


def test_record_age_exceeded_skips_old_records_with_a_destination_record_without_response_context():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", 1)
    dlq = mesh.add(Queue(mesh, "failures"))
    fn = ScriptedFunction(mesh)
    fn.throttled = True
    create_mapping(mesh, {
        "EventSourceArn": stream.arn, "FunctionName": "fn", "StartingPosition": "TRIM_HORIZON",
        "MaximumRecordAgeInSeconds": 60, "DestinationConfig": {"OnFailure": {"Destination": dlq.arn}}})
    put(stream, [("k", "old")])
    driver.advance(120)
    fn.throttled = False
    driver.advance(60)
    assert fn.batches == []
    body = msgspec.json.decode(dlq.receive(1)[0].body)
    assert body["requestContext"]["condition"] == "RecordAgeExceeded"
    assert "responseContext" not in body


def test_filter_criteria_skip_non_matching_records():
    mesh, driver, stream, fn, mapping = setup(
        FilterCriteria={"Filters": [{"Pattern": '{"kinesis": {"data": {"kind": ["keep"]}}}'}]})
    put(stream, [("k", '{"kind": "keep"}'), ("k", '{"kind": "drop"}'), ("k", "not json")])
    driver.run_until_idle()
    assert [d for b in fn.batches for _, d in kinesis_keys(b)] == ['{"kind": "keep"}']
    assert mapping.filtered_out == 2


def test_a_batch_is_cut_before_its_payload_passes_6_mb():
    mesh, driver, stream, fn, mapping = setup(BatchSize=10, MaximumBatchingWindowInSeconds=10)
    big = "x" * 1_000_000        # base64 ≈ 1.33 MB per record: 4 fit in 6 MB, 5 do not
    for i in range(6):
        put(stream, [("k", big + str(i))])
        driver.advance(1)            # 1 MiB/s write quota per shard
    driver.run_until_idle()
    assert [len(b["Records"]) for b in fn.batches] == [4, 2]
    assert [d[-1] for b in fn.batches for _, d in kinesis_keys(b)] == [str(i) for i in range(6)]


def test_tumbling_window_passes_state_and_makes_a_final_invocation():
    def respond(event):
        total = event["state"].get("total", 0) + sum(int(d) for _, d in kinesis_keys(event))
        return msgspec.json.encode({"state": {"total": total}}), None

    mesh, driver, stream, fn, mapping = setup(BatchSize=2, TumblingWindowInSeconds=60,
                                              fn={"respond": respond})
    put(stream, [("k", "1"), ("k", "2"), ("k", "3")])
    driver.advance(30)
    put(stream, [("k", "4")])
    driver.advance(60)
    windows = [(e["window"]["start"], e["isFinalInvokeForWindow"], e["state"], len(e["Records"]))
               for e in fn.batches]
    assert windows == [
        ("2023-11-14T22:13:00Z", False, {}, 2),
        ("2023-11-14T22:13:00Z", False, {"total": 3}, 1),
        ("2023-11-14T22:13:00Z", False, {"total": 6}, 1),
        ("2023-11-14T22:13:00Z", True, {"total": 10}, 0),
    ]
    assert fn.batches[0]["window"]["end"] == "2023-11-14T22:14:00Z"
    assert fn.batches[0]["shardId"] == "shardId-000000000000"
    assert fn.started_at[-1] == T0 + 40     # the window [22:13:00, 22:14:00) ended 40 s after T0
    assert mapping.invoked == 4


def test_at_timestamp_starts_at_the_first_record_at_or_after_it():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", 1)
    fn = ScriptedFunction(mesh)
    put(stream, [("k", "before")])
    driver.advance(10)
    put(stream, [("k", "at")])
    driver.advance(10)
    create_mapping(mesh, {"EventSourceArn": stream.arn, "FunctionName": "fn",
                          "StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": T0 + 10})
    driver.run_until_idle()
    assert [kinesis_keys(b) for b in fn.batches] == [[("k", "at")]]


def test_children_of_a_split_shard_are_read_after_the_parent():
    mesh, driver, stream, fn, mapping = setup(BatchSize=100)
    fn.throttled = True
    put(stream, [("k", "parent-1"), ("k", "parent-2")])
    driver.advance(0)
    stream.split_shard("shardId-000000000000", str(2**127))
    driver.advance(1)
    put(stream, [("k", "child")])
    driver.advance(1)
    assert fn.batches == []
    fn.throttled = False
    driver.run_until_idle()
    assert [d for b in fn.batches for _, d in kinesis_keys(b)] == ["parent-1", "parent-2", "child"]
    assert mapping.statistics().offset_lag == 0


def test_a_shard_that_keeps_up_is_polled_once_a_second_and_one_behind_is_read_at_once():
    mesh, driver, stream, fn, mapping = setup(BatchSize=100, fn={"duration_s": 0.01})
    put(stream, [("k", "a")])
    driver.advance(0)          # the first poll reads the shard to its end
    assert [kinesis_keys(b) for b in fn.batches] == [[("k", "a")]]
    driver.advance(0.5)
    put(stream, [("k", "b")])
    driver.advance(0.25)
    put(stream, [("k", "c")])
    driver.advance(0.125)      # t = 0.875: no poll since the first
    assert len(fn.batches) == 1
    driver.advance(0.125)      # t = 1: the next poll takes both
    assert [kinesis_keys(b) for b in fn.batches[1:]] == [[("k", "b"), ("k", "c")]]
    assert fn.started_at[1] == T0 + 1
    driver.advance(5.5)        # idle since: the polling keeps its second, t = 7 is the next poll
    put(stream, [("k", str(i)) for i in range(250)])
    driver.advance(0.5)
    assert fn.started_at[2] == T0 + 7
    # 250 records behind: batches of 100, 100, then 50 back to back, no wait for a poll.
    driver.advance(1)
    assert [len(b["Records"]) for b in fn.batches[2:]] == [100, 100, 50]
    assert [round(t - T0, 6) for t in fn.started_at[2:]] == [7, 7.01, 7.02]
