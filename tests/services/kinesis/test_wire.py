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
from eventmesh.daemon import ServerHandle, serve_in_thread
from eventmesh.wire.protocols import cbor


@pytest.fixture(scope="module")
def daemon() -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual", services=["kinesis"])
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
