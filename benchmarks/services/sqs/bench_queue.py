"""SQS queue core in process: send + receive + delete in batches of 10, in virtual time.

Each round sends one SendMessageBatch of 10 (pre-built entries, as the API adapter hands them
over), receives up to 10 and deletes them by receipt number. ``--backlog N`` first fills the
queue with N messages so the round trip runs against a deep queue (the visible deque and the
retention deque hold N entries). ``--inflight N`` leaves N messages received and not deleted
(N / 10 leases waiting in the lane). The core path includes body validation and size checks;
MD5 digests are computed lazily by the API layer, not here. Latency is sampled on every 4th
round. Prints messages per CPU-second through the three operations (the process's own CPU time,
so other work on a shared machine does not count against it), per wall-second, p50/p99 per
round and peak RSS.

    .venv/bin/python benchmarks/services/sqs/bench_queue.py [--messages N] [--backlog N] [--inflight N] [--fifo]
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import time

from eventmesh.services.sqs.message import SendEntry
from eventmesh.services.sqs.service import create_queue
from eventmesh.testing import virtual_mesh

BATCH = 10


def run(messages: int, backlog: int, inflight: int, fifo: bool, size: int) -> dict[str, float]:
    mesh, driver = virtual_mesh()
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false"} if fifo else {}
    queue = create_queue(mesh, "bench.fifo" if fifo else "bench", attributes)
    body = "x" * size
    counter = iter(range(10**12))

    def batch() -> list[SendEntry]:
        if fifo:  # distinct dedup ids, 100 groups
            return [SendEntry(body, group_id=f"g{i % 100}", deduplication_id=str(next(counter)))
                    for i in range(BATCH)]
        return [SendEntry(body) for _ in range(BATCH)]

    for _ in range(backlog // BATCH):
        queue.send_batch(batch())
    for _ in range(inflight // BATCH):
        queue.receive(BATCH)
    mesh.outbox.clear()
    rounds = messages // BATCH
    entries = [batch() for _ in range(min(rounds, 1000 if fifo else 64))]
    if fifo and rounds > len(entries):
        entries = [batch() for _ in range(rounds)]
    send, receive, delete_batch, outbox = queue.send_batch, queue.receive, queue.delete_batch, mesh.outbox
    times: list[float] = []
    moved = 0
    gc.collect()
    cpu_start = time.process_time()
    start = time.perf_counter()
    pc = time.perf_counter
    for n in range(rounds):
        sampled = not n & 3  # time every 4th round: the clock reads are not the core's cost
        if sampled:
            t = pc()
        send(entries[n % len(entries)])
        got = receive(BATCH)
        delete_batch([m.receipt for m in got])
        if sampled:
            times.append(pc() - t)
        moved += len(got)
        if len(outbox) > 1024:
            outbox.clear()  # Available effects nobody listens to here
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    times.sort()
    return {
        "msgs_per_s": moved / elapsed,
        "msgs_per_cpu_s": moved / cpu,
        "p50_us": times[len(times) // 2] * 1e6,
        "p99_us": times[int(len(times) * 0.99)] * 1e6,
        "moved": moved,
        "visible_after": queue.counts()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--backlog", type=int, default=0)
    parser.add_argument("--inflight", type=int, default=0)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fifo", action="store_true")
    args = parser.parse_args()
    print(f"queue={'fifo' if args.fifo else 'standard'} messages={args.messages} batch={BATCH} "
          f"body={args.size}B backlog={args.backlog} inflight={args.inflight} repeats={args.repeats}")
    run(min(args.messages, 50_000), 0, 0, args.fifo, args.size)  # warm-up
    rates = []
    for i in range(args.repeats):
        result = run(args.messages, args.backlog, args.inflight, args.fifo, args.size)
        rates.append(result["msgs_per_cpu_s"])
        print(f"  run {i + 1}: {result['msgs_per_cpu_s']:,.0f} msgs per CPU-second "
              f"({result['msgs_per_s']:,.0f} per wall-second)  p50 {result['p50_us']:.1f} µs  "
              f"p99 {result['p99_us']:.1f} µs per round of {BATCH}")
    spread = statistics.pstdev(rates) / statistics.mean(rates) * 100 if len(rates) > 1 else 0.0
    print(f"send+receive+delete: best {max(rates):,.0f}  median {statistics.median(rates):,.0f} msgs per "
          f"CPU-second (±{spread:.1f}%)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
