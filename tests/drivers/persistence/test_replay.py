"""Recovery replays the journal into exactly the engine the daemon had."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import msgspec

from eventmesh.clock import RealClock
from eventmesh.drivers.persistence import snapshot
from eventmesh.drivers.persistence.journal import Journal
from eventmesh.drivers.persistence.recorder import Recorder
from eventmesh.drivers.persistence.records import RequestRecord
from eventmesh.drivers.persistence.replay import recover
from eventmesh.effects import HandlerOutcome, InvocationJob, RunInvocation
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


def _job(name: str) -> RunInvocation:
    job = InvocationJob("http", "http://127.0.0.1:9/", b"{}", f"req-{name}", name, "$LATEST",
                        f"arn:aws:lambda:us-east-1:000000000000:function:{name}", 128, 3.0, "us-east-1",
                        "000000000000")
    return RunInvocation(job, None)


def _send_out(mesh: Mesh, name: str) -> RunInvocation:
    effect = msgspec.structs.replace(_job(name), reply_to=mesh.expect(print))
    mesh.emit(effect)
    return effect


def test_work_outside_the_engine_at_a_crash_is_handed_back_to_be_sent_again(tmp_path: Path) -> None:
    """A handler run (or HTTP request) sent out and not answered when the daemon died is sent
    again after recovery, whether it was sent before the snapshot (the snapshot keeps it) or by
    an input after it (the replay sends it again); one whose answer reached the journal is not."""
    live = Journaled(tmp_path)
    mesh = live.mesh
    sent = {"before": _send_out(mesh, "before")}
    mesh.flush()
    # Due now, run by the next journaled timer run: after the snapshot, so replay runs it too.
    mesh.clock.call_at(mesh.clock.now(), lambda: sent.update(after=_send_out(mesh, "after"),
                                                             done=_send_out(mesh, "done")))
    seq = live.journal.rotate()
    snapshot.dump(mesh, tmp_path, seq, live.recorder.outstanding.values())
    live.recorder.tick(mesh.clock.run_due)
    live.recorder.answer(sent["done"].reply_to, HandlerOutcome(b'"ok"'))
    assert sorted(live.recorder.outstanding) == sorted([sent["before"].reply_to, sent["after"].reply_to])
    live.journal.close()
    recovered = recover(tmp_path, fresh, bind)
    assert sorted(e.job.function_name for e in recovered.in_flight) == ["after", "before"]


RESTORED_BUS_MATCHES = """
import sys
from eventmesh.drivers.persistence import snapshot
from eventmesh.services.events.records import PutEventsRequestEntry
from eventmesh.services.events.service import put_events
from eventmesh.services.sqs.service import find_queue
mesh, _ = snapshot.load(__import__("pathlib").Path(sys.argv[1]))
entry = PutEventsRequestEntry(source="shop", detail_type="Order", detail='{"amount": 12.5, "id": "b"}',
                              event_bus_name="orders")
put_events(mesh, [entry, PutEventsRequestEntry(source="shop", detail_type="Order", detail='{"amount": 1}',
                                               event_bus_name="orders")])
mesh.flush()
print(find_queue(mesh, "matched").statistics().number_of_messages_sent)
"""


def test_a_bus_that_matched_events_as_text_is_snapshotted_and_matches_in_a_new_process(tmp_path: Path) -> None:
    """The text reader's per-node tables point into the process that built them: a snapshot
    leaves them behind (it once could not be written at all), and a new process builds its own."""
    from eventmesh.services.events.records import PutEventsRequestEntry
    from eventmesh.services.events.service import create_bus, put_events
    from eventmesh.services.sqs.service import create_queue

    mesh = fresh()
    bus = create_bus(mesh, "orders")
    queue = create_queue(mesh, "matched")
    bus.put_rule("big", event_pattern='{"source": ["shop"], "detail": {"amount": [{"numeric": [">", 10]}]}}')
    bus.put_targets("big", [{"Id": "q", "Arn": queue.arn}])
    put_events(mesh, [PutEventsRequestEntry(source="shop", detail_type="Order", detail='{"amount": 11, "id": "a"}',
                                            event_bus_name="orders")])
    mesh.flush()
    assert queue.statistics().number_of_messages_sent == 1
    path = snapshot.dump(mesh, tmp_path, 1)
    done = subprocess.run([sys.executable, "-c", RESTORED_BUS_MATCHES, str(path)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2"]   # the one before the snapshot and the one that matches now
