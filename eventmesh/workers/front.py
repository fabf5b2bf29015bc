"""A worker's door: the daemon's own, answering a request that created something only once every
peer knows where it lives, and the internal endpoints that speak for all workers.

``/metrics`` is the whole daemon's from any worker (``scrape.py``); ``POST /_eventmesh/clock``
moves every worker's virtual clock together (``vclock.py``); the faults, the console's
resources and topology gather or go where their resource lives (``console.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from eventmesh.wire.door import Door
from eventmesh.wire.render import Response
from eventmesh.wire.router import Request
from eventmesh.workers import console, faults, scrape, vclock
from eventmesh.workers.fastpath import resource_of
from eventmesh.workers.node import Node

__all__ = ["Front", "install_endpoints"]


class Front:
    """Wraps a worker's door (``wire.door.Door``)."""

    def __init__(self, door: Door, node: Node) -> None:
        self.door = door
        self.node = node
        self._account, self._region = node.mesh.account_id, node.mesh.region
        self._keys = node.api.access_keys

    def admit(self, request: Request) -> Response | int:
        return self.door.admit(request)

    def too_large(self, request: Request, limit: int) -> Response:
        return self.door.too_large(request, limit)

    def __call__(self, request: Request) -> Response | Awaitable[Response]:
        node = self.node
        arn = resource_of(request, self._account, self._region, self._keys)
        if arn is not None:
            owner = node.placement.owner(arn)
            if owner != node.index:   # a hot request for another worker: passed on undecoded
                return node.forward(owner, request, 1)
        added = node.added
        response = self.door(request)
        if node.added == added:
            return response
        return node.after_adding(response)


def install_endpoints(daemon: Any) -> None:
    """Register the endpoints that answer for every worker on ``daemon.app``."""
    scrape.install(daemon)
    faults.install(daemon)
    console.install(daemon)
    vclock.install(daemon)
