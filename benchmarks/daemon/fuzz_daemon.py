"""The long fuzz run: malformed and mistyped requests for every served operation of every service
(``tests/wire/fuzzgen.py``) against a daemon on 127.0.0.1, with valid traffic interleaved.

The daemon runs in a thread of this process (real clock; with ``--workers 2`` its first worker,
the second a child process, so requests for resources the other owns are forwarded); each
client is a separate process with its own seed and one keep-alive connection, sending its share
of the requests back to back. A request unanswered within ``--timeout`` seconds counts as a
hang (and the connection is replaced). Prints the parameters, requests/s, the count of 5xx, hangs, errors out of their
protocol's shape, invalid requests not refused, canary rounds (valid traffic) and the daemon's
RSS before and after. Bounded by ``--requests`` and ``--max-seconds``.

    .venv/bin/python benchmarks/daemon/fuzz_daemon.py [--requests 100000] [--clients 2] [--seed 1] [--workers 1]
        [--data-dir DIR]

RSS is the first worker's (this process).

``--data-dir DIR`` journals the run (docs/durability.md; one worker) and then recovers it as a
crash would leave it: once the clients are done, a copy of DIR is taken while the daemon still
runs (as kill -9 would leave it: the start's snapshot and every fuzzed request in the journal),
the daemon stops (a final snapshot), and two daemons start, one on DIR (the snapshot) and one on
the copy (replaying the journal). Prints the records replayed and their time, whether the
recovered daemon is healthy, and whether both list the same resources in every service.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CANARY_EVERY_S = 0.5   # a valid round this often (the canary's Kinesis reads have a 5/s quota)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def client_main(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.wire.fuzzgen import Canary, Fuzzer, Wire, judge

    served = json.loads(args.served)
    wire = Wire(args.port, timeout_s=args.timeout)
    canary = Canary(wire) if args.canary else None
    fuzzer = Fuzzer(args.seed, served)
    counts: collections.Counter[str] = collections.Counter()
    examples: dict[str, str] = {}
    start = last_canary = time.perf_counter()
    deadline = start + args.max_seconds
    sent = 0
    while sent < args.requests and time.perf_counter() < deadline:
        case = fuzzer.case()
        sent += 1
        try:
            status, headers, body = wire.send(case.method, case.path, case.headers, case.body)
        except TimeoutError:
            counts["hang"] += 1
            examples.setdefault("hang", f"{case.service}.{case.operation} {case.what}")
            continue
        except OSError as exc:
            counts["connection error"] += 1
            examples.setdefault("connection error", f"{case.service}.{case.operation} {case.what}: {exc}")
            continue
        counts[f"{status // 100}xx"] += 1
        problem = judge(case, status, headers, body)
        if problem:
            kind = "5xx" if status >= 500 else "not refused" if status < 400 else "wrong shape"
            counts[f"problem: {kind}"] += 1
            examples.setdefault(kind, f"{case.service}.{case.operation} ({case.protocol}) {problem}")
        if canary is not None and time.perf_counter() - last_canary > CANARY_EVERY_S:
            last_canary = time.perf_counter()
            try:
                canary.check()
                counts["canary ok"] += 1
            except AssertionError as exc:
                counts["canary failed"] += 1
                examples.setdefault("canary", str(exc)[:300])
    print(json.dumps({"sent": sent, "seconds": time.perf_counter() - start, "counts": counts,
                      "examples": examples}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000, help="fuzzed requests in all")
    parser.add_argument("--clients", type=int, default=2, help="client processes (one connection each)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a request counts as a hang")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop each client after this long")
    parser.add_argument("--workers", type=int, default=1,
                        help="daemon processes (2: requests for the other worker's resources are forwarded)")
    parser.add_argument("--data-dir", default=None, help="journal the run here, then recover a copy as a crash left it")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--served", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--canary", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args)
        return
    if args.data_dir and os.environ.get("PYTHONHASHSEED") != "0":   # a data directory needs the fixed seed
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    if args.data_dir and args.workers != 1:
        parser.error("--data-dir keeps one process's state: use it with --workers 1")
    from eventmesh.daemon import serve_in_thread as single
    from eventmesh.workers import serve_in_thread

    if args.data_dir:
        shutil.rmtree(args.data_dir, ignore_errors=True)
        handle: Any = single(clock="real", data_dir=args.data_dir)
    else:
        handle = serve_in_thread(workers=args.workers, clock="real")
    served = json.dumps({name: list(bound.ops) for name, bound in handle.daemon.api.services.items()})
    rss_before = _rss_mb()
    print(f"fuzz: requests={args.requests} clients={args.clients} workers={args.workers} seed={args.seed} "
          f"timeout={args.timeout}s "
          f"services={','.join(json.loads(served))} operations={sum(map(len, json.loads(served).values()))}")
    share = -(-args.requests // args.clients)
    try:
        procs = [subprocess.Popen([sys.executable, __file__, "--client", "--port", str(handle.daemon.bound_port),
                                   "--requests", str(share), "--seed", str(args.seed * 1000 + i),
                                   "--timeout", str(args.timeout), "--max-seconds", str(args.max_seconds),
                                   "--served", served, *(["--canary"] if i == 0 else [])],
                                  stdout=subprocess.PIPE, text=True, cwd=ROOT)
                 for i in range(args.clients)]
        results = [json.loads(p.communicate(timeout=args.max_seconds + 60)[0]) for p in procs]
        healthy = handle.daemon.api is not None and _health(handle.daemon.bound_port)
        crashed = None
        if args.data_dir:
            crashed = args.data_dir.rstrip("/") + "-crashed"
            shutil.rmtree(crashed, ignore_errors=True)
            shutil.copytree(args.data_dir, crashed)
    finally:
        handle.stop()
    counts: collections.Counter[str] = collections.Counter()
    for result in results:
        counts.update(result["counts"])
    sent = sum(r["sent"] for r in results)
    seconds = max(r["seconds"] for r in results)
    print(f"requests {sent:,}  requests/s {sent / seconds:,.0f}  seconds {seconds:.1f}")
    print(f"5xx {counts['5xx']}  hangs {counts['hang']}  connection errors {counts['connection error']}  "
          f"wrong shape {counts['problem: wrong shape']}  invalid but not refused {counts['problem: not refused']}")
    print(f"status classes: 2xx {counts['2xx']}  4xx {counts['4xx']}  5xx {counts['5xx']}")
    print(f"canary rounds ok {counts['canary ok']}  failed {counts['canary failed']}  daemon healthy after: {healthy}")
    print(f"daemon RSS {rss_before:.0f} MB before, {_rss_mb():.0f} MB after")
    for result in results:
        for kind, example in result["examples"].items():
            print(f"  e.g. {kind}: {example}")
    if crashed:
        _recover(args.data_dir, crashed)


# What each service lists, compared between the daemon restored from its snapshot and the one
# that replayed the journal of the fuzzed requests.
LISTS = [("sqs", "list_queues", "QueueUrls"), ("sns", "list_topics", "Topics"),
         ("kinesis", "list_streams", "StreamNames"), ("events", "list_event_buses", "EventBuses"),
         ("lambda", "list_functions", "Functions"), ("lambda", "list_event_source_mappings", "EventSourceMappings")]


def _recover(snapshotted: str, crashed: str) -> None:
    import boto3

    from eventmesh.daemon import serve_in_thread as single

    start = time.perf_counter()
    replayed = single(clock="real", data_dir=crashed)
    took = time.perf_counter() - start
    restored = single(clock="real", data_dir=snapshotted)
    try:
        records = replayed.daemon.data.recovered.replayed
        print(f"recovered the copy taken before the stop: {records:,} journal records replayed in {took:.1f} s, "
              f"healthy: {_health(replayed.daemon.bound_port)}")
        after_stop = restored.daemon.data.recovered.replayed
        print(f"restarted on the directory itself: {after_stop:,} records replayed "
              f"({'its final snapshot was written' if not after_stop else 'the final snapshot is missing'})")
        differ = []
        for service, operation, key in LISTS:
            found = []
            for handle in (replayed, restored):
                client = boto3.client(service, endpoint_url=f"http://127.0.0.1:{handle.daemon.bound_port}",
                                      region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
                pages = client.get_paginator(operation).paginate() if client.can_paginate(operation) else [
                    getattr(client, operation)()]
                here = f"127.0.0.1:{handle.daemon.bound_port}"   # queue URLs name the host asked
                found.append(sorted(json.dumps(item, sort_keys=True, default=str).replace(here, "HOST")
                                    for page in pages for item in page.get(key, [])))
            if found[0] != found[1]:
                differ.append(f"{service} {operation} ({len(found[0])} against {len(found[1])})")
        verdict = "the same" if not differ else "differ: " + ", ".join(differ)
        print(f"resources after replay against after the snapshot: {verdict}")
    finally:
        replayed.stop()
        restored.stop()


def _health(port: int) -> bool:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/_eventmesh/health")
        return conn.getresponse().status == 200
    finally:
        conn.close()


if __name__ == "__main__":
    main()
