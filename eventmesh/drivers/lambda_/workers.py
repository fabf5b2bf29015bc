"""Worker processes for python handlers: user code can neither block the engine nor crash the daemon.

A :class:`WorkerPool` keeps up to ``size`` worker processes (``python -m eventmesh.drivers.lambda_.workers``),
each talking to the parent over a socket pair in length-prefixed msgpack frames
(:class:`~eventmesh.services.lambda_.jobs.InvocationJob` out, :class:`~eventmesh.services.lambda_.jobs.HandlerOutcome`
back). :meth:`WorkerPool.run` is blocking and thread-safe: the real-time runner calls it from a
thread per busy worker. A worker that does not answer within the function's timeout is killed
and replaced (Lambda's ``Sandbox.Timedout`` error); one that dies mid-invocation gives
``Runtime.ExitError``. Zip packages are extracted once per code SHA-256 into a temporary
directory. This module belongs to the execution side (like the drivers), so it measures real time.
"""

from __future__ import annotations

import base64
import io
import os
import queue
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

import msgspec

from eventmesh.effects import HandlerOutcome, InvocationJob
from eventmesh.services.lambda_.jobs import error_payload, timeout_outcome

__all__ = ["WorkerPool", "CodeStore", "DEFAULT_WORKERS"]

DEFAULT_WORKERS = max(2, os.cpu_count() or 2)
_HEADER = struct.Struct(">I")
_job_encoder = msgspec.msgpack.Encoder()
_job_decoder = msgspec.msgpack.Decoder(InvocationJob)
_outcome_decoder = msgspec.msgpack.Decoder(HandlerOutcome)


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


class CodeStore:
    """Extracted deployment packages, one directory per code SHA-256."""

    def __init__(self, root: str | None = None) -> None:
        self.root = root or tempfile.mkdtemp(prefix="eventmesh-code-")
        self._lock = threading.Lock()

    def extract(self, sha256: str, code: bytes) -> str:
        name = base64.b64encode(base64.b64decode(sha256), altchars=b"-_").decode().rstrip("=") if sha256 \
            else "unnamed"
        path = os.path.join(self.root, name)
        with self._lock:
            if not os.path.isdir(path):
                staging = tempfile.mkdtemp(dir=self.root)
                zipfile.ZipFile(io.BytesIO(code)).extractall(staging)
                os.rename(staging, path)
        return path

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class _Worker:
    """One worker process and the parent's end of its socket."""

    def __init__(self) -> None:
        parent, child = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eventmesh.drivers.lambda_.workers", str(child.fileno())],
            pass_fds=(child.fileno(),), env=env, stdin=subprocess.DEVNULL)
        child.close()
        self.sock = parent

    def call(self, job: InvocationJob) -> HandlerOutcome:
        # Real time on purpose: user code runs in a worker process in real time, whatever the
        # mesh clock is; its measured duration is the invocation's Duration.
        started = time.perf_counter()
        try:
            _send(self.sock, _job_encoder.encode(job))
            self.sock.settimeout(job.timeout_s)
            outcome = _outcome_decoder.decode(_recv(self.sock))
        except TimeoutError:
            self.kill()
            return timeout_outcome(job.request_id, job.timeout_s)
        except (OSError, EOFError) as exc:
            self.kill()
            message = f"RequestId: {job.request_id} Error: Runtime exited with error: {exc}"
            return HandlerOutcome(error_payload("Runtime.ExitError", message, job.request_id),
                                  "Runtime.ExitError", message, time.perf_counter() - started)
        return outcome

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.sock.close()


class WorkerPool:
    """Up to ``size`` worker processes, started on demand; ``run`` blocks until one is free."""

    def __init__(self, size: int | None = None, code_root: str | None = None) -> None:
        self.size = size or DEFAULT_WORKERS
        self.code = CodeStore(code_root)
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._closed = False

    def run(self, job: InvocationJob, code: bytes | None = None) -> HandlerOutcome:
        if code is not None:
            try:
                job = msgspec.structs.replace(job, code_dir=self.code.extract(job.code_sha256, code))
            except (zipfile.BadZipFile, OSError) as exc:
                message = f"Could not unzip the deployment package: {exc}"
                return HandlerOutcome(error_payload("Runtime.InvalidEntrypoint", message, job.request_id),
                                      "Runtime.InvalidEntrypoint", message)
        worker = self._checkout()
        try:
            return worker.call(job)
        finally:
            self._checkin(worker)

    def _checkout(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("worker pool closed")
            if self._idle.empty() and len(self._workers) < self.size:
                worker = _Worker()
                self._workers.append(worker)
                return worker
        return self._idle.get()

    def _checkin(self, worker: _Worker) -> None:
        with self._lock:
            if not worker.alive:   # killed on timeout or crashed: replace it
                self._workers.remove(worker)
                if self._closed:
                    return
                worker = _Worker()
                self._workers.append(worker)
            elif self._closed:
                worker.kill()
                return
        self._idle.put(worker)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.kill()
        self.code.close()


def _serve(fd: int) -> None:
    """The worker process: run jobs until the parent closes the socket."""
    from eventmesh.drivers.lambda_.python import HandlerLoader, execute

    sock = socket.socket(fileno=fd)
    loader = HandlerLoader()
    encode = msgspec.msgpack.Encoder().encode
    while True:
        try:
            job = _job_decoder.decode(_recv(sock))
        except (EOFError, OSError):
            return
        started = time.perf_counter()
        outcome = execute(job, loader, time.time, lambda: time.perf_counter() - started)  # noqa: B023
        _send(sock, encode(outcome))


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
