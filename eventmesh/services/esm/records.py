"""The payloads an event source mapping hands to Lambda and to its on-failure destination.

Every shape is a ``msgspec.Struct`` and a batch is encoded once (``encode_event``): the records
of one invocation are built as Structs and serialised in one call. Values that are the same for
every record of a mapping (source ARN, region, role) are plain strings shared by reference.
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html
https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
"""

from __future__ import annotations

from typing import Any

import msgspec

from eventmesh.services.lambda_.records import iso_millis

__all__ = [
    "KinesisBatchInfo",
    "KinesisData",
    "KinesisEventEncoder",
    "KinesisRecord",
    "OnFailureRecord",
    "SqsEventEncoder",
    "SqsMessageAttribute",
    "SqsRecord",
    "encode_event",
    "iso_millis",
]


class SqsMessageAttribute(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One entry of an SQS record's ``messageAttributes`` (lower camel case, list fields always [])."""

    stringValue: str | None = None
    binaryValue: bytes | None = None
    stringListValues: list[str]
    binaryListValues: list[bytes]
    dataType: str


class SqsRecord(msgspec.Struct, omit_defaults=True):
    """One SQS message in a Lambda event. Attribute values are strings, times epoch ms;
    ``md5OfMessageAttributes`` is left out when the message has no attributes, as AWS does."""

    messageId: str
    receiptHandle: str
    body: str
    attributes: dict[str, str]
    messageAttributes: dict[str, SqsMessageAttribute]
    md5OfBody: str
    eventSource: str
    eventSourceARN: str
    awsRegion: str
    md5OfMessageAttributes: str | None = None


class KinesisData(msgspec.Struct, gc=False):
    """The ``kinesis`` member of a Kinesis record: ``data`` base64, arrival epoch seconds."""

    kinesisSchemaVersion: str
    partitionKey: str
    sequenceNumber: str
    data: bytes
    approximateArrivalTimestamp: float


class KinesisRecord(msgspec.Struct, gc=False):
    """One Kinesis record in a Lambda event. ``gc=False``: it holds only strings and a
    ``gc=False`` KinesisData, so it cannot be part of a cycle (and the collector skips it)."""

    kinesis: KinesisData
    eventSource: str
    eventVersion: str
    eventID: str
    eventName: str
    invokeIdentityArn: str
    awsRegion: str
    eventSourceARN: str


class KinesisBatchInfo(msgspec.Struct):
    """The dropped batch, as the on-failure record describes it."""

    shardId: str
    startSequenceNumber: str
    endSequenceNumber: str
    approximateArrivalOfFirstRecord: str
    approximateArrivalOfLastRecord: str
    batchSize: int
    streamArn: str


_BatchInfo = KinesisBatchInfo   # the member below shadows the class name inside the Struct


class _RequestContext(msgspec.Struct):
    requestId: str
    functionArn: str
    condition: str
    approximateInvokeCount: int


class _ResponseContext(msgspec.Struct):
    statusCode: int
    executedVersion: str
    functionError: str | None


class OnFailureRecord(msgspec.Struct, omit_defaults=True):
    """What a stream mapping sends to its on-failure destination. ``responseContext`` is
    absent for ``RecordAgeExceeded``; the records themselves are not included."""

    requestContext: _RequestContext
    version: str
    timestamp: str
    KinesisBatchInfo: _BatchInfo
    responseContext: _ResponseContext | None = None

    @classmethod
    def build(cls, *, request_id: str, function_arn: str, condition: str, invoke_count: int,
              now: float, batch: _BatchInfo, function_error: str | None = None,
              executed_version: str | None = None) -> OnFailureRecord:
        response = None
        if executed_version is not None:
            response = _ResponseContext(200, executed_version, function_error)
        return cls(_RequestContext(request_id, function_arn, condition, invoke_count), "1.0",
                   iso_millis(now), batch, response)


class _Event(msgspec.Struct):
    Records: list[Any]


_encoder = msgspec.json.Encoder()


def encode_event(records: list[Any]) -> bytes:
    """``{"Records": [...]}`` as bytes, in one encode."""
    return _encoder.encode(_Event(records))


def encode(value: Any) -> bytes:
    return _encoder.encode(value)



class _KinesisDataTagged(msgspec.Struct, gc=False, tag_field="kinesisSchemaVersion", tag="1.0"):
    """:class:`KinesisData` with the constant schema version as msgspec's tag (encoded first,
    as the reference shape's first member): one argument fewer to pass per record."""

    partitionKey: str
    sequenceNumber: str
    data: bytes
    approximateArrivalTimestamp: float


class _KinesisRecordHead(msgspec.Struct, gc=False):
    """The varying head of a :class:`KinesisRecord`. ``eventSource`` carries its constant value
    and the whole ``"eventVersion"`` member (:data:`_SOURCE_AND_VERSION`); ``eventName`` carries the
    mapping's constant members, pre-encoded (see :class:`KinesisEventEncoder`)."""

    kinesis: _KinesisDataTagged
    eventSource: msgspec.Raw
    eventID: str
    eventName: msgspec.Raw


_SOURCE_AND_VERSION = msgspec.Raw(b'"aws:kinesis","eventVersion":"1.0"')


_KEEP_BUFFER_BYTES = 1 << 20   # a larger encode buffer is dropped rather than kept per mapping


class KinesisEventEncoder:
    """Encodes a Kinesis event byte for byte as ``encode_event([KinesisRecord(...)])`` does.

    The members after ``eventID`` are the same for every record of a mapping (name, role, region,
    stream ARN), so they are encoded once into a ``msgspec.Raw`` that carries the rest of the
    record's members; the constant ``eventSource`` and ``eventVersion`` share one ``Raw`` the same
    way: 4 fields to build and encode per record instead of 8. ``KinesisRecord`` stays the
    reference shape; a test checks both encodings are equal.
    """

    __slots__ = ("_buffer", "_tail")

    def __init__(self, stream_arn: str, region: str, role: str) -> None:
        enc = _encoder.encode
        self._tail = msgspec.Raw(b'"aws:kinesis:record","invokeIdentityArn":' + enc(role)
                                 + b',"awsRegion":' + enc(region) + b',"eventSourceARN":' + enc(stream_arn))
        self._buffer = bytearray()

    def encode(self, event_id_prefix: str, records: list[Any]) -> bytes:
        """``records`` are ``kinesis.shards.StreamRecord``; ``event_id_prefix`` is ``<shardId>:``."""
        tail = self._tail
        source = _SOURCE_AND_VERSION
        # One comprehension (no append call per record); ``seq`` is bound inside the inner
        # constructor's arguments, which are evaluated before ``event_id_prefix + seq``.
        event = _Event([
            _KinesisRecordHead(_KinesisDataTagged(r.partition_key, seq := str(r.sequence_number), r.data,
                                                  r.approximate_arrival_at),
                               source, event_id_prefix + seq, tail)
            for r in records])
        # Encoded into a buffer kept between batches, then copied once: ``encode`` would grow its
        # output from a few bytes by repeated reallocs, each a copy while other payloads are live.
        buffer = self._buffer
        _encoder.encode_into(event, buffer)
        payload = bytes(buffer)
        if len(buffer) > _KEEP_BUFFER_BYTES:
            self._buffer = bytearray()
        return payload


class _SqsRecordHead(msgspec.Struct, gc=False):
    """The varying head of an :class:`SqsRecord` of a plain message (no message attributes, no
    trace header, standard queue). ``attributes`` carries the four attributes and the empty
    ``messageAttributes`` member, pre-encoded (the same for every message of a batch but for
    re-received ones); ``eventSource`` carries its constant value and the members after it (see
    :class:`SqsEventEncoder`)."""

    messageId: str
    receiptHandle: str
    body: str
    attributes: msgspec.Raw
    md5OfBody: str
    eventSource: msgspec.Raw


class SqsEventEncoder:
    """Encodes an SQS event of plain messages byte for byte as ``encode_event([SqsRecord(...)])``
    does: the members from ``eventSource`` on are the same for every record of a queue (source,
    ARN, region; no attributes digest), encoded once into a ``msgspec.Raw``; the ``attributes``
    object (and the empty ``messageAttributes`` after it) is encoded once per distinct receive
    count, sent and first-receive time, which the messages of one received batch mostly share.
    ``SqsRecord`` stays the reference shape; a test checks both are equal."""

    __slots__ = ("_attributes", "_tail")

    def __init__(self, queue_arn: str, region: str, sender_id: str) -> None:
        enc = _encoder.encode
        # No md5OfMessageAttributes member: AWS leaves it out of a record without attributes.
        self._tail = msgspec.Raw(b'"aws:sqs","eventSourceARN":' + enc(queue_arn) + b',"awsRegion":' + enc(region))
        self._attributes = (b'{"ApproximateReceiveCount":"%d","SentTimestamp":"%d","SenderId":'
                            + enc(sender_id).replace(b"%", b"%%")
                            + b',"ApproximateFirstReceiveTimestamp":"%d"},"messageAttributes":{}')

    def encode(self, messages: list[Any], handles: list[str], digests: list[str]) -> bytes:
        """``messages``: the queue's ``Message`` records, with their receipt handles and the MD5
        digests of their bodies."""
        tail, head, template = self._tail, _SqsRecordHead, self._attributes
        key: tuple[int, float, float] | None = None
        attributes = tail
        records = []
        for m, handle, digest in zip(messages, handles, digests, strict=True):
            if (m.receive_count, m.sent, m.first_receive) != key:
                key = count, sent, first = m.receive_count, m.sent, m.first_receive
                attributes = msgspec.Raw(template % (count, int(sent * 1000), int(first * 1000)))
            records.append(head(m.id, handle, m.body, attributes, digest, tail))
        return _encoder.encode(_Event(records))
