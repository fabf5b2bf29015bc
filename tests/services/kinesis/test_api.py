"""The Kinesis adapter in process: model-shaped requests in, model-shaped results out, over the
router's JSON 1.1 and CBOR encodings."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from eventmesh.clock import VIRTUAL_EPOCH
from eventmesh.errors import ValidationException
from eventmesh.services import adapters
from eventmesh.services.kinesis.errors import (
    ExpiredNextTokenException,
    InvalidArgumentException,
    ResourceNotFoundException,
)
from eventmesh.testing import virtual_mesh
from eventmesh.wire.protocols import cbor
from eventmesh.wire.router import Api, Request

TARGET = "Kinesis_20131202."


@pytest.fixture
def env():
    mesh, driver = virtual_mesh()
    api = Api(mesh, adapters(["kinesis"]))
    return api, driver


def call(api: Api, operation: str, **params: Any) -> Any:
    return msgspec.to_builtins(api.call("kinesis", operation, params), builtin_types=(bytes, datetime))


def wire(api: Api, operation: str, body: bytes, content_type: str) -> tuple[int, bytes]:
    headers = {"x-amz-target": TARGET + operation, "content-type": content_type}
    request = Request("POST", "/", "", headers, body)
    status, _, payload = api.handle(request)  # type: ignore[misc]
    return status, payload


def test_put_records_then_get_records_across_shards(env):
    api, _ = env
    call(api, "CreateStream", StreamName="s", ShardCount=4)
    out = call(api, "PutRecords", StreamName="s",
               Records=[{"Data": f"r{i}".encode(), "PartitionKey": f"k{i}"} for i in range(20)])
    assert out["FailedRecordCount"] == 0 and len(out["Records"]) == 20
    assert out["EncryptionType"] == "NONE"
    shards = {r["ShardId"] for r in out["Records"]}
    assert len(shards) > 1
    got = []
    for shard in call(api, "ListShards", StreamName="s")["Shards"]:
        iterator = call(api, "GetShardIterator", StreamName="s", ShardId=shard["ShardId"],
                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records = call(api, "GetRecords", ShardIterator=iterator)["Records"]
        got += [(r["Data"], r["SequenceNumber"]) for r in records]
    assert sorted(d for d, _ in got) == sorted(f"r{i}".encode() for i in range(20))
    assert {s for _, s in got} == {r["SequenceNumber"] for r in out["Records"]}


def test_put_record_returns_shard_and_sequence_number_as_text(env):
    api, _ = env
    call(api, "CreateStream", StreamName="s", ShardCount=1)
    out = call(api, "PutRecord", StreamName="s", Data=b"x", PartitionKey="k")
    assert out["ShardId"] == "shardId-000000000000"
    assert len(out["SequenceNumber"]) == 56 and out["EncryptionType"] == "NONE"


def test_put_records_validation_error_names_the_member_as_aws_does(env):
    api, _ = env
    call(api, "CreateStream", StreamName="s", ShardCount=1)
    with pytest.raises(ValidationException, match="Value '' at 'records.1.member.partitionKey' failed to "
                                                  "satisfy constraint: Member must have length greater than"):
        call(api, "PutRecords", StreamName="s", Records=[{"Data": b"x", "PartitionKey": ""}])
    with pytest.raises(ValidationException, match="length less than or equal to 500"):
        call(api, "PutRecords", StreamName="s", Records=[{"Data": b"x", "PartitionKey": "k"}] * 501)


def test_throttled_records_carry_error_code_and_message(env):
    api, _ = env
    call(api, "CreateStream", StreamName="s", ShardCount=1)
    records = [{"Data": b"x", "PartitionKey": "k"}] * 500
    call(api, "PutRecords", StreamName="s", Records=records)
    call(api, "PutRecords", StreamName="s", Records=records)
    out = call(api, "PutRecords", StreamName="s", Records=records[:2])
    assert out["FailedRecordCount"] == 2
    assert out["Records"][0] == {
        "ErrorCode": "ProvisionedThroughputExceededException",
        "ErrorMessage": "Rate exceeded for shard shardId-000000000000 in stream s under account "
                        "000000000000."}


def test_describe_stream_and_summary(env):
    api, _ = env
    call(api, "CreateStream", StreamName="s", ShardCount=3)
    description = call(api, "DescribeStream", StreamName="s", Limit=2)["StreamDescription"]
    assert description["StreamStatus"] == "ACTIVE" and description["HasMoreShards"] is True
    assert [s["ShardId"] for s in description["Shards"]] == ["shardId-000000000000", "shardId-000000000001"]
    assert description["Shards"][0]["HashKeyRange"]["StartingHashKey"] == "0"
    assert description["StreamCreationTimestamp"] == VIRTUAL_EPOCH
    summary = call(api, "DescribeStreamSummary", StreamARN=description["StreamARN"])
    summary = summary["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 3 and summary["RetentionPeriodHours"] == 24
    assert summary["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}


def test_unknown_stream_is_not_found_with_aws_text(env):
    api, _ = env
    with pytest.raises(ResourceNotFoundException, match="Stream nope under account 000000000000 not found."):
        call(api, "DescribeStreamSummary", StreamName="nope")


def test_list_streams_pages_by_name(env):
    api, _ = env
    for name in ("c", "a", "b"):
        call(api, "CreateStream", StreamName=name, ShardCount=1)
    first = call(api, "ListStreams", Limit=2)
    assert first["StreamNames"] == ["a", "b"] and first["HasMoreStreams"] is True
    rest = call(api, "ListStreams", NextToken=first["NextToken"])
    assert rest["StreamNames"] == ["c"] and rest["HasMoreStreams"] is False
    assert rest["StreamSummaries"][0]["StreamARN"].endswith(":stream/c")


def test_list_shards_pages_with_a_token_that_expires(env):
    api, driver = env
    call(api, "CreateStream", StreamName="s", ShardCount=5)
    first = call(api, "ListShards", StreamName="s", MaxResults=2)
    assert [s["ShardId"][-1] for s in first["Shards"]] == ["0", "1"]
    second = call(api, "ListShards", NextToken=first["NextToken"], MaxResults=2)
    assert [s["ShardId"][-1] for s in second["Shards"]] == ["2", "3"]
    with pytest.raises(InvalidArgumentException):
        call(api, "ListShards", StreamName="s", NextToken=first["NextToken"])
    driver.advance(301)
    with pytest.raises(ExpiredNextTokenException):
        call(api, "ListShards", NextToken=second["NextToken"])


def test_split_then_read_parent_to_its_end_gives_child_shards(env):
    api, _ = env
    call(api, "CreateStream", StreamName="s", ShardCount=1)
    call(api, "PutRecord", StreamName="s", Data=b"a", PartitionKey="k")
    iterator = call(api, "GetShardIterator", StreamName="s", ShardId="shardId-000000000000",
                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    call(api, "SplitShard", StreamName="s", ShardToSplit="shardId-000000000000",
         NewStartingHashKey=str(2**127))
    out = call(api, "GetRecords", ShardIterator=iterator)
    assert [r["Data"] for r in out["Records"]] == [b"a"]
    assert "NextShardIterator" not in out
    assert [c["ShardId"] for c in out["ChildShards"]] == ["shardId-000000000001", "shardId-000000000002"]
    assert out["ChildShards"][0]["ParentShards"] == ["shardId-000000000000"]
    closed = call(api, "DescribeStream", StreamName="s")["StreamDescription"]["Shards"][0]
    assert "EndingSequenceNumber" in closed["SequenceNumberRange"]


def test_retention_changes_through_the_api(env):
    api, _ = env
    call(api, "CreateStream", StreamName="s", ShardCount=1)
    call(api, "IncreaseStreamRetentionPeriod", StreamName="s", RetentionPeriodHours=168)
    summary = call(api, "DescribeStreamSummary", StreamName="s")["StreamDescriptionSummary"]
    assert summary["RetentionPeriodHours"] == 168
    with pytest.raises(InvalidArgumentException, match="can not be longer"):
        call(api, "DecreaseStreamRetentionPeriod", StreamName="s", RetentionPeriodHours=200)


def test_json_wire_base64_blobs_and_float_timestamps(env):
    api, _ = env
    call(api, "CreateStream", StreamName="s", ShardCount=1)
    body = msgspec.json.encode({"StreamName": "s", "Records": [{"Data": base64.b64encode(b"\x00hi").decode(),
                                                                "PartitionKey": "k"}]})
    status, _ = wire(api, "PutRecords", body, "application/x-amz-json-1.1")
    assert status == 200
    iterator = call(api, "GetShardIterator", StreamName="s", ShardId="shardId-000000000000",
                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    status, payload = wire(api, "GetRecords", msgspec.json.encode({"ShardIterator": iterator}),
                           "application/x-amz-json-1.1")
    record = msgspec.json.decode(payload)["Records"][0]
    assert record["Data"] == base64.b64encode(b"\x00hi").decode()
    assert record["ApproximateArrivalTimestamp"] == VIRTUAL_EPOCH


def test_cbor_wire_raw_blobs_and_millisecond_timestamps(env):
    api, driver = env
    call(api, "CreateStream", StreamName="s", ShardCount=1)
    driver.advance(0.25)
    kind = cbor.CONTENT_TYPE
    body = cbor.encode({"StreamName": "s", "Records": [{"Data": b"\x00hi", "PartitionKey": "k"}]})
    status, payload = wire(api, "PutRecords", body, kind)
    assert status == 200 and cbor.decode(payload)["FailedRecordCount"] == 0
    # AT_TIMESTAMP as the Java SDK sends it: tag 1 + epoch milliseconds.
    at = datetime.fromtimestamp(VIRTUAL_EPOCH, UTC)
    body = cbor.encode({"StreamName": "s", "ShardId": "shardId-000000000000",
                        "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": at})
    status, payload = wire(api, "GetShardIterator", body, kind)
    iterator = cbor.decode(payload)["ShardIterator"]
    status, payload = wire(api, "GetRecords", cbor.encode({"ShardIterator": iterator}), kind)
    raw = payload
    record = cbor.decode(raw)["Records"][0]
    assert record["Data"] == b"\x00hi"
    assert record["ApproximateArrivalTimestamp"] == datetime.fromtimestamp(VIRTUAL_EPOCH + 0.25, UTC)
    assert bytes.fromhex("c11b") + int((VIRTUAL_EPOCH + 0.25) * 1000).to_bytes(8, "big") in raw


def test_cbor_errors_are_cbor_documents(env):
    api, _ = env
    body = cbor.encode({"StreamName": "nope"})
    status, payload = wire(api, "DescribeStreamSummary", body, cbor.CONTENT_TYPE)
    assert status == 400
    assert cbor.decode(payload) == {"__type": "ResourceNotFoundException",
                                    "message": "Stream nope under account 000000000000 not found."}
