"""The daemon: one HTTP port for every service, a clock, the drivers, graceful shutdown.

Internal endpoints beside the AWS APIs:
* ``GET /_eventmesh/health`` → ``{"status": "ok", ...}``
* ``GET /metrics`` → Prometheus text, read from the cores at scrape time
* ``GET /_eventmesh/clock`` → ``{"now": t, "mode": "real"|"virtual"}``;
  ``POST /_eventmesh/clock {"advance": seconds}`` moves a virtual clock forward.
* ``GET /_eventmesh/ui`` → the read-only console, and the JSON it reads (``eventmesh.console``).
* ``GET /SimpleNotificationService-<hash>.pem`` → the certificate SNS messages are signed with
  (the ``SigningCertURL`` of every notification).
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

from eventmesh.access_log import AccessLog
from eventmesh.clock import RealClock, VirtualClock, advance_problem
from eventmesh.config import Config, apply_config
from eventmesh.console import Console
from eventmesh.drivers.http import install_http_client
from eventmesh.drivers.lambda_.environment import Credentials, default_credentials
from eventmesh.drivers.lambda_.runner import Runner, install_runner
from eventmesh.drivers.persistence.recorder import Direct
from eventmesh.drivers.persistence.records import RequestRecord
from eventmesh.drivers.persistence.store import SNAPSHOT_EVERY_RECORDS, DataDir
from eventmesh.drivers.realtime import RealtimeDriver
from eventmesh.drivers.virtual import VirtualDriver
from eventmesh.effects import InvocationJob, LogEvents
from eventmesh.mesh import Ephemeral, Mesh
from eventmesh.metrics import registry_for
from eventmesh.services import adapters
from eventmesh.services.lambda_.api import serve_function_url
from eventmesh.services.lambda_.configuration import MAX_SYNC_PAYLOAD_BYTES
from eventmesh.services.lambda_.urls import URL_HOST_MARK, URL_PATH_PREFIX, locate
from eventmesh.services.logs import install as install_logs
from eventmesh.services.sns.signing import CERT_NAME_PREFIX, Signer
from eventmesh.services.sqs.service import DRAINING, end_long_polls
from eventmesh.simulate.faults import FaultBoard, FaultError, parse_fault_request
from eventmesh.wire.auth import AccessKeys
from eventmesh.wire.guards import Guard
from eventmesh.wire.limits import DEFAULT_REQUEST_BYTES, HostNotAllowed, ServerSettings
from eventmesh.wire.render import Response
from eventmesh.wire.router import Api, Request
from eventmesh.wire.server import HttpServer, json_response

__all__ = ["App", "Daemon", "serve", "serve_in_thread"]

log = logging.getLogger("eventmesh")
function_log = logging.getLogger("eventmesh.lambda")   # -v: what functions write, as it arrives

SNAPSHOT_CHECK_S = 5.0   # how often the daemon looks whether a background snapshot is due

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
TARGET_MEMO_SIZE = 1_024   # X-Amz-Target values whose body limit is remembered


class _ClockRequest(msgspec.Struct):
    advance: float | None = None


def _internal(path: str) -> bool:
    return path.startswith("/_eventmesh/") or path == "/metrics"


def _function_url(request: Request) -> bool:
    """A request to a Lambda function URL (``/lambda-url/…`` or ``<url-id>.lambda-url.<region>.localhost``)."""
    host = request.headers.get("host") or ""
    return (request.path.startswith(URL_PATH_PREFIX) or URL_HOST_MARK in host) \
        and locate(host, request.path) is not None


class App:
    """Internal endpoints first, then the AWS APIs; the ``wire.server.Door`` the server serves
    (its guards and body limits, then the request)."""

    def __init__(self, mesh: Mesh, api: Api, settings: ServerSettings | None = None,
                 bind_host: str = DEFAULT_HOST) -> None:
        self.mesh = mesh
        self.api = api
        self.settings = settings or ServerSettings()
        self.guard = Guard(self.settings, bind_host)
        self._target_limits: dict[str, int] = {}   # X-Amz-Target -> body limit
        self.registry = registry_for(mesh)
        self.virtual = VirtualDriver(mesh) if isinstance(mesh.clock, VirtualClock) else None
        self._run_scheduled = False
        # Internal endpoints answered by someone else (a daemon of several workers answers
        # /metrics and the clock for all of them): path -> handler, after the Bearer check.
        self.endpoints: dict[str, Callable[[Request], Response | Awaitable[Response]]] = {}
        if self.virtual is not None:
            mesh.clock.on_earlier_deadline = self._schedule_run_due
        self.console = Console(mesh, api)
        api.fronts.append(self._function_url_front)
        # How inputs that are not requests enter the engine (a Recorder with a data directory).
        self.inputs: Direct = Direct(mesh)

    # -- the door ----------------------------------------------------------------------------

    def admit(self, request: Request) -> Response | int:
        """Guards first (Host, Origin, content type; preflights answered), then the body limit. A
        function URL is a public endpoint by design (its own CORS settings, its function's payload
        limit): only the Host guard applies to it."""
        headers = request.headers
        if _function_url(request):
            if not self.guard.host_allowed(headers.get("host")):
                return self.api.refuse(request, HostNotAllowed(f"Host {headers.get('host')!r} is not allowed."))
            return MAX_SYNC_PAYLOAD_BYTES
        if request.method == "OPTIONS" and "access-control-request-method" in headers:
            return self.guard.preflight(headers)
        refusal = self.guard.refusal(request.method, headers)
        if refusal is not None:
            if _internal(request.path):
                return json_response(refusal.http_status, {"message": refusal.message})
            return self.api.refuse(request, refusal)
        target = headers.get("x-amz-target")
        if target is not None:
            known = self._target_limits.get(target)
            if known is not None:
                return known
        limits = self.settings.max_body_bytes
        if _internal(request.path):
            return limits.get("internal", DEFAULT_REQUEST_BYTES)
        service, limit = self.api.body_limit(request)
        limit = limits.get(service, limit)
        if target is not None:   # the same few targets come again and again
            if len(self._target_limits) >= TARGET_MEMO_SIZE:
                self._target_limits.clear()
            self._target_limits[target] = limit
        return limit

    def _function_url_front(self, request: Request) -> Response | Awaitable[Response] | None:
        return serve_function_url(self.api, request) if _function_url(request) else None

    def too_large(self, request: Request, limit: int) -> Response:
        if _internal(request.path):
            return json_response(413, {"message": f"Request must be smaller than {limit} bytes."})
        return self.api.too_large(request, limit)

    def __call__(self, request: Request) -> Response | Awaitable[Response]:
        response = self._serve(request)
        if "origin" not in request.headers:
            return response
        extra = self.guard.response_headers(request.headers)
        if not extra:
            return response
        if isinstance(response, tuple):
            return response[0], response[1] + extra, response[2]
        return _with_headers(response, extra)

    def _serve(self, request: Request) -> Response | Awaitable[Response]:
        path = request.path
        if _function_url(request):   # every path of a function URL is the function's
            return self.api.handle(request)
        if _internal(path):
            if path != "/_eventmesh/health" and not self.api.access_keys.allows_bearer(
                    request.headers.get("authorization")):
                return json_response(403, {"message": "this endpoint needs Authorization: Bearer <access key>"})
            endpoint = self.endpoints.get(path) or self.endpoints.get(path.rsplit("/", 1)[0])
            if endpoint is not None:
                return endpoint(request)
            if path.startswith(Console.PREFIXES):
                return self.console.handle(request)
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
        if path.startswith("/" + CERT_NAME_PREFIX) and request.method == "GET":
            pem = self.mesh.root.state(Signer).certificate(path[1:])
            if pem is not None:
                return 200, [("Content-Type", "application/x-x509-ca-cert")], pem
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
        self.inputs.tick(self.mesh.clock.run_due)

    def _clock(self, request: Request) -> Response:
        mode = "virtual" if self.virtual else "real"
        if request.method == "POST":
            if self.virtual is None:
                return json_response(400, {"message": "the clock is real; start with --clock virtual"})
            try:
                body = msgspec.json.decode(request.body or b"{}", type=_ClockRequest)
            except msgspec.DecodeError as exc:
                return json_response(400, {"message": f"bad clock request: {exc}"})
            problem = advance_problem(body.advance)
            if problem is not None:
                return json_response(400, {"message": problem})
            ran = self.virtual.advance(body.advance or 0.0)   # not None once there is no problem
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
            faults, _ = parse_fault_request(request.body)
            for fault in faults:   # all or none
                board.check(fault)
            added = [board.add(fault) for fault in faults]
        except FaultError as exc:
            return json_response(400, {"message": "; ".join(exc.problems), "problems": exc.problems})
        self.mesh.flush()
        ids = {fault.id for fault in added}
        return json_response(201, {"faults": [f for f in board.describe() if f["id"] in ids]})


async def _with_headers(pending: Awaitable[Response], extra: list[tuple[str, str]]) -> Response:
    status, headers, body = await pending
    return status, headers + extra, body


class JournaledDoor:
    """The door of a daemon with a data directory: every request that may change the engine is
    journaled before it is taken, and its response is sent only once the journal holds it (and
    everything before it) on disk. Reads of the internal endpoints (health, metrics, the console)
    change nothing and pass straight through."""

    def __init__(self, app: App, data: DataDir) -> None:
        self.app = app
        self.data = data

    def admit(self, request: Request) -> Response | int:
        return self.app.admit(request)

    def too_large(self, request: Request, limit: int) -> Response:
        return self.app.too_large(request, limit)

    def __call__(self, request: Request) -> Response | Awaitable[Response]:
        app = self.app
        if request.method == "GET" and _internal(request.path):
            return app(request)
        body = request.body if type(request.body) is bytes else bytes(request.body)
        response, _ = app.inputs.request(request.method, request.path, request.query, request.headers, body,
                                         lambda: app(request))
        return self.data.durable(response)  # type: ignore[no-any-return]


class Daemon:
    """Builds the mesh from a config and serves it until stopped. With ``data_dir`` (or the
    config's ``data_dir``) every acknowledged write survives a crash (docs/durability.md)."""

    def __init__(self, config: Config | None = None, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 clock: str = "real", services: list[str] | None = None, verbose: bool = False,
                 data_dir: str | None = None) -> None:
        self.config = config or Config()
        self.host = host
        self.port = port
        self.clock_mode = clock
        self._services = services
        self._verbose = verbose
        self.access_keys = AccessKeys(self.config.access_keys)
        self.settings = self.config.server
        directory = data_dir if data_dir is not None else self.config.data_dir
        self.data = DataDir(directory) if directory else None
        seed = self.config.seed if self.data is None else self.data.read_meta(self.config.seed)["seed"]
        self._bind(Mesh(RealClock() if clock == "real" else VirtualClock(),
                        account_id=self.config.account_id, region=self.config.region, seed=seed))
        self.bound_port: int | None = None
        self._server: asyncio.Server | None = None
        self._stopped: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: Runner | None = None
        self._driver: RealtimeDriver | None = None

    def _bind(self, mesh: Mesh) -> None:
        """Serve ``mesh``: its API, the internal endpoints, the door (a restored engine is bound
        again in place of the fresh one)."""
        self.mesh = mesh
        self.api = Api(mesh, adapters(self._services), access_keys=self.access_keys,
                       settings={"queue_urls": self.config.queue_urls, "function_urls": self.config.function_urls,
                                 "wire_handlers": self.config.wire_handlers})
        self.app = App(mesh, self.api, self.settings, self.host)
        door: Any = self.app if self.data is None else JournaledDoor(self.app, self.data)
        # -v: one log line per request, paid for only when asked.
        self.http = HttpServer(AccessLog(self.api, door) if self._verbose else door, self.settings)
        install_logs(mesh)   # CloudWatch Logs takes what the functions write
        mesh.subscribe(LogEvents, Ephemeral(_print_function_logs))

    @property
    def inputs(self) -> Direct:
        return self.app.inputs

    def _replayer(self, mesh: Mesh) -> Callable[[RequestRecord], object]:
        if mesh is not self.mesh:
            self._bind(mesh)
        app = self.app

        def take(record: RequestRecord) -> object:
            response = app(Request(record.method, record.path, record.query, record.headers, record.body))
            close = getattr(response, "close", None)
            if close is not None:   # an answer that would come later: nobody waits for it now
                close()
            return response

        return take

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        recovered = None
        fresh = True
        if self.data is not None:
            fresh = self.data.fresh
            recovered = self.data.open(lambda: self.mesh, self._replayer, end_long_polls)
            if recovered.replayed:
                log.info("recovered %s: %d journal records replayed", self.data.path, recovered.replayed)
            # From here on every input is journaled (nothing runs on the loop before this).
            self.app.inputs = self.data.start(self.mesh, loop)
        inputs = self.inputs
        driver = RealtimeDriver(self.mesh, loop, tick=inputs.tick) if isinstance(self.mesh.clock, RealClock) else None
        self._driver = driver
        # The drivers that carry out effects needing I/O: handler runs and HTTP requests.
        self._runner = install_runner(self.mesh, self._spawn, credentials=self._function_credentials,
                                      answer=inputs.answer)
        install_http_client(self.mesh, self._spawn, answer=inputs.answer)
        self._server = await self._listen(loop)
        self.bound_port = self._server.sockets[0].getsockname()[1]
        # The functions' SDKs talk to this daemon (AWS_ENDPOINT_URL), on loopback when it binds all.
        local = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        self._runner.endpoint_url = f"http://{local}:{self.bound_port}"
        if self.data is None or fresh:
            # Bound first, so resources from the config carry the daemon's real address in their URLs.
            await self._apply_config()
            for notice in self.config.notices:   # what the templates declared that is not created here
                log.warning("%s", notice)
            if self.data is not None:
                self.data.snapshot(self.mesh)   # the config's resources are the directory's start
        else:
            log.info("%s holds the engine's state: the config's resources are not created again", self.data.path)
        if recovered is not None:
            # Long polls of the previous process had connections that are gone; work that was
            # outside the engine at the crash (handler runs, HTTP requests) is sent again.
            inputs.drain(lambda: end_long_polls(self.mesh))
            for effect in recovered.in_flight:
                self.mesh.emit(effect)
            self.mesh.flush()
            self._spawn(self._snapshots())
        await self._server.start_serving()
        log.info("eventmesh listening on http://%s:%s (clock %s)",
                 self.host, self.bound_port, self.clock_mode)

    async def _snapshots(self) -> None:
        """A snapshot in the background whenever enough was journaled since the last one."""
        assert self.data is not None
        while True:
            await asyncio.sleep(SNAPSHOT_CHECK_S)
            self.data.reap()
            if self.data.records_since_snapshot() >= SNAPSHOT_EVERY_RECORDS:
                self.data.snapshot(self.mesh, background=True)

    async def _listen(self, loop: asyncio.AbstractEventLoop) -> asyncio.Server:
        """The listening socket, not serving yet (a worker of several shares its port)."""
        return await loop.create_server(self.http.protocol, self.host, self.port, reuse_address=True,
                                        start_serving=False)

    async def _apply_config(self) -> None:
        """Create the config's resources (a worker of several creates them where they belong)."""
        apply_config(self.config, self.api, host=f"{self.host}:{self.bound_port}")

    def waiting(self, arn: str) -> int:
        """Long polls waiting on the queue at ``arn`` (a queue's own: services/sqs/polls.py)."""
        return len(getattr(self.mesh.find(arn, object), "polls", ()))

    def _function_credentials(self, job: InvocationJob) -> Credentials:
        """A function's credentials: its account's key (minted when the daemon checks keys)."""
        return default_credentials(job, self.access_keys.mint(job.account_id))

    def stop(self) -> None:
        if self._stopped is not None:
            self._stopped.set()

    async def wait_stopped(self) -> None:
        assert self._stopped is not None
        await self._stopped.wait()
        assert self._server is not None
        self._server.close()
        await self.drain()
        self.http.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        if self._driver is not None:
            self._driver.close()
        if self._runner is not None:
            self._runner.close()
        if self.data is not None:
            self.data.close(self.mesh)   # a last snapshot: the next start replays nothing
        self.mesh.close()

    def begin_drain(self) -> None:
        """The start of a graceful shutdown: every waiting long poll answers now (empty, as at
        the end of its wait) and later ones do not wait; event streams stop waiting too."""
        self.api.settings[DRAINING] = True
        self.inputs.drain(lambda: end_long_polls(self.mesh))
        self.api.waiters.drain()

    async def drain(self) -> None:
        """Graceful shutdown, at most ``drain_timeout_s`` of real time: long polls answer now
        (empty, as at the end of their wait), running invocations finish and their callers get
        their answers, idle connections close; whatever is left after that is cut off."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.drain_timeout_s
        self.begin_drain()
        self.http.close_idle()
        if self._runner is not None:
            await self._runner.drain(max(0.0, deadline - loop.time()))
        self.mesh.flush()
        if not await self.http.drained(max(0.0, deadline - loop.time())):
            log.warning("shutdown: %d connections still busy after %.1f s", len(self.http.connections),
                        self.settings.drain_timeout_s)

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


def _print_function_logs(effect: LogEvents) -> None:
    """``-v``: every line a function writes, prefixed by its log group, on the daemon's console."""
    if function_log.isEnabledFor(logging.INFO):
        for _, message in effect.events:
            function_log.info("%s %s", effect.group, message.rstrip("\n"))


def _run_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every supported platform
        asyncio.run(coroutine)
        return
    uvloop.run(coroutine)


def serve(config: Config | None = None, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          clock: str = "real", verbose: bool = False) -> None:
    """Run the daemon in this thread until SIGTERM/SIGINT (``eventmesh serve``)."""
    daemon = Daemon(config, host=host, port=port, clock=clock, verbose=verbose)

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
        headers = {"Content-Type": "application/json"}
        if self.daemon.access_keys.enabled:
            headers["Authorization"] = f"Bearer {next(iter(self.daemon.access_keys.keys))}"
        try:
            conn.request("POST", "/_eventmesh/clock", msgspec.json.encode({"advance": seconds}), headers)
            reply = conn.getresponse()
            data = msgspec.json.decode(reply.read())
            if reply.status != 200:
                raise RuntimeError(data)
            return float(data["now"])
        finally:
            conn.close()

    def wait_for_polls(self, arn: str, count: int = 1, timeout_s: float = 10.0) -> None:
        """Block until ``count`` long polls wait on the queue at ``arn`` in the daemon: a test's
        receive from another thread has arrived, so moving virtual time now is seen by it.
        Bounded by ``timeout_s`` of real time (then AssertionError)."""
        deadline = time.monotonic() + timeout_s
        while self.waiting(arn) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {count} long polls reached the daemon for {arn}")
            time.sleep(0.005)

    def settle(self) -> None:
        """Return once every delivery already made has landed: at once in one process, where a
        delivery lands before the request that caused it is answered; a daemon of several
        workers (``eventmesh.workers``) waits for the ones that crossed between them. For tests
        that read a core directly right after a request over the wire."""

    def waiting(self, arn: str) -> int:
        """How many long polls wait on ``arn`` in the daemon now."""
        return self.daemon.waiting(arn)

    def advance_until(self, done: Callable[[], object], step_s: float = 0.01, timeout_s: float = 60.0) -> None:
        """Step the virtual clock by ``step_s`` until ``done()`` holds, for work that runs in real
        time beside it (Python handlers in worker processes). Bounded by ``timeout_s`` of real
        time (then AssertionError): a bound on waiting, not a measure of speed."""
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError("the condition did not hold within the real-time bound")
            self.advance(step_s)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.daemon.stop)
        self.thread.join(timeout=10)


def serve_in_thread(config: Config | None = None, *, clock: str = "virtual", host: str = DEFAULT_HOST,
                    port: int = 0, services: list[str] | None = None, verbose: bool = False,
                    data_dir: str | None = None) -> ServerHandle:
    """Start a daemon on an ephemeral port in a background thread and wait until it listens
    (``data_dir`` needs this process to run with PYTHONHASHSEED=0, as ``eventmesh serve`` does)."""
    daemon = Daemon(config, host=host, port=port, clock=clock, services=services, verbose=verbose,
                    data_dir=data_dir)
    thread, loop = run_in_thread(daemon, "eventmesh-daemon")
    return ServerHandle(daemon, thread, loop)


def run_in_thread(daemon: Daemon, name: str,
                  timeout_s: float = 30.0) -> tuple[threading.Thread, asyncio.AbstractEventLoop]:
    """Run ``daemon`` on its own event loop in a background thread, once it serves: the thread
    and the loop. What kept it from starting is raised here (RuntimeError when it did not say)."""
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

    thread = threading.Thread(target=main, name=name, daemon=True)
    thread.start()
    started.wait(timeout=timeout_s)
    if failure:
        raise failure[0]
    if "loop" not in holder:
        raise RuntimeError(f"{name} did not start")
    return thread, holder["loop"]
