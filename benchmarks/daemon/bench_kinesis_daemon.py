"""PutRecords through the daemon: requests/s and records/s over HTTP (AWS JSON 1.1 or CBOR), real clock.

The daemon runs in a thread of this process with one provisioned stream of S shards (enough
that the 1,000 records/s per-shard write quota is not what is measured; throttled records are
counted and printed). A client in a separate process (so the two do not share a GIL) keeps C
keep-alive connections busy with pre-built PutRecords requests of 500 records for a fixed time
after a warm-up. Prints requests/s, records/s, p50/p99 request latency, throttled records and
the daemon's peak RSS; ``--boto3`` adds a sequential boto3 figure (the SDK's own cost included).

    .venv/bin/python benchmarks/daemon/bench_kinesis_daemon.py [--protocol json|cbor] [--shards S]
        [--connections C] [--seconds S] [--size BYTES] [--boto3]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import resource
import time

import msgspec
from _loadgen import client_process, drive, run

BATCH = 500
STREAM = "bench"


def build_request(host: str, port: int, protocol: str, size: int, n: int) -> bytes:
    data = (f"{n:08d}" * (size // 8 + 1)).encode()[:size]
    keys = [f"pk-{n * BATCH + k}" for k in range(BATCH)]
    if protocol == "cbor":
        from eventmesh.wire.protocols import cbor

        records = [{"Data": data, "PartitionKey": k} for k in keys]
        body = cbor.encode({"StreamName": STREAM, "Records": records})
        kind = "application/x-amz-cbor-1.1"
    else:
        text = base64.b64encode(data).decode()
        body = msgspec.json.encode({"StreamName": STREAM,
                                    "Records": [{"Data": text, "PartitionKey": k} for k in keys]})
        kind = "application/x-amz-json-1.1"
    head = (f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {kind}\r\n"
            f"X-Amz-Target: Kinesis_20131202.PutRecords\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def failed_records(body: bytes, protocol: str) -> int:
    if protocol == "cbor":
        from eventmesh.wire.protocols import cbor

        return int(cbor.decode(body)["FailedRecordCount"])
    return int(body.split(b'"FailedRecordCount":', 1)[1].split(b",", 1)[0])


def _boto3(args: argparse.Namespace) -> dict[str, float]:
    import boto3
    from botocore.config import Config

    client = boto3.client("kinesis", endpoint_url=f"http://{args.host}:{args.port}", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x",
                          config=Config(retries={"max_attempts": 1}))
    records = [{"Data": b"x" * args.size, "PartitionKey": f"pk-{k}"} for k in range(BATCH)]
    client.put_records(StreamName=STREAM, Records=records)  # warm-up
    calls = 0
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        client.put_records(StreamName=STREAM, Records=records)
        calls += 1
    return {"requests": calls, "seconds": time.perf_counter() - start}


def client_main(args: argparse.Namespace) -> None:
    if args.boto3_client:
        print(json.dumps(_boto3(args)))
        return
    requests = [build_request(args.host, args.port, args.protocol, args.size, n) for n in range(64)]
    result = run(drive(args.host, args.port, requests, connections=args.connections, seconds=args.seconds,
                       warmup=args.warmup, inspect=lambda body: failed_records(body, args.protocol)))
    result["failed"] = result.pop("counted")
    print(json.dumps(result))


def run_client(args: argparse.Namespace, port: int, *extra: str) -> dict[str, float]:
    return client_process(__file__, port, args.seconds, args.warmup, "--protocol", args.protocol,
                          "--connections", str(args.connections), "--size", str(args.size), *extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=["json", "cbor"], default="json")
    parser.add_argument("--shards", type=int, default=512)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--size", type=int, default=100, help="data bytes per record")
    parser.add_argument("--boto3", action="store_true", help="also time sequential boto3 put_records")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--boto3-client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args)
        return
    from eventmesh.daemon import serve_in_thread
    from eventmesh.services.kinesis.service import create_stream

    handle = serve_in_thread(clock="real", services=["kinesis"])

    async def build() -> None:
        create_stream(handle.mesh, STREAM, args.shards)

    try:
        asyncio.run_coroutine_threadsafe(build(), handle.loop).result(timeout=60)
        port = handle.daemon.bound_port
        print(f"PutRecords({BATCH}) protocol={args.protocol} shards={args.shards} "
              f"connections={args.connections} data={args.size} B seconds={args.seconds} "
              f"warmup={args.warmup} clock=real")
        result = run_client(args, port)
        boto = run_client(args, port, "--boto3-client") if args.boto3 else None
    finally:
        handle.stop()
    rps = result["requests"] / result["seconds"]
    print(f"requests/s {rps:,.0f}  records/s {rps * BATCH:,.0f}  throttled records {result['failed']:,.0f}")
    print(f"latency per PutRecords: p50 {result['p50'] * 1e3:.2f} ms  p99 {result['p99'] * 1e3:.2f} ms")
    if boto is not None:
        brps = boto["requests"] / boto["seconds"]
        print(f"boto3 sequential: requests/s {brps:,.0f}  records/s {brps * BATCH:,.0f}")
    print(f"daemon peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
