"""The HTTP door in process: requests fed to one HTTP/1.1 connection (``HttpProtocol``) with a
stand-in transport, through the guards, limits, router, model check and handler, no sockets.

Prints µs per request (best of ``--repeats``). For a deterministic A/B of the hot path, count
instructions instead: the difference between two request counts under callgrind is the cost of
the extra requests, free of start-up::

    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python \\
        benchmarks/daemon/bench_door.py --case SendMessageBatch --requests 200 --repeats 1
    (again with --requests 400; Ir difference / 200 = instructions per request)

    .venv/bin/python benchmarks/daemon/bench_door.py [--case SendMessageBatch|PutEvents|GetQueueUrl]
        [--requests N] [--repeats R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import msgspec

CASES = ("SendMessageBatch", "PutEvents", "GetQueueUrl")
HOST = "127.0.0.1:4566"
QUEUE_URL = f"http://{HOST}/000000000000/bench"


class _Transport(asyncio.Transport):
    """Counts what the door writes; never closes."""

    def __init__(self) -> None:
        super().__init__()
        self.written = 0

    def write(self, data: Any) -> None:
        self.written += len(data)

    def close(self) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass


def _request(target: str, content_type: str, body: bytes) -> bytes:
    head = (f"POST / HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: {content_type}\r\nX-Amz-Target: {target}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def requests_for(case: str) -> list[bytes]:
    if case == "SendMessageBatch":
        return [_request("AmazonSQS.SendMessageBatch", "application/x-amz-json-1.0", msgspec.json.encode({
            "QueueUrl": QUEUE_URL, "Entries": [{"Id": f"e{k}", "MessageBody": f"{n:06d}-{k}-" + "x" * 190}
                                               for k in range(10)]})) for n in range(64)]
    if case == "PutEvents":
        return [_request("AWSEvents.PutEvents", "application/x-amz-json-1.1", msgspec.json.encode({"Entries": [
            {"Source": "bench", "DetailType": "t", "Detail": json.dumps({"n": k})} for k in range(10)]}))]
    return [_request("AmazonSQS.GetQueueUrl", "application/x-amz-json-1.0", b'{"QueueName":"bench"}')]


async def run(case: str, requests: int, repeats: int) -> float:
    from eventmesh.clock import RealClock
    from eventmesh.daemon import App
    from eventmesh.mesh import Mesh
    from eventmesh.services import adapters
    from eventmesh.services.sqs.queue import Queue
    from eventmesh.services.sqs.service import create_queue
    from eventmesh.wire.router import Api
    from eventmesh.wire.server import HttpServer

    mesh = Mesh(RealClock())
    api = Api(mesh, adapters(None))
    protocol = HttpServer(App(mesh, api)).protocol()
    transport = _Transport()
    protocol.connection_made(transport)
    create_queue(mesh, "bench")
    queue = mesh.get(mesh.arn("sqs", "bench"), Queue)
    batch = requests_for(case)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for i in range(requests):
            protocol.data_received(batch[i % len(batch)])
        best = min(best, (time.perf_counter() - started) / requests)
        queue._purged_at = None   # the benchmark purges more often than once a minute
        queue.purge()
        mesh.flush()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=CASES, default="SendMessageBatch")
    parser.add_argument("--requests", type=int, default=3_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    best = asyncio.run(run(args.case, args.requests, args.repeats))
    print(f"{args.case}: requests={args.requests} repeats={args.repeats}  best {best * 1e6:.1f} µs/request")


if __name__ == "__main__":
    main()
