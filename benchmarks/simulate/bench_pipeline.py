"""The simulator end to end: EventBridge → SQS → Lambda and Kinesis → Lambda in virtual time.

Two producers at ``--rate`` events/s each for ``--duration`` of virtual time (the issue's target:
1 h at 5,000 events/s each ≈ 36 M events in under 3 minutes on one core): PutEvents (10 per call)
into a bus whose rule targets an SQS queue drained by a mapping (BatchSize 10) into a 2 ms model
function, and PutRecords (500 per call) into an 8-shard stream read by a mapping (BatchSize 500)
into another. Metrics are sampled each second as a real run does. Prints the parameters, events
simulated per wall second and per CPU second, the wall time, and the peak RSS.

With ``--partitions 1,2`` each repeat runs the scenario once per partition count, alternating
(the machine is shared: medians over alternating runs), and prints events per wall second for
each count, the speed-up against the first, and for each partition its time running windows and
waiting at barriers, with what crossed (``eventmesh simulate --partitions``, docs/scale-out.md).
CPU seconds then include the partitions' processes.

    .venv/bin/python benchmarks/simulate/bench_pipeline.py [--duration 1h] [--rate 5000] [--repeats 1]
                                                           [--partitions 1,2]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

import eventmesh.simulate as sim
from eventmesh.simulate.partitioned import RunStatistics, partition_count, run_partitioned
from eventmesh.simulate.runner import run_variant
from eventmesh.simulate.scenario import validate_scenario

ROLE = "arn:aws:iam::000000000000:role/bench"


def scenario(duration: str, rate: float) -> dict:
    return {
        "name": "bench-pipeline", "duration": duration, "seed": 1,
        "resources": {
            "sqs": {"queues": [{"QueueName": "orders", "Attributes": {"VisibilityTimeout": 60}}]},
            "kinesis": {"streams": [{"StreamName": "clicks", "ShardCount": 8}]},
            "lambda": {
                "functions": [
                    {"FunctionName": "process-order", "Role": ROLE, "Handler": "model:duration=2ms", "Code": {}},
                    {"FunctionName": "count-clicks", "Role": ROLE, "Handler": "model:duration=50ms", "Code": {}}],
                "event_source_mappings": [
                    {"EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:orders", "FunctionName": "process-order",
                     "BatchSize": 10},
                    {"EventSourceArn": "arn:aws:kinesis:us-east-1:000000000000:stream/clicks",
                     "FunctionName": "count-clicks", "StartingPosition": "LATEST", "BatchSize": 500}]},
            "events": {"buses": [{"Name": "shop"}],
                       "rules": [{"Name": "orders", "EventBusName": "shop", "EventPattern": {"source": ["shop"]},
                                  "Targets": [{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:000000000000:orders"}]}]}},
        "load": [
            {"name": "orders", "api": "PutEvents", "target": "shop", "batch": 10, "rate": rate,
             "payload": {"source": "shop", "detail_type": "Order Placed",
                         "detail": {"id": "{counter}", "total": 42.5}}},
            {"name": "clicks", "api": "PutRecords", "target": "clicks", "batch": 500, "rate": rate,
             "payload": {"data": '{"page": "/home"}', "partition_key": "{counter}"}}],
        "report": {"period": "1m", "sample": "1s"},
    }


def _cpu_s() -> float:
    """CPU seconds of this process and of the partitions' processes it has waited for."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _partitioned(args: argparse.Namespace, counts: list[int]) -> None:
    data = scenario(args.duration, args.rate)
    walls: dict[int, list[float]] = {n: [] for n in counts}
    events = 0
    for repeat in range(args.repeats):
        for n in counts:
            stats: list[RunStatistics] = []
            wall, cpu = time.perf_counter(), _cpu_s()
            if n == 1:       # what --partitions 1 runs: one engine, no placement, no processes
                result = run_variant(validate_scenario(data))
            else:
                result = run_partitioned(validate_scenario(data), n, statistics=stats)
            wall, cpu = time.perf_counter() - wall, _cpu_s() - cpu
            assert result.balanced
            walls[n].append(wall)
            events = result.events
            run = stats[0] if stats else RunStatistics(1, 0.0, 0, 0, [], [])
            print(f"  repeat {repeat + 1}, {n} partition(s) (ran on {run.partitions}, lookahead {run.lookahead_s:g} s, "
                  f"{run.windows:,} windows): {result.events:,} events in {wall:.1f} s wall "
                  f"({result.events / wall:,.0f}/s), {cpu:.1f} s CPU, load average {os.getloadavg()[0]:.2f}")
            for p in run.per_partition:
                print(f"    partition {p.partition}: {p.setup_s:.2f} s set-up, {p.busy_s:.2f} s running windows, "
                      f"{p.wait_s:.2f} s at barriers ({p.wait_s / max(p.busy_s + p.wait_s, 1e-9):.0%}), "
                      f"{p.cpu_s:.2f} s CPU; {p.events:,} events generated, {p.items_sent:,} items sent "
                      f"({p.bytes_sent / 1e6:.1f} MB), {p.items_received:,} received")
            if run.per_partition:
                inside = max(p.busy_s + p.wait_s for p in run.per_partition)
                print(f"    outside the windows (building, placing, forking, merging): {wall - inside:.2f} s")
    base = statistics.median(walls[counts[0]])
    for n in counts:
        median = statistics.median(walls[n])
        print(f"partitions={n}: wall median {median:.2f} s, {events / median:,.0f} events/s, "
              f"speed-up {base / median:.2f}x against {counts[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="1h")
    parser.add_argument("--rate", type=float, default=5_000.0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--partitions", default=None, metavar="N,N,...",
                        help="compare partition counts (e.g. 1,2; auto = cores), alternating per repeat")
    args = parser.parse_args()
    print(f"params: duration={args.duration} rate={args.rate:g}/s per producer, 2 producers "
          "(PutEvents→bus→SQS→Lambda, PutRecords→8 shards→Lambda), sample 1 s, period 60 s"
          + (f", partitions {args.partitions}" if args.partitions else ""))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    if args.partitions:
        _partitioned(args, [partition_count(x) for x in args.partitions.split(",")])
        return
    walls, cpus, rates = [], [], []
    for _ in range(args.repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = sim.run(scenario(args.duration, args.rate))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert isinstance(result, sim.RunResult) and result.balanced
        walls.append(wall)
        cpus.append(cpu)
        rates.append(result.events / cpu)
        print(f"  {result.events:,} events in {wall:.1f} s wall ({result.events / wall:,.0f}/s), "
              f"{cpu:.1f} s CPU ({result.events / cpu:,.0f} events per CPU second)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"events per CPU second: median {statistics.median(rates):,.0f}  "
          f"wall median {statistics.median(walls):.1f} s")
    print(f"peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
