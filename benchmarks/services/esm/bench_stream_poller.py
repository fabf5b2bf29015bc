"""Kinesis event source mapping throughput in virtual time.

A 64-shard stream pre-filled with records (1,000 partition keys), one mapping with
ParallelizationFactor 10 and a no-op model function (``model:duration=1ms``); the clock runs until
every record was delivered. The collector is frozen after the fill (set-up objects are not
the poller's work). Prints records/s per core (CPU time of the consuming process), batches,
peak memory of the consume phase; warm-up plus repeats.

    .venv/bin/python benchmarks/services/esm/bench_stream_poller.py [--records N] [--batch-size B] [--repeats R]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc

from eventmesh.services.esm.service import create_mapping
from eventmesh.services.kinesis.service import create_stream
from eventmesh.services.kinesis.stream import PutRecordsRequestEntry
from eventmesh.services.lambda_.function import Function
from eventmesh.services.lambda_.service import create_function
from eventmesh.testing import virtual_mesh

SHARDS = 64
FACTOR = 10
KEYS = 1_000
PUT_BATCH = 500


def fill(records: int):
    mesh, driver = virtual_mesh(seed=1)
    stream = create_stream(mesh, "bench", SHARDS)
    create_function(mesh, "noop", role="arn:aws:iam::000000000000:role/r", handler="model:duration=1ms")
    keys = [f"key-{i}" for i in range(KEYS)]
    data = b"x" * 100
    # 64 shards take 64,000 records per second (1,000 per shard): spread the writes over seconds.
    per_second = SHARDS * 500    # below the quota even where keys hash unevenly
    written = 0
    while written < records:
        target = min(records, written + per_second)
        while written < target:
            n = min(PUT_BATCH, target - written)
            stream.put_records([PutRecordsRequestEntry(data, keys[(written + i) % KEYS]) for i in range(n)])
            written += n
        driver.advance(1)
    return mesh, driver, stream, sum(s.record_count for s in stream.shards)


def consume(records: int, batch_size: int, trace: bool = False) -> tuple[float, int, float, int]:
    mesh, driver, stream, stored = fill(records)
    assert stored == records, (stored, records)
    mapping = create_mapping(mesh, {"EventSourceArn": stream.arn, "FunctionName": "noop",
                                    "StartingPosition": "TRIM_HORIZON", "BatchSize": batch_size,
                                    "ParallelizationFactor": FACTOR})
    # The pre-filled stream is set-up, not work: move it out of the collector's way, as a
    # long-running daemon's old generation would be.
    gc.collect()
    gc.freeze()
    if trace:
        tracemalloc.start()
    start_cpu, start_virtual = time.process_time(), mesh.clock.now()
    driver.run_until_idle(max_seconds=3_600)
    cpu = time.process_time() - start_cpu
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    gc.unfreeze()
    assert mapping.invoked == records, (mapping.invoked, records)
    function = mesh.get(mesh.arn("lambda", "function:noop"), Function)
    return cpu, function.invocations, mesh.clock.now() - start_virtual, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=640_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"shards={SHARDS} parallelization_factor={FACTOR} keys={KEYS} records={args.records} "
          f"batch_size={args.batch_size} function=model:duration=1ms clock=virtual")
    consume(min(args.records, 64_000), args.batch_size)     # warm-up
    rates = []
    for _ in range(args.repeats):
        cpu, invocations, virtual_s, _ = consume(args.records, args.batch_size)
        rates.append(args.records / cpu)
        print(f"  {args.records / cpu:,.0f} records/s  cpu={cpu:.3f}s  invocations={invocations:,}")
    _, _, _, peak = consume(args.records, args.batch_size, trace=True)
    print(f"records/s per core: median {statistics.median(rates):,.0f}  min {min(rates):,.0f}  "
          f"max {max(rates):,.0f}  (stdev {statistics.pstdev(rates):,.0f})")
    print(f"peak traced memory while consuming: {peak / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
