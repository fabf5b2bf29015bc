"""``eventmesh serve --workers N``: one daemon in N processes behind one port.

Each worker process is the single-process daemon over its own mesh, owning a partition of the
resources (``placement``); a request for a resource another worker owns is forwarded there and
its answer relayed (``node``); list operations gather every worker's part (``lists``); a
delivery to a resource elsewhere crosses as a frame of plain effects (``frames``); ``/metrics``
and the virtual clock speak for all workers (``scrape``, ``vclock``). docs/scale-out.md has the
design and the measured cost.
"""

from eventmesh.workers.group import WorkerGroup, resolve_workers, serve
from eventmesh.workers.handle import WorkerHandle, serve_in_thread

__all__ = ["WorkerGroup", "WorkerHandle", "resolve_workers", "serve", "serve_in_thread"]
