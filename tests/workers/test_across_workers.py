"""A daemon of two workers (``eventmesh serve --workers 2``) behaves as one, whichever worker a
connection reaches.

The kernel hands each connection to a worker (SO_REUSEPORT), so a test cannot pick the worker it
talks to. It picks the resources instead: every test works on one resource owned by each worker
(asserted from the directory), so whatever worker a connection reaches, one of the two is served
there and the other forwarded. Fresh clients (fresh connections) are used where a test wants
requests to reach both workers. Virtual clock throughout.
"""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from eventmesh.config import Config
from eventmesh.wire.limits import ServerSettings
from eventmesh.workers import WorkerHandle, serve_in_thread
from tests.clients import aws_client as client

_names = itertools.count()
SCRAPES = 12    # fresh connections: all of them reaching one worker has odds of 2 in 4,096


@pytest.fixture(scope="module")
def daemon() -> Iterator[WorkerHandle]:
    handle = serve_in_thread(clock="virtual", workers=2)
    assert isinstance(handle, WorkerHandle)
    try:
        yield handle
    finally:
        handle.stop()




def owner(daemon: WorkerHandle, arn: str) -> int:
    return daemon.group.first.node.placement.owner(arn)


def one_on_each(daemon: WorkerHandle, create: Callable[[str], str], prefix: str) -> list[tuple[str, str]]:
    """Create resources (``create(name)`` → ARN) until worker 0 and worker 1 own one each;
    returns ``[(name, arn) on worker 0, (name, arn) on worker 1]``."""
    found: dict[int, tuple[str, str]] = {}
    for _ in range(8):
        name = f"{prefix}-{next(_names)}"
        arn = create(name)
        found.setdefault(owner(daemon, arn), (name, arn))
        if len(found) == 2:
            return [found[0], found[1]]
    raise AssertionError(f"every {prefix} went to one worker: {found}")


def queues(daemon: WorkerHandle, sqs: Any, prefix: str = "q", **attributes: str) -> list[tuple[str, str]]:
    """One queue on each worker: ``[(url, arn), (url, arn)]``."""
    def create(name: str) -> str:
        url = sqs.create_queue(QueueName=name + (".fifo" if attributes.get("FifoQueue") else ""),
                               Attributes=attributes)["QueueUrl"]
        urls[name] = url
        return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])

    urls: dict[str, str] = {}
    return [(urls[name], arn) for name, arn in one_on_each(daemon, create, prefix)]


def test_metrics_are_served_whole_from_any_worker(daemon: WorkerHandle) -> None:
    sqs = client(daemon, "sqs")
    pair = queues(daemon, sqs, "metered")
    for (url, _), count in zip(pair, (3, 5), strict=True):
        for i in range(count):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    names = [url.rsplit("/", 1)[1] for url, _ in pair]
    for _ in range(SCRAPES):   # urlopen: a new connection each time
        with urllib.request.urlopen(daemon.url + "/metrics", timeout=10) as reply:
            text = reply.read().decode()
        sent = {s.labels["queue_name"]: s.value
                for family in text_string_to_metric_families(text)
                if family.name == "aws_sqs_number_of_messages_sent"
                for s in family.samples if s.labels.get("queue_name") in names}
        assert sent == {names[0]: 3, names[1]: 5}
        assert text.count("# TYPE aws_sqs_number_of_messages_sent_total counter") == 1   # one family, merged


def test_the_virtual_clock_moves_every_worker_together(daemon: WorkerHandle) -> None:
    sqs = client(daemon, "sqs")
    pair = queues(daemon, sqs, "delayed")
    for url, _ in pair:
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=10)
    daemon.advance(9.5)
    assert all("Messages" not in client(daemon, "sqs").receive_message(QueueUrl=url) for url, _ in pair)
    daemon.advance(0.5)
    received = [client(daemon, "sqs").receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"]
                for url, _ in pair]
    assert [[m["Body"] for m in got] for got in received] == [["later"], ["later"]]
    daemon.advance(29)
    assert all("Messages" not in sqs.receive_message(QueueUrl=url) for url, _ in pair)
    daemon.advance(1)   # the visibility timeout ends on both workers at the same instant
    assert [len(sqs.receive_message(QueueUrl=url)["Messages"]) for url, _ in pair] == [1, 1]
    nows = set()
    for _ in range(SCRAPES):
        with urllib.request.urlopen(daemon.url + "/_eventmesh/clock", timeout=10) as reply:
            nows.add(json.loads(reply.read())["now"])
    assert len(nows) == 1   # every worker tells the same time


def test_long_polls_wait_and_wake_on_the_owner(daemon: WorkerHandle) -> None:
    sqs = client(daemon, "sqs")
    pair = queues(daemon, sqs, "polled")
    results: list[dict[str, Any]] = [{}, {}]
    pollers = [threading.Thread(target=lambda i=i, url=url: results[i].update(
        client(daemon, "sqs").receive_message(QueueUrl=url, WaitTimeSeconds=20)))
        for i, (url, _) in enumerate(pair)]
    for poller in pollers:
        poller.start()
    for _, arn in pair:
        daemon.wait_for_polls(arn)
    before = daemon.mesh.clock.now()
    for url, _ in pair:
        client(daemon, "sqs").send_message(QueueUrl=url, MessageBody="wake")
    for poller in pollers:
        poller.join(10)
    assert [[m["Body"] for m in r["Messages"]] for r in results] == [["wake"], ["wake"]]
    assert daemon.mesh.clock.now() == before   # answered at once, no virtual time passed
    # and a long poll with nothing to take ends when the virtual clock says, on either worker
    results = [{}, {}]
    pollers = [threading.Thread(target=lambda i=i, url=url: results[i].update(
        client(daemon, "sqs").receive_message(QueueUrl=url, WaitTimeSeconds=5)))
        for i, (url, _) in enumerate(pair)]
    for poller in pollers:
        poller.start()
    for _, arn in pair:
        daemon.wait_for_polls(arn)
    daemon.advance(5)
    for poller in pollers:
        poller.join(10)
    assert not any(p.is_alive() for p in pollers) and all("Messages" not in r for r in results)


def test_fifo_order_and_receipt_handles_hold_across_workers(daemon: WorkerHandle) -> None:
    sqs = client(daemon, "sqs")
    pair = queues(daemon, sqs, "ordered", FifoQueue="true", ContentBasedDeduplication="true")
    for i in range(10):   # each send on a fresh connection: the two workers take turns serving them
        sender = client(daemon, "sqs")
        for url, _ in pair:
            sender.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g")
    kept = []
    for url, _ in pair:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
        assert [m["Body"] for m in got] == [f"m{i}" for i in range(10)]
        handles = [m["ReceiptHandle"] for m in got]
        # a receipt handle works from any connection: delete some, hand one back, keep the rest
        client(daemon, "sqs").delete_message(QueueUrl=url, ReceiptHandle=handles[0])
        client(daemon, "sqs").delete_message_batch(QueueUrl=url, Entries=[
            {"Id": f"d{k}", "ReceiptHandle": handles[k]} for k in (1, 2)])
        client(daemon, "sqs").change_message_visibility(QueueUrl=url, ReceiptHandle=handles[3],
                                                        VisibilityTimeout=0)
        again = client(daemon, "sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert [m["Body"] for m in again] == ["m3"]   # the group stays in order: m4.. are in flight
        kept.append(handles[4])
    # a queue's receipt handle means nothing to the other queue (on the other worker)
    with pytest.raises(ClientError) as excinfo:
        sqs.delete_message(QueueUrl=pair[1][0], ReceiptHandle=kept[0])
    assert excinfo.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
    client(daemon, "sqs").delete_message(QueueUrl=pair[0][0], ReceiptHandle=kept[0])   # its own queue takes it


def streams(daemon: WorkerHandle, prefix: str) -> list[tuple[str, str]]:
    """A one-shard stream owned by each worker: ``[(name, ARN) on worker 0, … on worker 1]``."""
    kinesis = client(daemon, "kinesis")

    def create(name: str) -> str:
        kinesis.create_stream(StreamName=name, ShardCount=1)
        return str(kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"])

    return one_on_each(daemon, create, prefix)


def test_shard_iterators_read_on_from_any_connection(daemon: WorkerHandle) -> None:
    kinesis = client(daemon, "kinesis")
    for name, arn in streams(daemon, "stream"):
        kinesis.put_records(StreamName=name, Records=[{"Data": f"a{i}".encode(), "PartitionKey": "k"}
                                                      for i in range(3)])
        iterator = client(daemon, "kinesis").get_shard_iterator(
            StreamARN=arn, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        first = client(daemon, "kinesis").get_records(ShardIterator=iterator)
        assert [r["Data"] for r in first["Records"]] == [b"a0", b"a1", b"a2"]
        client(daemon, "kinesis").put_record(StreamName=name, Data=b"b0", PartitionKey="k")
        second = client(daemon, "kinesis").get_records(ShardIterator=first["NextShardIterator"])
        assert [r["Data"] for r in second["Records"]] == [b"b0"]
        assert int(second["Records"][0]["SequenceNumber"]) > int(first["Records"][-1]["SequenceNumber"])


def test_stream_settings_tags_and_policies_reach_the_streams_worker(daemon: WorkerHandle) -> None:
    for name, arn in streams(daemon, "tagged"):
        client(daemon, "kinesis").enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["IncomingBytes"])
        client(daemon, "kinesis").start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/k")
        client(daemon, "kinesis").tag_resource(ResourceARN=arn, Tags={"stream": name})
        client(daemon, "kinesis").put_resource_policy(ResourceARN=arn, Policy='{"Statement": []}')
        summary = client(daemon, "kinesis").describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]
        assert summary["EnhancedMonitoring"] == [{"ShardLevelMetrics": ["IncomingBytes"]}]
        assert summary["EncryptionType"] == "KMS"
        assert client(daemon, "kinesis").list_tags_for_stream(StreamName=name)["Tags"] == [
            {"Key": "stream", "Value": name}]
        assert client(daemon, "kinesis").get_resource_policy(ResourceARN=arn)["Policy"] == '{"Statement": []}'


def test_a_rule_delivers_to_queues_on_both_workers(daemon: WorkerHandle) -> None:
    sqs, events = client(daemon, "sqs"), client(daemon, "events")
    pair = queues(daemon, sqs, "targeted")
    rule = f"to-both-{next(_names)}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["app.orders"]}))
    events.put_targets(Rule=rule, Targets=[{"Id": f"t{i}", "Arn": arn} for i, (_, arn) in enumerate(pair)])
    assert owner(daemon, f"arn:aws:events:us-east-1:000000000000:rule/default/{rule}") == 0   # EventBridge's home
    assert events.put_events(Entries=[{"Source": "app.orders", "DetailType": "placed",
                                       "Detail": json.dumps({"id": 7})}])["FailedEntryCount"] == 0
    daemon.advance(1)
    for url, _ in pair:
        got = sqs.receive_message(QueueUrl=url)["Messages"]
        assert [json.loads(m["Body"])["detail"] for m in got] == [{"id": 7}]


def test_each_workers_figures_and_what_crossed_between_them(daemon: WorkerHandle) -> None:
    sqs = client(daemon, "sqs")
    pair = queues(daemon, sqs, "counted")
    for _ in range(4):   # fresh connections: requests reach both workers, half of them forwarded
        for url, _ in pair:
            client(daemon, "sqs").send_message(QueueUrl=url, MessageBody="x")
    with urllib.request.urlopen(daemon.url + "/_eventmesh/workers", timeout=10) as reply:
        workers = json.loads(reply.read())["workers"]
    assert len(workers) == 2
    forwarded, served = sum(w["forwarded"] for w in workers), sum(w["served"] for w in workers)
    assert forwarded == served > 0   # every request passed on was served by its owner, none lost
    assert all(w["messages_sent"] >= w["frames_sent"] > 0 and w["cpu_s"] > 0 for w in workers)


def _workers_figures(daemon: WorkerHandle) -> list[dict[str, Any]]:
    with urllib.request.urlopen(daemon.url + "/_eventmesh/workers", timeout=10) as reply:
        return list(json.loads(reply.read())["workers"])


def _send_raw(conn: http.client.HTTPConnection, url: str, body: str) -> dict[str, Any]:
    conn.request("POST", "/", json.dumps({"QueueUrl": url, "MessageBody": body}),
                 {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage"})
    reply = conn.getresponse()
    document = json.loads(reply.read())
    assert reply.status == 200, document
    return dict(document)


def test_a_connection_that_keeps_to_another_workers_queue_is_handed_to_it(daemon: WorkerHandle) -> None:
    sqs = client(daemon, "sqs")
    pair = queues(daemon, sqs, "affine")
    after = ServerSettings().handover_after
    conn = http.client.HTTPConnection(daemon.url.removeprefix("http://"), timeout=10)
    conn.connect()
    sock, local = conn.sock, conn.sock.getsockname()
    blocks = 4
    before = _workers_figures(daemon)
    for block in range(blocks):   # 10 to worker 0's queue, 10 to worker 1's, and again
        url = pair[block % 2][0]
        for k in range(10):
            assert "MessageId" in _send_raw(conn, url, f"b{block}-{k}")
    figures = _workers_figures(daemon)
    assert conn.sock is sock and sock.getsockname() == local   # one connection all along
    conn.close()
    handed = sum(a["handed_over"] - b["handed_over"] for a, b in zip(figures, before, strict=True))
    adopted = sum(a["handed_in"] - b["handed_in"] for a, b in zip(figures, before, strict=True))
    forwarded = sum(a["forwarded"] - b["forwarded"] for a, b in zip(figures, before, strict=True))
    # Whichever worker the connection reached first, each later block begins on the other
    # queue's worker: forwarded `after` times, then handed over, then served where it lands.
    assert handed == adopted and blocks - 1 <= handed <= blocks
    assert forwarded <= blocks * after
    counts = [int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
                  ["Attributes"]["ApproximateNumberOfMessages"]) for url, _ in pair]
    assert counts == [20, 20]   # nothing lost or doubled on the way


def test_a_connection_that_spreads_over_workers_stays_where_it_is(daemon: WorkerHandle) -> None:
    sqs = client(daemon, "sqs")
    pair = queues(daemon, sqs, "spread")
    conn = http.client.HTTPConnection(daemon.url.removeprefix("http://"), timeout=10)
    before = _workers_figures(daemon)
    for k in range(20):   # alternating: never a streak long enough
        _send_raw(conn, pair[k % 2][0], f"m{k}")
    figures = _workers_figures(daemon)
    conn.close()
    assert sum(a["handed_over"] - b["handed_over"] for a, b in zip(figures, before, strict=True)) == 0
    assert sum(a["forwarded"] - b["forwarded"] for a, b in zip(figures, before, strict=True)) == 10


def test_handover_after_0_keeps_connections_where_the_kernel_put_them() -> None:
    handle = serve_in_thread(Config(server=ServerSettings(handover_after=0)), clock="virtual", workers=2)
    assert isinstance(handle, WorkerHandle)
    try:
        sqs = client(handle, "sqs")
        pair = queues(handle, sqs, "fixed")
        conn = http.client.HTTPConnection(handle.url.removeprefix("http://"), timeout=10)
        for block in range(2):
            for k in range(8):
                _send_raw(conn, pair[block][0], f"m{k}")
        conn.close()
        figures = _workers_figures(handle)
        assert sum(w["handed_over"] for w in figures) == 0
        assert sum(w["forwarded"] for w in figures) >= 8   # one of the two blocks was forwarded whole
    finally:
        handle.stop()


def test_a_handed_over_connection_is_closed_by_its_new_worker(daemon: WorkerHandle) -> None:
    sqs = client(daemon, "sqs")
    pair = queues(daemon, sqs, "closing")
    host, port = daemon.url.removeprefix("http://").rsplit(":", 1)
    after = ServerSettings().handover_after
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        def send(url: str, close: bool = False) -> bytes:
            body = json.dumps({"QueueUrl": url, "MessageBody": "x"}).encode()
            sock.sendall(b"POST / HTTP/1.1\r\nHost: %b\r\nContent-Type: application/x-amz-json-1.0\r\n"
                         b"X-Amz-Target: AmazonSQS.SendMessage\r\n%bContent-Length: %d\r\n\r\n%b"
                         % (host.encode(), b"Connection: close\r\n" if close else b"", len(body), body))
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            head, rest = data.split(b"\r\n\r\n", 1)
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            while len(rest) < length:
                rest += sock.recv(65536)
            return head.split(b"\r\n", 1)[0]

        for url, _ in pair:   # one of the two blocks ends with the connection handed over
            for _ in range(after + 1):
                assert send(url) == b"HTTP/1.1 200 OK"
        assert send(pair[1][0], close=True) == b"HTTP/1.1 200 OK"
        assert sock.recv(1) == b""   # the worker that holds it now closes it: the client sees the end
