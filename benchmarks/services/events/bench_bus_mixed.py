"""A bus with N mixed-operator rules into SQS: PutEvents in 10-entry batches, one core.

    .venv/bin/python benchmarks/services/events/bench_bus_mixed.py [--rules 1000] [--events 50000] [--repeats 3]
    .venv/bin/python benchmarks/services/events/bench_bus_mixed.py --same-source --rules 10,100,300,1000

The rule set and the events are bench_mixed.py's (100 live rules, the rest dead rules of every
operator family; ~600-byte order events with nested objects and an array of objects), put on a bus
as benchmarks/services/events/bench_bus.py does it: each rule has one SQS queue target (rules share
QUEUES queues round-robin), a round is one ``put_events`` call of 10 decoded entries plus the mesh
flush that carries the deliveries into the queues (decode Detail, build the envelope, match once
against every rule, deliver). Queues are purged between repeats. Prints events/s (median of
CPU-time repeats after a warm-up), p50/p99 per 10-entry call, matches per event and peak RSS.

``--calls N`` is for instruction counts instead: build the bus, make WARMUP_CALLS calls, then N
more, and exit without timing anything. Under callgrind at two values of N, the difference of the
totals divided by 10 x the difference of N is the instructions per event, the same on every run:

    PYTHONHASHSEED=0 valgrind --tool=callgrind .venv/bin/python \
        benchmarks/services/events/bench_bus_mixed.py --calls 300   # and --calls 600
    Ir per event = (Ir(600) - Ir(300)) / 3,000

The C twins of the loops after the match (docs/architecture.md) run when they are built;
``EVENTMESH_SQS_ENGINE=python EVENTMESH_EVENTS_ENGINE=python`` measures the Python loops instead.

``--same-source`` is the daemon case of the engine's issue instead: every rule names the same
``source`` and differs in ``detail-type`` (even rules) or a numeric range on ``detail.amount`` (odd
rules), and each event matches exactly one rule, so events/s should not depend on the rule count.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "patterns"))  # bench_mixed's workload

from bench_mixed import DEAD_SHAPES, make_event, make_rules  # noqa: E402

from eventmesh.mesh import Mesh  # noqa: E402
from eventmesh.services.events.records import PutEventsRequestEntry  # noqa: E402
from eventmesh.services.events.service import create_bus, put_events  # noqa: E402
from eventmesh.services.sqs.queue import Queue  # noqa: E402
from eventmesh.services.sqs.service import create_queue  # noqa: E402
from eventmesh.testing import virtual_mesh  # noqa: E402

BATCH = 10
QUEUES = 100
DISTINCT_BATCHES = 200
WARMUP_CALLS = 300  # --calls: calls made before the counted ones


def same_source_rules(rules: int) -> list[str]:
    return [
        json.dumps({"source": ["shop.orders"], "detail-type": [f"Type-{i}"]}) if i % 2 == 0 else
        json.dumps({"source": ["shop.orders"], "detail": {"amount": [{"numeric": [">=", i * 10, "<", i * 10 + 10]}]}})
        for i in range(rules)
    ]


def build(rules: int, same_source: bool) -> tuple[Mesh, list[Queue]]:
    mesh, _ = virtual_mesh()
    bus = create_bus(mesh, "bench", max_rules=rules + 1)
    queues = [create_queue(mesh, f"q{i}") for i in range(min(QUEUES, rules))]
    texts = same_source_rules(rules) if same_source else make_rules(rules, list(DEAD_SHAPES))
    for i, text in enumerate(texts):
        bus.put_rule(f"rule-{i}", event_pattern=text)
        bus.put_targets(f"rule-{i}", [{"Id": "q", "Arn": queues[i % len(queues)].arn}])
    return mesh, queues


def entries(rng: random.Random, same_source: bool) -> list[list[PutEventsRequestEntry]]:
    batches = []
    for r in range(DISTINCT_BATCHES):
        batch = []
        for k in range(BATCH):
            event = make_event(r * BATCH + k, rng)
            if same_source:  # matches rule 0 only (no odd rule's range holds 5.0)
                event.update({"source": "shop.orders", "detail-type": "Type-0"})
                event["detail"]["amount"] = 5.0
            batch.append(PutEventsRequestEntry(
                source=event["source"], detail_type=event["detail-type"], resources=event["resources"],
                detail=json.dumps(event["detail"]), event_bus_name="bench"))
        batches.append(batch)
    return batches


def run(rules: int, events: int, repeats: int, same_source: bool) -> None:
    mesh, queues = build(rules, same_source)
    batches = entries(random.Random(12), same_source)
    rounds = events // BATCH
    flush = mesh.flush
    sent_before = 0
    rates: list[float] = []
    round_times: list[float] = []
    for repeat in range(repeats + 1):  # the first repeat warms up
        for q in queues:
            q.purge()
        mesh.clock.advance(61)  # type: ignore[attr-defined]  # one purge per 60 s
        gc.collect()
        sent_before = sum(q.statistics().number_of_messages_sent for q in queues)
        times = []
        start = time.process_time()
        for n in range(rounds):
            t = time.perf_counter()
            put_events(mesh, batches[n % len(batches)])
            flush()
            times.append(time.perf_counter() - t)
        elapsed = time.process_time() - start
        delivered = sum(q.statistics().number_of_messages_sent for q in queues) - sent_before
        if repeat:
            rates.append(rounds * BATCH / elapsed)
            round_times += times
    round_times.sort()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rules={rules} events/repeat={rounds * BATCH} batch={BATCH} queues={len(queues)} "
          f"matches/event={delivered / (rounds * BATCH):.2f}")
    print(f"events/s (CPU time): median {statistics.median(rates):,.0f}  min {min(rates):,.0f}  "
          f"max {max(rates):,.0f} over {repeats} repeats")
    print(f"per 10-event PutEvents: p50 {round_times[len(round_times) // 2] * 1e6:.1f} us  "
          f"p99 {round_times[int(len(round_times) * 0.99)] * 1e6:.1f} us")
    print(f"peak RSS {peak_mb:.0f} MB")


def calls_only(rules: int, calls: int, same_source: bool) -> None:
    """WARMUP_CALLS calls, then ``calls`` more (10 entries and a flush each), for callgrind."""
    mesh, _ = build(rules, same_source)
    batches = entries(random.Random(12), same_source)
    for n in range(WARMUP_CALLS):
        put_events(mesh, batches[n % len(batches)])
        mesh.flush()
    gc.collect()
    for n in range(WARMUP_CALLS, WARMUP_CALLS + calls):
        put_events(mesh, batches[n % len(batches)])
        mesh.flush()
    print(f"rules={rules} calls={WARMUP_CALLS}+{calls} batch={BATCH}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default="1000", help="rule counts, comma-separated")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--same-source", action="store_true", help="one source, one rule matching")
    parser.add_argument("--calls", type=int, default=0, help="instruction counts: this many calls, untimed")
    args = parser.parse_args()
    for n in (int(x) for x in args.rules.split(",")):
        if args.calls:
            calls_only(n, args.calls, args.same_source)
        else:
            run(n, args.events, args.repeats, args.same_source)


if __name__ == "__main__":
    main()
