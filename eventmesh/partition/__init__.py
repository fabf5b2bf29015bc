"""Partitions: several engines (processes), each owning some resources, talking in frames.

DESIGN.md's "scale by partitioning": a resource is owned by exactly one engine; more cores means
more engines, each owning a partition of the resources, exchanging batched frames of plain
effects. This package is the layer both users of that idea share, and nothing else: it knows no
transport, no clock policy and no service.

* :class:`Ownership` (``ownership.py``): which partition owns an ARN. Children go with their
  parent (subscriptions with their topic, versions and aliases with their function, rules with
  their bus; anything else by ``attach``); explicit ``assign``-ments; otherwise a stable hash.
  :func:`balance` places groups by expected load.
* Frames (``frames.py``): ``Carry`` (a ``Deliver`` for a resource the receiver owns, with the
  sender's ``reply_to`` token; ``Bodies`` when its items are bare bodies), ``Answer`` /
  ``HandlerAnswer`` / ``HttpAnswer`` (token + result coming back), ``Forward`` (any other
  effect), batched in a ``Frame``, msgpack via msgspec.
* :class:`Link` (``link.py``): installed on a mesh, it takes the deliveries whose target lives
  elsewhere (``Mesh.flush`` hands them over), buffers them per destination, hands out frames
  (``frames()``), carries in the frames of others (``receive``) and turns answers into
  ``mesh.reply(token, answer)``.

Users: ``eventmesh simulate --partitions N`` (``simulate/partitioned.py``: one process per
partition, conservative synchronisation in windows of virtual time as long as the smallest
delivery latency between partitions, ``eventmesh/latency.py``) and the multi-process daemon.
docs/scale-out.md describes the layer, what it costs and how it is used.
"""

from __future__ import annotations

from eventmesh.partition.frames import (
    Answer,
    Bodies,
    Carry,
    Forward,
    Frame,
    HandlerAnswer,
    HttpAnswer,
    carry,
    decode_frame,
    encode_frame,
)
from eventmesh.partition.link import Link, LinkStatistics
from eventmesh.partition.ownership import Ownership, balance, parent_from_arn

__all__ = ["Answer", "Bodies", "Carry", "Forward", "Frame", "HandlerAnswer", "HttpAnswer", "Link", "LinkStatistics",
           "Ownership", "carry", "balance", "decode_frame", "encode_frame", "parent_from_arn"]
