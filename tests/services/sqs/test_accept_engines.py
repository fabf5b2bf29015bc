"""A standard queue's delivery path in C (_speedups.c) against its Python reference
(``StandardOrder.accept``): the same deliveries into the same queues leave the same results,
messages, ids, counters and retention batches, on the inline path and on every way off it."""

from __future__ import annotations

from typing import Any

import pytest

from eventmesh.effects import Available, Delivery, Outcome
from eventmesh.services.sqs.message import VISIBLE
from eventmesh.services.sqs.queue import Queue
from eventmesh.services.sqs.service import create_queue
from eventmesh.testing import virtual_mesh
from tests.services.sqs.engines import sqs_engines, use_sqs_engine

pytestmark = pytest.mark.skipif("c" not in sqs_engines(), reason="the C delivery path is not built")

ATTRS = {"a": {"DataType": "String", "StringValue": "1"}}
BIG = 262_144

# (queue attributes, deliveries): each delivery is one accept call's items.
CASES: dict[str, tuple[dict[str, str], list[list[Delivery]]]] = {
    "one plain item": ({}, [[Delivery('{"a":1}', json_text=True)]]),
    "many one-item deliveries (the id block turns over)": ({}, [[Delivery(f"m{i}")] for i in range(40)]),
    "a batch of 16 with trace headers": ({}, [[Delivery(f"b{i}", trace_header=f"Root=1-{i}") for i in range(16)]]),
    "17 items are split": ({}, [[Delivery(f"s{i}") for i in range(17)]]),
    "attributes take the general path": ({}, [[Delivery("x", ATTRS), Delivery("y")]]),
    "a group id on a standard queue (a fair queue's tag)": ({}, [[Delivery("g", group_id="tenant-1")]]),
    "a deduplication id is refused": ({}, [[Delivery("d", deduplication_id="d1")]]),
    "an empty body is refused": ({}, [[Delivery("")]]),
    "a control character in raw text is refused": ({}, [[Delivery("bad\x01char")]]),
    "a control character escaped in JSON text": ({}, [[Delivery('{"n":"a\\u0001b"}', json_text=True)]]),
    "tab, newline and return are allowed": ({}, [[Delivery("a\tb\nc\rd")]]),
    "non-ASCII bodies are checked": ({}, [[Delivery("caf\u00e9"), Delivery('{"a":"\ufffe"}', json_text=True)]]),
    "the size limit": ({"MaximumMessageSize": "1024"}, [[Delivery("x" * 1024)], [Delivery("x" * 1025)]]),
    "the default size limit": ({}, [[Delivery("x" * BIG)], [Delivery("x" * (BIG + 1))]]),
    "a queue delay": ({"DelaySeconds": "5"}, [[Delivery("late")], [Delivery("later"), Delivery("latest")]]),
    "an empty delivery": ({}, [[]]),
}


def _state(queue: Queue) -> dict[str, Any]:
    def msg(m: Any) -> tuple[Any, ...]:
        return (m.id, m.body, m.attributes, m.trace_header, m.sent, m.enqueued, m.size, m.state, m.group_id)
    return {
        "visible": [msg(m) for m in queue.order.visible],  # type: ignore[union-attr]
        "batches": [[msg(m) for m in batch] for batch in queue.retention.batches],
        "counts": (queue.n_visible, queue.n_delayed, queue.sent, queue.sent_bytes),
        "ids": (queue._id_batch, queue._id_block, queue._id_block_text),
        "retention_timer": queue.retention.timer is not None,
    }


def _run(engine: str, attributes: dict[str, str], deliveries: list[list[Delivery]],
         monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], dict[str, Any], list[str]]:
    use_sqs_engine(monkeypatch, engine)
    mesh, driver = virtual_mesh()
    queue = create_queue(mesh, "q", attributes)
    results = [queue.accept(items, "arn:aws:events:us-east-1:000000000000:rule/r") for items in deliveries]
    state = _state(queue)
    driver.advance(10)  # delays run out
    received = [m.body for m in queue.receive(10)] + [m.body for m in queue.receive(10)]
    return [(r.kind, r.code) for r in results], state, received


@pytest.mark.parametrize("case", list(CASES))
def test_the_c_path_leaves_what_the_python_path_leaves(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    attributes, deliveries = CASES[case]
    python = _run("python", attributes, deliveries, monkeypatch)
    c = _run("c", attributes, deliveries, monkeypatch)
    assert c == python


def test_what_the_c_path_stores() -> None:
    """Not only alike: a plain delivery becomes visible messages with ids of the queue's form,
    counted as sent, kept for retention, and a waiting receiver is woken."""
    mesh, _ = virtual_mesh()
    queue = create_queue(mesh, "q", {})
    assert queue.accept.func.__module__ == "eventmesh.services.sqs._speedups"  # type: ignore[attr-defined]
    items = [Delivery('{"n":1}', trace_header="Root=1-abc", json_text=True), Delivery('{"n":22}', json_text=True)]
    assert queue.accept(items, "arn:src").kind is Outcome.DELIVERED
    ids = [m.id for m in queue.order.visible]  # type: ignore[union-attr]
    assert len(set(ids)) == 2 and all(len(i) == 36 and i[:35] == ids[0][:35] for i in ids)
    assert (queue.n_visible, queue.sent, queue.sent_bytes) == (2, 2, len('{"n":1}') + len('{"n":22}'))
    assert [m.state for m in queue.retention.batches[-1]] == [VISIBLE, VISIBLE]
    got = queue.receive(10)
    assert [(m.body, m.trace_header, m.size) for m in got] == [
        ('{"n":1}', "Root=1-abc", 7), ('{"n":22}', None, 8)]
    # An empty queue that receives wakes its pollers (Available), a queue with messages does not.
    mesh.outbox.clear()
    assert queue.accept([Delivery("wake")], "arn:src").ok
    assert queue.accept([Delivery("again")], "arn:src").ok
    assert [type(e) for e in mesh.outbox] == [Available]


def test_a_closed_or_unavailable_queue_answers_as_before() -> None:
    mesh, _ = virtual_mesh()
    queue = create_queue(mesh, "q", {})
    queue.set_available(False)
    assert queue.accept([Delivery("x")], "arn:src").code == "ServiceUnavailable"
    queue.set_available(True)
    assert queue.accept([Delivery("x")], "arn:src").ok
    assert queue.accept.func.__module__ == "eventmesh.services.sqs._speedups"  # type: ignore[attr-defined]
