"""HTTP/2 beside HTTP/1.1 on the daemon's port: prior knowledge and h2c upgrade, flow control,
concurrent streams, streaming bodies, the same limits and guards; curl and the AWS SDK for
JavaScript v3 Kinesis client (HTTP/2 by default) when they are on the machine."""

from __future__ import annotations

import asyncio
import http.client
import json
import shutil
import subprocess
import textwrap
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from eventmesh.daemon import ServerHandle, serve_in_thread
from eventmesh.wire.router import Request
from eventmesh.wire.server import HttpServer

httpx = pytest.importorskip("httpx")
pytest.importorskip("h2")

JSON10 = "application/x-amz-json-1.0"
JSON11 = "application/x-amz-json-1.1"


@pytest.fixture(scope="module")
def daemon() -> Iterator[ServerHandle]:
    handle = serve_in_thread()
    yield handle
    handle.stop()


def _h2() -> Any:
    return httpx.Client(http1=False, http2=True, timeout=10)   # prior knowledge over cleartext


def _sqs(client: Any, daemon: ServerHandle, op: str, body: dict[str, Any]) -> Any:
    reply = client.post(daemon.url + "/", content=json.dumps(body),
                        headers={"X-Amz-Target": f"AmazonSQS.{op}", "Content-Type": JSON10})
    assert reply.http_version == "HTTP/2", reply.http_version
    return reply


def test_sqs_over_http2_with_prior_knowledge(daemon: ServerHandle) -> None:
    with _h2() as client:
        url = _sqs(client, daemon, "CreateQueue", {"QueueName": "h2"}).json()["QueueUrl"]
        assert _sqs(client, daemon, "SendMessage", {"QueueUrl": url, "MessageBody": "over h2"}).status_code == 200
        got = _sqs(client, daemon, "ReceiveMessage", {"QueueUrl": url}).json()
        assert [m["Body"] for m in got["Messages"]] == ["over h2"]
        bad = _sqs(client, daemon, "SendMessage", {"QueueUrl": url, "MessageBody": []})
        assert bad.status_code == 400 and bad.headers["x-amzn-query-error"].startswith("InvalidParameterValue")


def test_a_response_larger_than_the_flow_control_window(daemon: ServerHandle) -> None:
    body = "b" * 200_000
    with _h2() as client:
        url = _sqs(client, daemon, "CreateQueue", {"QueueName": "h2-big"}).json()["QueueUrl"]
        for i in range(5):
            _sqs(client, daemon, "SendMessage", {"QueueUrl": url, "MessageBody": f"{i}{body}"})
        got = _sqs(client, daemon, "ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10}).json()
        assert sorted(m["Body"][0] for m in got["Messages"]) == ["0", "1", "2", "3", "4"]
        assert all(len(m["Body"]) == 200_001 for m in got["Messages"])


def test_a_long_poll_and_other_requests_share_one_connection(daemon: ServerHandle) -> None:
    async def main() -> list[str]:
        async with httpx.AsyncClient(http1=False, http2=True, timeout=10) as client:
            async def call(op: str, body: dict[str, Any]) -> Any:
                reply = await client.post(daemon.url + "/", content=json.dumps(body),
                                          headers={"X-Amz-Target": f"AmazonSQS.{op}", "Content-Type": JSON10})
                assert reply.http_version == "HTTP/2"
                return reply.json()

            url = (await call("CreateQueue", {"QueueName": "h2-poll"}))["QueueUrl"]
            poll = asyncio.ensure_future(call("ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": 20}))
            await asyncio.to_thread(daemon.wait_for_polls, daemon.mesh.arn("sqs", "h2-poll"))
            sends = await asyncio.gather(*[call("SendMessage", {"QueueUrl": url, "MessageBody": f"m{i}"})
                                           for i in range(20)])
            assert all("MessageId" in s for s in sends)
            return [m["Body"] for m in (await poll)["Messages"]]

    bodies = asyncio.run(main())
    assert bodies and all(b.startswith("m") for b in bodies)


def test_http2_requests_meet_the_same_limits_and_guards(daemon: ServerHandle) -> None:
    with _h2() as client:
        big = client.post(daemon.url + "/", content=b"x" * 1_000_000,
                          headers={"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": JSON11})
        assert big.status_code == 413   # answered from the declared length, the rest dropped
        forged = client.get(daemon.url + "/_eventmesh/health", headers={"Host": "evil.example"})
        assert forged.status_code == 403
        assert client.get(daemon.url + "/_eventmesh/health").json()["status"] == "ok"   # the connection lives on


def _curl_has_http2() -> bool:
    curl = shutil.which("curl")
    return bool(curl) and "HTTP2" in subprocess.run([curl, "--version"], capture_output=True, text=True).stdout


@pytest.mark.skipif(not _curl_has_http2(), reason="curl with HTTP/2 is not installed")
@pytest.mark.parametrize("mode", ["--http2-prior-knowledge", "--http2"])   # --http2: the h2c upgrade
def test_curl_over_http2(daemon: ServerHandle, mode: str) -> None:
    done = subprocess.run(["curl", "-s", "-w", "\n%{http_version}", mode, "-H", "X-Amz-Target: AmazonSQS.ListQueues",
                           "-H", f"Content-Type: {JSON10}", "--data-binary", "{}", daemon.url + "/"],
                          capture_output=True, text=True, timeout=30)
    body, version = done.stdout.rsplit("\n", 1)
    assert version == "2"
    assert json.loads(body) in ({}, {"QueueUrls": []}) or "QueueUrls" in json.loads(body)


class _StreamingDoor:
    """A door whose one response is produced in pieces, as event streams are."""

    PIECES = [b"first,", b"x" * 100_000, b",last"]

    def admit(self, request: Request) -> int:
        return 1_000

    def too_large(self, request: Request, limit: int) -> tuple[int, list[tuple[str, str]], bytes]:
        return 413, [], b""

    def __call__(self, request: Request) -> tuple[int, list[tuple[str, str]], Any]:
        async def pieces() -> AsyncIterator[bytes]:
            for piece in self.PIECES:
                await asyncio.sleep(0)
                yield piece

        return 200, [("Content-Type", "application/octet-stream")], pieces()


@pytest.fixture
def plain_server() -> Iterator[dict[str, Any]]:
    """An HttpServer (the streaming door) on 127.0.0.1 in its own thread and loop: its port, the
    server and the loop, to look at it there."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        server = HttpServer(_StreamingDoor())
        listener = await asyncio.get_running_loop().create_server(server.protocol, "127.0.0.1", 0)
        holder.update(port=listener.sockets[0].getsockname()[1], server=server, loop=asyncio.get_running_loop(),
                      stop=(stop := asyncio.Event()))
        ready.set()
        await stop.wait()
        server.close()
        listener.close()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    ready.wait(10)
    yield holder
    holder["loop"].call_soon_threadsafe(holder["stop"].set)
    thread.join(10)


@pytest.fixture
def streaming(plain_server: dict[str, Any]) -> int:
    return int(plain_server["port"])


def test_a_streaming_body_over_http1_is_chunked(streaming: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", streaming, timeout=10)
    conn.request("GET", "/")
    reply = conn.getresponse()
    assert reply.getheader("Transfer-Encoding") == "chunked"
    assert reply.read() == b"".join(_StreamingDoor.PIECES)
    conn.request("GET", "/")   # and the connection is still good for the next request
    assert conn.getresponse().read() == b"".join(_StreamingDoor.PIECES)


def test_a_streaming_body_over_http2(streaming: int) -> None:
    with _h2() as client, client.stream("GET", f"http://127.0.0.1:{streaming}/") as reply:
        assert reply.http_version == "HTTP/2"
        assert b"".join(reply.iter_bytes()) == b"".join(_StreamingDoor.PIECES)


JS_CLIENT = textwrap.dedent("""
    const { KinesisClient, CreateStreamCommand, PutRecordsCommand, ListShardsCommand,
            GetShardIteratorCommand, GetRecordsCommand, DescribeStreamSummaryCommand } =
      require("@aws-sdk/client-kinesis");
    (async () => {
      const client = new KinesisClient({ endpoint: process.argv[2], region: "us-east-1",
                                         credentials: { accessKeyId: "x", secretAccessKey: "x" } });
      await client.send(new CreateStreamCommand({ StreamName: "js", ShardCount: 1 }));
      for (let i = 0; i < 50; i++) {
        const s = await client.send(new DescribeStreamSummaryCommand({ StreamName: "js" }));
        if (s.StreamDescriptionSummary.StreamStatus === "ACTIVE") break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const put = await client.send(new PutRecordsCommand({ StreamName: "js", Records: [
        { Data: Buffer.from("one"), PartitionKey: "a" }, { Data: Buffer.from("two"), PartitionKey: "b" } ] }));
      const shards = await client.send(new ListShardsCommand({ StreamName: "js" }));
      const it = await client.send(new GetShardIteratorCommand({ StreamName: "js",
        ShardId: shards.Shards[0].ShardId, ShardIteratorType: "TRIM_HORIZON" }));
      const got = await client.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
      console.log(JSON.stringify({ failed: put.FailedRecordCount,
        data: got.Records.map((r) => Buffer.from(r.Data).toString()) }));
    })().catch((e) => { console.error(e); process.exit(1); });
""")


@pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")), reason="node and npm are not installed")
def test_the_javascript_sdk_v3_kinesis_client(tmp_path: Path) -> None:
    """The JS SDK v3's Kinesis client defaults to HTTP/2 (NodeHttp2Handler): it used to fail
    with "Protocol error" against the daemon."""
    install = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "@aws-sdk/client-kinesis@3"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)
    if install.returncode != 0:
        pytest.skip(f"npm could not install @aws-sdk/client-kinesis: {install.stderr[-300:]}")
    (tmp_path / "client.js").write_text(JS_CLIENT)
    handle = serve_in_thread(clock="real", services=["kinesis"])
    try:
        done = subprocess.run(["node", "client.js", handle.url], cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)
    finally:
        handle.stop()
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"failed": 0, "data": ["one", "two"]}


def test_kinesis_cbor_over_http2(daemon: ServerHandle) -> None:
    from eventmesh.wire.protocols import cbor

    def call(client: Any, op: str, body: dict[str, Any]) -> Any:
        reply = client.post(daemon.url + "/", content=cbor.encode(body),
                            headers={"X-Amz-Target": f"Kinesis_20131202.{op}",
                                     "Content-Type": "application/x-amz-cbor-1.1"})
        assert reply.http_version == "HTTP/2" and reply.status_code == 200, reply.content
        return cbor.decode(reply.content)

    with _h2() as client:
        call(client, "CreateStream", {"StreamName": "h2cbor", "ShardCount": 1})
        daemon.advance(1)
        put = call(client, "PutRecord", {"StreamName": "h2cbor", "Data": b"\x00\x01", "PartitionKey": "k"})
        assert put["ShardId"] == "shardId-000000000000"
        iterator = call(client, "GetShardIterator", {"StreamName": "h2cbor", "ShardId": put["ShardId"],
                                                     "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
        assert [r["Data"] for r in call(client, "GetRecords", {"ShardIterator": iterator})["Records"]] == [b"\x00\x01"]


PING = b"\x00\x00\x08\x06\x00\x00\x00\x00\x00" + b"pingpong"   # a PING frame on stream 0
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"   # + empty SETTINGS
FLOOD_PINGS = 250_000      # 4.25 MB of frames, as many bytes of answers owed if all were read
FLOOD_SECONDS = 1.5
SETTLE_SECONDS = 10.0
OWED_BOUND_BYTES = 1_000_000   # the transport's high-water mark is 64 KiB; a read brings 256 KiB more


def _on_server(holder: dict[str, Any], call: Any) -> Any:
    async def run() -> Any:
        return call()
    return asyncio.run_coroutine_threadsafe(run(), holder["loop"]).result(10)


def _small_send_buffers(holder: dict[str, Any]) -> int:
    """Server-side sockets keep at most ~64 KiB in the kernel (no autotuning): what the server
    owes beyond that shows in its transport. How many connections it found."""
    import socket

    def shrink() -> int:
        found = 0
        for c in holder["server"].connections:
            transport = getattr(c, "_transport", None)
            if transport is not None:
                transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65_536)
                found += 1
        return found
    return int(_on_server(holder, shrink))


def _owed(holder: dict[str, Any]) -> int:
    """The most bytes any server-side connection holds unsent, read on the server's loop."""
    def largest() -> int:
        return max((c._transport.get_write_buffer_size() for c in holder["server"].connections
                    if getattr(c, "_transport", None) is not None), default=0)
    return int(_on_server(holder, largest))


def test_a_ping_flood_from_a_peer_that_does_not_read_is_not_buffered(plain_server: dict[str, Any]) -> None:
    """Every PING is answered; a peer that sends them and never reads would make the server hold
    ever more answers (CVE-2019-9512). The server stops reading such a peer until its answers
    drain, so what it holds stays near the transport's high-water mark, and a peer that then
    reads gets every answer."""
    import socket
    import time

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)   # the kernel holds few answers for us
    sock.connect(("127.0.0.1", plain_server["port"]))
    sock.sendall(PREFACE)
    deadline = time.monotonic() + 5
    while not _small_send_buffers(plain_server) and time.monotonic() < deadline:
        time.sleep(0.05)   # until the server has switched the connection to HTTP/2
    sock.setblocking(False)
    frames = PING * 1_000
    sent_bytes, deadline = 0, time.monotonic() + FLOOD_SECONDS
    while sent_bytes < FLOOD_PINGS * len(PING) and time.monotonic() < deadline:
        at = sent_bytes % len(frames)   # a send may take part of a frame: go on from there
        try:
            sent_bytes += sock.send(frames[at:])
        except BlockingIOError:
            time.sleep(0.01)
    sent = sent_bytes // len(PING)     # whole frames (the last may be cut short: never answered)
    # The server works through what the kernel holds for it: wait until what it owes stops growing.
    owed, deadline = [0], time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline and owed[-1] < OWED_BOUND_BYTES:
        time.sleep(0.25)
        owed.append(_owed(plain_server))
        if owed[-1] and owed[-1] == owed[-2]:
            break
    assert 0 < max(owed) < OWED_BOUND_BYTES
    sock.settimeout(5)
    answered, pending = 0, b""
    while answered < sent:
        chunk = sock.recv(1 << 20)
        assert chunk, "the server closed the connection"
        pending += chunk
        while len(pending) >= 9:   # count the PING acknowledgements among the frames
            length = int.from_bytes(pending[:3], "big")
            if len(pending) < 9 + length:
                break
            if pending[3] == 0x6 and pending[4] & 0x1:
                answered += 1
            pending = pending[9 + length:]
    sock.close()
    assert answered >= sent
