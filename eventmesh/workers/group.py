"""Start, watch and stop the workers of ``eventmesh serve --workers N``.

The process that starts the group is worker 0 (it also applies the config); it binds the port
first (so ``--port 0`` picks one port for all), makes a Unix socketpair for every pair of
workers, and spawns workers 1..N-1 (``python -m eventmesh.workers.child``: a fresh interpreter
each, so no thread or event loop is forked). On Linux each child binds the same port with ``SO_REUSEPORT``
and the kernel spreads connections over the workers; elsewhere the children inherit worker 0's
listening socket and take turns accepting from it. Any worker stopping (SIGTERM, SIGINT, a
crash) stops the group: a worker whose peer's channel closes stops too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from itertools import combinations
from pathlib import Path

import eventmesh
from eventmesh.config import Config
from eventmesh.daemon import DEFAULT_HOST, DEFAULT_PORT, Daemon, _run_loop
from eventmesh.services.sns.signing import Signer
from eventmesh.workers.worker import READY, REUSE_PORT, WorkerDaemon, WorkerSpec, listening_socket

__all__ = ["START_TIMEOUT_S", "WorkerGroup", "resolve_workers", "serve"]

log = logging.getLogger("eventmesh.workers")

START_TIMEOUT_S = 60.0     # a child that is not serving by then failed to start
STOP_GRACE_S = 5.0         # beyond the drain timeout, before a child that did not stop is killed


def resolve_workers(value: str | int) -> int:
    """``--workers``: a count ≥ 1, or ``auto`` for the machine's cores."""
    if value == "auto":
        return max(1, os.cpu_count() or 1)
    count = int(value)
    if count < 1:
        raise ValueError("--workers must be at least 1 (or auto)")
    return count


class WorkerGroup:
    """The workers of one daemon: worker 0 here, the others child processes."""

    def __init__(self, config: Config | None, *, count: int, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 clock: str = "real", services: list[str] | None = None, verbose: bool = False) -> None:
        if sys.platform == "win32":   # no fork-free fd passing to children, no SO_REUSEPORT
            raise OSError("--workers N > 1 needs a POSIX system (Linux balances with SO_REUSEPORT)")
        self.config = config or Config()
        self.count = count
        self.host = host
        self.listen = listening_socket(host, port)
        self.port = self.listen.getsockname()[1]
        self.clock = clock
        self.services = services
        self.verbose = verbose
        self._mint_secret = os.urandom(32)
        self._sns_key = Signer.new_key_pem() if self.config.sns_signatures == "rsa" and \
            (services is None or "sns" in services) else None
        self.children: list[subprocess.Popen[bytes]] = []
        self._status: list[int] = []   # each child's status pipe (READY once it serves)
        self._stopping = False
        ends: dict[int, dict[int, socket.socket]] = {w: {} for w in range(count)}
        handovers: dict[int, dict[int, socket.socket]] = {w: {} for w in range(count)}
        for a, b in combinations(range(count), 2):
            ends[a][b], ends[b][a] = socket.socketpair()
            # Datagrams keep one handed-over connection's descriptor per message (handover.py).
            handovers[a][b], handovers[b][a] = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._ends = ends
        self._handovers = handovers
        self.first = WorkerDaemon(self._spec(0), ends[0], self.listen, handovers[0])

    def _spec(self, index: int) -> WorkerSpec:
        return WorkerSpec(self.config, index, self.count, self.host, self.port, self.clock, self.services,
                          self.verbose, logging.getLogger().getEffectiveLevel(), self._mint_secret, self._sns_key)

    def start_children(self) -> None:
        package_root = str(Path(eventmesh.__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        for index in range(1, self.count):
            read_status, write_status = os.pipe()
            peers = {peer: sock.fileno() for peer, sock in self._ends[index].items()}
            handovers = {peer: sock.fileno() for peer, sock in self._handovers[index].items()}
            listen = None if REUSE_PORT else self.listen.fileno()
            fds = [*peers.values(), *handovers.values(), write_status, *([listen] if listen is not None else [])]
            child = subprocess.Popen([sys.executable, "-m", "eventmesh.workers.child"], stdin=subprocess.PIPE,
                                     pass_fds=fds, env=env)
            os.close(write_status)
            assert child.stdin is not None
            child.stdin.write(pickle.dumps((self._spec(index), peers, listen, write_status, handovers)))
            child.stdin.close()
            self.children.append(child)
            self._status.append(read_status)
        for index in range(1, self.count):   # the children hold their ends of the channels now
            for sock in (*self._ends[index].values(), *self._handovers[index].values()):
                sock.close()

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Block until every child serves (RuntimeError if one failed or took too long)."""
        deadline = time.monotonic() + timeout_s
        for index, (child, status) in enumerate(zip(self.children, self._status, strict=True), 1):
            readable, _, _ = select.select([status], [], [], max(0.0, deadline - time.monotonic()))
            said = os.read(status, 1) if readable else b""
            if said != READY:
                raise RuntimeError(f"worker {index} did not start (exit code {child.poll()})")

    def signal_children(self) -> None:
        """Ask every child to stop (each drains as a single daemon does on SIGTERM)."""
        self._stopping = True
        for child in self.children:
            if child.poll() is None:
                try:
                    child.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass

    def join_children(self) -> None:
        grace = self.config.server.drain_timeout_s + STOP_GRACE_S
        deadline = time.monotonic() + grace
        for index, child in enumerate(self.children, 1):
            try:
                child.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker %d did not stop within %.0f s: killed", index, grace)
                child.kill()
                child.wait(1.0)
        for status in self._status:
            os.close(status)
        self._status = []

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Stop worker 0 (and so the group) when a child dies on its own."""
        def watcher(index: int, child: subprocess.Popen[bytes]) -> None:
            code = child.wait()
            if not self._stopping:
                log.error("worker %d exited (code %s): stopping", index, code)
                loop.call_soon_threadsafe(self.first.stop)

        for index, child in enumerate(self.children, 1):
            threading.Thread(target=watcher, args=(index, child), daemon=True, name=f"watch-worker-{index}").start()


def _with_children_stopping(group: WorkerGroup) -> Callable[[], None]:
    stop = group.first.stop

    def stopping() -> None:
        group.signal_children()
        stop()
    return stopping


def serve(config: Config | None = None, *, workers: int, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          clock: str = "real", verbose: bool = False) -> None:
    """``eventmesh serve --workers N``: run the group until SIGTERM/SIGINT."""
    group = WorkerGroup(config, count=workers, host=host, port=port, clock=clock, verbose=verbose)
    group.first.stop = _with_children_stopping(group)  # type: ignore[method-assign]
    group.start_children()

    def ready(d: Daemon) -> None:
        loop = asyncio.get_running_loop()

        async def announce() -> None:
            await loop.run_in_executor(None, group.wait_ready)
            group.watch(loop)
            how = "SO_REUSEPORT" if REUSE_PORT else "one shared socket"
            print(f"eventmesh listening on http://{d.host}:{d.bound_port} (clock {d.clock_mode}, "
                  f"{workers} workers, {how})", flush=True)

        def failed(task: asyncio.Task[None]) -> None:
            if task.cancelled() or task.exception() is not None:
                log.error("the workers did not start: %s", None if task.cancelled() else task.exception())
                d.stop()

        loop.create_task(announce()).add_done_callback(failed)

    try:
        _run_loop(group.first.run(ready))
    finally:
        group.signal_children()
        group.join_children()
    print("eventmesh stopped", flush=True)
