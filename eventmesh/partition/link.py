"""Link: one partition's mesh, connected to the other partitions by frames.

A mesh that owns only some resources gets a link (``Link(mesh, ownership, partition).install()``).
From then on the mesh hands the link every ``Deliver`` whose target is not one of its own
resources, timed (a latency model: ``when``, ``seq``) or not, and the answers it owes to other
partitions. The link buffers them per destination partition; the transport takes the frames out
and brings frames in::

    link = Link(mesh, ownership, partition=0).install()
    ...                                   # the engine runs: PutEvents, timers, pollers...
    for destination, data in link.frames().items():
        transport.send(destination, data)    # Unix socket, pipe, shared memory, Ray: not our business
    for data in transport.received():
        link.receive(data)                 # deliveries carried out here, answers to our senders

What a frame holds is in ``frames.py``. On the receiving side a delivery is carried out against
the local mesh (``Mesh.arrive``: the target's ``accept``), at once or, in virtual time, at the
item's ``when`` in its ``seq`` order; its answer goes back to the sending partition, where it
becomes ``mesh.reply(token, answer)`` for the sender's own token. Tokens never leave the
partition that made them, so no partition needs another's callbacks.

Other effects can cross too (``forward``): a ``RunInvocation`` for a worker that runs handlers,
an ``Available`` wake-up for a long poll another worker holds. The receiver emits them into its
mesh for its subscribers; one that wants an answer (``reply_to``) gets a local token whose answer
is sent back the same way.

The link knows nothing of time beyond what items carry, nor of the transport: the simulation's
coordinator and the daemon's workers move the bytes and decide when (a window of virtual time, a
turn of the event loop). Cost per item: one owner lookup (a dict hit) and one append; per frame,
one msgpack encode or decode.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import msgspec

from eventmesh.effects import Deliver, DeliveryResult, Effect, HandlerOutcome, HttpResponse
from eventmesh.mesh import Mesh, join_order, split_order
from eventmesh.partition.frames import (
    Answer,
    Bodies,
    Carry,
    Forward,
    Frame,
    HandlerAnswer,
    HttpAnswer,
    Item,
    carry,
    decode_frame,
    encode_frame,
)
from eventmesh.partition.ownership import Ownership

__all__ = ["Link", "LinkStatistics"]


class LinkStatistics(msgspec.Struct, frozen=True):
    """What crossed, both ways: frames, items (deliveries, answers, forwarded effects), bytes."""

    frames_sent: int
    items_sent: int
    bytes_sent: int
    frames_received: int
    items_received: int
    bytes_received: int


class Link:
    """The frames between this partition's mesh and the others (see the module docstring)."""

    def __init__(self, mesh: Mesh, ownership: Ownership, partition: int) -> None:
        if not 0 <= partition < ownership.partitions:
            raise ValueError(f"partition {partition} is not one of 0..{ownership.partitions - 1}")
        self.mesh = mesh.root
        self.ownership = ownership
        self.partition = partition
        self._out: dict[int, list[Item]] = {}
        self._earliest: float | None = None
        self.frames_sent = self.items_sent = self.bytes_sent = 0
        self.frames_received = self.items_received = self.bytes_received = 0

    def install(self) -> Link:
        """Take this mesh's deliveries to other partitions (on every account and Region view)."""
        for view in self.mesh.scopes():
            view.link = self
        return self

    def uninstall(self) -> None:
        for view in self.mesh.scopes():
            if view.link is self:
                view.link = None

    # -- from the mesh -----------------------------------------------------------------------

    def send(self, effect: Deliver, when: float, seq: int) -> None:
        """A delivery to a resource this partition does not hold (called by the mesh)."""
        destination = self.ownership.owner(effect.target_arn)
        if destination == self.partition:  # ours, but not there: answered as missing, here
            if when > 0.0:
                self.mesh.clock.call_keyed(when, seq, partial(self.mesh.arrive, effect, None))
            else:
                self.mesh.arrive(effect, None)
            return
        self._put(destination, carry(effect, when, split_order(seq)), when)

    def answer(self, partition: int, token: int, result: Any, when: float, seq: int) -> None:
        """The answer to a delivery (or forwarded effect) partition ``partition`` sent us."""
        item: Item
        order = split_order(seq)
        if isinstance(result, DeliveryResult):
            item = Answer(token, result, when, order)
        elif isinstance(result, HandlerOutcome):
            item = HandlerAnswer(token, result, when, order)
        elif isinstance(result, HttpResponse):
            item = HttpAnswer(token, result, when, order)
        else:
            raise TypeError(f"no frame item answers with a {type(result).__name__}")
        self._put(partition, item, when)

    def forward(self, partition: int, effect: Effect, when: float = 0.0, seq: int = 0) -> None:
        """Send any effect but a ``Deliver`` to partition ``partition``'s subscribers; its
        ``reply_to`` (if any) is this mesh's token, answered when the answer comes back."""
        if isinstance(effect, Deliver):
            raise TypeError("a Deliver travels by its target's owner: emit it, the mesh sends it")
        self._put(partition, Forward(effect, when, split_order(seq)), when)  # type: ignore[arg-type]

    def _put(self, partition: int, item: Item, when: float) -> None:
        self._out.setdefault(partition, []).append(item)
        if when > 0.0 and (self._earliest is None or when < self._earliest):
            self._earliest = when

    # -- to and from the transport -----------------------------------------------------------

    def pending(self) -> bool:
        """Whether items wait to be sent."""
        return bool(self._out)

    def earliest(self) -> float | None:
        """The earliest ``when`` among the items waiting to be sent (None: none is timed)."""
        return self._earliest

    def frames(self) -> dict[int, bytes]:
        """The waiting items as one encoded frame per destination partition; the buffers empty."""
        out = {}
        for destination, items in self._out.items():
            data = encode_frame(Frame(self.partition, items))
            out[destination] = data
            self.frames_sent += 1
            self.items_sent += len(items)
            self.bytes_sent += len(data)
        self._out = {}
        self._earliest = None
        return out

    def receive(self, data: bytes | Frame) -> int:
        """Carry out a frame from another partition; returns how many items it held. Items due
        at once are carried out now (and the mesh flushed); timed ones are put on the clock."""
        frame = decode_frame(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
        if isinstance(data, (bytes, bytearray, memoryview)):
            self.bytes_received += len(data)
        self.frames_received += 1
        self.items_received += len(frame.items)
        mesh, origin = self.mesh, frame.source
        clock = mesh.clock
        for item in frame.items:
            if isinstance(item, (Carry, Bodies)):
                deliver = item.deliver() if isinstance(item, Bodies) else item.deliver
                if item.when > 0.0:
                    clock.call_keyed(item.when, join_order(item.order), partial(mesh.arrive, deliver, origin))
                else:
                    mesh.arrive(deliver, origin)
            elif type(item) is Forward:
                self._emit_forwarded(item, origin)
            else:
                answer: Answer | HandlerAnswer | HttpAnswer = item  # type: ignore[assignment]
                if answer.when > 0.0:
                    clock.call_keyed(answer.when, join_order(answer.order),
                                     partial(mesh.reply, answer.token, answer.result))
                else:
                    mesh.reply(answer.token, answer.result)
        mesh.flush()
        return len(frame.items)

    def _emit_forwarded(self, item: Forward, origin: int) -> None:
        effect: Any = item.effect
        token = getattr(effect, "reply_to", 0)
        if token:
            local = self.mesh.expect(partial(self._answer_back, origin, token))
            effect = msgspec.structs.replace(effect, reply_to=local)
        if item.when > 0.0:
            self.mesh.clock.call_keyed(item.when, join_order(item.order), partial(self.mesh.emit, effect))
        else:
            self.mesh.emit(effect)

    def _answer_back(self, origin: int, token: int, answer: Any) -> None:
        self.answer(origin, token, answer, 0.0, 0)

    def statistics(self) -> LinkStatistics:
        return LinkStatistics(self.frames_sent, self.items_sent, self.bytes_sent, self.frames_received,
                              self.items_received, self.bytes_received)
