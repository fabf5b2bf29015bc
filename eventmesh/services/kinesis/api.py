"""Kinesis Data Streams over AWS JSON 1.1 and CBOR (``X-Amz-Target: Kinesis_20131202.<Operation>``):
adapters only.

Each handler turns the request (the botocore ``kinesis`` model's JSON shape, blobs as bytes)
into calls on ``eventmesh.services.kinesis.stream`` and the results into the model's output shape.
Sequence numbers become decimal strings here and only here. Timestamps go out as epoch seconds
(float) in JSON and as ``datetime`` in CBOR, which the CBOR codec writes as tag 1 + epoch ms, the
AWS SDK for Java's reading; they come in as float seconds (JSON), as
``datetime`` (CBOR tag 1) or as untagged epoch ms (CBOR). PutRecords skips the generic model
walk: one ``msgspec.convert`` checks and types the batch, and only a failing request goes
through the model walk to get AWS's exact validation message.
https://docs.aws.amazon.com/kinesis/latest/APIReference/Welcome.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_CreateStream.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_DescribeStreamSummary.html
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from eventmesh.quotas import quota_value
from eventmesh.services.kinesis import consumers, scaling, settings, tagging
from eventmesh.services.kinesis.errors import (
    InvalidArgumentException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from eventmesh.services.kinesis.service import create_stream, delete_stream, find_stream, get_records, list_streams
from eventmesh.services.kinesis.shards import (
    ListShardsToken,
    Shard,
    StreamRecord,
    decode_list_shards_token,
    encode_list_shards_token,
    shard_index,
)
from eventmesh.services.kinesis.stream import (
    MAX_RECORD_DATA_BYTES,
    ON_DEMAND_STREAMS_QUOTA,
    SHARDS_QUOTA,
    PutRecordsRequestEntry,
    Stream,
)
from eventmesh.wire.limits import BASE64_EXPANSION, request_bytes
from eventmesh.wire.service import RequestContext, Service
from eventmesh.wire.streaming import EventStream

__all__ = ["service"]

# The largest record a stream can be set to take (PutRecords: 5 MiB), base64 in JSON.
service = Service("kinesis", max_request_bytes=request_bytes(MAX_RECORD_DATA_BYTES, BASE64_EXPANSION))

DEFAULT_DESCRIBE_STREAM_LIMIT = 100   # DescribeStream Limit default
DEFAULT_LIST_SHARDS_LIMIT = 1_000     # ListShards MaxResults default
DEFAULT_LIST_STREAMS_LIMIT = 100      # ListStreams Limit default
_NAME = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9_.-]+$")]
_STREAM_ID = Annotated[str, msgspec.Meta(min_length=1, max_length=24, pattern=r"[a-z0-9]{20}-[a-z0-9]{3}")]
_STREAM_ARN = Annotated[str, msgspec.Meta(min_length=1, max_length=2048,
                                          pattern=r"arn:aws.*:kinesis:.*:\d{12}:stream/\S+")]


class PutRecordsInput(msgspec.Struct):
    """``PutRecordsInput`` with the model's constraints (1–500 records), for the fast path."""

    Records: Annotated[list[PutRecordsRequestEntry], msgspec.Meta(min_length=1, max_length=500)]
    StreamName: _NAME | None = None
    StreamARN: _STREAM_ARN | None = None
    StreamId: _STREAM_ID | None = None
    DryRun: bool | None = None


class Record(msgspec.Struct):
    """``Record`` as GetRecords returns it; ``Data`` is base64 in JSON, a byte string in CBOR."""

    SequenceNumber: str
    ApproximateArrivalTimestamp: float | datetime
    Data: bytes
    PartitionKey: str
    EncryptionType: str


class PutRecordsResultEntry(msgspec.Struct, omit_defaults=True):
    """``PutRecordsResultEntry``: a sequence number and shard, or an error code and message."""

    SequenceNumber: str | None = None
    ShardId: str | None = None
    ErrorCode: str | None = None
    ErrorMessage: str | None = None


# -- helpers ---------------------------------------------------------------------------------------

def _stream(ctx: RequestContext, params: dict[str, Any]) -> Stream:
    return find_stream(ctx.mesh, params.get("StreamName"), params.get("StreamARN"),
                       region=ctx.region, account_id=ctx.account_id)


def _time_out(ctx: RequestContext, seconds: float) -> float | datetime:
    """A timestamp for the response: float seconds (JSON) or a datetime (CBOR tag 1, ms)."""
    return datetime.fromtimestamp(seconds, UTC) if ctx.protocol == "cbor" else seconds


def _time_in(ctx: RequestContext, value: Any) -> float | None:
    """A request timestamp as epoch seconds (CBOR numbers without a tag are epoch ms)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value) / 1000 if ctx.protocol == "cbor" else float(value)


def _shard(shard: Shard) -> dict[str, Any]:
    """The ``Shard`` shape."""
    out: dict[str, Any] = {"ShardId": shard.shard_id}
    if shard.parent_shard_id:
        out["ParentShardId"] = shard.parent_shard_id
    if shard.adjacent_parent_shard_id:
        out["AdjacentParentShardId"] = shard.adjacent_parent_shard_id
    out["HashKeyRange"] = _hash_range(shard)
    sequence_range = {"StartingSequenceNumber": str(shard.starting_sequence_number)}
    if shard.ending_sequence_number is not None:
        sequence_range["EndingSequenceNumber"] = str(shard.ending_sequence_number)
    out["SequenceNumberRange"] = sequence_range
    return out


def _hash_range(shard: Shard) -> dict[str, str]:
    return {"StartingHashKey": str(shard.hash_key_start), "EndingHashKey": str(shard.hash_key_end)}


def _mode(stream: Stream) -> dict[str, str]:
    return {"StreamMode": stream.mode}


def _settings(stream: Stream) -> dict[str, Any]:
    """What DescribeStream and DescribeStreamSummary say of monitoring and encryption."""
    out: dict[str, Any] = {"EnhancedMonitoring": [{"ShardLevelMetrics": settings.shard_level_metrics(stream)}],
                           "EncryptionType": stream.encryption_type}
    if stream.key_id is not None:
        out["KeyId"] = stream.key_id
    return out


def _after(shards: list[Shard], exclusive_start: str | None) -> list[Shard]:
    if not exclusive_start:
        return shards
    start = shard_index(exclusive_start)
    return [s for s in shards if s.index > start]


@functools.cache
def _input_shape(operation: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("kinesis").operation_model(operation).input_shape


# -- streams ---------------------------------------------------------------------------------------

@service.operation("CreateStream")
def create(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    mode = (params.get("StreamModeDetails") or {}).get("StreamMode")
    options: dict[str, Any] = {}
    if params.get("Tags"):
        tagging.check_tags({}, params["Tags"], f"stream {params['StreamName']}")
        options["tags"] = params["Tags"]
    if params.get("MaxRecordSizeInKiB"):
        options["max_record_size_kib"] = params["MaxRecordSizeInKiB"]
    create_stream(ctx.mesh, params["StreamName"], params.get("ShardCount"), mode=mode, region=ctx.region,
                  account_id=ctx.account_id, **options)
    return {}


@service.operation("DeleteStream")
def delete(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    delete_stream(ctx.mesh, _stream(ctx, params))
    return {}


@service.operation("DescribeStream")
def describe(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    stream = _stream(ctx, params)
    shards = _after(stream.visible_shards(), params.get("ExclusiveStartShardId"))
    limit = params.get("Limit") or DEFAULT_DESCRIBE_STREAM_LIMIT
    return {"StreamDescription": {
        "StreamName": stream.name, "StreamARN": stream.arn, "StreamStatus": stream.status,
        "StreamModeDetails": _mode(stream), "Shards": [_shard(s) for s in shards[:limit]],
        "HasMoreShards": len(shards) > limit, "RetentionPeriodHours": stream.retention_hours,
        "StreamCreationTimestamp": _time_out(ctx, stream.created_at), **_settings(stream),
    }}


@service.operation("DescribeStreamSummary")
def describe_summary(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    stream = _stream(ctx, params)
    return {"StreamDescriptionSummary": {
        "StreamName": stream.name, "StreamARN": stream.arn, "StreamStatus": stream.status,
        "StreamModeDetails": _mode(stream), "RetentionPeriodHours": stream.retention_hours,
        "StreamCreationTimestamp": _time_out(ctx, stream.created_at), **_settings(stream),
        "OpenShardCount": len(stream.open_shards), "ConsumerCount": len(stream.consumers),
        "MaxRecordSizeInKiB": stream.max_record_size_kib,
    }}


@service.operation("ListStreams")
def list_(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    streams = list_streams(ctx.mesh, region=ctx.region, account_id=ctx.account_id)
    start = params.get("ExclusiveStartStreamName")
    if params.get("NextToken"):
        try:
            start = base64.urlsafe_b64decode(params["NextToken"].encode()).decode()
        except (ValueError, binascii.Error):
            raise InvalidArgumentException("Invalid NextToken.") from None
    if start:
        streams = [s for s in streams if s.name > start]
    limit = params.get("Limit") or DEFAULT_LIST_STREAMS_LIMIT
    page = streams[:limit]
    out: dict[str, Any] = {
        "StreamNames": [s.name for s in page], "HasMoreStreams": len(streams) > limit,
        "StreamSummaries": [{"StreamName": s.name, "StreamARN": s.arn, "StreamStatus": s.status,
                             "StreamModeDetails": _mode(s),
                             "StreamCreationTimestamp": _time_out(ctx, s.created_at)} for s in page],
    }
    if len(streams) > limit:
        out["NextToken"] = base64.urlsafe_b64encode(page[-1].name.encode()).decode()
    return out


@service.operation("ListShards")
def list_shards(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    now = ctx.mesh.clock.now()
    if params.get("NextToken"):
        if params.get("StreamName"):
            raise InvalidArgumentException("NextToken and StreamName cannot be provided together.")
        token = decode_list_shards_token(params["NextToken"], now)
        stream = find_stream(ctx.mesh, arn=token.stream_arn, account_id=ctx.account_id)
        kind, shard_id, timestamp = token.filter_type, token.filter_shard_id, token.filter_timestamp
        after = token.after_index
    else:
        stream = _stream(ctx, params)
        shard_filter = params.get("ShardFilter") or {}
        kind = shard_filter.get("Type", "FROM_TRIM_HORIZON")
        shard_id, timestamp = shard_filter.get("ShardId"), _time_in(ctx, shard_filter.get("Timestamp"))
        start = params.get("ExclusiveStartShardId")
        after = shard_index(start) if start else -1
    shards = [s for s in stream.list_shards(kind, shard_id, timestamp) if s.index > after]
    limit = params.get("MaxResults") or DEFAULT_LIST_SHARDS_LIMIT
    out: dict[str, Any] = {"Shards": [_shard(s) for s in shards[:limit]]}
    if len(shards) > limit:
        token = ListShardsToken(stream.arn, shards[limit - 1].index, kind, shard_id, timestamp, now)
        out["NextToken"] = encode_list_shards_token(token)
    return out


@service.operation("IncreaseStreamRetentionPeriod")
def increase_retention(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _stream(ctx, params).increase_retention(params["RetentionPeriodHours"])
    return {}


@service.operation("DecreaseStreamRetentionPeriod")
def decrease_retention(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _stream(ctx, params).decrease_retention(params["RetentionPeriodHours"])
    return {}


@service.operation("SplitShard")
def split_shard(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _stream(ctx, params).split_shard(params["ShardToSplit"], params["NewStartingHashKey"])
    return {}


@service.operation("MergeShards")
def merge_shards(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _stream(ctx, params).merge_shards(params["ShardToMerge"], params["AdjacentShardToMerge"])
    return {}


@service.operation("UpdateShardCount")
def update_shard_count(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    stream = _stream(ctx, params)
    target = params["TargetShardCount"]
    current = scaling.update_shard_count(stream, target, ctx.mesh.clock.now())
    return {"StreamName": stream.name, "CurrentShardCount": current, "TargetShardCount": target,
            "StreamARN": stream.arn}


@service.operation("UpdateStreamMode")
def update_stream_mode(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    stream = find_stream(ctx.mesh, arn=params["StreamARN"], account_id=ctx.account_id)
    scaling.update_stream_mode(ctx.mesh, stream, params["StreamModeDetails"]["StreamMode"])
    return {}


@service.operation("EnableEnhancedMonitoring")
def enable_enhanced_monitoring(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return _monitoring(ctx, params, enable=True)


@service.operation("DisableEnhancedMonitoring")
def disable_enhanced_monitoring(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return _monitoring(ctx, params, enable=False)


def _monitoring(ctx: RequestContext, params: dict[str, Any], *, enable: bool) -> dict[str, Any]:
    stream = _stream(ctx, params)
    current, desired = settings.set_shard_level_metrics(stream, params["ShardLevelMetrics"], enable=enable)
    return {"StreamName": stream.name, "CurrentShardLevelMetrics": current,
            "DesiredShardLevelMetrics": desired, "StreamARN": stream.arn}


@service.operation("UpdateMaxRecordSize")
def update_max_record_size(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    settings.set_max_record_size(_stream(ctx, params), params["MaxRecordSizeInKiB"])
    return {}


@service.operation("StartStreamEncryption")
def start_stream_encryption(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    settings.start_encryption(_stream(ctx, params), params["EncryptionType"], params["KeyId"])
    return {}


@service.operation("StopStreamEncryption")
def stop_stream_encryption(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    settings.stop_encryption(_stream(ctx, params), params["EncryptionType"], params["KeyId"])
    return {}


@service.operation("DescribeLimits")
def describe_limits(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    streams = list_streams(ctx.mesh, region=ctx.region, account_id=ctx.account_id)
    return {"ShardLimit": quota_value(ctx.mesh, SHARDS_QUOTA),
            "OpenShardCount": sum(len(s.open_shards) for s in streams),
            "OnDemandStreamCount": sum(1 for s in streams if s.mode == "ON_DEMAND"),
            "OnDemandStreamCountLimit": quota_value(ctx.mesh, ON_DEMAND_STREAMS_QUOTA)}


@service.operation("AddTagsToStream")
def add_tags(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tagging.add_tags(_stream(ctx, params), params["Tags"])
    return {}


@service.operation("RemoveTagsFromStream")
def remove_tags(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tagging.remove_tags(_stream(ctx, params), params["TagKeys"])
    return {}


@service.operation("ListTagsForStream")
def list_tags(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tags = sorted(_stream(ctx, params).tags.items())
    start = params.get("ExclusiveStartTagKey")
    if start:
        tags = [t for t in tags if t[0] > start]
    limit = params.get("Limit") or len(tags)
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags[:limit]], "HasMoreTags": len(tags) > limit}


def _resource(ctx: RequestContext, params: dict[str, Any]) -> Stream | consumers.Consumer:
    return tagging.resource(ctx.mesh, params["ResourceARN"], ctx.account_id)


@service.operation("TagResource")
def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tagging.add_tags(_resource(ctx, params), params["Tags"])
    return {}


@service.operation("UntagResource")
def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tagging.remove_tags(_resource(ctx, params), params["TagKeys"])
    return {}


@service.operation("ListTagsForResource")
def list_tags_for_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tags = sorted(_resource(ctx, params).tags.items())
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags]}


@service.operation("PutResourcePolicy")
def put_resource_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tagging.set_policy(_resource(ctx, params), params["Policy"])
    return {}


@service.operation("GetResourcePolicy")
def get_resource_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"Policy": _resource(ctx, params).policy or tagging.NO_POLICY}


@service.operation("DeleteResourcePolicy")
def delete_resource_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tagging.set_policy(_resource(ctx, params), None)
    return {}


# -- data plane ------------------------------------------------------------------------------------

@service.operation("PutRecord")
def put_record(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ordering = params.get("SequenceNumberForOrdering")
    stream = _stream(ctx, params)
    shard, sequence_number = stream.put_record(
        params["Data"], params["PartitionKey"], params.get("ExplicitHashKey"),
        int(ordering) if ordering else None)
    return {"ShardId": shard.shard_id, "SequenceNumber": str(sequence_number),
            "EncryptionType": stream.encryption_type}


@service.operation("PutRecords", request_type=PutRecordsInput)
def put_records(ctx: RequestContext, request: PutRecordsInput) -> dict[str, Any]:
    stream = find_stream(ctx.mesh, request.StreamName, request.StreamARN, region=ctx.region,
                         account_id=ctx.account_id)
    outcome = stream.put_records(request.Records)
    entries = []
    for sequence_number, shard_id in zip(outcome.sequence_numbers, outcome.shard_ids, strict=True):
        if sequence_number is None:
            entries.append(PutRecordsResultEntry(
                ErrorCode="ProvisionedThroughputExceededException",
                ErrorMessage=f"Rate exceeded for shard {shard_id} in stream {stream.name} "
                             f"under account {stream.account_id}."))
        else:
            entries.append(PutRecordsResultEntry(str(sequence_number), shard_id))
    return {"FailedRecordCount": outcome.failed_record_count, "Records": entries,
            "EncryptionType": stream.encryption_type}


@service.operation("GetShardIterator")
def get_shard_iterator(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    iterator = _stream(ctx, params).get_shard_iterator(
        params["ShardId"], params["ShardIteratorType"], params.get("StartingSequenceNumber"),
        _time_in(ctx, params.get("Timestamp")))
    return {"ShardIterator": iterator}


@service.operation("GetRecords")
def get_records_(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    iterator = params["ShardIterator"]
    if len(iterator) > 2 and iterator[0] == iterator[-1] == '"':
        iterator = iterator[1:-1]  # AWS reads an iterator in double quotes as the iterator (recorded)
    outcome = get_records(ctx.mesh, iterator, params.get("Limit") or 10_000, params.get("StreamARN"))
    cbor = ctx.protocol == "cbor"
    records = [_record(r, cbor, outcome.encryption_type) for r in outcome.records]
    out: dict[str, Any] = {"Records": records, "MillisBehindLatest": outcome.millis_behind_latest}
    if outcome.next_shard_iterator is not None:
        out["NextShardIterator"] = outcome.next_shard_iterator
    else:
        out["ChildShards"] = [{"ShardId": c.shard_id, "ParentShards": list(c.parent_shard_ids),
                               "HashKeyRange": _hash_range(c)} for c in outcome.child_shards]
    return out


def _record(record: StreamRecord, cbor: bool, encryption_type: str) -> Record:
    at = record.approximate_arrival_at
    return Record(str(record.sequence_number), datetime.fromtimestamp(at, UTC) if cbor else at,
                  record.data, record.partition_key, encryption_type)


# -- enhanced fan-out ------------------------------------------------------------------------------

def _consumer_out(ctx: RequestContext, consumer: consumers.Consumer, with_stream: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = consumer.describe()
    out["ConsumerCreationTimestamp"] = _time_out(ctx, consumer.created_at)
    if with_stream:
        out["StreamARN"] = consumer.stream.arn
    return out


def _named_consumer(ctx: RequestContext, params: dict[str, Any]) -> consumers.Consumer:
    stream_arn = params.get("StreamARN")
    stream = find_stream(ctx.mesh, arn=stream_arn, account_id=ctx.account_id) if stream_arn else None
    return consumers.describe_consumer(ctx.mesh, stream, params.get("ConsumerName"), params.get("ConsumerARN"))


@service.operation("RegisterStreamConsumer")
def register_stream_consumer(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    stream = find_stream(ctx.mesh, arn=params["StreamARN"], account_id=ctx.account_id)
    tags = params.get("Tags") or {}
    tagging.check_tags({}, tags, f"consumer {params['ConsumerName']}")
    consumer = consumers.register_consumer(ctx.mesh, stream, params["ConsumerName"])
    consumer.tags.update(tags)
    return {"Consumer": _consumer_out(ctx, consumer)}


@service.operation("DescribeStreamConsumer")
def describe_stream_consumer(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"ConsumerDescription": _consumer_out(ctx, _named_consumer(ctx, params), with_stream=True)}


@service.operation("ListStreamConsumers")
def list_stream_consumers(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    stream = find_stream(ctx.mesh, arn=params["StreamARN"], account_id=ctx.account_id)
    created = _time_in(ctx, params.get("StreamCreationTimestamp"))
    if created is not None:
        if params.get("NextToken"):
            raise InvalidArgumentException("NextToken and StreamCreationTimestamp cannot be provided together.")
        if int(created) != int(stream.created_at):
            raise ResourceNotFoundException(
                f"Stream {stream.name} under account {stream.account_id} with the given creation time not found.")
    page, token = consumers.list_consumers(stream, params.get("MaxResults"), params.get("NextToken"))
    out: dict[str, Any] = {"Consumers": [_consumer_out(ctx, c) for c in page]}
    if token:
        out["NextToken"] = token
    return out


@service.operation("DeregisterStreamConsumer")
def deregister_stream_consumer(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    consumers.deregister_consumer(ctx.mesh, _named_consumer(ctx, params))
    return {}


@service.operation("SubscribeToShard")
def subscribe_to_shard(ctx: RequestContext, params: dict[str, Any]) -> EventStream:
    """Checks the subscription before answering (an error is a plain error response); then the
    answer is an event stream of SubscribeToShardEvent s, pushed as records arrive."""
    start = params["StartingPosition"]
    timestamp = start.get("Timestamp")
    if isinstance(timestamp, str) and timestamp.isdigit():
        timestamp = int(timestamp)  # epoch ms as text, as some CBOR clients send it
    subscription = consumers.subscribe(ctx.mesh, params["ConsumerARN"], params["ShardId"], start["Type"],
                                       start.get("SequenceNumber"), _time_in(ctx, timestamp))
    return EventStream(_subscription_events(ctx, subscription))


async def _subscription_events(ctx: RequestContext,
                               subscription: consumers.Subscription) -> AsyncIterator[tuple[str, Any]]:
    clock = ctx.mesh.clock
    cbor = ctx.protocol == "cbor"
    stream_arn = subscription.stream.arn
    try:
        while True:
            now = clock.now()
            if not subscription.alive(now):
                if subscription.superseded:
                    raise ResourceInUseException(
                        f"Another subscription took over consumer {subscription.consumer.arn} on shard "
                        f"{subscription.shard.shard_id}.")
                return
            event = subscription.poll(now)
            if event is None:
                # Woken by new records on the stream, or at the heartbeat, the pacing or the end.
                await ctx.wait(stream_arn, subscription.next_wake(now) - now)
                continue
            payload: dict[str, Any] = {
                "Records": [_record(r, cbor, subscription.stream.encryption_type) for r in event.records],
                "ContinuationSequenceNumber": str(event.continuation_sequence_number),
                "MillisBehindLatest": event.millis_behind_latest}
            if event.child_shards is not None:
                payload["ChildShards"] = [{"ShardId": c.shard_id, "ParentShards": list(c.parent_shard_ids),
                                           "HashKeyRange": _hash_range(c)} for c in event.child_shards]
            yield "SubscribeToShardEvent", payload
    finally:
        subscription.close()
