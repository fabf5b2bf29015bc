"""Python-handler throughput through the real-time runner and worker processes.

A no-op python handler (zip package) is invoked synchronously ``--count`` times with up to
``--in-flight`` invocations outstanding; each one crosses to a worker process and back (msgpack
frames over a socket pair, one thread hop per call). Prints invocations/s, end-to-end latency
p50/p99 and the parent's peak RSS.

    .venv/bin/python benchmarks/drivers/bench_python_handler.py [--workers 2] [--count 2000]
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import time
import zipfile
from typing import Any

import anyio

from eventmesh.clock import RealClock
from eventmesh.drivers.lambda_.runner import install_runner
from eventmesh.mesh import Mesh
from eventmesh.services.lambda_ import create_function

SOURCE = "def handler(event, context):\n    return None\n"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("noop.py", SOURCE)
    return buffer.getvalue()


class _Round:
    """One timed round: keeps ``in_flight`` invocations outstanding until ``count`` have finished."""

    def __init__(self, fn: Any, count: int, latencies: list[float] | None) -> None:
        self.fn = fn
        self.count = count
        self.latencies = latencies
        self.sent = 0
        self.finished = 0
        self.done = anyio.Event()

    def send(self) -> None:
        self.sent += 1
        started = time.perf_counter()
        self.fn.invoke(b"{}", on_done=lambda result: self.finish(started))

    def finish(self, started: float) -> None:
        if self.latencies is not None:
            self.latencies.append(time.perf_counter() - started)
        self.finished += 1
        if self.sent < self.count:
            self.send()
        elif self.finished == self.count:
            self.done.set()


async def run(workers: int, count: int, in_flight: int, repeats: int) -> tuple[list[float], list[float]]:
    mesh = Mesh(RealClock(), seed=1)
    rates: list[float] = []
    latencies: list[float] = []
    async with anyio.create_task_group() as tg:
        runner = install_runner(mesh, lambda coro: tg.start_soon(lambda: coro), workers=workers)
        fn = create_function(mesh, "noop", role="arn:aws:iam::000000000000:role/b", handler="noop.handler",
                             runtime="python3.12", zip_file=_zip())
        for round_ in range(repeats + 1):   # round 0 warms the workers up
            timed = _Round(fn, count, latencies if round_ else None)
            begin = time.perf_counter()
            for _ in range(min(in_flight, count)):
                timed.send()
            mesh.flush()
            with anyio.fail_after(120):
                await timed.done.wait()
            if round_:
                rates.append(count / (time.perf_counter() - begin))
        runner.close()
        tg.cancel_scope.cancel()
    return rates, latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"params: workers={args.workers} count={args.count} in_flight={args.in_flight} "
          f"repeats={args.repeats} (real time, python handler in worker processes)")
    rates, latencies = anyio.run(run, args.workers, args.count, args.in_flight, args.repeats)
    latencies.sort()
    print(f"invocations/s: best {max(rates):,.0f}  median {statistics.median(rates):,.0f}")
    print(f"latency: p50 {latencies[len(latencies) // 2] * 1e3:.2f} ms  "
          f"p99 {latencies[int(len(latencies) * 0.99)] * 1e3:.2f} ms")
    print(f"parent peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
