"""A mapping's event is encoded only when the function's code reads it (lambda_/jobs.py,
``LazyEvent``): a ``model:`` handler, which needs only how many records it got, never has it
encoded and still pays its per-record cost; any other handler gets the event of the receive it
runs for, also when it starts only after a throttle's back-off. A Kinesis event is left to be
encoded only when a bound on its size, taken without encoding it, is under Lambda's 6 MB."""

from __future__ import annotations

import random
from typing import Any

import msgspec
import pytest

from eventmesh.clock import VIRTUAL_EPOCH as T0
from eventmesh.effects import RunInvocation
from eventmesh.mesh import Mesh
from eventmesh.services.esm.queue_poller import QueuePoller
from eventmesh.services.esm.service import create_mapping
from eventmesh.services.esm.stream_poller import StreamPoller
from eventmesh.services.kinesis.service import create_stream
from eventmesh.services.kinesis.shards import StreamRecord
from eventmesh.services.kinesis.stream import PutRecordsRequestEntry
from eventmesh.services.lambda_.service import create_function, delete_concurrency, put_concurrency
from eventmesh.services.sqs.message import SendEntry
from eventmesh.services.sqs.service import create_queue
from eventmesh.testing import virtual_mesh

ROLE = "arn:aws:iam::000000000000:role/r"


def _setup(handler: str, batch: int = 5) -> tuple[Mesh, Any, Any, Any]:
    mesh, driver = virtual_mesh()
    queue = create_queue(mesh, "q", {"VisibilityTimeout": "60"})
    fn = create_function(mesh, "f", role=ROLE, handler=handler, allow_outside_package=True)
    create_mapping(mesh, {"EventSourceArn": queue.arn, "FunctionName": "f", "BatchSize": batch})
    return mesh, driver, queue, fn


def _encodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many messages each event the pollers encoded held."""
    encoded: list[int] = []
    original = QueuePoller._payload

    def counted(self: QueuePoller, messages: list[Any]) -> bytes:
        encoded.append(len(messages))
        return original(self, messages)

    monkeypatch.setattr(QueuePoller, "_payload", counted)
    return encoded


def test_a_model_handler_never_has_its_event_encoded_and_pays_for_each_record(monkeypatch: pytest.MonkeyPatch):
    encoded = _encodes(monkeypatch)
    mesh, driver, queue, fn = _setup("model:duration=10ms,per_record=2ms")
    for i in range(5):
        queue.send(SendEntry(f"m{i}"))
    driver.advance(0.0199)
    assert queue.statistics().number_of_messages_deleted == 0
    driver.advance(0.0001)   # 10 ms + 5 records x 2 ms
    assert queue.statistics().number_of_messages_deleted == 5
    assert encoded == []


def test_code_that_reads_the_event_gets_it_whole_once(monkeypatch: pytest.MonkeyPatch):
    encoded = _encodes(monkeypatch)
    mesh, driver, queue, fn = _setup("tests.handlers:echo")
    jobs: list[RunInvocation] = []
    mesh.subscribe(RunInvocation, jobs.append)
    for i in range(3):
        queue.send(SendEntry(f"m{i}"))
    driver.advance(0)
    assert len(jobs) == 1 and encoded == [3]
    event = msgspec.json.decode(jobs[0].job.payload)
    assert [r["body"] for r in event["Records"]] == ["m0", "m1", "m2"]
    assert {r["attributes"]["ApproximateReceiveCount"] for r in event["Records"]} == {"1"}


def test_after_a_throttle_the_code_gets_the_event_of_the_receive_it_runs_for(monkeypatch: pytest.MonkeyPatch):
    encoded = _encodes(monkeypatch)
    mesh, driver, queue, fn = _setup("tests.handlers:echo", batch=2)
    jobs: list[RunInvocation] = []
    mesh.subscribe(RunInvocation, jobs.append)
    put_concurrency(fn, 0)           # every start is throttled: the batch backs off, still in flight
    queue.send(SendEntry("a"))
    queue.send(SendEntry("b"))
    driver.advance(0.5)
    assert jobs == [] and encoded == []
    delete_concurrency(fn)
    driver.advance(30)               # the back-off ends within the visibility timeout
    assert len(jobs) == 1 and encoded == [2]
    started = jobs[0].job
    event = msgspec.json.decode(started.payload)
    assert [r["body"] for r in event["Records"]] == ["a", "b"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in event["Records"]] == ["1", "1"]
    assert [r["attributes"]["ApproximateFirstReceiveTimestamp"] for r in event["Records"]] == [str(int(T0 * 1000))] * 2
    # The handles of the receive under way: deleting with them works.
    handles = {r["receiptHandle"] for r in event["Records"]}
    assert handles == set(queue.receipt_handles(list(queue.leases.by_receipt.values())))


def test_a_kinesis_model_handler_never_has_its_event_encoded(monkeypatch: pytest.MonkeyPatch):
    encoded: list[int] = []
    original = StreamPoller._payload
    monkeypatch.setattr(StreamPoller, "_payload",
                        lambda self, reader, records: encoded.append(len(records)) or original(self, reader, records))
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", 1)
    fn = create_function(mesh, "f", role=ROLE, handler="model:duration=10ms,per_record=1ms")
    create_mapping(mesh, {"EventSourceArn": stream.arn, "FunctionName": "f", "StartingPosition": "TRIM_HORIZON",
                          "BatchSize": 100})
    stream.put_records([PutRecordsRequestEntry(b"d", f"k{i}") for i in range(40)])
    driver.advance(1.0)
    assert encoded == [] and fn.invocations == 1
    assert fn.statistics().duration.sum == pytest.approx(0.010 + 40 * 0.001)


def test_the_kinesis_size_bound_is_never_below_the_encoded_size():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", 1)
    create_function(mesh, "f", role=ROLE, handler="model:duration=10ms")
    mapping = create_mapping(mesh, {"EventSourceArn": stream.arn, "FunctionName": "f",
                                    "StartingPosition": "TRIM_HORIZON"})
    driver.advance(1)   # enabled: the poller has its reader and its encoder
    poller = mapping.poller
    assert isinstance(poller, StreamPoller)
    reader = next(iter(poller.readers.values()))
    rng = random.Random(7)
    alphabet = ['"', "\\", "\x01", "a", "\u00e9", "\u4e2d", "\U0001f600"]
    for _ in range(300):
        records = [StreamRecord(rng.randrange(10**55, 10**56), rng.randbytes(rng.randrange(40)),
                                "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30))),
                                rng.choice([0.0, 1e-7, 1_700_000_000.123456789, 12345678.9, 9.999999999999999e22]))
                   for _ in range(rng.randrange(1, 20))]
        assert poller.size_bound(records) >= len(poller._payload(reader, records))
