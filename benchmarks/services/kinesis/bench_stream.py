"""Kinesis stream core in process: PutRecords(500) into a 64-shard stream, then GetRecords-style
reads of every shard (the path a stream poller takes), in virtual time.

Virtual time moves one second whenever the stream's write quota for the second is used up
(1,000 records per shard), so nothing is throttled and the figure is the core's own cost.
Prints records/s for puts, reads and the round trip, p50/p99 per PutRecords call, and peak RSS.

    .venv/bin/python benchmarks/services/kinesis/bench_stream.py [--records N] [--shards N] [--keys N]
        [--fresh-keys]

``--fresh-keys``: every record has a key no earlier record had (a counter, a request id), instead
of ``--keys`` keys over and over, which the stream's memo of keys serves (the Python routing's;
the C twin of the routing keeps none, ``EVENTMESH_KINESIS_ENGINE=python|c`` compares them).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

from eventmesh.services.kinesis.service import create_stream
from eventmesh.services.kinesis.stream import PutRecordsRequestEntry
from eventmesh.testing import virtual_mesh

BATCH = 500


def run(records: int, shards: int, keys: int, size: int, explicit: bool, fresh: bool = False) -> dict[str, float]:
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "bench", shards)
    payload = b"x" * size
    if fresh:   # one batch per call, no key twice (bounded by --records: about 160 B a record)
        keys = records // BATCH * BATCH
    pool = [f"key-{i}" for i in range(keys)]
    if explicit:
        step = (1 << 128) // keys
        batches = [[PutRecordsRequestEntry(payload, pool[(b * BATCH + i) % keys],
                                           str(((b * BATCH + i) % keys) * step)) for i in range(BATCH)]
                   for b in range(min(64, records // BATCH))]
    else:
        batches = [[PutRecordsRequestEntry(payload, pool[(b * BATCH + i) % keys]) for i in range(BATCH)]
                   for b in range(records // BATCH if fresh else min(64, records // BATCH))]
    per_second = shards * 1_000 // 2   # half the quota: keys never spread perfectly evenly
    put_times: list[float] = []
    written = failed = 0
    start = time.perf_counter()
    for n in range(records // BATCH):
        t = time.perf_counter()
        out = stream.put_records(batches[n % len(batches)])
        put_times.append(time.perf_counter() - t)
        failed += out.failed_record_count
        written += BATCH
        if written % per_second < BATCH:
            driver.advance(1)
    put_s = time.perf_counter() - start
    mesh.outbox.clear()

    start = time.perf_counter()
    read = 0
    for shard in stream.shards:
        position = shard.trim_horizon
        while True:
            result = shard.read(position, 10_000)
            if not result.records:
                break
            read += len(result.records)
            position = result.next_position
    read_s = time.perf_counter() - start
    put_times.sort()
    return {
        "put_rps": written / put_s, "read_rps": read / read_s, "both_rps": written / (put_s + read_s),
        "p50_us": put_times[len(put_times) // 2] * 1e6, "p99_us": put_times[int(len(put_times) * 0.99)] * 1e6,
        "failed": failed, "read": read,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--shards", type=int, default=64)
    parser.add_argument("--keys", type=int, default=10_000, help="distinct partition keys")
    parser.add_argument("--size", type=int, default=100, help="data bytes per record")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fresh-keys", action="store_true", help="no partition key twice")
    args = parser.parse_args()
    print(f"stream core: {args.records:,} records in PutRecords({BATCH}) to {args.shards} shards, "
          f"{'every key new' if args.fresh_keys else f'{args.keys:,} partition keys'}, {args.size} B data; "
          f"{args.repeats} repeats after a warm-up")
    for label, explicit in (("partition keys", False), ("explicit hash keys", True)):
        fresh = args.fresh_keys and not explicit
        run(min(args.records, 50_000), args.shards, args.keys, args.size, explicit, fresh)  # warm-up
        rows = [run(args.records, args.shards, args.keys, args.size, explicit, fresh) for _ in range(args.repeats)]
        assert all(r["failed"] == 0 and r["read"] == args.records // BATCH * BATCH for r in rows)

        def fmt(key: str, unit: str = "/s", rows: list[dict[str, float]] = rows) -> str:
            values = [r[key] for r in rows]
            spread = statistics.pstdev(values) / statistics.mean(values) * 100
            return f"{statistics.median(values):>12,.0f}{unit} (±{spread:.0f}%)"

        print(f"[{label}]")
        print(f"  put   records{fmt('put_rps')}")
        print(f"  read  records{fmt('read_rps')}")
        print(f"  put+read     {fmt('both_rps')}")
        print(f"  PutRecords({BATCH}) call p50 {fmt('p50_us', ' µs')}  p99 {fmt('p99_us', ' µs')}")
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
