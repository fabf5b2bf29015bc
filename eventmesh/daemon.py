"""The daemon: one HTTP port for every service, a clock, the drivers, graceful shutdown.

Internal endpoints beside the AWS APIs:
* ``GET /_eventmesh/health`` → ``{"status": "ok", ...}``
* ``GET /metrics`` → Prometheus text, read from the cores at scrape time
* ``GET /_eventmesh/clock`` → ``{"now": t, "mode": "real"|"virtual"}``;
  ``POST /_eventmesh/clock {"advance": seconds}`` moves a virtual clock forward.
* ``POST /_eventmesh/faults`` (a fault, a list, or ``{"faults": [...]}``) injects faults, the
  model scenarios use (``eventmesh.simulate.faults``: ``at`` counts from now); ``GET`` lists
  them, ``DELETE /_eventmesh/faults`` clears all and ``DELETE /_eventmesh/faults/<id>`` one.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import msgspec
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from eventmesh.clock import RealClock, VirtualClock
from eventmesh.config import Config, apply_config
from eventmesh.drivers.http import install_http_client
from eventmesh.drivers.lambda_.runner import Runner, install_runner
from eventmesh.drivers.realtime import RealtimeDriver
from eventmesh.drivers.virtual import VirtualDriver
from eventmesh.mesh import Mesh
from eventmesh.metrics import registry_for
from eventmesh.services import adapters
from eventmesh.simulate.faults import FaultBoard, FaultError, parse_fault
from eventmesh.wire.render import Response
from eventmesh.wire.router import Api, Request
from eventmesh.wire.server import HttpProtocol, json_response

__all__ = ["App", "Daemon", "serve", "serve_in_thread"]

log = logging.getLogger("eventmesh")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566


class _ClockRequest(msgspec.Struct):
    advance: float | None = None


class App:
    """Internal endpoints first, then the AWS APIs."""

    def __init__(self, mesh: Mesh, api: Api) -> None:
        self.mesh = mesh
        self.api = api
        self.registry = registry_for(mesh)
        self.virtual = VirtualDriver(mesh) if isinstance(mesh.clock, VirtualClock) else None
        self._run_scheduled = False
        if self.virtual is not None:
            mesh.clock.on_earlier_deadline = self._schedule_run_due

    def __call__(self, request: Request) -> Response | Awaitable[Response]:
        path = request.path
        if path.startswith("/_eventmesh/") or path == "/metrics":
            if path == "/_eventmesh/health":
                return json_response(200, {"status": "ok", "services": sorted(self.api.services),
                                           "clock": "virtual" if self.virtual else "real"})
            if path == "/metrics":
                return 200, [("Content-Type", CONTENT_TYPE_LATEST)], generate_latest(self.registry)
            if path == "/_eventmesh/clock":
                return self._clock(request)
            if path == "/_eventmesh/faults" or path.startswith("/_eventmesh/faults/"):
                return self._faults(request)
            return json_response(404, {"message": f"no such endpoint {path}"})
        return self.api.handle(request)

    def _schedule_run_due(self) -> None:
        """Virtual time: work due "now" (a zero-duration invocation, a zero delay) runs at once,
        as it would in real time; only later deadlines wait for ``POST /_eventmesh/clock``."""
        deadline = self.mesh.clock.next_deadline()
        if self._run_scheduled or deadline is None or deadline > self.mesh.clock.now():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # scheduled outside the loop (config loading): the next request runs it
        self._run_scheduled = True
        loop.call_soon(self._run_due_now)

    def _run_due_now(self) -> None:
        self._run_scheduled = False
        self.mesh.clock.run_due()
        self.mesh.flush()

    def _clock(self, request: Request) -> Response:
        mode = "virtual" if self.virtual else "real"
        if request.method == "POST":
            if self.virtual is None:
                return json_response(400, {"message": "the clock is real; start with --clock virtual"})
            try:
                body = msgspec.json.decode(request.body or b"{}", type=_ClockRequest)
            except msgspec.DecodeError as exc:
                return json_response(400, {"message": f"bad clock request: {exc}"})
            if body.advance is None or body.advance < 0:
                return json_response(400, {"message": "advance must be a number of seconds >= 0"})
            ran = self.virtual.advance(body.advance)
            return json_response(200, {"now": self.mesh.clock.now(), "mode": mode, "timers_run": ran})
        return json_response(200, {"now": self.mesh.clock.now(), "mode": mode})


    def _faults(self, request: Request) -> Response:
        board = self.mesh.state(FaultBoard)
        fault_id = request.path[len("/_eventmesh/faults/"):] if request.path.startswith("/_eventmesh/faults/") else ""
        if request.method == "GET" and not fault_id:
            return json_response(200, {"faults": board.describe()})
        if request.method == "DELETE":
            if not fault_id:
                cleared = board.clear()
                self.mesh.flush()
                return json_response(200, {"cleared": cleared})
            if not board.remove(fault_id):
                return json_response(404, {"message": f"no fault {fault_id}"})
            self.mesh.flush()
            return json_response(200, {"cleared": 1})
        if request.method != "POST" or fault_id:
            return json_response(405, {"message": "use GET, POST or DELETE on /_eventmesh/faults"})
        try:
            body = msgspec.json.decode(request.body or b"null")
        except msgspec.DecodeError as exc:
            return json_response(400, {"message": f"bad fault request: {exc}"})
        items = body.get("faults") if isinstance(body, dict) and "faults" in body else body
        items = items if isinstance(items, list) else [items]
        try:
            faults = [parse_fault(item, f"faults[{i}]" if len(items) > 1 else "") for i, item in enumerate(items)]
            for fault in faults:   # all or none
                board.check(fault)
            added = [board.add(fault) for fault in faults]
        except FaultError as exc:
            return json_response(400, {"message": "; ".join(exc.problems), "problems": exc.problems})
        self.mesh.flush()
        ids = {fault.id for fault in added}
        return json_response(201, {"faults": [f for f in board.describe() if f["id"] in ids]})


class Daemon:
    """Builds the mesh from a config and serves it until stopped."""

    def __init__(self, config: Config | None = None, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 clock: str = "real", services: list[str] | None = None) -> None:
        self.config = config or Config()
        self.host = host
        self.port = port
        self.clock_mode = clock
        self.mesh = Mesh(RealClock() if clock == "real" else VirtualClock(),
                         account_id=self.config.account_id, region=self.config.region,
                         seed=self.config.seed)
        self.api = Api(self.mesh, adapters(services))
        self.app = App(self.mesh, self.api)
        self.bound_port: int | None = None
        self._server: asyncio.AbstractServer | None = None
        self._stopped: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connections: set[HttpProtocol] = set()
        self._runner: Runner | None = None

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        driver = RealtimeDriver(self.mesh, loop) if isinstance(self.mesh.clock, RealClock) else None
        self._driver = driver
        # The drivers that carry out effects needing I/O: handler runs and HTTP requests.
        self._runner = install_runner(self.mesh, self._spawn)
        install_http_client(self.mesh, self._spawn)
        self._server = await loop.create_server(lambda: HttpProtocol(self.app, self._connections),
                                                self.host, self.port, reuse_address=True, start_serving=False)
        self.bound_port = self._server.sockets[0].getsockname()[1]
        # Bound first, so resources from the config carry the daemon's real address in their URLs.
        apply_config(self.config, self.api, host=f"{self.host}:{self.bound_port}")
        await self._server.start_serving()
        log.info("eventmesh listening on http://%s:%s (clock %s)",
                 self.host, self.bound_port, self.clock_mode)

    def stop(self) -> None:
        if self._stopped is not None:
            self._stopped.set()

    async def wait_stopped(self) -> None:
        assert self._stopped is not None
        await self._stopped.wait()
        assert self._server is not None
        self._server.close()
        for connection in list(self._connections):
            connection.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        if self._driver is not None:
            self._driver.close()
        if self._runner is not None:
            self._runner.close()
        self.mesh.close()

    async def run(self, ready: Callable[[Daemon], None] | None = None) -> None:
        await self.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread (tests) or no signals on this platform
        if ready is not None:
            ready(self)
        await self.wait_stopped()


def _run_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every supported platform
        asyncio.run(coroutine)
        return
    uvloop.run(coroutine)


def serve(config: Config | None = None, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          clock: str = "real") -> None:
    """Run the daemon in this thread until SIGTERM/SIGINT (``eventmesh serve``)."""
    daemon = Daemon(config, host=host, port=port, clock=clock)

    def ready(d: Daemon) -> None:
        print(f"eventmesh listening on http://{d.host}:{d.bound_port} (clock {d.clock_mode})", flush=True)

    _run_loop(daemon.run(ready))
    print("eventmesh stopped", flush=True)


class ServerHandle:
    """A daemon running in a background thread (tests): ``url``, ``advance(seconds)``, ``stop()``."""

    def __init__(self, daemon: Daemon, thread: threading.Thread, loop: asyncio.AbstractEventLoop) -> None:
        self.daemon = daemon
        self.thread = thread
        self.loop = loop
        self.url = f"http://{daemon.host}:{daemon.bound_port}"

    @property
    def mesh(self) -> Mesh:
        return self.daemon.mesh

    def advance(self, seconds: float) -> float:
        """Move the virtual clock forward (as ``POST /_eventmesh/clock`` does)."""
        import http.client

        conn = http.client.HTTPConnection(self.daemon.host, self.daemon.bound_port, timeout=30)
        try:
            conn.request("POST", "/_eventmesh/clock", msgspec.json.encode({"advance": seconds}),
                         {"Content-Type": "application/json"})
            reply = conn.getresponse()
            data = msgspec.json.decode(reply.read())
            if reply.status != 200:
                raise RuntimeError(data)
            return float(data["now"])
        finally:
            conn.close()

    def wait_for_polls(self, arn: str, count: int = 1, timeout_s: float = 10.0) -> None:
        """Block until ``count`` long polls wait on ``arn`` in the daemon: a test's receive from
        another thread has arrived, so moving virtual time now is seen by it. Bounded by
        ``timeout_s`` of real time (then AssertionError)."""
        deadline = time.monotonic() + timeout_s
        while self.daemon.api.waiters.waiting(arn) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {count} long polls reached the daemon for {arn}")
            time.sleep(0.005)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.daemon.stop)
        self.thread.join(timeout=10)


def serve_in_thread(config: Config | None = None, *, clock: str = "virtual", host: str = DEFAULT_HOST,
                    port: int = 0, services: list[str] | None = None) -> ServerHandle:
    """Start a daemon on an ephemeral port in a background thread and wait until it listens."""
    daemon = Daemon(config, host=host, port=port, clock=clock, services=services)
    started = threading.Event()
    failure: list[BaseException] = []
    holder: dict[str, asyncio.AbstractEventLoop] = {}

    def ready(_: Daemon) -> None:
        holder["loop"] = asyncio.get_running_loop()
        started.set()

    def main() -> None:
        try:
            _run_loop(daemon.run(ready))
        except BaseException as exc:  # surfaced to the caller below
            failure.append(exc)
            started.set()

    thread = threading.Thread(target=main, name="eventmesh-daemon", daemon=True)
    thread.start()
    started.wait(timeout=30)
    if failure:
        raise failure[0]
    return ServerHandle(daemon, thread, holder["loop"])
