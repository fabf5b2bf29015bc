"""Ownership: which partition owns each resource, by ARN.

Every resource is owned by exactly one partition (one engine, one process). A resource's
children go with it, so an owner is looked up by the *root* of an ARN:

* from the ARN's shape: an SNS subscription (``arn:aws:sns:R:A:topic:id``) goes with its topic,
  a function's versions and aliases (``...:function:name:qualifier``) with the function, a rule
  (``...:rule/bus/name``, ``...:rule/name`` on the default bus) with its bus, a Kinesis consumer
  (``...:stream/name/consumer/c:ts``) with its stream, a function's log group
  (``...:log-group:/aws/lambda/name``) with the function;
* from explicit attachments, for children whose ARN does not name their parent: an event source
  mapping attached to its source (its poller reads the queue or shard in place), an archive to
  its bus, a redrive DLQ to its queue. ``attach(child, parent)``;

then the root's owner is its explicit assignment (``assign(arn, partition)``, what a planner or
``CreateX`` on a chosen worker decides) or, by default, a stable hash of the root ARN modulo the
number of partitions: the same in every process (BLAKE2b, not ``hash()``, which
``PYTHONHASHSEED`` salts). An ARN nobody created yet still has an owner, so a delivery to a
missing resource is answered ``MISSING`` by one partition, the same one everywhere.

:func:`balance` assigns groups of resources to partitions by their expected load (longest
processing time first: each group, heaviest first, to the least loaded partition; ties by
ARN), which is what simulations use with the loads their ``load:`` section implies.

An :class:`Ownership` is plain data: ``to_bytes()``/``from_bytes()`` ship it to workers.
Cost: ``owner(arn)`` is a dict lookup once the ARN has been seen (roots and owners are cached).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from eventmesh.ids import stable_hash

__all__ = ["Ownership", "balance", "parent_from_arn"]


def parent_from_arn(arn: str) -> str | None:
    """The parent a child ARN names in its own shape, or None (see the module docstring)."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        return None
    service, resource = parts[2], ":".join(parts[5:])
    if service == "sns" and len(parts) == 7:
        return ":".join(parts[:6])
    if service == "lambda" and parts[5] == "function" and len(parts) > 7:
        return ":".join(parts[:7])
    if service == "events" and resource.startswith("rule/"):
        pieces = resource.split("/")
        bus = pieces[1] if len(pieces) > 2 else "default"
        return ":".join(parts[:5]) + f":event-bus/{bus}"
    if service == "kinesis" and "/consumer/" in resource:
        return ":".join(parts[:5]) + ":" + resource.split("/consumer/", 1)[0]
    if service == "logs" and resource.startswith("log-group:/aws/lambda/"):
        name = resource[len("log-group:/aws/lambda/"):].split(":", 1)[0]
        return f"arn:{parts[1]}:lambda:{parts[3]}:{parts[4]}:function:{name}"
    return None


class _Plan(msgspec.Struct, frozen=True):
    partitions: int
    assignments: dict[str, int]
    parents: dict[str, str]


class Ownership:
    """The owner of every ARN among ``partitions`` partitions (see the module docstring)."""

    def __init__(self, partitions: int, assignments: Mapping[str, int] | None = None,
                 parents: Mapping[str, str] | None = None) -> None:
        if partitions < 1:
            raise ValueError("there is at least one partition")
        self.partitions = partitions
        self._assignments: dict[str, int] = {}
        self._parents: dict[str, str] = {}
        self._owners: dict[str, int] = {}
        for child, parent in (parents or {}).items():
            self.attach(child, parent)
        for arn, partition in (assignments or {}).items():
            self.assign(arn, partition)

    # -- deciding ----------------------------------------------------------------------------

    def assign(self, arn: str, partition: int) -> None:
        """Partition ``partition`` owns ``arn`` (and everything attached to it)."""
        if not 0 <= partition < self.partitions:
            raise ValueError(f"partition {partition} is not one of 0..{self.partitions - 1}")
        self._assignments[arn] = partition
        self._owners.clear()

    def attach(self, child: str, parent: str) -> None:
        """``child`` goes wherever ``parent`` goes."""
        if child == parent:
            return
        node: str | None = parent
        while node is not None:
            if node == child:
                raise ValueError(f"attaching {child} to {parent} makes a cycle")
            node = self._parents.get(node) or parent_from_arn(node)
        self._parents[child] = parent
        self._owners.clear()

    # -- looking up --------------------------------------------------------------------------

    def root(self, arn: str) -> str:
        """The ARN whose owner ``arn`` shares: its topmost parent."""
        parents = self._parents
        while True:
            parent = parents.get(arn) or parent_from_arn(arn)
            if parent is None:
                return arn
            arn = parent

    def owner(self, arn: str) -> int:
        """The partition that owns ``arn``."""
        found = self._owners.get(arn)
        if found is None:
            root = self.root(arn)
            found = self._assignments.get(root)
            if found is None:
                found = stable_hash(root) % self.partitions
            self._owners[arn] = found
        return found

    def owns(self, partition: int, arn: str) -> bool:
        return self.owner(arn) == partition

    def owned(self, partition: int, arns: Iterable[str]) -> list[str]:
        """The ARNs among ``arns`` that ``partition`` owns, in their order."""
        return [arn for arn in arns if self.owner(arn) == partition]

    @property
    def assignments(self) -> dict[str, int]:
        return dict(self._assignments)

    @property
    def parents(self) -> dict[str, str]:
        return dict(self._parents)

    # -- shipping ----------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        return msgspec.msgpack.encode(_Plan(self.partitions, self._assignments, self._parents))

    @classmethod
    def from_bytes(cls, data: bytes) -> Ownership:
        plan = msgspec.msgpack.decode(data, type=_Plan)
        return cls(plan.partitions, plan.assignments, plan.parents)


def balance(weights: Mapping[str, float], partitions: int,
            fixed: Mapping[str, int] | None = None) -> dict[str, int]:
    """Assign each group (its root ARN → its expected load) to a partition: heaviest first, each
    to the partition with the least load so far (ties: the lower partition number); ``fixed``
    groups keep their partition and count towards its load. Deterministic: equal weights go in
    ARN order."""
    loads = [0.0] * partitions
    out: dict[str, int] = {}
    for arn, partition in (fixed or {}).items():
        out[arn] = partition
        loads[partition] += weights.get(arn, 0.0)
    for arn in sorted((a for a in weights if a not in out), key=lambda a: (-weights[a], a)):
        partition = min(range(partitions), key=lambda p: (loads[p], p))
        out[arn] = partition
        loads[partition] += weights[arn]
    return out
