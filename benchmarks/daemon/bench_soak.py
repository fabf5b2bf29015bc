"""Soak: a moderate mixed load on every service for a few minutes, printing the daemon's RSS over
time and its growth per minute after the warm-up (what grows without bound shows up here).

The daemon runs in a thread of this process (real clock) with a topology of queues, a topic
fanning out to a queue, a bus rule targeting a queue, a stream, and model functions (one invoked
directly, sync and async, one behind an SQS event source mapping). A client process drives all
of it at a fixed rate: batches sent, received and deleted, publishes, PutEvents, PutRecords and
GetRecords, invocations, long polls that time out. Every queue is drained as it goes, so a
healthy daemon's memory levels off. ``--trace`` adds the Python allocations that grew most between
the end of the warm-up and the end (tracemalloc; slower).

    .venv/bin/python benchmarks/daemon/bench_soak.py [--seconds 180] [--rate 200] [--interval 10] [--trace]
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/soak"
QUEUES = ("work", "fanout", "events", "mapped", "idle")


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _config() -> Any:
    from eventmesh.config import Config

    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}"
    model = {"Role": ROLE, "Runtime": "python3.12", "Code": {"ZipFile": b""}, "Handler": "model:duration=2ms"}
    return Config(resources={
        "sqs": {"queues": [{"QueueName": q} for q in QUEUES]},
        "sns": {"topics": [{"Name": "soak"}],
                "subscriptions": [{"TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:soak", "Protocol": "sqs",
                                   "Endpoint": f"{arn}:fanout", "Attributes": {"RawMessageDelivery": "true"}}]},
        "events": {"rules": [{"Name": "soak", "EventPattern": '{"source": ["soak"]}',
                              "Targets": [{"Id": "q", "Arn": f"{arn}:events"}]}]},
        "kinesis": {"streams": [{"StreamName": "soak", "ShardCount": 2}]},
        "lambda": {"functions": [{"FunctionName": "direct", **model}, {"FunctionName": "consumer", **model}],
                   "event_source_mappings": [{"FunctionName": "consumer", "EventSourceArn": f"{arn}:mapped",
                                              "BatchSize": 10}]},
    })


class _Client:
    """The load: one keep-alive connection, JSON and Query calls."""

    def __init__(self, port: int) -> None:
        import http.client

        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.host = f"127.0.0.1:{port}"
        self.calls = 0

    def call(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        self.conn.request(method, path, body, {"Host": self.host, **headers})
        reply = self.conn.getresponse()
        data = reply.read()
        self.calls += 1
        if reply.status >= 500:
            raise RuntimeError(f"{reply.status} {data[:200]!r}")
        return reply.status, data

    def json(self, target: str, version: str, body: dict[str, Any]) -> Any:
        headers = {"X-Amz-Target": target, "Content-Type": f"application/x-amz-json-{version}"}
        _, data = self.call("POST", "/", headers, json.dumps(body).encode())
        return json.loads(data) if data else {}

    def sqs(self, op: str, body: dict[str, Any]) -> Any:
        return self.json(f"AmazonSQS.{op}", "1.0", body)

    def drain(self, url: str) -> None:
        got = self.sqs("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10})
        messages = got.get("Messages", [])
        if messages:
            self.sqs("DeleteMessageBatch", {"QueueUrl": url, "Entries": [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]})


def client_main(args: argparse.Namespace) -> None:
    client = _Client(args.port)
    url = {q: f"http://{client.host}/{ACCOUNT}/{q}" for q in QUEUES}
    shards = client.json("Kinesis_20131202.ListShards", "1.1", {"StreamName": "soak"})["Shards"]
    iterators = {s["ShardId"]: client.json("Kinesis_20131202.GetShardIterator", "1.1", {
        "StreamName": "soak", "ShardId": s["ShardId"], "ShardIteratorType": "LATEST"})["ShardIterator"] for s in shards}
    deadline = time.monotonic() + args.seconds
    n = 0
    step_s = 1.0 / args.rate * 10   # each step is about ten calls
    next_step = time.monotonic()
    while time.monotonic() < deadline:
        n += 1
        client.sqs("SendMessageBatch", {"QueueUrl": url["work"], "Entries": [
            {"Id": str(i), "MessageBody": f"work {n} {i}", "MessageAttributes": {
                "n": {"DataType": "Number", "StringValue": str(n)}}} for i in range(10)]})
        client.drain(url["work"])
        client.call("POST", "/", {"Content-Type": "application/x-www-form-urlencoded"},
                    f"Action=Publish&Version=2010-03-31&TopicArn=arn:aws:sns:us-east-1:{ACCOUNT}:soak"
                    f"&Message=fan+{n}".encode())
        client.drain(url["fanout"])
        client.json("AWSEvents.PutEvents", "1.1", {"Entries": [
            {"Source": "soak", "DetailType": "tick", "Detail": json.dumps({"n": n})}]})
        client.drain(url["events"])
        client.sqs("SendMessage", {"QueueUrl": url["mapped"], "MessageBody": f"mapped {n}"})
        # One small record a step: a stream keeps its records for its 24-hour retention, so they
        # are state that grows by design (about 0.1 MB/min here), not a leak.
        client.json("Kinesis_20131202.PutRecords", "1.1", {"StreamName": "soak", "Records": [
            {"Data": base64.b64encode(f"r{n}".encode()).decode(), "PartitionKey": f"p{n % 1000}"}]})
        if n % 5 == 0:   # GetRecords: 5 per second per shard
            for shard, iterator in list(iterators.items()):
                got = client.json("Kinesis_20131202.GetRecords", "1.1", {"ShardIterator": iterator})
                iterators[shard] = got.get("NextShardIterator", iterator)
        client.call("POST", "/2015-03-31/functions/direct/invocations", {}, json.dumps({"n": n}).encode())
        client.call("POST", "/2015-03-31/functions/direct/invocations", {"X-Amz-Invocation-Type": "Event"}, b"{}")
        if n % 20 == 0:
            client.sqs("ReceiveMessage", {"QueueUrl": url["idle"], "WaitTimeSeconds": 1})
            client.call("GET", "/metrics", {}, b"")
        next_step += step_s
        pause = next_step - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    print(json.dumps({"calls": client.calls, "steps": n}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--rate", type=float, default=200.0, help="calls per second, about")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between RSS samples")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before growth is measured")
    parser.add_argument("--trace", action="store_true", help="report the allocations that grew (tracemalloc)")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args)
        return
    import tracemalloc

    from eventmesh.daemon import serve_in_thread

    if args.trace:
        tracemalloc.start(8)
    handle = serve_in_thread(_config(), clock="real")
    print(f"soak: seconds={args.seconds} rate={args.rate}/s interval={args.interval}s warmup={args.warmup}s "
          f"trace={args.trace} clock=real")
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    baseline: list[Any] = []

    def sample() -> None:
        start = time.monotonic()
        while not stop.wait(args.interval):
            t = time.monotonic() - start
            samples.append((t, _rss_mb()))
            print(f"  t={t:5.0f}s  RSS {samples[-1][1]:6.1f} MB  replies waiting {handle.mesh.waiting_replies()}",
                  flush=True)
            if args.trace and not baseline and t >= args.warmup:
                baseline.append(tracemalloc.take_snapshot())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        done = subprocess.run([sys.executable, __file__, "--client", "--port", str(handle.daemon.bound_port),
                               "--seconds", str(args.seconds), "--rate", str(args.rate)],
                              capture_output=True, text=True, timeout=args.seconds + 120, cwd=Path(__file__).parent)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        result = json.loads(done.stdout)
        after = tracemalloc.take_snapshot() if args.trace and baseline else None
    finally:
        stop.set()
        handle.stop()
    late = [(t, rss) for t, rss in samples if t >= args.warmup]
    print(f"calls {result['calls']:,} in {args.seconds:.0f} s ({result['calls'] / args.seconds:,.0f}/s)")
    if len(late) >= 2:
        (t0, r0), (t1, r1) = late[0], late[-1]
        print(f"RSS after warm-up: {r0:.1f} → {r1:.1f} MB, growth {(r1 - r0) / (t1 - t0) * 60:+.2f} MB/min")
    if after is not None:
        print("allocations that grew most since the warm-up:")
        for stat in after.compare_to(baseline[0], "traceback")[:12]:
            print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  "
                  f"{stat.traceback.format()[-1].strip() if stat.traceback else ''}")
            for line in stat.traceback.format()[-6:-1]:
                print(f"        {line.strip()}")


if __name__ == "__main__":
    main()
