"""Mixed-operator rule sets where most rules never match: events/s at 10 ... 10,000 rules, one core.

    .venv/bin/python benchmarks/patterns/bench_mixed.py [--rules 10,100,1000,10000] [--seconds 0.5]
    .venv/bin/python benchmarks/patterns/bench_mixed.py --by-operator [--dead 2000]

Workload (its own seeded generator, reproducible): ~600-byte order events from raw JSON bytes, with
nested objects (``detail.customer``) and an array of objects (``detail.items``). Of N rules,
min(N, LIVE_RULES) are *live* (shaped so that each event matches a few of them) and the rest are
*dead*: they pair an exact value that many events carry (``detail.status``, ``detail-type``,
``source``, ``detail.currency``) with a second condition no event satisfies, of every operator family
(prefix, suffix, equals-ignore-case, prefix/suffix ignore-case, cidr v4/v6, wildcard with a literal
prefix, a literal suffix or only a middle, numeric ranges, anything-but, exists false, ``$or``, and
array-consistent pairs inside ``detail.items``). The matches per event stay constant from 100 rules
on, so a matcher whose cost follows the matches keeps its events/s flat.

``--by-operator`` runs the live rules alone and then with ``--dead`` dead rules of one shape at a
time, to show which operator family makes the cost grow.

Reports events/s (median over repeats of events per CPU-second of this process, with spread; the
repeats of all rule sets are interleaved, so drift on a shared machine hits every size alike),
wall-clock events/s, p50/p99 per event, matches per event, compile time, memory per 1,000 rules
(peak traced while compiling, and RuleSet.statistics()), and at the largest size the latency of adding
one more rule and of matching the first event after it (median of ADD_SAMPLES).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from eventmesh.patterns import RuleSet

LIVE_RULES = 100
EVENT_POOL = 2000  # a multiple of CHUNK_EVENTS
LATENCY_SAMPLES = 500  # also the events counted for matches per event
CHUNK_EVENTS = 50  # the timer is read after every chunk, so a slow matcher still stops on time
ADD_SAMPLES = 50
STATUSES = [f"s{i}" for i in range(10)]
TYPES = ["Order Placed", "Order Shipped", "Refund", "Payment Failed"]
CURRENCIES = ["USD", "EUR", "GBP", "JPY"]
TIERS = ["gold", "silver", "bronze"]
CHANNELS = ["Web", "MOBILE", "store", "Partner-API"]
COUNTRIES = ["DE", "FR", "US", "GB", "JP", "BR", "IN", "ES"]
BUCKETS = 20
SKUS = 200


# -- events ----------------------------------------------------------------------------------------
def make_event(k: int, rng: random.Random) -> dict[str, Any]:
    items = [
        {"sku": f"SKU-{rng.randrange(SKUS):04d}", "qty": rng.randrange(1, 6), "price": rng.randrange(100, 9999) / 100}
        for _ in range(rng.randrange(1, 4))
    ]
    return {
        "version": "0",
        "id": f"8f2c1b4e-6a1d-4c3b-9e7f-{k:012x}",
        "detail-type": rng.choice(TYPES),
        "source": "shop.orders" if rng.random() < 0.9 else "shop.returns",
        "account": "111122223333",
        "time": "2024-05-01T12:34:56Z",
        "region": "eu-west-1",
        "resources": [f"arn:aws:s3:::bucket-{rng.randrange(BUCKETS)}/orders/o-{k:07d}.json"],
        "detail": {
            "order-id": f"o-{k:07d}",
            "status": rng.choice(STATUSES),
            "amount": rng.randrange(100, 500_000) / 100,
            "currency": rng.choice(CURRENCIES),
            "channel": rng.choice(CHANNELS),
            "ip": f"10.{rng.randrange(16)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "customer": {
                "id": f"c-{rng.randrange(100_000):06d}",
                "tier": rng.choice(TIERS),
                "email": f"user{rng.randrange(10_000)}@Example.com",
                "country": rng.choice(COUNTRIES),
            },
            "items": items,
        },
    }


# -- live rules: each event matches a few of them ----------------------------------------------------
def live_rule(k: int) -> dict[str, Any]:
    status = STATUSES[k % len(STATUSES)]
    kind = k % 10
    if kind == 0:
        lo = (k // 10) * 500
        return {"source": ["shop.orders"], "detail": {"status": [status],
                                                      "amount": [{"numeric": [">=", lo, "<", lo + 2000]}]}}
    if kind == 1:
        return {"detail": {"ip": [{"cidr": f"10.{k % 16}.0.0/16"}], "status": [status]}}
    if kind == 2:
        return {"detail-type": [TYPES[k % 4]], "resources": [{"wildcard": f"arn:aws:s3:::bucket-{k % BUCKETS}/*"}]}
    if kind == 3:
        return {"detail": {"items": {"sku": [f"SKU-{k % SKUS:04d}"], "qty": [{"numeric": [">=", 2]}]}}}
    if kind == 4:
        return {"detail-type": ["Order Shipped"],
                "detail": {"customer": {"tier": [{"anything-but": ["bronze"]}], "country": [COUNTRIES[k % 8]]}}}
    if kind == 5:
        return {"detail": {"channel": [{"equals-ignore-case": CHANNELS[k % 4].upper()}], "status": [status],
                           "currency": [CURRENCIES[k % 4]]}}
    if kind == 6:
        return {"detail": {"order-id": [{"prefix": f"o-00{k // 10:02d}"}], "coupon": [{"exists": False}]}}
    if kind == 7:
        return {"source": ["shop.orders"], "$or": [
            {"detail": {"status": [status], "currency": [CURRENCIES[k % 4]]}},
            {"detail": {"customer": {"email": [{"suffix": f"{k % 100:02d}@example.com"}]}}}]}
    if kind == 8:
        return {"detail": {"customer": {"email": [{"wildcard": f"user*{k % 100:02d}@Example.com"}]},
                           "status": [status]}}
    return {"detail": {"customer": {"id": [{"prefix": {"equals-ignore-case": f"C-{k % 100:02d}"}}]},
                       "currency": [CURRENCIES[k % 4]]}}


# -- dead rules: an anchor many events carry, paired with a condition none satisfies -------------------
DeadShape = Callable[[int], dict[str, Any]]
DEAD_SHAPES: dict[str, DeadShape] = {
    "exact": lambda k: {"detail": {"status": ["s5"], "order-id": [f"x-{k}"]}},
    "prefix": lambda k: {"source": ["shop.orders"], "detail": {"order-id": [{"prefix": f"x-{k}-"}]}},
    "suffix": lambda k: {"detail": {"currency": ["EUR"], "customer": {"email": [{"suffix": f"@other-{k}.net"}]}}},
    "equals-ignore-case": lambda k: {"detail-type": ["Order Placed"],
                                     "detail": {"customer": {"email": [{"equals-ignore-case": f"NOBODY-{k}@x.org"}]}}},
    "prefix-ignore-case": lambda k: {"detail": {"status": ["s5"],
                                                "channel": [{"prefix": {"equals-ignore-case": f"KIOSK-{k}"}}]}},
    "suffix-ignore-case": lambda k: {"detail": {
        "status": ["s3"], "customer": {"email": [{"suffix": {"equals-ignore-case": f"@N{k}.IO"}}]}}},
    "cidr": lambda k: {"detail": {"status": ["s5"], "ip": [{"cidr": f"11.{k % 256}.{k // 256 % 256}.0/24"}]}},
    "cidr-v6": lambda k: {"detail": {"status": ["s7"], "ip": [{"cidr": f"2001:db8:{k:x}::/48"}]}},
    "wildcard-prefix": lambda k: {"detail-type": ["Refund"], "resources": [{"wildcard": f"arn:aws:s3:::other-{k}/*"}]},
    "wildcard-suffix": lambda k: {"detail-type": ["Refund"], "resources": [{"wildcard": f"*/orders/x-{k}.json"}]},
    "wildcard-middle": lambda k: {"source": ["shop.orders"],
                                  "detail": {"customer": {"email": [{"wildcard": f"*@nomail-{k}.*"}]}}},
    "numeric": lambda k: {"source": ["shop.orders"],
                          "detail": {"amount": [{"numeric": [">", 10_000 + k, "<=", 10_001 + k]}]}},
    "anything-but": lambda k: {"detail": {"customer": {
        "tier": [{"anything-but": ["bronze", f"t{k}"]}], "email": [{"suffix": f"@other-{k}.net"}]}}},
    "anything-but-first": lambda k: {"detail": {"currency": [{"anything-but": ["EUR", f"X{k}"]}],
                                                "status": [f"z{k}"]}},
    "exists-false": lambda k: {"source": [f"other.{k}"], "detail": {"coupon": [{"exists": False}]}},
    "or": lambda k: {"source": ["shop.orders"], "$or": [{"detail": {"status": [f"x{k}"]}},
                                                        {"detail": {"channel": [{"prefix": f"kiosk-{k}"}]}}]},
    "array-consistency": lambda k: {"detail": {"items": {"sku": [f"SKU-{SKUS + k}"], "qty": [{"numeric": [">", 1]}]}}},
}


def make_rules(n: int, shapes: list[str]) -> list[str]:
    live = min(n, LIVE_RULES)
    rules = [json.dumps(live_rule(k)) for k in range(live)]
    for j in range(n - live):
        rules.append(json.dumps(DEAD_SHAPES[shapes[j % len(shapes)]](j)))
    return rules


# -- measurement -----------------------------------------------------------------------------------
def build(texts: list[str]) -> RuleSet:
    rules = RuleSet()
    for i, text in enumerate(texts):
        rules.add(f"rule-{i}", text)
    return rules


def timed(rules: RuleSet, events: list[bytes], seconds: float) -> tuple[float, float]:
    """One repeat: (events per CPU-second of this process, wall-clock events/s)."""
    matches = rules.matches
    done = 0
    start, wall_start = time.process_time(), time.perf_counter()
    while True:
        at = done % len(events)
        for e in events[at : at + CHUNK_EVENTS]:
            matches(e)
        done += CHUNK_EVENTS
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            break
    return done / elapsed, done / (time.perf_counter() - wall_start)


def add_latency(rules: RuleSet, event: bytes) -> tuple[float, float]:
    """Median seconds to add one new rule, and to match the first event after that add."""
    adds, firsts = [], []
    for j in range(ADD_SAMPLES):
        text = json.dumps(DEAD_SHAPES["cidr"](1_000_000 + j)) if j % 2 else json.dumps(live_rule(j))
        t0 = time.perf_counter()
        rules.add(f"extra-{j}", text)
        t1 = time.perf_counter()
        rules.matches(event)
        firsts.append(time.perf_counter() - t1)
        adds.append(t1 - t0)
    for j in range(ADD_SAMPLES):
        rules.remove(f"extra-{j}")
    return statistics.median(adds), statistics.median(firsts)


def events_pool() -> list[bytes]:
    rng = random.Random(12)
    return [json.dumps(make_event(k, rng)).encode() for k in range(EVENT_POOL)]


def prepare(n: int, shapes: list[str], events: list[bytes]) -> dict[str, Any]:
    """Compile n rules (timed, memory traced) and count the matches per event."""
    texts = make_rules(n, shapes)
    tracemalloc.start()
    t0 = time.perf_counter()
    rules = build(texts)
    rules.matches(events[0])  # builds whatever is built lazily
    compile_s = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    matched = sum(len(rules.matches(e)) for e in events[:LATENCY_SAMPLES])  # also the warm-up
    return {
        "rules": n,
        "set": rules,
        "compile_s": compile_s,
        "mib_per_1000": peak / (1 << 20) / n * 1000,
        "stat_mib_per_1000": rules.statistics().bytes_per_rule * 1000 / (1 << 20),
        "matches": matched / LATENCY_SAMPLES,
        "rates": [],
        "walls": [],
    }


def measure(runs: list[dict[str, Any]], events: list[bytes], seconds: float, repeats: int) -> None:
    """Repeats interleaved across the rule sets (so that drift on a shared machine hits all alike),
    then median, spread and per-event latency of each."""
    for _ in range(repeats):
        for r in runs:
            ev_s, wall = timed(r["set"], events, seconds)
            r["rates"].append(ev_s)
            r["walls"].append(wall)
    for r in runs:
        r["events_per_s"] = statistics.median(r["rates"])
        r["spread"] = (max(r["rates"]) - min(r["rates"])) / 2
        r["wall"] = statistics.median(r["walls"])
        lat = []
        for e in events[:LATENCY_SAMPLES]:
            t = time.perf_counter()
            r["set"].matches(e)
            lat.append(time.perf_counter() - t)
        lat.sort()
        r["p50_us"] = lat[len(lat) // 2] * 1e6
        r["p99_us"] = lat[int(len(lat) * 0.99)] * 1e6


HEADER = (
    f"{'rules':>6} {'events/s':>10} {'+/-':>7} {'wall ev/s':>10} {'p50 us':>7} {'p99 us':>7} {'match/ev':>8} "
    f"{'compile s':>9} {'MiB/1k rules':>12} {'(stats)':>8}"
)


def row(r: dict[str, Any]) -> str:
    return (
        f"{r['rules']:>6} {r['events_per_s']:>10,.0f} {r['spread']:>7,.0f} {r['wall']:>10,.0f} "
        f"{r['p50_us']:>7.1f} {r['p99_us']:>7.1f} {r['matches']:>8.2f} {r['compile_s']:>9.2f} "
        f"{r['mib_per_1000']:>12.2f} {r['stat_mib_per_1000']:>8.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", default="10,100,1000,10000")
    ap.add_argument("--seconds", type=float, default=0.3, help="timed CPU seconds of each repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--by-operator", action="store_true", help="live rules plus --dead rules of one shape")
    ap.add_argument("--dead", type=int, default=2000, help="dead rules per shape with --by-operator")
    args = ap.parse_args(argv)
    shapes = list(DEAD_SHAPES)
    sample = make_event(0, random.Random(12))
    print(
        f"python {sys.version.split()[0]}; events ~{len(json.dumps(sample))} B raw JSON; "
        f"{LIVE_RULES} live rules; {args.repeats} x {args.seconds}s CPU per size, interleaved; "
        f"engine {RuleSet()._machine.engine}"
    )
    events = events_pool()
    if args.by_operator:
        runs = [prepare(LIVE_RULES, shapes, events)]
        runs += [prepare(LIVE_RULES + args.dead, [shape], events) for shape in shapes]
        measure(runs, events, args.seconds, args.repeats)
        base = runs[0]["events_per_s"]
        print(f"{'dead shape':>20} {'events/s':>10} {'vs live only':>12} {'match/ev':>8} {'MiB/1k rules':>12}")
        for name, r in zip(["(live only)", *shapes], runs, strict=True):
            print(
                f"{name:>20} {r['events_per_s']:>10,.0f} {r['events_per_s'] / base:>12.2f} "
                f"{r['matches']:>8.2f} {r['mib_per_1000']:>12.2f}"
            )
        return 0
    sizes = [int(x) for x in args.rules.split(",")]
    runs = [prepare(n, shapes, events) for n in sizes]
    measure(runs, events, args.seconds, args.repeats)
    print(HEADER)
    for r in runs:
        print(row(r))
    last = runs[-1]
    add_s, first_s = add_latency(last["set"], events[0])
    print(f"add one rule at {last['rules']} rules: {add_s * 1e6:.0f} us; first match after it: "
          f"{first_s * 1e6:.0f} us (medians of {ADD_SAMPLES})")
    by_n = {r["rules"]: r for r in runs}
    if 100 in by_n and last["rules"] != 100:
        print(f"events/s at {last['rules']} rules / at 100 rules: "
              f"{last['events_per_s'] / by_n[100]['events_per_s']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
