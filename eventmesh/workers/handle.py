"""A group of workers running for a test: ``serve_in_thread(workers=N)`` and its handle.

Worker 0 runs in a background thread of the test's process, the others are child processes.
The handle is a ``ServerHandle``: ``url``, ``advance`` (every worker's clock), ``wait_for_polls``
(long polls waiting on any worker), ``stop``. Its ``mesh`` is worker 0's, through a view that
also lists the other workers' resources (``resources``, ``find``) as read-only snapshots:
their ARN, name or UUID and their ``statistics()``, fetched when asked, so a test that reads a
core's counters reads them wherever the core lives. Anything else of another worker's resource
is not reachable from here: tests that change cores directly do so on worker 0's.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import Iterator
from typing import Any

import msgspec

from eventmesh.config import Config
from eventmesh.daemon import DEFAULT_HOST, ServerHandle, run_in_thread
from eventmesh.mesh import Mesh
from eventmesh.workers.group import START_TIMEOUT_S, WorkerGroup

__all__ = ["RemoteSnapshot", "WorkerHandle", "serve_in_thread"]

ASK_TIMEOUT_S = 30.0


class RemoteSnapshot:
    """Another worker's resource as a test sees it (see the module docstring)."""

    def __init__(self, handle: WorkerHandle, worker: int, arn: str, names: dict[str, str]) -> None:
        self._handle = handle
        self._worker = worker
        self.arn = arn
        for key, value in names.items():
            setattr(self, key, value)

    def statistics(self) -> Any:
        path, data = self._handle.ask(self._worker, "test.statistics", self.arn)
        module, _, name = path.rpartition(".")
        return msgspec.convert(data, getattr(importlib.import_module(module), name))

    def __repr__(self) -> str:
        return f"<{self.arn} on worker {self._worker}>"


class _GroupMesh:
    """Worker 0's mesh, listing the other workers' resources too (as snapshots)."""

    def __init__(self, handle: WorkerHandle, mesh: Mesh) -> None:
        self._handle = handle
        self._mesh = mesh

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mesh, name)

    def _remote(self, service: str | None) -> list[RemoteSnapshot]:
        if self._handle.on_loop():   # a test's callback on the loop: it cannot wait for answers
            return []
        found = []
        for worker in range(1, self._handle.group.count):
            for arn, names in self._handle.ask(worker, "test.resources", service):
                found.append(RemoteSnapshot(self._handle, worker, arn, names))
        return found

    def resources(self, service: str | None = None, kind: type = object) -> Iterator[Any]:
        local: list[Any] = list(self._mesh.resources(service, kind))
        return iter(local + self._remote(service) if kind is object else local)

    def find(self, arn: str, kind: type) -> Any:
        """The resource here, else another worker's snapshot of it (whatever ``kind`` asks)."""
        found = self._mesh.find(arn, kind)
        if found is None and arn.count(":") >= 3:
            found = next((r for r in self._remote(arn.split(":", 3)[2]) if r.arn == arn), None)
        return found

    def get(self, arn: str, kind: type) -> Any:
        found = self.find(arn, kind)
        return found if found is not None else self._mesh.get(arn, kind)


class WorkerHandle(ServerHandle):
    """The handle of a group started by :func:`serve_in_thread`."""

    def __init__(self, group: WorkerGroup, thread: threading.Thread, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(group.first, thread, loop)
        self.group = group
        self._view = _GroupMesh(self, group.first.mesh)

    @property
    def mesh(self) -> Any:
        return self._view

    def on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def ask(self, worker: int, topic: str, args: Any = None) -> Any:
        """Worker ``worker``'s answer to ``topic`` (from the test's thread)."""
        node = self.group.first.node

        async def asking() -> Any:
            return await node.ask(worker, topic, args)
        return asyncio.run_coroutine_threadsafe(asking(), self.loop).result(timeout=ASK_TIMEOUT_S)

    def waiting(self, arn: str) -> int:
        node = self.group.first.node

        async def count() -> int:
            answers = await node.ask_all("waiting", arn)
            return int(self.group.first.waiting(arn) + sum(answers.values()))
        return asyncio.run_coroutine_threadsafe(count(), self.loop).result(timeout=ASK_TIMEOUT_S)

    def settle(self) -> None:
        node = self.group.first.node
        asyncio.run_coroutine_threadsafe(node.settle(), self.loop).result(timeout=ASK_TIMEOUT_S)

    def stop(self) -> None:
        self.group.signal_children()
        super().stop()
        self.group.join_children()


def serve_in_thread(config: Config | None = None, *, workers: int = 1, clock: str = "virtual",
                    host: str = DEFAULT_HOST, port: int = 0, services: list[str] | None = None,
                    verbose: bool = False) -> ServerHandle:
    """``eventmesh.daemon.serve_in_thread`` with ``workers`` processes (1: the single daemon)."""
    if workers == 1:
        from eventmesh.daemon import serve_in_thread as single

        return single(config, clock=clock, host=host, port=port, services=services, verbose=verbose)
    group = WorkerGroup(config, count=workers, host=host, port=port, clock=clock, services=services,
                        verbose=verbose)
    group.start_children()
    try:
        thread, loop = run_in_thread(group.first, "eventmesh-worker-0", START_TIMEOUT_S)
    except BaseException:
        group.signal_children()
        group.join_children()
        raise
    try:
        group.wait_ready()
    except RuntimeError:
        loop.call_soon_threadsafe(group.first.stop)
        thread.join(timeout=10)
        group.signal_children()
        group.join_children()
        raise
    return WorkerHandle(group, thread, loop)
