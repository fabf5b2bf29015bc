"""Enhanced monitoring and server-side encryption over the wire (boto3 against the daemon), as
Terraform's ``aws_kinesis_stream`` sets them (``shard_level_metrics``, ``encryption_type``,
``kms_key_id``) and reads them back from DescribeStreamSummary.
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_EnableEnhancedMonitoring.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_StartStreamEncryption.html"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from eventmesh.services.kinesis.settings import SHARD_LEVEL_METRICS


def summary(kinesis: Any, name: str) -> dict[str, Any]:
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]


def test_enhanced_monitoring_answers_before_and_after_and_describes_the_metrics(kinesis):
    kinesis.create_stream(StreamName="metered", ShardCount=1)
    assert summary(kinesis, "metered")["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]
    out = kinesis.enable_enhanced_monitoring(StreamName="metered",
                                             ShardLevelMetrics=["OutgoingBytes", "IncomingBytes"])
    assert out["CurrentShardLevelMetrics"] == []
    assert out["DesiredShardLevelMetrics"] == ["IncomingBytes", "OutgoingBytes"]
    assert out["StreamName"] == "metered" and out["StreamARN"].endswith(":stream/metered")
    described = kinesis.describe_stream(StreamName="metered")["StreamDescription"]["EnhancedMonitoring"]
    assert described == [{"ShardLevelMetrics": ["IncomingBytes", "OutgoingBytes"]}]
    out = kinesis.enable_enhanced_monitoring(StreamName="metered", ShardLevelMetrics=["ALL"])
    assert out["DesiredShardLevelMetrics"] == list(SHARD_LEVEL_METRICS)
    out = kinesis.disable_enhanced_monitoring(StreamName="metered", ShardLevelMetrics=["IncomingBytes"])
    assert "IncomingBytes" in out["CurrentShardLevelMetrics"]
    assert "IncomingBytes" not in out["DesiredShardLevelMetrics"] and len(out["DesiredShardLevelMetrics"]) == 6
    kinesis.disable_enhanced_monitoring(StreamName="metered", ShardLevelMetrics=["ALL"])
    assert summary(kinesis, "metered")["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]


def test_an_unknown_metric_is_refused_in_the_models_words(kinesis):
    kinesis.create_stream(StreamName="strict", ShardCount=1)
    with pytest.raises(ClientError) as caught:
        kinesis.enable_enhanced_monitoring(StreamName="strict", ShardLevelMetrics=["Latency"])
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "enum value set" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        kinesis.enable_enhanced_monitoring(StreamName="absent", ShardLevelMetrics=["ALL"])
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_encryption_starts_and_stops_and_records_carry_it(kinesis):
    kinesis.create_stream(StreamName="secret", ShardCount=1)
    assert summary(kinesis, "secret")["EncryptionType"] == "NONE" and "KeyId" not in summary(kinesis, "secret")
    kinesis.start_stream_encryption(StreamName="secret", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    described = summary(kinesis, "secret")
    assert (described["EncryptionType"], described["KeyId"]) == ("KMS", "alias/aws/kinesis")
    kinesis.put_record(StreamName="secret", Data=b"x", PartitionKey="p")
    shard = kinesis.list_shards(StreamName="secret")["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName="secret", ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["EncryptionType"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == ["KMS"]
    kinesis.stop_stream_encryption(StreamName="secret", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    assert summary(kinesis, "secret")["EncryptionType"] == "NONE" and "KeyId" not in summary(kinesis, "secret")
    with pytest.raises(ClientError) as caught:
        kinesis.start_stream_encryption(StreamName="secret", EncryptionType="NONE", KeyId="k")
    assert caught.value.response["Error"]["Code"] == "InvalidArgumentException"


def test_the_largest_record_a_stream_takes_can_be_raised(kinesis):
    kinesis.create_stream(StreamName="big", ShardCount=1)
    arn = summary(kinesis, "big")["StreamARN"]
    record = b"x" * (1024 * 1024 + 1)
    with pytest.raises(ClientError):
        kinesis.put_record(StreamName="big", Data=record, PartitionKey="k")
    kinesis.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=2048)
    assert summary(kinesis, "big")["MaxRecordSizeInKiB"] == 2048
    assert kinesis.put_record(StreamName="big", Data=record, PartitionKey="k")["ShardId"] == "shardId-000000000000"
    with pytest.raises(ClientError) as caught:
        kinesis.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=20480)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
