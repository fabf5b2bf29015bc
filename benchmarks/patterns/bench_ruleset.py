"""Many-rule matching throughput: events/s from raw JSON bytes against 10 ... 10,000 rules, one core.

    .venv/bin/python benchmarks/patterns/bench_ruleset.py [--rules 10,100,1000,10000] [--seconds 1.0]

Workload (seeded, reproducible): rules look like production EventBridge rules, each scoped to one
event source with a second condition; value spaces grow with the rule count, so an event partially
satisfies about the same number of rules at every size (what "cost grows with the event's fields, not
with the number of rules" means). Mix: 40 % source + detail-type, 20 % source + detail.state list,
15 % source + detail.bucket prefix, 10 % source + numeric range, 10 % source + detail-type +
anything-but, 5 % $or. Events are ~400-byte EventBridge envelopes whose source is one of the rules'
(and 10 % from unknown sources). Reports events/s (median of repeats, spread), p50/p99 per event,
matches per event, compile time and peak traced memory of the compiled rule set per 1,000 rules.
events/s counts CPU time of this process (one core; robust on a shared machine); "wall ev/s" is the
wall-clock figure. p50/p99 are wall-clock per event.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import tracemalloc

from eventmesh.patterns import RuleSet

STATES = ["pending", "running", "stopping", "stopped", "terminated", "rebooting"]
TYPES = [f"Type{i}" for i in range(20)]


def make_rules(n: int, rng: random.Random) -> tuple[list[str], list[str]]:
    n_sources = max(2, n // 5)
    sources = [f"com.example.app{i}" for i in range(n_sources)]
    rules = []
    for i in range(n):
        s = sources[i % n_sources]
        kind = rng.random()
        if kind < 0.40:
            p = {"source": [s], "detail-type": [rng.choice(TYPES)]}
        elif kind < 0.60:
            p = {"source": [s], "detail": {"state": rng.sample(STATES, 2)}}
        elif kind < 0.75:
            p = {"source": [s], "detail": {"bucket": [{"prefix": f"logs-{i}-"}]}}
        elif kind < 0.85:
            lo = rng.randrange(0, 1000)
            p = {
                "source": [s],
                "detail": {"size": [{"numeric": [">", lo, "<=", lo + rng.randrange(1, 500)]}]},
            }
        elif kind < 0.95:
            p = {
                "source": [s],
                "detail-type": [rng.choice(TYPES)],
                "detail": {"state": [{"anything-but": ["terminated", "stopped"]}]},
            }
        else:
            p = {
                "source": [s],
                "$or": [{"detail-type": [rng.choice(TYPES)]}, {"detail": {"state": ["running"]}}],
            }
        rules.append(json.dumps(p))
    return rules, sources


def make_events(sources: list[str], count: int, n_rules: int, rng: random.Random) -> list[bytes]:
    events = []
    for k in range(count):
        source = rng.choice(sources) if rng.random() < 0.9 else f"com.other.svc{k}"
        event = {
            "version": "0",
            "id": f"6a7e8feb-b491-4cf7-a9f1-bf37034677{k % 100:02d}",
            "detail-type": rng.choice(TYPES),
            "source": source,
            "account": "111122223333",
            "time": "2017-12-22T18:43:48Z",
            "region": "us-west-1",
            "resources": [f"arn:aws:ec2:us-west-1:111122223333:instance/i-{k:017x}"],
            "detail": {
                "instance-id": f"i-{k:017x}",
                "state": rng.choice(STATES),
                "bucket": f"logs-{rng.randrange(n_rules)}-2024/01/01",
                "size": rng.randrange(0, 1500),
                "owner": "team-a",
            },
        }
        events.append(json.dumps(event).encode())
    return events


def bench(n: int, seconds: float, repeats: int) -> dict[str, float]:
    rng = random.Random(n)
    texts, sources = make_rules(n, rng)
    events = make_events(sources, 2000, n, rng)
    tracemalloc.start()
    t0 = time.perf_counter()
    rules = RuleSet()
    for i, text in enumerate(texts):
        rules.add(f"rule-{i}", text)
    rules.matches(events[0])  # builds the indexes
    compile_s = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    matches = sum(len(rules.matches(e)) for e in events)  # warm-up
    # Events per CPU-second of this process (time.process_time), so that other processes sharing the
    # core do not count against us; wall-clock events/s is reported beside it.
    rates, wall_rates = [], []
    for _ in range(repeats):
        done = 0
        start, wall_start = time.process_time(), time.perf_counter()
        while True:
            for e in events:
                rules.matches(e)
            done += len(events)
            elapsed = time.process_time() - start
            if elapsed >= seconds:
                break
        rates.append(done / elapsed)
        wall_rates.append(done / (time.perf_counter() - wall_start))
    lat = []
    for e in events[:1000]:
        t = time.perf_counter()
        rules.matches(e)
        lat.append(time.perf_counter() - t)
    lat.sort()
    return {
        "rules": n,
        "events_per_s": statistics.median(rates),
        "spread": (max(rates) - min(rates)) / 2,
        "wall_events_per_s": statistics.median(wall_rates),
        "p50_us": lat[len(lat) // 2] * 1e6,
        "p99_us": lat[int(len(lat) * 0.99)] * 1e6,
        "matches_per_event": matches / len(events),
        "compile_s": compile_s,
        "peak_mib_per_1000": peak / (1 << 20) / n * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", default="10,100,1000,10000")
    ap.add_argument("--seconds", type=float, default=0.5, help="timed duration of each repeat")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print(
        f"python {sys.version.split()[0]}; events ~400 B raw JSON; {args.repeats} x {args.seconds}s per size"
    )
    print(
        f"{'rules':>6} {'events/s':>10} {'+/-':>7} {'wall ev/s':>10} {'p50 us':>7} {'p99 us':>7} "
        f"{'match/ev':>8} "
        f"{'compile s':>9} {'peak MiB/1k rules':>17}"
    )
    results = []
    for n in (int(x) for x in args.rules.split(",")):
        r = bench(n, args.seconds, args.repeats)
        results.append(r)
        print(
            f"{r['rules']:>6} {r['events_per_s']:>10,.0f} {r['spread']:>7,.0f} "
            f"{r['wall_events_per_s']:>10,.0f} "
            f"{r['p50_us']:>7.1f} "
            f"{r['p99_us']:>7.1f} {r['matches_per_event']:>8.2f} {r['compile_s']:>9.2f} "
            f"{r['peak_mib_per_1000']:>17.2f}"
        )
    if len(results) > 1:
        print(
            f"ratio first/last size events/s: {results[0]['events_per_s'] / results[-1]['events_per_s']:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
