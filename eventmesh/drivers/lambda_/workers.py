"""Execution environments as processes: user code can neither block the engine nor crash the daemon.

A :class:`WorkerPool` keeps up to ``size`` processes, each one execution environment of one
function version and configuration revision, as on Lambda: it starts with that function's
environment (``environment.py``) before its code loads, runs one invocation at a time, and is
reused only by the same function version and revision (an idle environment of another function
is stopped to make room). A python function runs in a worker (``python -m
eventmesh.drivers.lambda_.workers``: length-prefixed msgpack frames over a socket pair,
:class:`~eventmesh.effects.InvocationJob` out, :class:`~eventmesh.effects.HandlerOutcome` back);
other runtimes run their bootstrap against the Runtime API (``runtime_api.py``).
:meth:`WorkerPool.run` is blocking and thread-safe: the real-time runner calls it from a thread
per busy environment. An environment that does not answer within the function's timeout is
killed and replaced (Lambda's ``Sandbox.Timedout``); one that dies mid-invocation gives
``Runtime.ExitError``; one that outgrows ``MemorySize`` gives ``Runtime.OutOfMemory`` and is
replaced. A python worker limits its own address space (``RLIMIT_AS``) to what it used after
start-up plus ``MemorySize`` plus ``MEMORY_HEADROOM_BYTES`` (thread stacks and allocator arenas
are address space before they are memory), and fails an invocation whose peak resident memory
passed ``MemorySize``. What the code writes is captured per process (``capture.py``) and comes
back in the outcome's ``log`` / ``init_log``. This module belongs to the execution side (like the
drivers), so it measures real time.
https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import OrderedDict

import msgspec

from eventmesh.drivers.lambda_.capture import OutputCapture
from eventmesh.drivers.lambda_.code import CodeStore, PackageError
from eventmesh.drivers.lambda_.environment import CredentialSource, default_credentials, function_environment
from eventmesh.drivers.lambda_.lifecycle import (
    INIT_TIMEOUT_S,
    Environment,
    environment_key,
    exit_error,
    log_stream_name,
)
from eventmesh.drivers.lambda_.runtime_api import RuntimeProcess
from eventmesh.effects import HandlerOutcome, InvocationJob
from eventmesh.services.lambda_.jobs import error_payload, timeout_outcome

__all__ = ["WorkerPool", "CodeStore", "DEFAULT_WORKERS", "MEMORY_HEADROOM_BYTES", "PythonWorker"]

DEFAULT_WORKERS = max(2, os.cpu_count() or 2)
MEMORY_HEADROOM_BYTES = 256 * 1024 * 1024  # address space beyond MemorySize (see the docstring)
_HEADER = struct.Struct(">I")
_INIT_FRAME, _OUTCOME_FRAME = b"I", b"O"
_job_encoder = msgspec.msgpack.Encoder()
_job_decoder = msgspec.msgpack.Decoder(InvocationJob)
_outcome_decoder = msgspec.msgpack.Decoder(HandlerOutcome)
_init_decoder = msgspec.msgpack.Decoder(tuple[float, int])
# The worker's entry: the parent's import path (its PYTHONPATH, a test's additions) after the
# function's own directory, which "-c" puts first as the current directory. As in Lambda, whose
# runtime is loaded before the handler's directory goes on the path, the worker's own modules
# (and the standard library modules they import) are imported without that directory: a package
# holding a ``shutil.py`` or ``tempfile.py`` shadows them for its handler only, never for the runtime.
_BOOT = ("import sys, json; home = sys.path.pop(0); "
         "sys.path.extend(p for p in json.loads(sys.argv[2]) if p and p not in sys.path); "
         "import eventmesh.drivers.lambda_.python; from eventmesh.drivers.lambda_.workers import _serve; "
         "sys.path.insert(0, home); _serve(int(sys.argv[1]), int(sys.argv[3]))")


def _send(sock: socket.socket, data: bytes) -> None:
    sock.sendall(_HEADER.pack(len(data)) + data)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise EOFError("worker closed the connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _recv(sock: socket.socket) -> bytes:
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    return _recv_exact(sock, size)


class PythonWorker:
    """A python worker process and the parent's end of its socket."""

    def __init__(self, job: InvocationJob, env: dict[str, str], cwd: str) -> None:
        self.key = environment_key(job)
        self.stream = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.capture = OutputCapture()
        self.fresh = True
        self.spawned_at = time.perf_counter()   # Init Duration: interpreter start-up and the import
        parent, child = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(child.fileno()), json.dumps(sys.path), str(job.memory_mb)],
                pass_fds=(child.fileno(),), env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                stdout=self.capture.write_fd, stderr=self.capture.write_fd)
        finally:
            child.close()
        self.sock = parent

    def call(self, job: InvocationJob) -> HandlerOutcome:
        # Real time on purpose: user code runs in a worker process in real time, whatever the
        # mesh clock is; its measured duration is the invocation's Duration. (The worker names
        # its own log stream in the context: it is in its environment.)
        started = time.perf_counter()
        init_s, init_end = 0.0, -1
        try:
            _send(self.sock, _job_encoder.encode(job))
            if self.fresh:
                self.sock.settimeout(INIT_TIMEOUT_S)
                frame = _recv(self.sock)
                _, init_end = _init_decoder.decode(frame[1:])
                self.fresh = False
                started = time.perf_counter()
                init_s = started - self.spawned_at
            self.sock.settimeout(job.timeout_s)
            frame = _recv(self.sock)
        except TimeoutError:
            self._stop()
            init_log, log = self.capture.read_new(init_end)
            outcome = timeout_outcome(job.request_id, job.timeout_s, log)
        except (OSError, EOFError):
            code = self._reap()
            init_log, log = self.capture.read_new(init_end)
            outcome = exit_error(job, code, time.perf_counter() - started, log)
        else:
            outcome = _outcome_decoder.decode(frame[1:])
            init_log, outcome.log = self.capture.read_new(init_end)
            if outcome.error_type == "Runtime.OutOfMemory":
                self._reap()   # the worker exits after an out-of-memory invocation
        outcome.init_log, outcome.init_duration_s, outcome.log_stream = init_log, init_s, self.stream
        return outcome

    def _reap(self) -> int | None:
        try:
            return self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self._stop()
            return self.process.returncode

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _stop(self) -> None:
        """Stop the process (what it wrote stays readable until ``kill``)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.sock.close()

    def kill(self) -> None:
        self._stop()
        self.capture.close()


class WorkerPool:
    """Up to ``size`` execution environments, started on demand; ``run`` blocks until one is free."""

    def __init__(self, size: int | None = None, code_root: str | None = None, *, endpoint_url: str = "",
                 credentials: CredentialSource | None = None) -> None:
        self.size = size or DEFAULT_WORKERS
        self.code = CodeStore(code_root)
        self.endpoint_url = endpoint_url
        self.credentials: CredentialSource = credentials or default_credentials
        self._idle: dict[tuple[str, str, str, str, str], list[Environment]] = {}
        self._lru: OrderedDict[Environment, None] = OrderedDict()   # idle ones, oldest first
        self._live = 0
        self._all: set[Environment] = set()   # idle and busy: close() stops every one
        self._cond = threading.Condition()
        self._closed = False
        self.started = 0   # environments started (cold starts), for tests and statistics

    def run(self, job: InvocationJob, code: bytes | None = None,
            layers: tuple[tuple[str, bytes], ...] = ()) -> HandlerOutcome:
        if code is not None or layers:
            try:
                job = self.code.prepare(job, code, layers)
            except PackageError as exc:
                message = str(exc)
                return HandlerOutcome(error_payload("Runtime.InvalidEntrypoint", message, job.request_id),
                                      "Runtime.InvalidEntrypoint", message)
        worker = self._checkout(job)
        try:
            return worker.call(job)
        finally:
            self._checkin(worker)

    def _checkout(self, job: InvocationJob) -> Environment:
        key = environment_key(job)
        victim: Environment | None = None
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("worker pool closed")
                idle = self._idle.get(key)
                if idle:
                    worker = idle.pop()
                    del self._lru[worker]
                    return worker
                if self._live < self.size:
                    self._live += 1
                    break
                if self._lru:   # an idle environment of another function makes room
                    victim, _ = self._lru.popitem(last=False)
                    self._idle[victim.key].remove(victim)
                    self._all.discard(victim)
                    break
                self._cond.wait()
        if victim is not None:
            victim.kill()
        try:
            worker = self._start(job)
        except BaseException:
            with self._cond:
                self._live -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._all.add(worker)
            self.started += 1
        return worker

    def _start(self, job: InvocationJob) -> Environment:
        stream = log_stream_name(job, time.time())
        task_root = job.code_dir or os.getcwd()
        placed = msgspec.structs.replace(job, log_stream=stream)
        if job.kind == "runtime":
            return RuntimeProcess(placed, lambda api, bin_dir: function_environment(
                placed, task_root=task_root, endpoint_url=self.endpoint_url,
                credentials=self.credentials(job), runtime_api=api, runtime_bin=bin_dir))
        env = function_environment(placed, task_root=task_root, endpoint_url=self.endpoint_url,
                                   credentials=self.credentials(job))
        return PythonWorker(placed, env, task_root)

    def _checkin(self, worker: Environment) -> None:
        with self._cond:
            if not worker.alive or self._closed:
                self._live -= 1
                self._all.discard(worker)
                self._cond.notify()
                stop = True
            else:
                self._idle.setdefault(worker.key, []).append(worker)
                self._lru[worker] = None
                self._cond.notify()
                stop = False
        if stop:
            worker.kill()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers = list(self._all)   # busy ones too: their callers get Runtime.ExitError
            self._idle.clear()
            self._lru.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.kill()
        self.code.close()


# -- the worker process ------------------------------------------------------------------------

def _limit_memory(memory_mb: int) -> None:
    """Cap the address space at what the worker uses now + MemorySize + headroom (Linux)."""
    try:
        import resource

        with open("/proc/self/statm") as statm:
            used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = used + memory_mb * 1024 * 1024 + MEMORY_HEADROOM_BYTES
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):
        pass   # no /proc (macOS): the peak-memory check below still applies


def _peak_memory_mb() -> int:
    """Peak resident memory of this process. Linux: ``VmHWM`` (``ru_maxrss`` survives exec, so a
    worker forked from a large daemon would report the daemon's size)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak // 1024 if sys.platform != "darwin" else peak // (1024 * 1024))


def _serve(fd: int, memory_mb: int) -> None:
    """The worker process: initialise on the first job, run jobs until the parent closes the socket."""
    from eventmesh.drivers.lambda_.python import (
        HandlerLoader,
        HandlerLoadError,
        execute,
        install_runtime_logging,
        out_of_memory_outcome,
    )

    sock = socket.socket(fileno=fd)
    for stream in (sys.stdout, sys.stderr):   # every line reaches the capture file at once
        stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    current = [""]
    install_runtime_logging(lambda: current[0])
    loader = HandlerLoader(unique_modules=False)
    encode = msgspec.msgpack.Encoder().encode
    stream = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
    _limit_memory(memory_mb)
    first = True
    while True:
        try:
            job = _job_decoder.decode(_recv(sock))
        except (EOFError, OSError):
            return
        current[0] = job.request_id
        if stream:
            job = msgspec.structs.replace(job, log_stream=stream)
        load_error: HandlerLoadError | MemoryError | None = None
        if first:   # the init phase: import the handler's module, measured
            first = False
            started = time.perf_counter()
            try:
                loader.load(job)
            except (HandlerLoadError, MemoryError) as exc:
                load_error = exc
            init_s = time.perf_counter() - started
            sys.stdout.flush()
            sys.stderr.flush()
            _send(sock, _INIT_FRAME + encode((init_s, os.lseek(1, 0, os.SEEK_END))))
        started = time.perf_counter()
        if isinstance(load_error, MemoryError):
            outcome = out_of_memory_outcome(job, 0.0)
        else:
            outcome = execute(job, loader, time.time, lambda: time.perf_counter() - started,  # noqa: B023
                              init_error=load_error)
        peak = _peak_memory_mb()
        if peak > job.memory_mb and outcome.error_type != "Runtime.OutOfMemory":
            outcome = out_of_memory_outcome(job, outcome.duration_s)
        # Out of memory: Lambda reports the whole MemorySize used.
        outcome.max_memory_mb = (job.memory_mb if outcome.error_type == "Runtime.OutOfMemory"
                                 else min(peak, job.memory_mb))
        sys.stdout.flush()
        sys.stderr.flush()
        _send(sock, _OUTCOME_FRAME + encode(outcome))
        if outcome.error_type == "Runtime.OutOfMemory":
            os._exit(1)   # as Lambda does: the environment does not survive running out of memory


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]))
