"""A sweep of 8 variants with --jobs 1 and with --jobs 2: the parallel speed-up of variants.

Each variant is the SQS worker pool of ``configs/scenarios/sqs-worker-dlq.yaml`` shortened to
``--duration`` of virtual time, with ReservedConcurrentExecutions × BatchSize swept over 4 × 2
values. Prints the wall time of each, their ratio (the target: jobs 2 ≤ 0.6 × jobs 1 on a
2-core machine), the CPU seconds spent (here and in worker processes), the load average (on a
shared machine other work takes cores too: read the ratio with it), events per wall second,
and the peak RSS of this process (workers apart).

    .venv/bin/python benchmarks/simulate/bench_sweep.py [--duration 20m] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import eventmesh.simulate as sim

SCENARIO = Path(__file__).resolve().parents[2] / "configs" / "scenarios" / "sqs-worker-dlq.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="20m")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    raw, _ = sim.read_scenario(SCENARIO, [f"duration={args.duration}"])
    raw["sweep"] = {"functions.worker.ReservedConcurrentExecutions": [5, 10, 20, 40],
                    "event_source_mappings.worker.BatchSize": [1, 10]}
    scenario = sim.validate_scenario(raw, SCENARIO.parent)
    print(f"params: {SCENARIO.name} duration={args.duration} variants=8 jobs=1 vs jobs={args.jobs}")
    walls = {}
    for jobs in (1, args.jobs):
        load = os.getloadavg()[0]
        cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        started = time.perf_counter()
        result = sim.run(scenario, jobs=jobs)
        walls[jobs] = time.perf_counter() - started
        cpu = (resource.getrusage(resource.RUSAGE_SELF).ru_utime
               + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - cpu)
        assert isinstance(result, sim.SweepResult) and result.balanced
        events = sum(v.events for v in result.variants)
        print(f"  jobs={jobs}: {walls[jobs]:.1f} s wall, {cpu:.1f} s CPU, load average {load:.1f} before, "
              f"{events:,} events ({events / walls[jobs]:,.0f} events/s)")
    print(f"jobs={args.jobs} / jobs=1 wall time: {walls[args.jobs] / walls[1]:.2f}")
    print(f"peak RSS (this process) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
