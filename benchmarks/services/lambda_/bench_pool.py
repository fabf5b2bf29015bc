"""Function pool throughput in virtual time: a no-op model function driven by asynchronous batches.

Each round delivers a batch of events to the function (``Function.accept``: what SNS, EventBridge
and Lambda destinations call), which queues, admits, starts and — after the model's duration on the
virtual clock — finishes them. Prints invocations/s per core, per-batch latency percentiles (wall
time of one accept + completion round) and peak memory.

    .venv/bin/python benchmarks/services/lambda_/bench_pool.py [--batch 1000] [--rounds 300] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

from eventmesh.effects import Delivery
from eventmesh.services.lambda_ import create_function
from eventmesh.testing import virtual_mesh

ROLE = "arn:aws:iam::000000000000:role/bench"


def run(batch: int, rounds: int, handler: str, mode: str) -> tuple[float, list[float], int]:
    mesh, driver = virtual_mesh(seed=1)
    fn = create_function(mesh, "noop", role=ROLE, handler=handler)
    items = [Delivery(f'{{"n": {i}}}') for i in range(batch)]
    payload = b'{"Records": []}'
    results: list[object] = []
    done = results.append
    latencies = []
    advance = driver.clock.advance
    begin = time.perf_counter()
    for _ in range(rounds):
        t0 = time.perf_counter()
        if mode == "async":
            fn.accept(items, "arn:aws:sns:us-east-1:000000000000:bench")
        else:
            invoke = fn.invoke_batch
            for _ in range(batch):
                invoke(payload, done, "arn:aws:sqs:us-east-1:000000000000:bench")
        advance(0.001)
        latencies.append(time.perf_counter() - t0)
    driver.run_until_idle()   # longer (random) durations and throttle retries drain here
    elapsed = time.perf_counter() - begin
    stats = fn.statistics()
    # Every event ran at least once (function errors add retries; nothing aged out here).
    assert stats.invocations >= batch * rounds and stats.async_events_dropped == 0, stats
    assert stats.concurrent_executions == 0
    return stats.invocations / elapsed, latencies, stats.throttles


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--handler", default="model:duration=0")
    parser.add_argument("--mode", choices=("async", "poller"), default="async")
    args = parser.parse_args()
    print(f"params: mode={args.mode} handler={args.handler} batch={args.batch} rounds={args.rounds} "
          f"repeats={args.repeats} (virtual time, one process)")
    run(args.batch, 20, args.handler, args.mode)   # warm-up
    rates = []
    lat: list[float] = []
    for _ in range(args.repeats):
        rate, latencies, throttles = run(args.batch, args.rounds, args.handler, args.mode)
        rates.append(rate)
        lat.extend(latencies)
    tracemalloc.start()
    run(args.batch, min(args.rounds, 50), args.handler, args.mode)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    lat.sort()
    print(f"invocations/s: best {max(rates):,.0f}  median {statistics.median(rates):,.0f}  "
          f"stdev {statistics.pstdev(rates):,.0f}")
    print(f"per-batch round (accept, then 1 ms of virtual time; {args.batch} events): "
          f"p50 {lat[len(lat) // 2] * 1e3:.3f} ms  "
          f"p99 {lat[int(len(lat) * 0.99)] * 1e3:.3f} ms")
    print(f"peak traced memory: {peak / 1e6:.1f} MB  throttles in last run: {throttles}")


if __name__ == "__main__":
    main()
