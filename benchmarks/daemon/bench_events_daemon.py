"""PutEvents through the daemon: requests/s and events/s over HTTP (AWS JSON 1.1), real clock.

The daemon runs in a thread of this process with a bus of N rules (``{"source": ["svc-<i>"]}``)
feeding SQS queues; a client in a separate process (so the two do not share a GIL) keeps C
keep-alive connections busy with pre-built 10-entry PutEvents requests for a fixed time after
a warm-up. Prints requests/s, events/s, p50/p99 request latency and the daemon's peak RSS.

    .venv/bin/python benchmarks/daemon/bench_events_daemon.py [--rules N] [--connections C] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource

import msgspec
from _loadgen import client_process, drive, run

BATCH = 10
QUEUES = 100


def build_request(host: str, port: int, rules: int, n: int) -> bytes:
    detail = json.dumps({"order-id": "o-123", "amount": 42.5, "items": [{"sku": "a", "qty": 2}]})
    entries = [{"Source": f"svc-{(n * BATCH + k) % rules}", "DetailType": "Order Placed", "Detail": detail}
               for k in range(BATCH)]
    body = msgspec.json.encode({"Entries": entries})
    head = (f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/x-amz-json-1.1\r\n"
            f"X-Amz-Target: AWSEvents.PutEvents\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def client_main(args: argparse.Namespace) -> None:
    requests = [build_request(args.host, args.port, args.rules, n) for n in range(100)]
    print(json.dumps(run(drive(args.host, args.port, requests, connections=args.connections,
                               seconds=args.seconds, warmup=args.warmup))))


def setup(handle: object, rules: int) -> None:
    from eventmesh.services.events.service import default_bus
    from eventmesh.services.sqs.service import create_queue

    mesh = handle.mesh  # type: ignore[attr-defined]

    async def build() -> None:
        bus = default_bus(mesh)
        bus.max_rules = rules
        queues = [create_queue(mesh, f"bench-q{i}") for i in range(min(QUEUES, rules))]
        for i in range(rules):
            bus.put_rule(f"rule-{i}", event_pattern=json.dumps({"source": [f"svc-{i}"]}))
            bus.put_targets(f"rule-{i}", [{"Id": "q", "Arn": queues[i % len(queues)].arn}])

    asyncio.run_coroutine_threadsafe(build(), handle.loop).result(timeout=120)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args)
        return
    from eventmesh.daemon import serve_in_thread

    handle = serve_in_thread(clock="real")
    try:
        setup(handle, args.rules)
        port = handle.daemon.bound_port
        print(f"rules={args.rules} connections={args.connections} batch={BATCH} seconds={args.seconds} "
              f"warmup={args.warmup} clock=real")
        result = client_process(__file__, port, args.seconds, args.warmup, "--rules", str(args.rules),
                                "--connections", str(args.connections))
    finally:
        handle.stop()
    rps = result["requests"] / result["seconds"]
    print(f"requests/s {rps:,.0f}  events/s {rps * BATCH:,.0f}")
    print(f"latency per PutEvents: p50 {result['p50'] * 1e3:.2f} ms  p99 {result['p99'] * 1e3:.2f} ms")
    print(f"daemon peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
