"""kill -9 under load: every write the daemon acknowledged is there after a restart.

A real daemon process (``eventmesh serve --data-dir``) takes SendMessageBatch, PutRecords and
PutEvents from client threads; it is killed with SIGKILL mid-load, started again on the same
directory, and every acknowledged message, record and event is read back. Writes that were in
flight at the kill may or may not be there (they were never acknowledged); nothing acknowledged
is lost, and nothing is there twice.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

START_TIMEOUT_S = 60
LOAD_CALLS = 400          # per client thread at most: the kill comes well before
KILL_AFTER_ACKS = 60      # acknowledged calls (all threads) before the kill
CONFIG = """
resources:
  sqs:
    queues: [{QueueName: orders}, {QueueName: routed}]
  kinesis:
    streams: [{StreamName: clicks, ShardCount: 2}]
  events:
    buses: [{Name: shop}]
    rules:
      - {Name: all, EventBusName: shop, EventPattern: {source: [shop]},
         Targets: [{Id: q, Arn: "arn:aws:sqs:us-east-1:000000000000:routed"}]}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Daemon:
    """``eventmesh serve`` in its own process, on a data directory."""

    def __init__(self, data_dir: Path, config: Path, port: int, *options: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}   # serve sets its own
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eventmesh", "serve", "--data-dir", str(data_dir), "--config", str(config),
             "--port", str(port), *options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert "listening" in line, line + self.process.stdout.read()
        self.url = f"http://127.0.0.1:{port}"

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="x",
                            aws_secret_access_key="x",
                            config=BotoConfig(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(START_TIMEOUT_S)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(START_TIMEOUT_S)


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[tuple[Path, Path, int]]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    yield tmp_path / "data", config, _free_port()


def _load(acked: list[str], lock: threading.Lock, counter: list[int], call: Callable[[int], list[str]]) -> None:
    for i in range(LOAD_CALLS):
        try:
            ids = call(i)
        except Exception:  # the kill: this call and every later one is not acknowledged
            return
        with lock:
            acked.extend(ids)
            counter[0] += 1


def test_every_acknowledged_write_survives_kill_9(directory: tuple[Path, Path, int]) -> None:
    data_dir, config, port = directory
    daemon = Daemon(data_dir, config, port)
    sqs, kinesis, events = daemon.client("sqs"), daemon.client("kinesis"), daemon.client("events")
    orders = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    lock = threading.Lock()
    counter = [0]
    sent: list[str] = []
    put: list[str] = []
    published: list[str] = []

    def send(i: int) -> list[str]:
        bodies = [f"order-{i}-{j}" for j in range(10)]
        reply = sqs.send_message_batch(QueueUrl=orders, Entries=[{"Id": str(j), "MessageBody": b}
                                                                 for j, b in enumerate(bodies)])
        assert not reply.get("Failed")
        return bodies

    def put_records(i: int) -> list[str]:
        data = [f"click-{i}-{j}" for j in range(20)]
        reply = kinesis.put_records(StreamName="clicks", Records=[{"Data": d.encode(), "PartitionKey": d}
                                                                  for d in data])
        assert reply["FailedRecordCount"] == 0
        return data

    def put_events(i: int) -> list[str]:
        ids = [f"event-{i}-{j}" for j in range(10)]
        reply = events.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "EventBusName": "shop",
                                            "Detail": json.dumps({"n": n})} for n in ids])
        assert reply["FailedEntryCount"] == 0
        return ids

    threads = [threading.Thread(target=_load, args=(acked, lock, counter, call), daemon=True)
               for acked, call in ((sent, send), (put, put_records), (published, put_events))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while counter[0] < KILL_AFTER_ACKS and time.monotonic() < deadline:
        time.sleep(0.01)
    daemon.kill()
    for thread in threads:
        thread.join(START_TIMEOUT_S)
    with lock:
        sent_now, put_now, published_now = list(sent), list(put), list(published)
    assert counter[0] >= KILL_AFTER_ACKS

    daemon = Daemon(data_dir, config, port)
    try:
        sqs, kinesis = daemon.client("sqs"), daemon.client("kinesis")
        orders_now = _bodies(sqs, "orders")
        assert orders_now >= _counted(sent_now) and max(orders_now.values()) == 1
        stored = _records(kinesis)
        assert stored >= _counted(put_now)
        delivered = _counted([json.loads(body)["detail"]["n"] for body in _bodies(sqs, "routed").elements()])
        assert delivered >= _counted(published_now)
        # Nothing twice: a journaled write is taken once, live or replayed.
        assert max(delivered.values()) == 1 and max(stored.values()) == 1
    finally:
        daemon.stop()


def _counted(items: list[str]) -> Any:
    from collections import Counter

    return Counter(items)


def _bodies(sqs: Any, name: str) -> Any:
    """Every message of a queue (received until it is empty), counted by body."""
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages", [])
        if not got:
            return _counted(bodies)
        bodies += [m["Body"] for m in got]


def _records(kinesis: Any) -> Any:
    data: list[str] = []
    for shard in kinesis.list_shards(StreamName="clicks")["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName="clicks", ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            reply = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            data += [r["Data"].decode() for r in reply["Records"]]
            if not reply["Records"] and reply.get("MillisBehindLatest", 0) == 0:
                break
            iterator = reply.get("NextShardIterator")
    return _counted(data)


def _advance(daemon: Daemon, seconds: float) -> float:
    import urllib.request

    request = urllib.request.Request(daemon.url + "/_eventmesh/clock", json.dumps({"advance": seconds}).encode(),
                                     {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as reply:
        return float(json.loads(reply.read())["now"])


def test_timers_resume_from_their_persisted_times_after_kill_9(directory: tuple[Path, Path, int]) -> None:
    """Visibility timeouts and delays keep their deadlines across a crash (virtual time: the
    clock itself is part of the persisted engine)."""
    data_dir, config, port = directory
    daemon = Daemon(data_dir, config, port, "--clock", "virtual")
    sqs = daemon.client("sqs")
    url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="held")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    received = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"]
    assert [m["Body"] for m in received] == ["held"]
    started = _advance(daemon, 10)
    daemon.kill()

    daemon = Daemon(data_dir, config, port, "--clock", "virtual")
    try:
        sqs = daemon.client("sqs")
        assert _advance(daemon, 0) == started                   # the clock stood where it was
        assert "Messages" not in sqs.receive_message(QueueUrl=url)   # "held" is in flight for 20 s more
        _advance(daemon, 20)
        again = sqs.receive_message(QueueUrl=url)["Messages"]
        assert [m["Body"] for m in again] == ["held"] and again[0]["ReceiptHandle"] != received[0]["ReceiptHandle"]
        _advance(daemon, 30)                                    # t = 60 s after the delayed send
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["later"]
    finally:
        daemon.stop()


def test_a_graceful_restart_replays_nothing(directory: tuple[Path, Path, int]) -> None:
    """SIGTERM writes a last snapshot: the next start loads it and has no journal to replay
    (with a bus whose rule has matched events, and so holds the pattern engine's tables)."""
    data_dir, config, port = directory
    daemon = Daemon(data_dir, config, port)
    sqs = daemon.client("sqs")
    url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)])
    numbered = sqs.create_queue(QueueName="numbered")["QueueUrl"]
    events = daemon.client("events")
    events.put_rule(Name="by-n", EventBusName="shop", EventPattern='{"detail": {"n": [{"numeric": [">", 0]}]}}')
    events.put_targets(Rule="by-n", EventBusName="shop",
                       Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:000000000000:numbered"}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": '{"n": 1}', "EventBusName": "shop"}])
    daemon.stop()
    assert daemon.process.returncode == 0
    snapshots = sorted(data_dir.glob("snapshot-*.pickle"))
    assert len(snapshots) == 1
    journal = sorted(data_dir.glob("journal-*.log"))
    assert journal[-1].name.split("-")[1] == snapshots[0].name.split("-")[1].replace(".pickle", ".log")
    assert journal[-1].stat().st_size == 0                       # nothing after the snapshot
    daemon = Daemon(data_dir, config, port)
    try:
        counts = daemon.client("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        assert counts["ApproximateNumberOfMessages"] == "10"
        events = daemon.client("events")
        events.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": '{"n": 2}',
                                    "EventBusName": "shop"}])
        bodies = [json.loads(m["Body"])["detail"] for m in
                  daemon.client("sqs").receive_message(QueueUrl=numbered, MaxNumberOfMessages=10)["Messages"]]
        assert sorted(b["n"] for b in bodies) == [1, 2]
    finally:
        daemon.stop()
