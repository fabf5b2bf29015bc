"""Recovery replays the journal into exactly the engine the daemon had."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from eventmesh.clock import RealClock
from eventmesh.drivers.persistence import snapshot
from eventmesh.drivers.persistence.journal import Journal
from eventmesh.drivers.persistence.recorder import Recorder
from eventmesh.drivers.persistence.records import RequestRecord
from eventmesh.drivers.persistence.replay import recover
from eventmesh.mesh import Mesh
from eventmesh.services import adapters
from eventmesh.services.sqs.queue import Queue
from eventmesh.wire.router import Api, Request
from tests.drivers.persistence.canonical import canonical

HEADERS = {"content-type": "application/x-amz-json-1.0", "host": "127.0.0.1:4566"}


def fresh() -> Mesh:
    return Mesh(RealClock(), seed=7)


def bind(mesh: Mesh):
    api = Api(mesh, adapters(["sqs", "sns", "events"]))

    def take(record: RequestRecord) -> object:
        return api.handle(Request(record.method, record.path, record.query, record.headers, record.body))

    return take


def sqs(operation: str, **params: object) -> tuple[dict[str, str], bytes]:
    return {**HEADERS, "x-amz-target": f"AmazonSQS.{operation}"}, msgspec.json.encode(params)


def same_engine(one: Mesh, other: Mesh) -> bool:
    """Equal state, compared through what a snapshot keeps (so driver subscriptions do not count)."""
    return canonical(snapshot.loads(snapshot.dumps(one))) == canonical(snapshot.loads(snapshot.dumps(other)))


class Journaled:
    """A daemon's engine taking requests through a Recorder, as the server will."""

    def __init__(self, directory: Path) -> None:
        self.mesh = fresh()
        self.take = bind(self.mesh)
        self.answers: list[int] = []
        self.journal = Journal(directory, 0, self.answers.append, lambda f, seq: f(seq))
        self.recorder = Recorder(self.mesh, self.journal)

    def call(self, operation: str, **params: object) -> dict:
        headers, body = sqs(operation, **params)
        record = RequestRecord(0.0, "POST", "/", "", headers, body)
        response, _ = self.recorder.request("POST", "/", "", headers, body, lambda: self.take(record))
        return json.loads(response[2] or b"{}")  # type: ignore[index]


def test_the_journal_replays_into_the_same_engine(tmp_path: Path) -> None:
    live = Journaled(tmp_path)
    url = live.call("CreateQueue", QueueName="orders", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    for i in range(5):
        live.call("SendMessageBatch", QueueUrl=url,
                  Entries=[{"Id": str(j), "MessageBody": f"m{i}-{j}"} for j in range(10)])
    received = live.call("ReceiveMessage", QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    live.call("DeleteMessage", QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    live.recorder.tick(lambda: live.mesh.clock.run_due())
    live.journal.close()
    recovered = recover(tmp_path, fresh, bind)
    assert recovered.replayed == live.journal.next_seq == 9
    queue = recovered.mesh.get(live.mesh.find(live.mesh.arn("sqs", "orders"), Queue).arn, Queue)
    assert queue.counts() == (40, 9, 0)
    assert same_engine(recovered.mesh, live.mesh)


def test_a_snapshot_and_the_journal_after_it_give_the_same_engine(tmp_path: Path) -> None:
    live = Journaled(tmp_path)
    url = live.call("CreateQueue", QueueName="jobs")["QueueUrl"]
    live.call("SendMessage", QueueUrl=url, MessageBody="before")
    seq = live.journal.rotate()
    snapshot.dump(live.mesh, tmp_path, seq)
    live.journal.drop_before(seq)
    live.call("SendMessage", QueueUrl=url, MessageBody="after")
    got = live.call("ReceiveMessage", QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["before", "after"]
    live.journal.close()
    recovered = recover(tmp_path, fresh, bind)
    assert recovered.replayed == 2
    assert same_engine(recovered.mesh, live.mesh)


def test_a_record_cut_short_ends_the_journal(tmp_path: Path) -> None:
    live = Journaled(tmp_path)
    live.call("CreateQueue", QueueName="cut")
    live.call("CreateQueue", QueueName="kept-out")
    live.journal.close()
    [segment] = tmp_path.glob("journal-*.log")
    segment.write_bytes(segment.read_bytes()[:-3])
    recovered = recover(tmp_path, fresh, bind)
    assert recovered.replayed == 1
    assert [q.name for q in recovered.mesh.resources("sqs", Queue)] == ["cut"]


def test_the_comparison_sees_a_one_message_difference(tmp_path: Path) -> None:
    live = Journaled(tmp_path)
    url = live.call("CreateQueue", QueueName="one")["QueueUrl"]
    live.journal.close()
    recovered = recover(tmp_path, fresh, bind)
    assert same_engine(recovered.mesh, live.mesh)
    live.call("SendMessage", QueueUrl=url, MessageBody="only live has this")
    assert not same_engine(recovered.mesh, live.mesh)
