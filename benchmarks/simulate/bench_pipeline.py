"""The simulator end to end: EventBridge → SQS → Lambda and Kinesis → Lambda in virtual time.

Two producers at ``--rate`` events/s each for ``--duration`` of virtual time (the issue's target:
1 h at 5,000 events/s each ≈ 36 M events in under 3 minutes on one core): PutEvents (10 per call)
into a bus whose rule targets an SQS queue drained by a mapping (BatchSize 10) into a 2 ms model
function, and PutRecords (500 per call) into an 8-shard stream read by a mapping (BatchSize 500)
into another. Metrics are sampled each second as a real run does. Prints the parameters, events
simulated per wall second and per CPU second, the wall time, and the peak RSS.

    .venv/bin/python benchmarks/simulate/bench_pipeline.py [--duration 1h] [--rate 5000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import eventmesh.simulate as sim

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="1h")
    parser.add_argument("--rate", type=float, default=5_000.0)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    print(f"params: duration={args.duration} rate={args.rate:g}/s per producer, 2 producers "
          "(PutEvents→bus→SQS→Lambda, PutRecords→8 shards→Lambda), sample 1 s, period 60 s")
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
