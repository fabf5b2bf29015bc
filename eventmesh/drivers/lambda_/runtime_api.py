"""The Lambda Runtime API, so any runtime's bootstrap runs as a local process, without containers.

A :class:`RuntimeProcess` is one execution environment of a function whose code speaks the
Runtime API: a custom runtime (``provided.al2023``, ``provided.al2``: the package's executable
``bootstrap``, e.g. a Go, Rust, C++, Java or .NET binary, or any runtime interface client), or a
Node.js function (``nodejs*``: ``node`` runs eventmesh's own bootstrap, ``node_bootstrap.js``,
which loads the handler from the package). Each environment has its own Runtime API endpoint on
127.0.0.1 (``AWS_LAMBDA_RUNTIME_API``), served by a small threaded HTTP server:

=====================================================  ===========================================
``GET  /2018-06-01/runtime/invocation/next``           the next event (blocks); headers
                                                       ``Lambda-Runtime-Aws-Request-Id``,
                                                       ``-Deadline-Ms``, ``-Invoked-Function-Arn``,
                                                       ``-Trace-Id``
``POST /2018-06-01/runtime/invocation/{id}/response``  the function's response (202; 413 past 6 MB)
``POST /2018-06-01/runtime/invocation/{id}/error``     a function error (``errorType`` /
                                                       ``Lambda-Runtime-Function-Error-Type``)
``POST /2018-06-01/runtime/init/error``                initialisation failed
=====================================================  ===========================================

The init phase ends at the process's first ``next`` (its ``Init Duration``); a runtime that
neither asks nor reports within 10 s, or that exits, fails the invocation. While an invocation
runs, the parent checks every ``_WATCH_S`` that the process is alive and its resident memory is
within ``MemorySize`` (past it: ``Runtime.OutOfMemory``, the process is stopped). Node gets
``--max-old-space-size`` at 90 % of ``MemorySize``, as Lambda's Node.js runtime sets it.
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-walkthrough.html
"""

from __future__ import annotations

import http.server
import json
import os
import queue
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from eventmesh.drivers.lambda_.capture import OutputCapture
from eventmesh.drivers.lambda_.lifecycle import INIT_TIMEOUT_S, environment_key, exit_error
from eventmesh.effects import HandlerOutcome, InvocationJob
from eventmesh.services.lambda_.configuration import MAX_SYNC_PAYLOAD_BYTES
from eventmesh.services.lambda_.jobs import (
    RESPONSE_TOO_LARGE_ERROR_TYPE,
    error_payload,
    response_too_large,
    timeout_outcome,
)

__all__ = ["RuntimeProcess", "NODE_BOOTSTRAP", "runtime_command"]

API_PREFIX = "/2018-06-01/runtime"
NODE_BOOTSTRAP = os.path.join(os.path.dirname(__file__), "node_bootstrap.js")
NODE_OLD_SPACE_SHARE = 0.9
_WATCH_S = 0.05
UNHANDLED_ERROR_TYPE = "Unhandled"
OUT_OF_MEMORY_ERROR_TYPE = "Runtime.OutOfMemory"
INVALID_ENTRYPOINT = "Runtime.InvalidEntrypoint"
EnvFactory = Callable[[str, str | None], dict[str, str]]   # (runtime api, runtime bin dir) -> env


class RuntimeSetupError(Exception):
    """The environment cannot start (no bootstrap, no node): ``Runtime.InvalidEntrypoint``."""


def runtime_command(job: InvocationJob) -> tuple[list[str], str | None]:
    """The process to start for ``job``'s runtime and the directory of its interpreter."""
    if job.runtime.startswith("nodejs"):
        node = shutil.which("node")
        if node is None:
            raise RuntimeSetupError(f"The {job.runtime} runtime needs node on the PATH of the daemon")
        old_space = int(job.memory_mb * NODE_OLD_SPACE_SHARE)
        return [node, f"--max-old-space-size={old_space}", NODE_BOOTSTRAP], os.path.dirname(node)
    bootstrap = os.path.join(job.code_dir, "bootstrap")
    if not (os.path.isfile(bootstrap) and os.access(bootstrap, os.X_OK)):
        raise RuntimeSetupError("Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]")
    return [bootstrap], None


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    environment: RuntimeProcess


class _RuntimeApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:   # the API is quiet, as Lambda's is
        return

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path != f"{API_PREFIX}/invocation/next":
            self._reply(404, {"errorMessage": f"no route {self.path}", "errorType": "InvalidPath"})
            return
        job = self.server.environment.next_job()
        if job is None:   # shutting down
            self._reply(500, {"errorMessage": "environment stopping", "errorType": "Runtime.Stopping"})
            return
        deadline_ms = int((time.time() + job.timeout_s) * 1000)
        self._reply(200, job.payload or b"{}", {
            "Lambda-Runtime-Aws-Request-Id": job.request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": job.invoked_function_arn,
            "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
        })

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
        environment = self.server.environment
        if self.path == f"{API_PREFIX}/init/error":
            environment.post(("init_error", error_type, body))
            self._reply(202, {"status": "OK"})
            return
        parts = self.path[len(API_PREFIX):].split("/")   # ["", "invocation", id, kind]
        if len(parts) != 4 or parts[1] != "invocation" or parts[3] not in ("response", "error"):
            self._reply(404, {"errorMessage": f"no route {self.path}", "errorType": "InvalidPath"})
            return
        if not environment.is_current(parts[2]):
            self._reply(400, {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"})
            return
        if parts[3] == "response" and len(body) > MAX_SYNC_PAYLOAD_BYTES:
            payload, message = response_too_large(len(body), MAX_SYNC_PAYLOAD_BYTES)
            environment.post(("error", RESPONSE_TOO_LARGE_ERROR_TYPE, payload))
            self._reply(413, {"errorMessage": message, "errorType": "RequestEntityTooLarge"})
            return
        environment.post((parts[3], error_type, body))
        self._reply(202, {"status": "OK"})


class RuntimeProcess:
    """One execution environment speaking the Runtime API (see the module docstring)."""

    def __init__(self, job: InvocationJob, make_env: EnvFactory) -> None:
        self.key = environment_key(job)
        self.stream = job.log_stream
        self.fresh = True
        self._jobs: queue.Queue[InvocationJob | None] = queue.Queue()
        self._events: queue.Queue[tuple[str, str | None, bytes]] = queue.Queue()
        self._current: str | None = None
        self._ready = False
        self._stopped = False
        self._setup_error: str | None = None
        self.capture = OutputCapture()
        self.server = _Server(("127.0.0.1", 0), _RuntimeApiHandler)
        self.server.environment = self
        self._thread = threading.Thread(target=self.server.serve_forever, name="lambda-runtime-api", daemon=True)
        self._thread.start()
        self.process: subprocess.Popen[bytes] | None = None
        self._started = time.perf_counter()
        try:
            argv, bin_dir = runtime_command(job)
        except RuntimeSetupError as exc:
            self._setup_error = str(exc)
            return
        port = self.server.server_address[1]
        env = make_env(f"127.0.0.1:{port}", bin_dir)
        self.process = subprocess.Popen(argv, env=env, cwd=job.code_dir or os.getcwd(), stdin=subprocess.DEVNULL,
                                        stdout=self.capture.write_fd, stderr=self.capture.write_fd)

    # -- the server's side ---------------------------------------------------------------------

    def next_job(self) -> InvocationJob | None:
        if not self._ready:   # the first ask ends the init phase
            self._ready = True
            self._events.put(("ready", None, b""))
        job = self._jobs.get()
        self._current = None if job is None else job.request_id
        return job

    def is_current(self, request_id: str) -> bool:
        return request_id == self._current

    def post(self, event: tuple[str, str | None, bytes]) -> None:
        self._events.put(event)

    # -- the pool's side -----------------------------------------------------------------------

    def call(self, job: InvocationJob) -> HandlerOutcome:
        if self._setup_error is not None or self.process is None:
            message = self._setup_error or "the runtime did not start"
            self._stop()
            return HandlerOutcome(error_payload(INVALID_ENTRYPOINT, message, job.request_id), INVALID_ENTRYPOINT,
                                  message, 0.0, f"{message}\n")
        init_s, init_end = 0.0, -1
        if self.fresh:
            self.fresh = False
            event = self._wait(INIT_TIMEOUT_S, job)
            init_s = time.perf_counter() - self._started
            init_end = self.capture.size()
            if event is None or event[0] != "ready":
                return self._finish(job, self._failed_init(job, event, init_s), init_end, init_s)
        started = time.perf_counter()
        self._jobs.put(job)
        event = self._wait(job.timeout_s, job)
        duration = time.perf_counter() - started
        if event is None:
            outcome = (self._oom(job, duration) if self._over_memory(job)
                       else exit_error(job, self._reap(), duration) if not self.alive
                       else timeout_outcome(job.request_id, job.timeout_s))
            self._stop()
        else:
            kind, error_type, body = event
            outcome = self._result(job, kind, error_type, body, duration)
        return self._finish(job, outcome, init_end, init_s)

    def _finish(self, job: InvocationJob, outcome: HandlerOutcome, init_end: int, init_s: float) -> HandlerOutcome:
        init_log, log = self.capture.read_new(init_end)
        outcome.log = log + outcome.log
        outcome.init_log, outcome.init_duration_s, outcome.log_stream = init_log, init_s, self.stream
        outcome.max_memory_mb = (job.memory_mb if outcome.error_type == OUT_OF_MEMORY_ERROR_TYPE
                                 else min(self._memory_mb("VmHWM"), job.memory_mb))
        return outcome

    def _wait(self, timeout_s: float, job: InvocationJob) -> tuple[str, str | None, bytes] | None:
        """The next event from the process, or None: timed out, exited, or past MemorySize."""
        deadline = time.perf_counter() + timeout_s
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            try:
                return self._events.get(timeout=min(left, _WATCH_S))
            except queue.Empty:
                if not self.alive or self._over_memory(job):
                    try:   # a last word posted just before exiting still counts
                        return self._events.get_nowait()
                    except queue.Empty:
                        return None

    def _result(self, job: InvocationJob, kind: str, error_type: str | None, body: bytes,
                duration: float) -> HandlerOutcome:
        if kind == "response":
            return HandlerOutcome(body or b"null", None, None, duration)
        error_type, message = _error_fields(error_type, body)
        return HandlerOutcome(body or error_payload(error_type, message, job.request_id), error_type, message,
                              duration)

    def _failed_init(self, job: InvocationJob, event: tuple[str, str | None, bytes] | None,
                     init_s: float) -> HandlerOutcome:
        self._stop()
        if event is not None and event[0] == "init_error":
            error_type, message = _error_fields(event[1], event[2])
            return HandlerOutcome(event[2] or error_payload(error_type, message, job.request_id), error_type,
                                  message, 0.0)
        if self.process is not None and self.process.returncode not in (None, -9):
            return exit_error(job, self.process.returncode, 0.0)
        return timeout_outcome(job.request_id, INIT_TIMEOUT_S)

    def _oom(self, job: InvocationJob, duration: float) -> HandlerOutcome:
        message = f"RequestId: {job.request_id} Error: Runtime exited with error: signal: killed"
        return HandlerOutcome(json.dumps({"errorType": OUT_OF_MEMORY_ERROR_TYPE, "errorMessage": message}).encode(),
                              OUT_OF_MEMORY_ERROR_TYPE, message, duration, f"{message}\n{OUT_OF_MEMORY_ERROR_TYPE}\n")

    def _memory_mb(self, field: str) -> int:
        if self.process is None:
            return 0
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith(field):
                        return int(line.split()[1]) // 1024
        except OSError:
            pass
        return 0

    def _over_memory(self, job: InvocationJob) -> bool:
        return self._memory_mb("VmRSS") > job.memory_mb

    def _reap(self) -> int | None:
        return None if self.process is None else self.process.poll()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _stop(self) -> None:
        """Stop the process and its API (what it wrote stays readable until ``kill``)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self._stopped:
            self._stopped = True
            self._jobs.put(None)
            self.server.shutdown()
            self.server.server_close()

    def kill(self) -> None:
        self._stop()
        self.capture.close()


def _error_fields(error_type: str | None, body: bytes) -> tuple[str, str]:
    message = ""
    try:
        obj = json.loads(body) if body else {}
        if isinstance(obj, dict):
            error_type = error_type or obj.get("errorType")
            message = str(obj.get("errorMessage") or "")
    except ValueError:
        message = body.decode("utf-8", "replace")
    return str(error_type or UNHANDLED_ERROR_TYPE), message
