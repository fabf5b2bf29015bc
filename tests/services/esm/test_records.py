"""Lambda event shapes: the fast Kinesis encoder writes exactly the reference Struct encoding."""

from __future__ import annotations

import msgspec

from eventmesh.services.esm.records import (
    KinesisData,
    KinesisEventEncoder,
    KinesisRecord,
    SqsEventEncoder,
    SqsRecord,
    encode_event,
)
from eventmesh.services.kinesis.shards import StreamRecord


def test_kinesis_event_encoder_matches_the_reference_shape_byte_for_byte():
    arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s"
    role = 'arn:aws:iam::000000000000:role/r"quoted"'
    records = [StreamRecord(49 * 10**54 + i, bytes([i]) * i, f'key-{i}-"é"', 1_700_000_000.1 + i / 1000)
               for i in range(5)]
    reference = encode_event([
        KinesisRecord(KinesisData("1.0", r.partition_key, str(r.sequence_number), r.data,
                                  r.approximate_arrival_at),
                      "aws:kinesis", "1.0", f"shardId-000000000003:{r.sequence_number}", "aws:kinesis:record",
                      role, "eu-west-1", arn) for r in records])
    fast = KinesisEventEncoder(arn, "eu-west-1", role).encode("shardId-000000000003:", records)
    assert fast == reference
    assert msgspec.json.decode(fast)["Records"][4]["invokeIdentityArn"] == role


def test_an_sqs_record_without_message_attributes_has_no_md5_of_them():
    """AWS leaves ``md5OfMessageAttributes`` out of a record without attributes (not null)."""
    from eventmesh.services.esm.records import SqsMessageAttribute, SqsRecord

    plain = SqsRecord("id", "rh", "body", {}, {}, "md5", "aws:sqs", "arn", "us-east-1")
    assert "md5OfMessageAttributes" not in msgspec.json.decode(encode_event([plain]))["Records"][0]
    with_attrs = SqsRecord("id", "rh", "body", {}, {"a": SqsMessageAttribute(
        stringValue="v", stringListValues=[], binaryListValues=[], dataType="String")}, "md5", "aws:sqs", "arn",
        "us-east-1", "abc")
    assert msgspec.json.decode(encode_event([with_attrs]))["Records"][0]["md5OfMessageAttributes"] == "abc"


def test_sqs_event_encoder_matches_the_reference_shape_byte_for_byte():
    arn = 'arn:aws:sqs:us-east-1:000000000000:q"x"'
    heads = [(f"id-{i}", f"AQEB{i:x}", f'{{"n": {i}, "s": "é\\""}}', str(i + 1), "1700000000123", "000000000000",
              "1700000000456", f"{i:032x}") for i in range(4)]
    reference = encode_event([
        SqsRecord(i, h, b, {"ApproximateReceiveCount": c, "SentTimestamp": s, "SenderId": a,
                            "ApproximateFirstReceiveTimestamp": f}, {}, m, "aws:sqs", arn, "eu-west-1")
        for i, h, b, c, s, a, f, m in heads])
    fast = SqsEventEncoder(arn, "eu-west-1").encode(heads)
    assert fast == reference
    assert msgspec.json.decode(fast)["Records"][3]["eventSourceARN"] == arn
