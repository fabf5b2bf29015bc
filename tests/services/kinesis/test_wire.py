"""boto3 against the daemon (virtual clock): Kinesis over AWS JSON 1.1, and CBOR as the AWS SDK for
Java sends it (raw HTTP, since boto3 speaks only JSON)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config

from eventmesh.clock import VIRTUAL_EPOCH
from eventmesh.daemon import ServerHandle
from eventmesh.wire.protocols import cbor
from eventmesh.workers import serve_in_thread


@pytest.fixture(scope="module")
def daemon(workers: int) -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual", services=["kinesis"], workers=workers)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def kinesis(daemon: ServerHandle) -> Any:
    return boto3.client("kinesis", endpoint_url=daemon.url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))


def read_shard(kinesis: Any, stream: str, shard_id: str, kind: str = "TRIM_HORIZON") -> list[dict[str, Any]]:
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard_id,
                                          ShardIteratorType=kind)["ShardIterator"]
    return kinesis.get_records(ShardIterator=iterator)["Records"]


def test_put_and_get_across_shards(kinesis):
    kinesis.create_stream(StreamName="orders", ShardCount=4)
    kinesis.get_waiter("stream_exists").wait(StreamName="orders", WaiterConfig={"Delay": 0})
    out = kinesis.put_records(StreamName="orders", Records=[
        {"Data": f"order-{i}".encode(), "PartitionKey": f"customer-{i}"} for i in range(40)])
    assert out["FailedRecordCount"] == 0
    written = {r["SequenceNumber"]: (r["ShardId"], f"order-{i}".encode())
               for i, r in enumerate(out["Records"])}
    shards = [s["ShardId"] for s in kinesis.list_shards(StreamName="orders")["Shards"]]
    assert shards == [f"shardId-00000000000{i}" for i in range(4)]
    seen = {}
    for shard_id in shards:
        records = read_shard(kinesis, "orders", shard_id)
        sequence_numbers = [int(r["SequenceNumber"]) for r in records]
        assert sequence_numbers == sorted(sequence_numbers)
        for r in records:
            seen[r["SequenceNumber"]] = (shard_id, r["Data"])
            assert r["ApproximateArrivalTimestamp"].timestamp() >= VIRTUAL_EPOCH
    assert seen == written
    assert len({shard for shard, _ in seen.values()}) == 4


def test_put_record_and_read_after_its_sequence_number(kinesis):
    kinesis.create_stream(StreamName="single", ShardCount=1)
    first = kinesis.put_record(StreamName="single", Data=b"one", PartitionKey="k")
    kinesis.put_record(StreamName="single", Data=b"two", PartitionKey="k")
    iterator = kinesis.get_shard_iterator(StreamName="single", ShardId=first["ShardId"],
                                          ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                          StartingSequenceNumber=first["SequenceNumber"])["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [b"two"]


def test_errors_arrive_as_modelled_exceptions(kinesis):
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException) as caught:
        kinesis.describe_stream_summary(StreamName="missing")
    assert caught.value.response["Error"]["Message"] == "Stream missing under account 000000000000 not found."
    kinesis.create_stream(StreamName="dupe", ShardCount=1)
    with pytest.raises(kinesis.exceptions.ResourceInUseException):
        kinesis.create_stream(StreamName="dupe", ShardCount=1)


def test_iterator_expires_in_virtual_time(daemon, kinesis):
    kinesis.create_stream(StreamName="clocked", ShardCount=1)
    iterator = kinesis.get_shard_iterator(StreamName="clocked", ShardId="shardId-000000000000",
                                          ShardIteratorType="LATEST")["ShardIterator"]
    daemon.advance(301)
    with pytest.raises(kinesis.exceptions.ExpiredIteratorException):
        kinesis.get_records(ShardIterator=iterator)


def test_split_shard_and_list_children(kinesis):
    kinesis.create_stream(StreamName="resharded", ShardCount=1)
    kinesis.split_shard(StreamName="resharded", ShardToSplit="shardId-000000000000",
                        NewStartingHashKey=str(2**127))
    shards = kinesis.describe_stream(StreamName="resharded")["StreamDescription"]["Shards"]
    assert [s.get("ParentShardId") for s in shards] == [None, "shardId-000000000000", "shardId-000000000000"]
    assert "EndingSequenceNumber" in shards[0]["SequenceNumberRange"]


def cbor_call(daemon: ServerHandle, operation: str, body: dict[str, Any]) -> tuple[int, Any]:
    host, port = daemon.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", "/", cbor.encode(body), {"Content-Type": cbor.CONTENT_TYPE,
                                                      "X-Amz-Target": f"Kinesis_20131202.{operation}"})
        reply = conn.getresponse()
        assert reply.getheader("Content-Type") == cbor.CONTENT_TYPE
        return reply.status, cbor.decode(reply.read())
    finally:
        conn.close()


def test_cbor_round_trip_over_http(daemon, kinesis):
    kinesis.create_stream(StreamName="java", ShardCount=1)
    status, out = cbor_call(daemon, "PutRecords", {"StreamName": "java", "Records": [
        {"Data": b"\x00\x01raw", "PartitionKey": "k"}]})
    assert status == 200 and out["FailedRecordCount"] == 0
    status, out = cbor_call(daemon, "GetShardIterator", {
        "StreamName": "java", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP",
        "Timestamp": datetime.fromtimestamp(VIRTUAL_EPOCH, UTC)})
    status, out = cbor_call(daemon, "GetRecords", {"ShardIterator": out["ShardIterator"]})
    assert status == 200
    record = out["Records"][0]
    assert record["Data"] == b"\x00\x01raw" and isinstance(record["ApproximateArrivalTimestamp"], datetime)
    status, out = cbor_call(daemon, "DescribeStreamSummary", {"StreamName": "absent"})
    assert status == 400 and out["__type"] == "ResourceNotFoundException"


# -- fidelity: answers recorded against AWS, enhanced fan-out --------------------------------------


def _stream_arn(kinesis: Any, name: str) -> str:
    return str(kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"])


def test_create_stream_without_shard_count_makes_four_on_demand_shards(kinesis):
    kinesis.create_stream(StreamName="no-count")
    description = kinesis.describe_stream(StreamName="no-count")["StreamDescription"]
    assert len(description["Shards"]) == 4 and description["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    with pytest.raises(kinesis.exceptions.InvalidArgumentException):
        kinesis.create_stream(StreamName="provisioned-no-count", StreamModeDetails={"StreamMode": "PROVISIONED"})


def test_a_shard_iterator_in_quotes_is_read(kinesis):
    kinesis.create_stream(StreamName="quoted", ShardCount=1)
    kinesis.put_records(StreamName="quoted", Records=[{"Data": b"Hello world", "PartitionKey": "1"}])
    iterator = kinesis.get_shard_iterator(StreamName="quoted", ShardIteratorType="TRIM_HORIZON",
                                          ShardId="shardId-000000000000")["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=f'"{iterator}"')["Records"]] == [b"Hello world"]


def test_record_data_round_trips_including_empty(kinesis):
    kinesis.create_stream(StreamName="integrity", ShardCount=1)
    data = ["test", "ünicödé 统一码 💣💻🔥", "a" * 1000, ""]
    for item in data:
        kinesis.put_record(StreamName="integrity", Data=item, PartitionKey="1")
    assert [r["Data"] for r in read_shard(kinesis, "integrity", "shardId-000000000000")] == [d.encode() for d in data]


def test_read_burst_of_five_iterator_types_passes(kinesis):
    kinesis.create_stream(StreamName="burst", ShardCount=1)
    first = kinesis.put_record(StreamName="burst", Data=b"a", PartitionKey="k")["SequenceNumber"]
    shard = "shardId-000000000000"
    iterators = [kinesis.get_shard_iterator(StreamName="burst", ShardId=shard, **kind)["ShardIterator"] for kind in (
        {"ShardIteratorType": "TRIM_HORIZON"}, {"ShardIteratorType": "LATEST"},
        {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": first},
        {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": first},
        {"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": datetime(2015, 1, 1, tzinfo=UTC)})]
    got = [len(kinesis.get_records(ShardIterator=i)["Records"]) for i in iterators + iterators[:1]]
    assert got == [1, 0, 1, 0, 1, 1]


def test_update_shard_count_and_stream_mode(kinesis):
    kinesis.create_stream(StreamName="scaled", ShardCount=1)
    out = kinesis.update_shard_count(StreamName="scaled", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    assert (out["CurrentShardCount"], out["TargetShardCount"]) == (1, 2)
    shards = kinesis.list_shards(StreamName="scaled", ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert [s["ParentShardId"] for s in shards] == ["shardId-000000000000"] * 2
    with pytest.raises(kinesis.exceptions.InvalidArgumentException):
        kinesis.update_shard_count(StreamName="scaled", TargetShardCount=5, ScalingType="UNIFORM_SCALING")
    arn = _stream_arn(kinesis, "scaled")
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    summary = kinesis.describe_stream_summary(StreamName="scaled")["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"} and summary["OpenShardCount"] == 2
    with pytest.raises(kinesis.exceptions.ValidationException):
        kinesis.update_shard_count(StreamName="scaled", TargetShardCount=3, ScalingType="UNIFORM_SCALING")


def test_stream_consumers_register_list_describe_deregister(kinesis):
    kinesis.create_stream(StreamName="fanout", ShardCount=1)
    arn = _stream_arn(kinesis, "fanout")
    assert kinesis.list_stream_consumers(StreamARN=arn)["Consumers"] == []
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="consumer")["Consumer"]
    assert consumer["ConsumerARN"].startswith(f"{arn}/consumer/consumer:")
    [listed] = kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]
    assert set(listed) == {"ConsumerName", "ConsumerARN", "ConsumerStatus", "ConsumerCreationTimestamp"}
    assert listed["ConsumerStatus"] == "ACTIVE"
    described = kinesis.describe_stream_consumer(StreamARN=arn, ConsumerARN=consumer["ConsumerARN"])
    assert described["ConsumerDescription"] == {**listed, "StreamARN": arn}
    assert kinesis.describe_stream_consumer(StreamARN=arn, ConsumerName="consumer")["ConsumerDescription"] == {
        **listed, "StreamARN": arn}
    summary = kinesis.describe_stream_summary(StreamName="fanout")["StreamDescriptionSummary"]
    assert summary["ConsumerCount"] == 1
    with pytest.raises(kinesis.exceptions.ResourceInUseException):
        kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="consumer")
    kinesis.deregister_stream_consumer(StreamARN=arn, ConsumerName="consumer")
    assert kinesis.list_stream_consumers(StreamARN=arn)["Consumers"] == []
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])


def _collect(stream: Any, count: int, out: list[Any]) -> None:
    for entry in stream:
        out.extend(entry["SubscribeToShardEvent"]["Records"])
        if len(out) >= count:
            return


@pytest.mark.parametrize("position", [
    {"Type": "TRIM_HORIZON"},
    {"Type": "AT_TIMESTAMP", "Timestamp": datetime(2015, 1, 1, tzinfo=UTC)},
    {"Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": "<start>"},
])
def test_subscribe_to_shard_pushes_records_as_they_arrive(kinesis, position):
    import threading

    name = f"push-{position['Type'].lower()}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    arn = _stream_arn(kinesis, name)
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c1")["Consumer"]["ConsumerARN"]
    shard = kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"][0]
    if position.get("SequenceNumber") == "<start>":
        position = {**position, "SequenceNumber": shard["SequenceNumberRange"]["StartingSequenceNumber"]}
    result = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId=shard["ShardId"], StartingPosition=position)
    assert result["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/vnd.amazon.eventstream"
    records: list[Any] = []
    reader = threading.Thread(target=_collect, args=(result["EventStream"], 5, records), daemon=True)
    reader.start()
    for i in range(5):
        kinesis.put_records(StreamName=name, Records=[{"Data": f"Hello world_{i}", "PartitionKey": "1"}])
    reader.join(10)
    assert not reader.is_alive()
    result["EventStream"].close()
    assert [r["Data"] for r in records] == [f"Hello world_{i}".encode() for i in range(5)]
    assert all(set(r) >= {"SequenceNumber", "ApproximateArrivalTimestamp", "Data", "PartitionKey"} for r in records)


def test_subscribe_to_shard_errors_before_the_stream(kinesis):
    kinesis.create_stream(StreamName="sub-errors", ShardCount=1)
    arn = _stream_arn(kinesis, "sub-errors")
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.subscribe_to_shard(ConsumerARN=f"{arn}/consumer/nope:1", ShardId="shardId-000000000000",
                                   StartingPosition={"Type": "LATEST"})
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000009",
                                   StartingPosition={"Type": "LATEST"})
    first = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000000",
                                       StartingPosition={"Type": "LATEST"})
    with pytest.raises(kinesis.exceptions.ResourceInUseException):
        kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000000",
                                   StartingPosition={"Type": "LATEST"})
    first["EventStream"].close()


def test_subscription_ends_after_five_minutes_and_a_takeover_ends_the_old_one(kinesis, daemon):
    import threading

    from botocore.exceptions import EventStreamError

    kinesis.create_stream(StreamName="sub-life", ShardCount=1)
    arn = _stream_arn(kinesis, "sub-life")
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]

    def subscribe() -> Any:
        return kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000000",
                                          StartingPosition={"Type": "LATEST"})["EventStream"]

    outcome: dict[str, Any] = {}

    def drain(key: str, stream: Any) -> None:
        events = 0
        try:
            for _ in stream:
                events += 1
            outcome[key] = ("ended", events)
        except EventStreamError as error:
            outcome[key] = (error.response["Error"]["Code"], events)

    old = threading.Thread(target=drain, args=("old", subscribe()), daemon=True)
    old.start()
    daemon.advance(5)  # a heartbeat, and the 5 s after which a second call takes over
    new = threading.Thread(target=drain, args=("new", subscribe()), daemon=True)
    new.start()
    daemon.advance(5)
    old.join(10)
    assert outcome["old"][0] == "ResourceInUseException"
    for _ in range(59):  # the new subscription's five minutes pass in 5 s steps: its stream ends
        assert new.is_alive()
        daemon.advance(5)
    new.join(10)
    assert outcome["new"][0] == "ended" and outcome["new"][1] > 10  # heartbeats while nothing arrives


def test_subscribe_to_shard_in_cbor(daemon, kinesis):
    from botocore.eventstream import EventStreamBuffer

    kinesis.create_stream(StreamName="cbor-push", ShardCount=1)
    arn = _stream_arn(kinesis, "cbor-push")
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
    kinesis.put_records(StreamName="cbor-push", Records=[{"Data": b"--RECORD--", "PartitionKey": "1"}])
    body = cbor.encode({"ConsumerARN": consumer, "ShardId": "shardId-000000000000",
                        "StartingPosition": {"Type": "AT_TIMESTAMP", "Timestamp": 1420070400000}})
    conn = http.client.HTTPConnection("127.0.0.1", daemon.daemon.bound_port, timeout=10)
    conn.request("POST", "/", body, {"X-Amz-Target": "Kinesis_20131202.SubscribeToShard",
                                     "Content-Type": "application/x-amz-cbor-1.1"})
    reply = conn.getresponse()
    assert reply.status == 200 and reply.getheader("Content-Type") == "application/vnd.amazon.eventstream"
    buffer = EventStreamBuffer()
    messages = []
    while len(messages) < 2:
        buffer.add_data(reply.read1(65536))
        messages.extend(buffer)  # CRCs are checked here
    conn.close()
    initial, event = messages
    assert initial.headers[":event-type"] == "initial-response" and cbor.decode(initial.payload) == {}
    assert event.headers[":event-type"] == "SubscribeToShardEvent"
    assert event.headers[":content-type"] == "application/x-amz-cbor-1.1"
    payload = cbor.decode(event.payload)
    assert [r["Data"] for r in payload["Records"]] == [b"--RECORD--"]
    assert isinstance(payload["Records"][0]["ApproximateArrivalTimestamp"], (datetime, int, float))


def test_shard_limits_can_be_turned_off_in_the_config():
    from eventmesh.config import Config, validate_config

    assert "kinesis_shard_limits: must be true or false" in validate_config({"kinesis_shard_limits": "off"})
    handle = serve_in_thread(Config(kinesis_shard_limits=False), clock="virtual", services=["kinesis"])
    try:
        client = boto3.client("kinesis", endpoint_url=handle.url, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x")
        client.create_stream(StreamName="unlimited", ShardCount=1)
        for _ in range(3):  # 1,500 records in one second on one shard (AWS: 1,000)
            out = client.put_records(StreamName="unlimited", Records=[
                {"Data": b"x", "PartitionKey": str(i)} for i in range(500)])
            assert out["FailedRecordCount"] == 0
        iterator = client.get_shard_iterator(StreamName="unlimited", ShardId="shardId-000000000000",
                                             ShardIteratorType="LATEST")["ShardIterator"]
        for _ in range(20):
            iterator = client.get_records(ShardIterator=iterator)["NextShardIterator"]
    finally:
        handle.stop()


def test_every_next_shard_iterator_is_new(kinesis):
    kinesis.create_stream(StreamName="iterators")
    shard = kinesis.describe_stream(StreamName="iterators")["StreamDescription"]["Shards"][0]["ShardId"]
    first = kinesis.get_shard_iterator(StreamName="iterators", ShardIteratorType="LATEST",
                                       ShardId=shard)["ShardIterator"]
    second = kinesis.get_records(ShardIterator=first)["NextShardIterator"]  # same virtual millisecond
    third = kinesis.get_records(ShardIterator=second)["NextShardIterator"]
    assert len({first, second, third}) == 3
