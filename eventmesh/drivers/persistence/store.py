"""A daemon's data directory: opened, recovered, journaled into, snapshotted (docs/durability.md).

``DataDir.open`` reads (or writes, the first time) ``meta.json``, rebuilds the engine from the
newest snapshot and the journal after it, and starts a journal for what comes next. While the
daemon serves, ``recorder`` is the entry point of every input and ``durable(response)`` holds a
response until the journal has everything it depends on. ``snapshot`` writes the engine as of
now (at start-up after the config's resources, periodically, and at shutdown), so recovery
replays only what came after it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from eventmesh.drivers.persistence import snapshot
from eventmesh.drivers.persistence.journal import Journal, segments
from eventmesh.drivers.persistence.recorder import Recorder
from eventmesh.drivers.persistence.replay import Recovered, TakeRequest, recover
from eventmesh.mesh import Mesh

__all__ = ["FORMAT_VERSION", "HASH_SEED", "SNAPSHOT_EVERY_RECORDS", "DataDir", "DataDirError"]

log = logging.getLogger("eventmesh.persistence")

FORMAT_VERSION = 1
# Set iteration order follows the string hash seed: a daemon that keeps a data directory runs
# with this one (the CLI re-executes itself with it), so a restart iterates as the first run did.
HASH_SEED = "0"
# A snapshot after this many journal records (and at shutdown), so a restart replays at most
# about this many: recovery costs roughly what serving them cost.
SNAPSHOT_EVERY_RECORDS = 200_000
META_FILE = "meta.json"
# One daemon per data directory: it holds DIR/lock (and so does its journal's writer, until the
# writer has committed what it was sent). A new daemon waits this long for the lock, the time a
# writer left behind by a daemon killed with -9 needs to finish its last commit.
LOCK_FILE = "lock"
LOCK_WAIT_S = 10.0
_LOCK_POLL_S = 0.05


class Held:
    """A response held until the journal has everything it depends on. The HTTP/1.1 server
    answers it from a done callback, which runs as soon as the writer reports the batch durable,
    in the same turn of the loop (an asyncio Future would call it in the next one, after another
    poll of the sockets); anything else awaits it."""

    __slots__ = ("_callbacks", "_done", "_future", "_value")

    def __init__(self, value: Any = None) -> None:
        self._callbacks: list[Callable[[Held], object]] = []
        self._done = False
        self._future: asyncio.Future[Any] | None = None
        self._value = value

    def add_done_callback(self, callback: Callable[[Held], object]) -> None:
        if self._done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def done(self) -> bool:
        return self._done

    def cancelled(self) -> bool:
        return False

    def result(self) -> Any:
        return self._value

    def resolve(self) -> None:
        """The journal has it: answer now."""
        if self._done:
            return
        self._done = True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)
        if self._future is not None and not self._future.done():
            self._future.set_result(self._value)

    def __await__(self) -> Any:
        if not self._done:
            if self._future is None:
                self._future = asyncio.get_running_loop().create_future()
            return (yield from self._future.__await__())
        return self._value


class DataDirError(RuntimeError):
    """A data directory this daemon cannot use (another format, another hash seed)."""


class DataDir:
    """One data directory and the journal the daemon writes into it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.journal: Journal | None = None
        self.recorder: Recorder | None = None
        self.recovered: Recovered | None = None
        self.meta: dict[str, Any] = {}
        # (journal seq, the response held until that seq is durable), in seq order
        self._waiting: list[tuple[int, Held]] = []
        self._snapshot_seq = 0
        self._child: int | None = None
        self._child_seq = 0
        self._lock_fd: int | None = None

    # -- opening -----------------------------------------------------------------------------

    def read_meta(self, seed: int | None) -> dict[str, Any]:
        """``meta.json``, written the first time with the id generator's seed (``seed``, or a
        random one: ids differ between data directories, never between runs of one)."""
        meta_path = self.path / META_FILE
        try:   # a path that is not a usable directory is the operator's problem, said plainly
            self.path.mkdir(parents=True, exist_ok=True)
            if meta_path.exists():
                meta = json.loads(meta_path.read_text())
                found = meta.get("format") if isinstance(meta, dict) else None
                if found != FORMAT_VERSION:
                    raise DataDirError(f"{self.path}: data directory format {found}, "
                                       f"this eventmesh reads format {FORMAT_VERSION}")
            else:
                meta = {"format": FORMAT_VERSION, "seed": seed if seed is not None else secrets.randbits(63),
                        "hash_seed": HASH_SEED}
                temporary = meta_path.with_suffix(".tmp")
                temporary.write_text(json.dumps(meta))
                os.replace(temporary, meta_path)
        except OSError as exc:
            raise DataDirError(f"{self.path}: cannot be used as a data directory: {exc.strerror}") from None
        except ValueError:
            raise DataDirError(f"{self.path}: {META_FILE} is not JSON: not an eventmesh data directory") from None
        current = os.environ.get("PYTHONHASHSEED")
        if current != meta["hash_seed"]:
            raise DataDirError(f"{self.path}: this process runs with PYTHONHASHSEED={current}; a data directory "
                               f"needs PYTHONHASHSEED={meta['hash_seed']} (eventmesh serve sets it itself)")
        self.meta = meta
        return meta

    @property
    def fresh(self) -> bool:
        """Nothing to recover: no snapshot and no journal yet."""
        return snapshot.latest(self.path) is None and not any(
            path.stat().st_size for _, path in segments(self.path))

    def open(self, fresh: Callable[[], Mesh], bind: Callable[[Mesh], TakeRequest],
             drain: Callable[[Mesh], object]) -> Recovered:
        """The engine as the directory holds it (``fresh()`` when it holds nothing)."""
        self.lock()
        self.recovered = recover(self.path, fresh, bind, drain)
        latest = snapshot.latest(self.path)
        self._snapshot_seq = latest[0] if latest else 0
        return self.recovered

    def start(self, mesh: Mesh, loop: asyncio.AbstractEventLoop) -> Recorder:
        """Journal from here on: a new segment after what recovery replayed."""
        assert self.recovered is not None
        self.journal = Journal(self.path, self.recovered.next_seq, self._on_durable, loop=loop,
                               lock_fd=self._lock_fd)
        self.recorder = Recorder(mesh, self.journal)
        return self.recorder

    def lock(self, wait_s: float = LOCK_WAIT_S) -> None:
        """Take the directory's lock, waiting up to ``wait_s`` for a previous daemon's writer to
        finish; DataDirError when another process keeps it."""
        if self._lock_fd is not None:
            return
        try:
            import fcntl
        except ImportError:   # no advisory locks here (not POSIX): one daemon per directory is the operator's care
            return
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise DataDirError(f"{self.path}: in use by another eventmesh process") from None
                time.sleep(_LOCK_POLL_S)
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- holding responses until durable -----------------------------------------------------

    def durable(self, response: Any) -> Any:
        """``response`` as the server may send it: at once when everything journaled so far is on
        disk, else an awaitable that resolves to it once it is (one fsync serves every response
        of a batch: group commit). An awaitable response (a long poll) is awaited first, then
        held for what was journaled by the time it resolved."""
        journal = self.journal
        if journal is None:
            return response
        if isinstance(response, tuple):
            seq = journal.next_seq - 1
            if journal.durable_seq >= seq:
                return response
            return self._hold(seq, response)
        return self._later(response)

    def _hold(self, seq: int, response: Any) -> Held:
        # Not a coroutine: the server answers it from a done callback, with no task per held
        # response (the hot path of every write with a data directory).
        held = Held(response)
        self._waiting.append((seq, held))
        return held

    async def _later(self, pending: Awaitable[Any]) -> Any:
        response = await pending
        journal = self.journal
        if journal is not None:
            await self._wait(journal.next_seq - 1)
        return response

    def _wait(self, seq: int) -> Held:
        journal = self.journal
        if journal is None or journal.durable_seq >= seq:
            held = Held()
            held.resolve()
            return held
        return self._hold(seq, None)

    def _on_durable(self, seq: int) -> None:
        waiting = self._waiting
        if not waiting or waiting[0][0] > seq:
            return
        ready = [held for held_seq, held in waiting if held_seq <= seq]
        # Set aside first: answering sends the connections' next requests in, whose holds join
        # the list after those still waiting.
        self._waiting = [entry for entry in waiting if entry[0] > seq]
        for held in ready:
            held.resolve()

    # -- snapshots ---------------------------------------------------------------------------

    def records_since_snapshot(self) -> int:
        return 0 if self.journal is None else self.journal.next_seq - self._snapshot_seq

    def snapshot(self, mesh: Mesh, *, background: bool = False) -> None:
        """Write the engine as of now. The journal starts a new segment first, so the snapshot
        holds exactly the records before it; older segments go once the snapshot is in place.
        ``background``: a forked child writes it while the daemon serves on (POSIX), the
        parent reaps it later."""
        journal = self.journal
        if journal is None or self._child is not None:
            return
        seq = journal.rotate()
        outstanding = list(self.recorder.outstanding.values()) if self.recorder is not None else []
        if background and hasattr(os, "fork"):
            pid = os.fork()
            if pid == 0:  # the child: a copy of the engine as of ``seq``; write it and leave
                code = 0
                journal.forget()   # the writer's input ends with the daemon's, not with this child's
                try:
                    snapshot.dump(mesh, self.path, seq, outstanding)
                except BaseException:  # noqa: BLE001 - the parent reads the exit status
                    code = 1
                finally:
                    sys.stdout.flush()
                    os._exit(code)
            self._child = pid
            self._child_seq = seq
            return
        snapshot.dump(mesh, self.path, seq, outstanding)
        self._snapshot_done(seq)

    def reap(self) -> None:
        """A background snapshot that finished: drop the journal it made unnecessary."""
        if self._child is None:
            return
        pid, status = os.waitpid(self._child, os.WNOHANG)
        if pid == 0:
            return
        self._child = None
        if os.waitstatus_to_exitcode(status) == 0:
            self._snapshot_done(self._child_seq)
        else:
            log.error("a background snapshot of %s failed; the journal keeps everything", self.path)

    def _snapshot_done(self, seq: int) -> None:
        self._snapshot_seq = seq
        if self.journal is not None:
            self.journal.drop_before(seq)

    def close(self, mesh: Mesh) -> None:
        """Shutdown: a final snapshot (recovery then replays nothing), and the journal closed."""
        if self._child is not None:
            os.waitpid(self._child, 0)
            self._child = None
        if self.journal is None:
            return
        try:
            self.snapshot(mesh)
        finally:
            if self.recorder is not None:
                self.recorder.close()
            self.journal.close()
            self.journal = None
            self.unlock()
            waiting, self._waiting = self._waiting, []
            for _, held in waiting:   # close() wrote and synced what was queued
                held.resolve()
