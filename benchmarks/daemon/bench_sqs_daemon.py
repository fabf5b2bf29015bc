"""SendMessageBatch through the daemon: requests/s and messages/s over HTTP (AWS JSON 1.0), real clock.

The daemon runs in a thread of this process with one standard queue. A client in a separate
process (so the two do not share a GIL) keeps C keep-alive connections busy with pre-built
SendMessageBatch requests of 10 messages of 200 bytes (no signature: any credentials are
accepted) for a fixed time after a warm-up. Each response is checked for 10 successful entries.
Prints requests/s, messages/s, p50/p99 request latency and the daemon's peak RSS. Bounded: the
queue is purged between runs and holds at most seconds × rate × 10 messages.

    .venv/bin/python benchmarks/daemon/bench_sqs_daemon.py [--connections C] [--seconds S] [--size BYTES]
        [--repeats N] [--data-dir DIR]

``--data-dir``: the daemon keeps its state in DIR (docs/durability.md): each request is journaled
and answered once its batch is fsynced (group commit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys

import msgspec
from _loadgen import client_process, drive, run

BATCH = 10
QUEUE = "bench"


def build_request(host: str, port: int, size: int, n: int) -> bytes:
    url = f"http://{host}:{port}/000000000000/{QUEUE}"
    entries = [{"Id": f"e{k}", "MessageBody": (f"{n:06d}-{k}-" + "x" * size)[:size]} for k in range(BATCH)]
    body = msgspec.json.encode({"QueueUrl": url, "Entries": entries})
    head = (f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/x-amz-json-1.0\r\n"
            f"X-Amz-Target: AmazonSQS.SendMessageBatch\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def _check(body: bytes) -> int:
    if body.count(b'"MessageId"') != BATCH:
        raise RuntimeError(body.decode(errors="replace"))
    return 0


def client_main(args: argparse.Namespace) -> None:
    requests = [build_request(args.host, args.port, args.size, n) for n in range(64)]
    print(json.dumps(run(drive(args.host, args.port, requests, connections=args.connections,
                               seconds=args.seconds, warmup=args.warmup, inspect=_check))))


def run_client(args: argparse.Namespace, port: int) -> dict[str, float]:
    return client_process(__file__, port, args.seconds, args.warmup, "--connections", str(args.connections),
                          "--size", str(args.size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--size", type=int, default=200, help="body bytes per message")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data-dir", default=None, help="keep the daemon's state in this directory")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args)
        return
    if args.data_dir and os.environ.get("PYTHONHASHSEED") != "0":   # as eventmesh serve does
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    from eventmesh.daemon import serve_in_thread
    from eventmesh.services.sqs.queue import Queue
    from eventmesh.services.sqs.service import create_queue

    handle = serve_in_thread(clock="real", services=["sqs"], data_dir=args.data_dir)

    async def build() -> None:
        create_queue(handle.mesh, QUEUE)

    async def purge() -> None:
        queue = handle.mesh.get(handle.mesh.arn("sqs", QUEUE), Queue)
        queue._purged_at = None  # the benchmark may purge more often than once a minute
        queue.purge()

    results = []
    try:
        asyncio.run_coroutine_threadsafe(build(), handle.loop).result(timeout=60)
        port = handle.daemon.bound_port
        print(f"SendMessageBatch({BATCH} x {args.size} B) protocol=json connections={args.connections} "
              f"seconds={args.seconds} warmup={args.warmup} repeats={args.repeats} clock=real "
              f"data_dir={args.data_dir or '-'}")
        for _ in range(args.repeats):
            results.append(run_client(args, port))
            asyncio.run_coroutine_threadsafe(purge(), handle.loop).result(timeout=60)
    finally:
        handle.stop()
    for i, result in enumerate(results, 1):
        rps = result["requests"] / result["seconds"]
        print(f"  run {i}: requests/s {rps:,.0f}  messages/s {rps * BATCH:,.0f}  "
              f"p50 {result['p50'] * 1e3:.2f} ms  p99 {result['p99'] * 1e3:.2f} ms")
    best = max(r["requests"] / r["seconds"] for r in results)
    print(f"best requests/s {best:,.0f}  messages/s {best * BATCH:,.0f}")
    print(f"daemon peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
