"""Deliveries between workers: the partition layer's :class:`~eventmesh.partition.Link` on a
worker's mesh, its frames carried by the channels.

``Mesh.flush`` hands the link every ``Deliver`` whose target this worker does not hold; the
link asks the directory (``Placement``, an ``Ownership``) who owns it and buffers the item for
that worker. Once per turn of the event loop the buffers go out, one frame per peer (wrapped in
a ``Deliveries`` message on that peer's channel); a received frame is handed to the link, which
delivers each item to its target and buffers the answer for the sender's token. A rule on a bus
here targeting a queue there, a topic fanning out to queues elsewhere, a function's destination:
all the same path.
"""

from __future__ import annotations

import asyncio
from typing import Any

from eventmesh.clock import VirtualClock
from eventmesh.mesh import Mesh
from eventmesh.partition import Link
from eventmesh.partition.frames import Item
from eventmesh.workers.frames import Deliveries
from eventmesh.workers.placement import Placement

__all__ = ["WorkerLink"]


class WorkerLink(Link):
    """A link whose frames leave at the end of the loop's turn, on the workers' channels."""

    def __init__(self, mesh: Mesh, placement: Placement, channels: dict[int, Any]) -> None:
        super().__init__(mesh, placement, placement.index)
        self.channels = channels
        self.virtual: VirtualClock | None = mesh.clock if isinstance(mesh.clock, VirtualClock) else None
        self._scheduled = False

    def _put(self, partition: int, item: Item, when: float) -> None:
        super()._put(partition, item, when)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.send_frames)

    def send_frames(self) -> None:
        """Send what waits, one frame per peer (also called by the clock's steps, at once)."""
        self._scheduled = False
        if not self.pending():
            return
        at = self.virtual.now() if self.virtual is not None else 0.0
        for destination, data in self.frames().items():
            channel = self.channels.get(destination)
            if channel is not None and not channel.closed:
                channel.send(Deliveries(data, at))

    def take(self, message: Deliveries) -> None:
        """A peer's frame (its clock's time caught up with first, by the node)."""
        self.receive(message.data)
