"""EventBridge bus in process: PutEvents in 10-entry batches through a bus with N rules into SQS.

Each rule matches one ``source`` (``{"source": ["svc-<i>"], "detail-type": ["Order Placed"]}``)
and has one SQS queue target (a real ``brokers.queue.Queue``). Events cycle over the sources,
so each event matches exactly one rule. A round is one ``put_events`` call of 10 entries (the
request already decoded into Structs, as the API adapter hands them over) plus the mesh flush
that carries the resulting ``Deliver`` effects into the queues: decode Detail, build the
envelope, match once against every rule, deliver. ``--json`` starts from the JSON request body
instead (``put_events_json``: one typed decode, one response encode). Queues are purged between
repeats so memory stays bounded. Prints events/s, p50/p99 per round and peak RSS.

    .venv/bin/python benchmarks/services/events/bench_bus.py [--rules N] [--events N] [--repeats N] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import msgspec

from eventmesh.mesh import Mesh
from eventmesh.services.events.records import PutEventsRequestEntry
from eventmesh.services.events.service import create_bus, put_events, put_events_json
from eventmesh.services.sqs.queue import Queue
from eventmesh.services.sqs.service import create_queue
from eventmesh.testing import virtual_mesh

BATCH = 10
QUEUES = 100  # rules share queues round-robin: 1,000 queues would only measure memory


def build(rules: int) -> tuple[Mesh, list[Queue]]:
    mesh, _ = virtual_mesh()
    bus = create_bus(mesh, "bench", max_rules=rules)
    queues = [create_queue(mesh, f"q{i}") for i in range(min(QUEUES, rules))]
    for i in range(rules):
        bus.put_rule(f"rule-{i}", event_pattern=json.dumps(
            {"source": [f"svc-{i}"], "detail-type": ["Order Placed"]}))
        bus.put_targets(f"rule-{i}", [{"Id": "q", "Arn": queues[i % len(queues)].arn}])
    return mesh, queues


def run(rules: int, events: int, repeats: int, use_json: bool) -> None:
    mesh, queues = build(rules)
    detail = json.dumps({"order-id": "o-123", "amount": 42.5, "items": [{"sku": "a", "qty": 2}],
                         "customer": {"tier": "gold", "region": "eu"}})
    rounds = events // BATCH
    batches = []
    bodies = []
    for r in range(min(rounds, 500)):
        entries = [PutEventsRequestEntry(source=f"svc-{(r * BATCH + k) % rules}", detail_type="Order Placed",
                                         detail=detail, event_bus_name="bench") for k in range(BATCH)]
        batches.append(entries)
        bodies.append(msgspec.json.encode({"Entries": msgspec.to_builtins(entries)}))
    flush = mesh.flush
    print(f"rules={rules} events/repeat={rounds * BATCH} batch={BATCH} queues={len(queues)} "
          f"input={'json body' if use_json else 'decoded entries'} detail={len(detail)}B")
    rates = []
    round_times: list[float] = []
    for repeat in range(repeats + 1):  # the first repeat warms up
        for q in queues:
            q.purge()
        mesh.clock.advance(61)  # type: ignore[attr-defined]  # one purge per 60 s
        gc.collect()
        times = []
        start = time.perf_counter()
        for n in range(rounds):
            t = time.perf_counter()
            if use_json:
                put_events_json(mesh, bodies[n % len(bodies)])
            else:
                put_events(mesh, batches[n % len(batches)])
            flush()
            times.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
        delivered = sum(q.statistics().number_of_messages_sent for q in queues)
        assert delivered >= rounds * BATCH, delivered
        if repeat:
            rates.append(rounds * BATCH / elapsed)
            round_times += times
    round_times.sort()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"events/s: median {statistics.median(rates):,.0f}  min {min(rates):,.0f}  max {max(rates):,.0f} "
          f"over {repeats} repeats")
    print(f"per 10-event PutEvents: p50 {round_times[len(round_times) // 2] * 1e6:.1f} us  "
          f"p99 {round_times[int(len(round_times) * 0.99)] * 1e6:.1f} us")
    print(f"peak RSS {peak_mb:.0f} MB")


def main() -> None:
    if "--mixed" in sys.argv:  # the mixed-operator rule set: bench_bus_mixed.py, same options
        sys.argv.remove("--mixed")
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import bench_bus_mixed

        bench_bus_mixed.main()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="start from the JSON request body")
    parser.add_argument("--mixed", action="store_true",
                        help="mixed-operator rules and ~600-byte events (bench_bus_mixed.py)")
    args = parser.parse_args()
    run(args.rules, args.events, args.repeats, args.json)


if __name__ == "__main__":
    main()
