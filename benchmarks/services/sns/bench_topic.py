"""SNS topic in process: PublishBatch of 10 through a topic with N filtered subscriptions.

Every subscription has an attribute filter policy ``{"customer": ["c-<i>"], "tier": ["gold",
"silver"]}``; messages cycle over the customers, so each message matches exactly one filtered
subscription, found in one pass of the pattern engine whatever N is. ``--fanout K`` adds K
unfiltered subscriptions that take every message. Targets are no-op in-process sinks, so the
figure is the SNS cost alone: validate, match, build the payload (JSON envelope with signature, or
the raw message with ``--raw``), one ``Deliver`` per subscription per batch. A round is one
``publish_batch`` call plus the mesh flush. Prints messages/s, deliveries/s, p50/p99 per round
and peak RSS. ``--signatures rsa`` signs envelopes with RSA as the daemon does by default (one
RSA signature per message); ``digest`` (the default here, for figures comparable over time) is the
config's ``sns_signatures: digest``.

    .venv/bin/python benchmarks/services/sns/bench_topic.py [--subs N] [--fanout K] [--events N]
                                                       [--repeats N] [--raw] [--signatures rsa|digest]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import time

from eventmesh.effects import DELIVERED, Delivery, DeliveryResult
from eventmesh.services.sns.service import create_topic
from eventmesh.services.sns.signing import SIGNING_MODES, Signer
from eventmesh.services.sns.topic import PublishEntry
from eventmesh.testing import virtual_mesh

BATCH = 10
_OK = DELIVERED


class Sink:
    """A delivery target that only counts."""

    def __init__(self, arn: str) -> None:
        self.arn = arn
        self.count = 0

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        self.count += len(items)
        return _OK


def build(subs: int, fanout: int, raw: bool, signatures: str) -> tuple[object, object, list[Sink]]:
    mesh, _ = virtual_mesh()
    mesh.root.state(Signer).mode = signatures
    topic = create_topic(mesh, "bench")
    sinks = []
    attributes = {"RawMessageDelivery": "true"} if raw else {}
    for i in range(subs + fanout):
        sink = mesh.add(Sink(mesh.arn("sqs", f"q{i}")))
        sinks.append(sink)
        policy = {"FilterPolicy": json.dumps({"customer": [f"c-{i}"], "tier": ["gold", "silver"]})} \
            if i < subs else {}
        topic.subscriptions.subscribe("sqs", sink.arn, {**attributes, **policy})
    return mesh, topic, sinks


def run(subs: int, fanout: int, events: int, repeats: int, raw: bool, signatures: str) -> None:
    mesh, topic, sinks = build(subs, fanout, raw, signatures)
    body = json.dumps({"order-id": "o-123", "amount": 42.5, "items": [{"sku": "a", "qty": 2}]})
    rounds = events // BATCH
    batches = [[PublishEntry(id=str(k), message=body, message_attributes={
        "customer": {"DataType": "String", "StringValue": f"c-{(r * BATCH + k) % max(subs, 1)}"},
        "tier": {"DataType": "String", "StringValue": "gold"}}) for k in range(BATCH)]
        for r in range(min(rounds, 500))]
    publish_batch, flush = topic.publish_batch, mesh.flush  # type: ignore[attr-defined]
    print(f"subs={subs} (filtered) + {fanout} (unfiltered) messages/repeat={rounds * BATCH} batch={BATCH} "
          f"delivery={'raw' if raw else 'envelope'} body={len(body)}B signatures={signatures}")
    rates: list[float] = []
    round_times: list[float] = []
    per_message = (1 if subs else 0) + fanout
    for repeat in range(repeats + 1):  # the first repeat warms up
        before = sum(s.count for s in sinks)
        gc.collect()
        times = []
        start = time.perf_counter()
        for n in range(rounds):
            t = time.perf_counter()
            publish_batch(batches[n % len(batches)])
            flush()
            times.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
        delivered = sum(s.count for s in sinks) - before
        assert delivered == rounds * BATCH * per_message, delivered
        if repeat:
            rates.append(rounds * BATCH / elapsed)
            round_times += times
    round_times.sort()
    mean = statistics.mean(rates)
    spread = statistics.pstdev(rates) / mean * 100 if len(rates) > 1 else 0.0
    p50 = round_times[len(round_times) // 2] * 1e6
    p99 = round_times[int(len(round_times) * 0.99)] * 1e6
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  {mean:,.0f} messages/s (±{spread:.1f}% over {repeats} repeats), "
          f"{mean * per_message:,.0f} deliveries/s; per batch of {BATCH}: p50 {p50:.0f} µs, "
          f"p99 {p99:.0f} µs; peak RSS {peak_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subs", type=int, nargs="*", default=[10, 200])
    parser.add_argument("--fanout", type=int, default=0)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--raw", action="store_true")
    parser.add_argument("--signatures", choices=SIGNING_MODES, default="digest")
    args = parser.parse_args()
    for subs in args.subs:
        run(subs, args.fanout, args.events, args.repeats, args.raw, args.signatures)


if __name__ == "__main__":
    main()
