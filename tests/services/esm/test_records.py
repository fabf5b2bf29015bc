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
    from eventmesh.services.sqs.message import Message

    arn = 'arn:aws:sqs:us-east-1:000000000000:q"x"'
    # a batch whose messages share their times and counts, but for a re-received one and one sent later
    messages = [Message(f"id-{i}", f'{{"n": {i}, "s": "é\\""}}', None, None, 1_700_000_000.1234 + (i == 3),
                        1_700_000_000.1234, 10, receive_count=1 + (i == 2) * 16, first_receive=1_700_000_000.4567)
                for i in range(5)]
    handles, digests = [f"AQEB{i:x}" for i in range(5)], [f"{i:032x}" for i in range(5)]
    reference = encode_event([
        SqsRecord(m.id, h, m.body, {"ApproximateReceiveCount": str(m.receive_count),
                                    "SentTimestamp": str(int(m.sent * 1000)), "SenderId": "0000%d0000",
                                    "ApproximateFirstReceiveTimestamp": str(int(m.first_receive * 1000))},
                  {}, d, "aws:sqs", arn, "eu-west-1")
        for m, h, d in zip(messages, handles, digests, strict=True)])
    fast = SqsEventEncoder(arn, "eu-west-1", "0000%d0000").encode(messages, handles, digests)
    assert fast == reference
    decoded = msgspec.json.decode(fast)["Records"]
    assert decoded[3]["eventSourceARN"] == arn and decoded[2]["attributes"]["ApproximateReceiveCount"] == "17"
