"""Kinesis capacity changes: UpdateShardCount (uniform scaling) and UpdateStreamMode.

Everything that decides how a stream's shard count or capacity mode may change lives here.

* UpdateShardCount (provisioned streams only): the target lies within half and double the open
  shard count, at most 10,000 shards per stream and within the account's shard quota, and a stream
  scales at most 10 times in a rolling 24 hours. Uniform scaling closes every open shard and opens
  ``target`` shards of equal hash ranges. AWS reaches the same end through splits and merges (and
  short-lived intermediate shards); here each new shard names as parents the open shards holding
  its first and last hash key, so consumers that read parents before children stay in order
  (a new shard spanning three old ones names two of them: the deviation is listed in
  docs/aws-behaviour.md).
* UpdateStreamMode: provisioned ↔ on-demand, keeping the shards; an on-demand stream counts
  against the account's on-demand stream quota.
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_UpdateShardCount.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_UpdateStreamMode.html
https://docs.aws.amazon.com/streams/latest/dev/how-do-i-size-a-stream.html
"""

from __future__ import annotations

from eventmesh.mesh import Mesh
from eventmesh.quotas import quota_value
from eventmesh.services.kinesis.errors import InvalidArgumentException, LimitExceededException, ValidationException
from eventmesh.services.kinesis.shards import HASH_KEY_LIMIT, Shard
from eventmesh.services.kinesis.stream import ON_DEMAND_STREAMS_QUOTA, Stream, account_streams

__all__ = ["MAX_SCALINGS_PER_DAY", "MAX_SHARDS_PER_STREAM", "update_shard_count", "update_stream_mode"]

MAX_SHARDS_PER_STREAM = 10_000      # UpdateShardCount cannot scale a stream above 10,000 shards
MAX_SCALINGS_PER_DAY = 10           # per stream, in a rolling 24-hour period
SCALING_WINDOW_S = 86_400
STREAM_MODES = ("PROVISIONED", "ON_DEMAND")


def update_shard_count(stream: Stream, target: int, now: float) -> int:
    """UpdateShardCount with UNIFORM_SCALING: returns the open shard count before the change."""
    current = len(stream.open_shards)
    if target > 2 * current:
        raise InvalidArgumentException(
            f"UpdateShardCount cannot scale up over double your current open shard count. Current open shard "
            f"count: {current} Target shard count: {target}")
    if 2 * target < current:
        raise InvalidArgumentException(
            f"UpdateShardCount cannot scale down below half your current open shard count. Current open shard "
            f"count: {current} Target shard count: {target}")
    if target > MAX_SHARDS_PER_STREAM:
        raise InvalidArgumentException(
            f"UpdateShardCount cannot scale up to over {MAX_SHARDS_PER_STREAM} shards. Target shard count: {target}")
    scalings = stream.scalings
    while scalings and scalings[0] <= now - SCALING_WINDOW_S:
        scalings.popleft()
    if len(scalings) >= MAX_SCALINGS_PER_DAY:
        raise LimitExceededException(
            f"Exceeded the number of allowed UpdateShardCount calls ({MAX_SCALINGS_PER_DAY}) in a rolling 24 "
            f"hour period for stream {stream.name} under account {stream.account_id}.")
    stream.check_reshard((), max(0, target - current))
    scalings.append(now)
    if target == current and all(_uniform(s, i, current) for i, s in enumerate(stream.open_shards)):
        return current  # already there: nothing to split or merge

    def apply() -> None:
        old = stream.open_shards  # in hash-key order
        at = stream.now()
        for shard in old:
            shard.close(at)
        for i in range(target):
            start, end = _range(i, target)
            first, last = _holding(old, start), _holding(old, end)
            child = stream.new_shard(start, end, first.shard_id,
                                     last.shard_id if last is not first else None)
            stream.shards.append(child)
            for parent in {first.shard_id: first, last.shard_id: last}.values():
                parent.child_shard_ids.append(child.shard_id)

    stream.apply_update(apply)
    return current


def _range(i: int, count: int) -> tuple[int, int]:
    return i * HASH_KEY_LIMIT // count, (i + 1) * HASH_KEY_LIMIT // count - 1


def _uniform(shard: Shard, i: int, count: int) -> bool:
    return (shard.hash_key_start, shard.hash_key_end) == _range(i, count)


def _holding(shards: list[Shard], key: int) -> Shard:
    for shard in shards:
        if shard.hash_key_start <= key <= shard.hash_key_end:
            return shard
    raise AssertionError("open shards cover the hash space")


def update_stream_mode(mesh: Mesh, stream: Stream, mode: str) -> None:
    """UpdateStreamMode: the stream keeps its shards and changes how its capacity is managed."""
    if mode not in STREAM_MODES:
        raise ValidationException(
            f"1 validation error detected: Value '{mode}' at 'streamModeDetails.streamMode' failed to satisfy "
            "constraint: Member must satisfy enum value set: [ON_DEMAND, PROVISIONED]")
    stream.require_active()
    if mode == stream.mode:
        raise InvalidArgumentException(
            f"Stream {stream.name} under account {stream.account_id} is already in {mode} mode.")
    if mode == "ON_DEMAND":
        region = stream.arn.split(":")[3]
        on_demand = sum(1 for s in account_streams(mesh, region, stream.account_id) if s.mode == "ON_DEMAND")
        limit = quota_value(mesh, ON_DEMAND_STREAMS_QUOTA)
        if on_demand >= limit:
            raise LimitExceededException(
                f"This request would exceed the limit of {limit} on-demand streams for the account "
                f"{stream.account_id} in {region}.")

    def apply() -> None:
        stream.mode = mode

    stream.apply_update(apply)
