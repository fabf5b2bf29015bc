"""Runners: who executes the python, runtime-API and http handlers the pool core hands out as
``RunInvocation``.

Real time (the daemon)::

    runner = install_runner(mesh, spawn, endpoint_url="http://127.0.0.1:4566")

``spawn(coroutine)`` starts one task on the event loop; ``endpoint_url`` is what the functions'
SDKs talk to (``AWS_ENDPOINT_URL``), ``credentials`` what they sign with. The daemon closes the
runner at shutdown, which stops its execution environments. The runner spawns at most one
long-lived consumer task per environment (python worker or Runtime API process) and per http
slot, lazily, never one per event; each consumer takes the next ``RunInvocation``, runs it in a
thread (``WorkerPool.run`` or the http POST), then, back on the event loop, answers the effect's
``reply_to`` and flushes the mesh. Handler durations are real; the function's timeout is enforced
by the environment.

Virtual time (tests, simulations)::

    install_virtual_runner(mesh, duration_s=0.001)

runs each python handler inline in the engine's thread when the effect is carried out (inside the
function's environment variables, its output captured), then completes it ``duration_s`` later on
the mesh clock (its reported duration), so a test is deterministic whatever the handler's real
speed. A ``duration_s`` beyond the function's timeout gives the timeout error; a handler that
really blocks blocks the test (no timeout is enforced inline). Runtime-API functions run in a
real process there too, called inline.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

import anyio

from eventmesh.drivers.lambda_.code import CodeStore, PackageError
from eventmesh.drivers.lambda_.environment import CredentialSource, function_environment
from eventmesh.drivers.lambda_.http import execute_http
from eventmesh.drivers.lambda_.python import HandlerLoader, execute_inline
from eventmesh.drivers.lambda_.workers import WorkerPool
from eventmesh.effects import HandlerOutcome, RunInvocation
from eventmesh.mesh import Ephemeral, Mesh
from eventmesh.services.lambda_.jobs import error_payload, timeout_outcome

__all__ = ["Runner", "install_runner", "VirtualRunner", "install_virtual_runner",
           "DEFAULT_HTTP_CONCURRENCY", "DEFAULT_VIRTUAL_DURATION_S"]

DEFAULT_HTTP_CONCURRENCY = 64
DEFAULT_VIRTUAL_DURATION_S = 0.001


class Runner:
    """Real-time execution of RunInvocation effects (see the module docstring)."""

    def __init__(self, mesh: Mesh, spawn: Callable[[Coroutine[Any, Any, None]], Any], *,
                 workers: int | None = None, http_concurrency: int = DEFAULT_HTTP_CONCURRENCY,
                 endpoint_url: str = "", credentials: CredentialSource | None = None,
                 answer: Callable[[int, HandlerOutcome], None] | None = None) -> None:
        self.mesh = mesh
        # How an outcome enters the engine: the mesh's reply (a daemon with a data directory
        # journals it first).
        self._answer = answer or self._reply
        self.pool = WorkerPool(workers, endpoint_url=endpoint_url, credentials=credentials)
        self._spawn = spawn
        process = _Lane(self.pool.size, self._run_process)
        self._lanes = {"python": process, "runtime": process, "http": _Lane(http_concurrency, self._run_http)}
        self.in_flight = 0   # invocations submitted and not yet answered
        self._settled: asyncio.Event | None = None
        self._subscription = Ephemeral(self.submit)  # a snapshot keeps no driver
        mesh.subscribe(RunInvocation, self._subscription)

    def _reply(self, token: int, outcome: HandlerOutcome) -> None:
        self.mesh.reply(token, outcome)
        self.mesh.flush()

    @property
    def endpoint_url(self) -> str:
        return self.pool.endpoint_url

    @endpoint_url.setter
    def endpoint_url(self, url: str) -> None:
        """Where the functions' SDKs send their calls (the daemon sets it once it is bound)."""
        self.pool.endpoint_url = url

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
            self._answer(effect.reply_to, outcome)
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

    async def _run_process(self, effect: RunInvocation) -> HandlerOutcome:
        return await anyio.to_thread.run_sync(self.pool.run, effect.job, effect.code, effect.layers,
                                              abandon_on_cancel=True,
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
        self.mesh.unsubscribe(RunInvocation, self._subscription)
        for lane in set(self._lanes.values()):
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
                   workers: int | None = None, http_concurrency: int = DEFAULT_HTTP_CONCURRENCY,
                   endpoint_url: str = "", credentials: CredentialSource | None = None,
                   answer: Callable[[int, HandlerOutcome], None] | None = None) -> Runner:
    """Execute python/runtime/http handlers of ``mesh`` in processes / threads (real time)."""
    return Runner(mesh, spawn, workers=workers, http_concurrency=http_concurrency, endpoint_url=endpoint_url,
                  credentials=credentials, answer=answer)


class VirtualRunner:
    """Inline execution for virtual time (see the module docstring)."""

    def __init__(self, mesh: Mesh, duration_s: float = DEFAULT_VIRTUAL_DURATION_S, *, endpoint_url: str = "",
                 credentials: CredentialSource | None = None) -> None:
        self.mesh = mesh
        self.duration_s = duration_s
        self.endpoint_url = endpoint_url
        self.credentials = credentials
        self.loader = HandlerLoader()
        self.code = CodeStore()
        self._processes: WorkerPool | None = None
        mesh.subscribe(RunInvocation, self.run)

    def run(self, effect: RunInvocation) -> None:
        job = effect.job
        duration = self.duration_s
        if duration > job.timeout_s:
            outcome = timeout_outcome(job.request_id, job.timeout_s)
        elif job.kind == "runtime":
            if self._processes is None:
                self._processes = WorkerPool(1, endpoint_url=self.endpoint_url, credentials=self.credentials)
            outcome = self._processes.run(job, effect.code, effect.layers)
            outcome.duration_s = duration
        else:
            outcome = self._run_inline(job, effect.code, duration, effect.layers)
        self.mesh.clock.call_later(duration, partial(self.mesh.reply, effect.reply_to, outcome))

    def _run_inline(self, job: Any, code: bytes | None, duration: float,
                    layers: tuple[tuple[str, bytes], ...] = ()) -> HandlerOutcome:
        if code is not None or layers:
            try:
                job = self.code.prepare(job, code, layers)
            except PackageError as exc:
                return HandlerOutcome(error_payload("Runtime.InvalidEntrypoint", str(exc), job.request_id),
                                      "Runtime.InvalidEntrypoint", str(exc))
        if job.kind == "python":
            creds = self.credentials(job) if self.credentials else None
            env = function_environment(job, task_root=job.code_dir or os.getcwd(), endpoint_url=self.endpoint_url,
                                       credentials=creds)
            env.pop("PATH", None)   # inline: this process's own PATH and files stay as they are
            env.pop("AWS_CONFIG_FILE", None)
            env.pop("AWS_SHARED_CREDENTIALS_FILE", None)
            outcome = execute_inline(job, self.loader, self.mesh.clock.now, lambda: duration, env)
        else:
            outcome = execute_http(job, lambda: duration)
        outcome.duration_s = duration
        return outcome

    def close(self) -> None:
        self.mesh.unsubscribe(RunInvocation, self.run)
        if self._processes is not None:
            self._processes.close()
        self.code.close()


def install_virtual_runner(mesh: Mesh, duration_s: float = DEFAULT_VIRTUAL_DURATION_S, *, endpoint_url: str = "",
                           credentials: CredentialSource | None = None) -> VirtualRunner:
    """Run python/http handlers of ``mesh`` inline, completing each ``duration_s`` later."""
    return VirtualRunner(mesh, duration_s, endpoint_url=endpoint_url, credentials=credentials)
