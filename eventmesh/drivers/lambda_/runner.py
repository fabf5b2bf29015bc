"""Runners: who executes the python and http handlers the pool core hands out as ``RunInvocation``.

Real time (the daemon)::

    runner = install_runner(mesh, spawn)   # spawn(coroutine) starts one task on the event loop

The daemon closes the runner at shutdown, which stops its worker processes. The runner spawns at
most one long-lived consumer task per worker process (python) and per http slot, lazily, never one
per event; each consumer takes the next ``RunInvocation``, runs it in a thread (``WorkerPool.run``
or the http POST), then, back on the event loop, answers the effect's ``reply_to`` and flushes the
mesh. Handler durations are real; the function's timeout is enforced by the worker.

Virtual time (tests, simulations)::

    install_virtual_runner(mesh, duration_s=0.001)

runs each handler inline in the engine's thread when the effect is carried out, then completes it
``duration_s`` later on the mesh clock (its reported duration), so a test is deterministic whatever
the handler's real speed. A ``duration_s`` beyond the function's timeout gives the timeout error;
a handler that really blocks blocks the test (no timeout is enforced inline).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

import anyio
import msgspec

from eventmesh.drivers.lambda_.http import execute_http
from eventmesh.drivers.lambda_.python import HandlerLoader, execute
from eventmesh.drivers.lambda_.workers import CodeStore, WorkerPool
from eventmesh.effects import HandlerOutcome, RunInvocation
from eventmesh.mesh import Mesh
from eventmesh.services.lambda_.jobs import timeout_outcome

__all__ = ["Runner", "install_runner", "VirtualRunner", "install_virtual_runner",
           "DEFAULT_HTTP_CONCURRENCY", "DEFAULT_VIRTUAL_DURATION_S"]

DEFAULT_HTTP_CONCURRENCY = 64
DEFAULT_VIRTUAL_DURATION_S = 0.001


class Runner:
    """Real-time execution of RunInvocation effects (see the module docstring)."""

    def __init__(self, mesh: Mesh, spawn: Callable[[Coroutine[Any, Any, None]], Any], *,
                 workers: int | None = None, http_concurrency: int = DEFAULT_HTTP_CONCURRENCY) -> None:
        self.mesh = mesh
        self.pool = WorkerPool(workers)
        self._spawn = spawn
        self._lanes = {
            "python": _Lane(self.pool.size, self._run_python),
            "http": _Lane(http_concurrency, self._run_http),
        }
        self.in_flight = 0   # invocations submitted and not yet answered
        self._settled: asyncio.Event | None = None
        mesh.subscribe(RunInvocation, self.submit)

    def submit(self, effect: RunInvocation) -> None:
        lane = self._lanes[effect.job.kind]
        self.in_flight += 1
        lane.send.send_nowait(effect)
        if lane.idle == 0 and lane.consumers < lane.limit:
            lane.consumers += 1
            self._spawn(self._consume(lane))

    async def _consume(self, lane: _Lane) -> None:
        receive = lane.receive
        while True:
            lane.idle += 1
            try:
                effect = await receive.receive()
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                return
            finally:
                lane.idle -= 1
            try:
                outcome = await lane.run(effect)
            except Exception as exc:   # the platform failed, not the code
                outcome = HandlerOutcome(b"", "ServiceException", str(exc), system_error=True)
            self.mesh.reply(effect.reply_to, outcome)
            self.mesh.flush()
            self.in_flight -= 1
            if self.in_flight == 0 and self._settled is not None:
                self._settled.set()

    async def drain(self, timeout_s: float) -> bool:
        """Wait until every submitted invocation has finished, at most ``timeout_s`` of real time
        (graceful shutdown); True when none is left."""
        if self.in_flight == 0:
            return True
        self._settled = asyncio.Event()
        try:
            await asyncio.wait_for(self._settled.wait(), timeout_s)
        except TimeoutError:
            return False
        finally:
            self._settled = None
        return True

    async def _run_python(self, effect: RunInvocation) -> HandlerOutcome:
        return await anyio.to_thread.run_sync(self.pool.run, effect.job, effect.code, abandon_on_cancel=True,
                                              limiter=self._lanes["python"].limiter)

    async def _run_http(self, effect: RunInvocation) -> HandlerOutcome:
        # The one real-time reading outside the clock: how long the user's endpoint actually took
        # (Lambda's Duration). The mesh clock may be virtual while this code runs in real time.
        started = time.perf_counter()
        return await anyio.to_thread.run_sync(
            execute_http, effect.job, lambda: time.perf_counter() - started, abandon_on_cancel=True,
            limiter=self._lanes["http"].limiter)

    def close(self) -> None:
        """Stop taking effects and stop the worker processes (the daemon calls it on shutdown)."""
        self.mesh.unsubscribe(RunInvocation, self.submit)
        for lane in self._lanes.values():
            lane.send.close()
        self.pool.close()


class _Lane:
    """A queue of effects of one kind and its consumers."""

    def __init__(self, limit: int, run: Callable[[RunInvocation], Awaitable[HandlerOutcome]]) -> None:
        self.limit = limit
        self.run = run
        self.send, self.receive = anyio.create_memory_object_stream[RunInvocation](math.inf)
        self.limiter = anyio.CapacityLimiter(limit)
        self.consumers = 0
        self.idle = 0


def install_runner(mesh: Mesh, spawn: Callable[[Coroutine[Any, Any, None]], Any], *,
                   workers: int | None = None, http_concurrency: int = DEFAULT_HTTP_CONCURRENCY) -> Runner:
    """Execute python/http handlers of ``mesh`` in worker processes / threads (real time)."""
    return Runner(mesh, spawn, workers=workers, http_concurrency=http_concurrency)


class VirtualRunner:
    """Inline execution for virtual time (see the module docstring)."""

    def __init__(self, mesh: Mesh, duration_s: float = DEFAULT_VIRTUAL_DURATION_S) -> None:
        self.mesh = mesh
        self.duration_s = duration_s
        self.loader = HandlerLoader()
        self.code = CodeStore()
        mesh.subscribe(RunInvocation, self.run)

    def run(self, effect: RunInvocation) -> None:
        job = effect.job
        duration = self.duration_s
        if duration > job.timeout_s:
            outcome = timeout_outcome(job.request_id, job.timeout_s)
        else:
            if effect.code is not None:
                job = msgspec.structs.replace(job, code_dir=self.code.extract(job.code_sha256, effect.code))
            if job.kind == "python":
                outcome = execute(job, self.loader, self.mesh.clock.now, lambda: duration)
            else:
                outcome = execute_http(job, lambda: duration)
            outcome.duration_s = duration
        self.mesh.clock.call_later(duration, partial(self.mesh.reply, effect.reply_to, outcome))

    def close(self) -> None:
        self.mesh.unsubscribe(RunInvocation, self.run)
        self.code.close()


def install_virtual_runner(mesh: Mesh, duration_s: float = DEFAULT_VIRTUAL_DURATION_S) -> VirtualRunner:
    """Run python/http handlers of ``mesh`` inline, completing each ``duration_s`` later."""
    return VirtualRunner(mesh, duration_s)
