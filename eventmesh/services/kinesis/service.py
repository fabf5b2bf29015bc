"""Kinesis service level: the account's streams (CreateStream, find by name or ARN, ListStreams,
DeleteStream) and GetRecords by iterator, which first finds the stream the iterator names.

Streams are mesh resources (``arn:aws:kinesis:<region>:<account>:stream/<name>``); a stream's own
behaviour is in ``stream.py``.
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_CreateStream.html
"""

from __future__ import annotations

from eventmesh.mesh import Mesh
from eventmesh.quotas import quota_value
from eventmesh.services.kinesis import errors
from eventmesh.services.kinesis.errors import (
    InvalidArgumentException,
    LimitExceededException,
    ResourceInUseException,
    ValidationException,
    shard_not_found,
    stream_not_found,
)
from eventmesh.services.kinesis.shards import MAX_GET_RECORDS, decode_iterator, shard_id_of
from eventmesh.services.kinesis.stream import (
    ON_DEMAND_SHARD_COUNT,
    ON_DEMAND_STREAMS_QUOTA,
    GetRecordsOutcome,
    Stream,
    account_streams,
    check_shard_quota,
    stream_arn,
)

__all__ = ["create_stream", "delete_stream", "find_stream", "get_records", "list_streams"]


# -- the account's streams ----------------------------------------------------------------------

def create_stream(mesh: Mesh, name: str, shard_count: int | None = None, *, mode: str | None = None,
                  region: str | None = None, account_id: str | None = None,
                  shard_limit: int | None = None, **options: object) -> Stream:
    """CreateStream: provisioned with ``shard_count`` ≥ 1, or on-demand (4 shards). Without a
    mode, a shard count means provisioned and none means on-demand: ShardCount is optional since
    on-demand streams, and AWS answers a CreateStream with neither by a stream of 4 shards (as
    recorded; the 4 MiB/s write capacity a new on-demand stream starts with)."""
    if mode is None:
        mode = "PROVISIONED" if shard_count is not None else "ON_DEMAND"
    region = region or mesh.region
    account = account_id or mesh.account_id
    arn = stream_arn(region, account, name)
    if mesh.exists(arn):
        raise ResourceInUseException(f"Stream {name} under account {account} already exists.")
    if mode == "ON_DEMAND":
        on_demand = sum(1 for s in account_streams(mesh, region, account) if s.mode == "ON_DEMAND")
        limit = quota_value(mesh, ON_DEMAND_STREAMS_QUOTA)
        if on_demand >= limit:
            raise LimitExceededException(
                f"This request would exceed the limit of {limit} on-demand streams "
                f"for the account {account} in {region}.")
        shard_count = ON_DEMAND_SHARD_COUNT
    elif mode != "PROVISIONED":
        raise ValidationException(f"Invalid StreamMode {mode}.")
    elif shard_count is None:
        raise InvalidArgumentException("ShardCount is required for a stream in PROVISIONED mode.")
    elif shard_count < 1:
        raise InvalidArgumentException("ShardCount must be at least 1 for a PROVISIONED stream.")
    check_shard_quota(mesh, arn, account, shard_count, shard_limit)
    stream = Stream(mesh, name, arn, account, shard_count=shard_count, mode=mode, **options)  # type: ignore[arg-type]
    mesh.add(stream)
    return stream


def find_stream(mesh: Mesh, name: str | None = None, arn: str | None = None, *,
                region: str | None = None, account_id: str | None = None) -> Stream:
    """The stream named ``name`` (or at ``arn``); ResourceNotFoundException if absent."""
    account = account_id or mesh.account_id
    if arn is None:
        if name is None:
            raise InvalidArgumentException("Either StreamName or StreamARN must be provided.")
        arn = stream_arn(region or mesh.region, account, name)
    stream = mesh.find(arn, Stream)
    if stream is None or stream.status == "DELETING":
        raise stream_not_found(name or arn.rsplit("/", 1)[-1], account)
    return stream


def list_streams(mesh: Mesh, *, region: str | None = None, account_id: str | None = None) -> list[Stream]:
    """The account's streams in the region, sorted by name (ListStreams)."""
    streams = account_streams(mesh, region or mesh.region, account_id or mesh.account_id)
    return sorted((s for s in streams if s.status != "DELETING"), key=lambda s: s.name)


def delete_stream(mesh: Mesh, stream: Stream) -> None:
    """DeleteStream: a stream still CREATING cannot be deleted."""
    if stream.status == "CREATING":
        raise errors.not_active(stream.name, stream.account_id, stream.status)
    mesh.remove(stream.arn)


def get_records(mesh: Mesh, iterator: str, limit: int = MAX_GET_RECORDS,
                stream_arn: str | None = None) -> GetRecordsOutcome:
    """GetRecords by iterator string: find the stream it names, then :meth:`Stream.get_records`."""
    decoded = decode_iterator(iterator)
    if stream_arn is not None and stream_arn != decoded.stream_arn:
        raise InvalidArgumentException("Invalid ShardIterator.")
    stream = mesh.find(decoded.stream_arn, Stream)
    if stream is None:
        account, name = decoded.stream_arn.split(":", 5)[4], decoded.stream_arn.rsplit("/", 1)[-1]
        raise shard_not_found(shard_id_of(decoded.shard_index), name, account)
    return stream.get_records(decoded, limit)
