"""SendMessageBatch through the daemon: requests/s, messages/s and server CPU per message over HTTP
(AWS JSON 1.0), real clock, with 1 or more worker processes (``eventmesh serve --workers``).

The server runs as ``eventmesh serve --workers N`` in its own processes, serving Q standard
queues created over the wire (so a daemon of several workers places them as it would a
client's: spread over the workers). A client in a separate process keeps C keep-alive
connections busy with pre-built SendMessageBatch requests of 10 messages of 200 bytes, spread
over the queues (no signature: any credentials are accepted), for a fixed time after a warm-up.
Each response is checked for 10 successful entries. With several worker counts, runs alternate
between them (the machine is shared: medians of alternating runs). Prints per run requests/s,
messages/s, p50/p99 latency, the server's CPU µs per message (user and system CPU of every
worker process over the whole run, warm-up included, divided by the messages sent then), and with
several workers the share of requests forwarded and the messages per frame between workers; then
the medians and the ratios against 1 worker.
``--rate`` offers a fixed load instead of as much as the server takes: CPU per message compared
at the same load, below saturation (saturating a 2-core machine with two workers and the client
measures their contention for the cores as much as the work). ``--callgrind`` counts the
server's instructions per message instead (deterministic; user space only; about 50x slower,
so use a few connections and seconds). Bounded: each run's queues are deleted after it and
hold at most seconds × rate × 10 messages.

    .venv/bin/python benchmarks/daemon/bench_sqs_daemon.py [--workers 1,2] [--queues Q] [--connections C]
        [--rate REQUESTS_PER_S] [--seconds S] [--size BYTES] [--repeats N] [--callgrind] [--data-dir DIR]
        [--compare] [--affine]

``--affine``: connection i sends only to queue i mod Q, as a producer that keeps to its queue
does, instead of spreading over every queue: with several workers a connection that landed on
another worker than its queue's is handed to the owner after ``server.handover_after`` forwarded
requests (connection affinity, docs/scale-out.md), and the run prints how many were.

``--data-dir DIR``: the server keeps its state in DIR (docs/durability.md; one worker only): each
request is journaled and answered once its batch is fsynced (group commit). Compare with a run
without it for the cost of durability: ``--data-dir DIR --compare`` runs both servers and
alternates between them, printing the ratio of each pair and their median.
"""

from __future__ import annotations

import argparse
import json
import statistics

import msgspec
from _loadgen import client_process, drive, run
from _workers import ServerProcess

BATCH = 10
ACCOUNT = "000000000000"


def queue_names(run_id: int, queues: int) -> list[str]:
    return [f"bench-{run_id}-{i}" for i in range(queues)]


def build_request(host: str, port: int, size: int, n: int, queue: str) -> bytes:
    url = f"http://{host}:{port}/{ACCOUNT}/{queue}"
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
    names = queue_names(args.run, args.queues)
    requests = [build_request(args.host, args.port, args.size, n, names[n % len(names)])
                for n in range(max(64, len(names) * 8))]
    # --affine: each connection keeps to one queue (connection i to queue i mod Q).
    sets = [requests[q::len(names)] for q in range(len(names))] if args.affine else None
    print(json.dumps(run(drive(args.host, args.port, requests, connections=args.connections,
                               seconds=args.seconds, warmup=args.warmup, inspect=_check, rate=args.rate,
                               sets=sets))))


def one_run(args: argparse.Namespace, server: ServerProcess, run_id: int) -> dict[str, float]:
    names = queue_names(run_id, args.queues)
    for name in names:
        server.call("AmazonSQS.CreateQueue", {"QueueName": name})
    user, system = server.cpu_s()
    switches = server.switches()
    before = server.statistics()
    if args.callgrind:
        server.count_instructions()
    result = client_process(__file__, server.port, args.seconds, args.warmup,
                            "--connections", str(args.connections), "--size", str(args.size),
                            "--queues", str(args.queues), "--run", str(run_id),
                            *(["--rate", str(args.rate)] if args.rate else []),
                            *(["--affine"] if args.affine else []))
    if args.callgrind:
        result["instructions_per_message"] = server.instructions() / (result["all_requests"] * BATCH)
    user_after, system_after = server.cpu_s()
    result["switches_per_request"] = (server.switches() - switches) / result["all_requests"]
    after = server.statistics()
    if after:   # several workers: how much was forwarded, how many messages each frame carried
        def delta(key: str) -> int:
            return sum(a[key] - b[key] for a, b in zip(after, before, strict=True))
        result["forwarded_share"] = delta("forwarded") / result["all_requests"]
        result["messages_per_frame"] = delta("messages_sent") / max(1, delta("frames_sent"))
        result["handed_over"] = delta("handed_over")
    for name in names:   # their messages go with them
        server.call("AmazonSQS.DeleteQueue", {"QueueUrl": f"http://127.0.0.1/{ACCOUNT}/{name}"})
    messages = result["all_requests"] * BATCH
    result["cpu_us_per_message"] = (user_after + system_after - user - system) / messages * 1e6
    result["user_us_per_message"] = (user_after - user) / messages * 1e6
    return result


def _figure(result: dict[str, float]) -> str:
    if "instructions_per_message" in result:
        return f"server {result['instructions_per_message']:,.0f} instructions/message"
    text = (f"server CPU {result['cpu_us_per_message']:.2f} µs/message "
            f"(user {result['user_us_per_message']:.2f})  {result['switches_per_request']:.2f} context "
            "switches/request")
    if "forwarded_share" in result:
        text += (f"  forwarded {result['forwarded_share'] * 100:.0f}%  "
                 f"{result['messages_per_frame']:.1f} messages/frame  {result['handed_over']:.0f} handed over")
    return text


def compare_data_dir(args: argparse.Namespace) -> None:
    """--compare: one server without a data directory and one with it, runs alternating between
    them (the order swapped every repeat), so that each ratio is against the run beside it on a
    machine whose speed drifts."""
    print(f"SendMessageBatch({BATCH} x {args.size} B) connections={args.connections} rate={args.rate or 'max'} "
          f"seconds={args.seconds} repeats={args.repeats} data_dir={args.data_dir}: without vs with", flush=True)
    servers = {"without": ServerProcess(1), "with": ServerProcess(1, data_dir=args.data_dir)}
    ratios: list[float] = []
    rates: dict[str, list[float]] = {"without": [], "with": []}
    run_id = 0
    try:
        for repeat in range(args.repeats):
            pair: dict[str, float] = {}
            for label in ("without", "with") if repeat % 2 == 0 else ("with", "without"):
                run_id += 1
                result = one_run(args, servers[label], run_id)
                pair[label] = result["requests"] / result["seconds"]
                rates[label].append(pair[label])
                print(f"  run {run_id}: {label:7s} requests/s {pair[label]:,.0f}  p50 {result['p50'] * 1e3:.2f} ms  "
                      f"{_figure(result)}", flush=True)
            ratios.append(pair["with"] / pair["without"])
            print(f"  pair {repeat + 1}: with / without {ratios[-1]:.2f}", flush=True)
    finally:
        for server in servers.values():
            server.stop()
    print(f"median requests/s without {statistics.median(rates['without']):,.0f}  "
          f"with {statistics.median(rates['with']):,.0f}; with / without: median of the pairs "
          f"{statistics.median(ratios):.2f} (from {min(ratios):.2f} to {max(ratios):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1", help="worker counts to compare, e.g. 1,2")
    parser.add_argument("--queues", type=int, default=1)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--size", type=int, default=200, help="body bytes per message")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--rate", type=float, default=None,
                        help="requests/s offered in all (default: as fast as answers come)")
    parser.add_argument("--callgrind", action="store_true", help="count the server's instructions per message")
    parser.add_argument("--affine", action="store_true",
                        help="each connection keeps to one queue (connection affinity can hand it to its owner)")
    parser.add_argument("--data-dir", default=None, help="keep the server's state in this directory (1 worker)")
    parser.add_argument("--compare", action="store_true",
                        help="with --data-dir: alternate runs without and with it, print the ratio of each pair")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--run", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args)
        return
    counts = [int(n) for n in args.workers.split(",")]
    if args.data_dir and counts != [1]:
        parser.error("--data-dir keeps one process's state: use it with --workers 1")
    if args.compare:
        if not args.data_dir:
            parser.error("--compare compares runs without and with --data-dir: give the directory")
        compare_data_dir(args)
        return
    print(f"SendMessageBatch({BATCH} x {args.size} B) protocol=json workers={args.workers} queues={args.queues} "
          f"connections={args.connections} rate={args.rate or 'max'} seconds={args.seconds} warmup={args.warmup} "
          f"repeats={args.repeats} data_dir={args.data_dir or '-'} "
          f"clock=real{' callgrind' if args.callgrind else ''}", flush=True)
    servers = {n: ServerProcess(n, callgrind=args.callgrind, data_dir=args.data_dir) for n in counts}
    results: dict[int, list[dict[str, float]]] = {n: [] for n in counts}
    run_id = 0
    try:
        for repeat in range(args.repeats):
            for n in counts if repeat % 2 == 0 else list(reversed(counts)):   # alternate the order too
                run_id += 1
                result = one_run(args, servers[n], run_id)
                results[n].append(result)
                rps = result["requests"] / result["seconds"]
                print(f"  run {run_id}: workers {n}  requests/s {rps:,.0f}  messages/s {rps * BATCH:,.0f}  "
                      f"p50 {result['p50'] * 1e3:.2f} ms  p99 {result['p99'] * 1e3:.2f} ms  {_figure(result)}",
                      flush=True)
    finally:
        for server in servers.values():
            server.stop()
    key = "instructions_per_message" if args.callgrind else "cpu_us_per_message"
    medians: dict[int, tuple[float, float]] = {}
    for n in counts:
        rps = statistics.median(r["requests"] / r["seconds"] for r in results[n])
        cost = statistics.median(r[key] for r in results[n])
        medians[n] = (rps, cost)
        unit = "instructions/message" if args.callgrind else "µs/message"
        print(f"workers {n}: median requests/s {rps:,.0f}  messages/s {rps * BATCH:,.0f}  server {cost:,.2f} {unit}")
    if 1 in medians:
        for n in counts:
            if n != 1:
                print(f"workers {n} vs 1: throughput x{medians[n][0] / medians[1][0]:.2f}  "
                      f"server cost per message x{medians[n][1] / medians[1][1]:.2f}")


if __name__ == "__main__":
    main()
