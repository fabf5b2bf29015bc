"""The daemon as its own process tree for the daemon benchmarks: ``eventmesh serve --workers N``.

The server runs as the command line runs it (worker 0 the ``eventmesh serve`` process, workers
1..N-1 its children), the load generator in another process (``_loadgen.client_process``), the
benchmark in a third: what is read here is the server's alone.

* ``cpu_s()``: user and system CPU seconds of every worker process so far (``/proc``: Linux);
  ``switches()`` their context switches (each a wake-up or a preemption); ``statistics()``
  each worker's forwarded and served requests and the frames and messages it wrote to its peers.
* ``--callgrind``: every worker runs under ``valgrind --tool=callgrind`` with instrumentation off
  until ``count_instructions()`` turns it on for the measured window; ``instructions()`` dumps
  and sums every worker's instruction count (Ir) since. Deterministic where the wall clock and
  CPU time on a shared machine are not; user space only (no kernel time), about 50x slower.
"""

from __future__ import annotations

import glob
import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

__all__ = ["ServerProcess"]

START_TIMEOUT_S = 300.0   # under callgrind, start-up takes a while
_LISTENING = re.compile(r"listening on http://[^:]+:(\d+)")
_TICKS = os.sysconf("SC_CLK_TCK")
_WRITER = b"persistence/writer.py"   # a journal writer's command line names its file


class ServerProcess:
    """``eventmesh serve --workers N --port 0 --clock real`` with an empty config."""

    def __init__(self, workers: int, *, callgrind: bool = False, data_dir: str | None = None) -> None:
        self.workers = workers
        self.callgrind = callgrind
        self._dir = tempfile.TemporaryDirectory(prefix="eventmesh-bench-")
        config = Path(self._dir.name) / "config.yaml"
        config.write_text("resources: {}\n")
        command = [sys.executable, "-m", "eventmesh", "serve", "--config", str(config), "--port", "0",
                   "--workers", str(workers), "--clock", "real"]
        if data_dir:
            command += ["--data-dir", data_dir]
        if callgrind:
            command = ["valgrind", "--tool=callgrind", "--trace-children=yes", "--instr-atstart=no",
                       f"--callgrind-out-file={self._dir.name}/cg.%p", *command]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            found = _LISTENING.search(line)
            if found:
                self.port = int(found.group(1))
                break
            if not line or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start (exit code {self.process.poll()})")
        # The worker processes, and apart from them a data directory's journal writer (its CPU
        # and context switches are the server's too).
        children = self._children(self.process.pid)
        self.helpers = [pid for pid in children if _WRITER in Path(f"/proc/{pid}/cmdline").read_bytes()]
        self.pids = [self.process.pid, *(pid for pid in children if pid not in self.helpers)]
        if len(self.pids) != workers:
            raise RuntimeError(f"expected {workers} worker processes, found {self.pids}")

    @staticmethod
    def _children(pid: int) -> list[int]:
        found = []
        for path in glob.glob(f"/proc/{pid}/task/*/children"):
            found += [int(p) for p in Path(path).read_text().split()]
        return sorted(found)

    def cpu_s(self) -> tuple[float, float]:
        """(user, system) CPU seconds of all workers (and the journal's writer) so far."""
        user = system = 0
        for pid in self.pids + self.helpers:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
        return user / _TICKS, system / _TICKS

    def switches(self) -> int:
        """Context switches of all workers so far (voluntary: it slept; the others: preempted)."""
        total = 0
        for pid in self.pids + self.helpers:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.endswith("ctxt_switches:") or "ctxt_switches:" in line:
                    total += int(line.split()[1])
        return total

    def count_instructions(self) -> None:
        for pid in self.pids:
            subprocess.run(["callgrind_control", "--zero", str(pid)], capture_output=True, check=True)
            subprocess.run(["callgrind_control", "--instr=on", str(pid)], capture_output=True, check=True)

    def instructions(self) -> int:
        """Instructions every worker ran since ``count_instructions`` (and counting stops)."""
        total = 0
        for pid in self.pids + self.helpers:
            before = set(glob.glob(f"{self._dir.name}/cg.{pid}*"))
            subprocess.run(["callgrind_control", "--dump", str(pid)], capture_output=True, check=True)
            subprocess.run(["callgrind_control", "--instr=off", str(pid)], capture_output=True, check=True)
            dumps = sorted(set(glob.glob(f"{self._dir.name}/cg.{pid}*")) - before)
            for dump in dumps:
                for line in Path(dump).read_text(errors="replace").splitlines():
                    if line.startswith(("totals:", "summary:")):
                        total += int(line.split()[1])
                        break
        return total

    def call(self, target: str, body: dict[str, Any], version: str = "1.0") -> Any:
        """One AWS JSON request (``X-Amz-Target: target``); its answer (RuntimeError unless 200)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request("POST", "/", msgspec.json.encode(body), {
                "Content-Type": f"application/x-amz-json-{version}", "X-Amz-Target": target,
                "Host": f"127.0.0.1:{self.port}"})
            reply = conn.getresponse()
            data = reply.read()
            if reply.status != 200:
                raise RuntimeError(f"{target}: {reply.status} {data!r}")
            return msgspec.json.decode(data) if data else {}
        finally:
            conn.close()

    def statistics(self) -> list[dict[str, Any]]:
        """Each worker's own figures (``GET /_eventmesh/workers``; none for a single daemon)."""
        if self.workers == 1:
            return []
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request("GET", "/_eventmesh/workers")
            return list(msgspec.json.decode(conn.getresponse().read())["workers"])
        finally:
            conn.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._dir.cleanup()
