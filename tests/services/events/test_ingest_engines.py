"""A bus's per-event loops in C (_speedups.c) against their Python reference (``put_events`` and
``EventBus.ingest``): the same requests through the same rules get the same answers and leave the
same deliveries, in the same order, with the same rule counters: requests of plain entries and
requests with one entry that is not (a Time, an AWS source, a Detail that is not kept as text or
is malformed, a missing field, another bus or none); plain targets and every kind that is not
(an Input template, a FIFO group, a stream's partition key, another bus); one rule or several per
event; and trace headers (requests the C loops leave to Python)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from eventmesh.clock import VIRTUAL_EPOCH
from eventmesh.services.events.records import PutEventsRequestEntry
from eventmesh.services.events.service import create_bus, default_bus, put_events
from eventmesh.testing import virtual_mesh
from tests.services.events.engines import events_engines, use_events_engine
from tests.services.events.helpers import ACCOUNT, REGION, recorder, sqs_arn

pytestmark = pytest.mark.skipif("c" not in events_engines(), reason="the C loop is not built")

KINDS = ["Placed", "Paid", "Shipped", "Refunded"]


# Entries the C loop hands back to put_events' own (one makes the whole request take it).
ODD: list[dict[str, Any]] = [
    {"time": VIRTUAL_EPOCH + 5}, {"source": "aws.ec2"}, {"detail": '{"n": 1e3}'}, {"detail": "[1]"},
    {"detail": '{"n": '}, {"detail": None}, {"detail_type": ""}, {"source": None}, {"resources": []},
    {"event_bus_name": "other"}, {"event_bus_name": "nowhere"},
]


def _requests(seed: int, traced: bool) -> list[list[PutEventsRequestEntry]]:
    rng = random.Random(seed)
    requests = []
    for r in range(60):
        batch = []
        odd = r % 3 == 0  # every third request has one entry that is not plain
        for k in range(rng.randint(1, 10)):
            detail = {"n": rng.randint(0, 9), "kind": rng.choice(KINDS), "items": [{"sku": f"s{rng.randint(0, 3)}"}]}
            fields: dict[str, Any] = {
                "source": rng.choice(["shop", "billing"]), "detail_type": rng.choice(KINDS),
                "detail": json.dumps(detail), "resources": [f"arn:aws:s3:::b{k}"] if rng.random() < 0.3 else None,
                "trace_header": f"Root=1-{r}-{k}" if traced and rng.random() < 0.5 else None}
            if odd and k == 0:
                fields.update(ODD[(r // 3) % len(ODD)])
            batch.append(PutEventsRequestEntry(**fields))
        requests.append(batch)
    return requests


def _run(engine: str, monkeypatch: pytest.MonkeyPatch, *, traced: bool = False) -> dict[str, Any]:
    use_events_engine(monkeypatch, engine)
    mesh, driver = virtual_mesh()
    bus = default_bus(mesh)
    other = create_bus(mesh, "other")
    queues = [recorder(mesh, sqs_arn(f"q{i}")) for i in range(4)]
    shaped, fifo = recorder(mesh, sqs_arn("shaped")), recorder(mesh, sqs_arn("q.fifo"))
    stream = recorder(mesh, f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/s")
    relayed = recorder(mesh, sqs_arn("relayed"))
    rules = {
        "a-shop": ({"source": ["shop"]}, [{"Id": "q", "Arn": queues[0].arn}]),
        "b-paid": ({"detail-type": ["Paid"]}, [{"Id": "q", "Arn": queues[1].arn},
                                               {"Id": "s", "Arn": shaped.arn, "InputPath": "$.detail.items"}]),
        "c-big": ({"detail": {"n": [{"numeric": [">", 5]}]}}, [
            {"Id": "f", "Arn": fifo.arn, "SqsParameters": {"MessageGroupId": "g"}},
            {"Id": "k", "Arn": stream.arn, "KinesisParameters": {"PartitionKeyPath": "$.detail.n"}},
            {"Id": "q", "Arn": queues[2].arn}]),
        "d-sku": ({"detail": {"items": {"sku": ["s1"]}}}, [{"Id": "q", "Arn": queues[3].arn},
                                                           {"Id": "o", "Arn": other.arn}]),
        "e-never": ({"source": ["nobody"]}, [{"Id": "q", "Arn": queues[0].arn}]),
    }
    for name, (pattern, targets) in rules.items():
        bus.put_rule(name, event_pattern=json.dumps(pattern))
        bus.put_targets(name, targets)
    other.put_rule("relay", event_pattern=json.dumps({"source": ["shop"]}))
    other.put_targets("relay", [{"Id": "r", "Arn": relayed.arn}])
    responses = []
    for request in _requests(3, traced):
        responses.append(put_events(mesh, request))
        mesh.flush()
        mesh.clock.advance(1)  # type: ignore[attr-defined]
    driver.run_until_idle()
    return {
        "responses": responses,
        "deliveries": {rec.arn: [(i.body, i.group_id, i.partition_key, i.trace_header, i.attributes, i.json_text)
                                 for i in rec.items]
                       for rec in [*queues, shaped, fifo, stream, relayed]},
        "batches": {rec.arn: [len(items) for _, items, _ in rec.batches] for rec in [*queues, shaped, fifo, stream]},
        "rules": {name: bus.rules[name].statistics() for name in rules},
        "bus": (bus.ingested, bus.matched_events, other.matched_events),
    }


@pytest.mark.parametrize("case", ["plain", "traced"])
def test_the_c_loop_delivers_what_the_python_loop_delivers(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    python = _run("python", monkeypatch, traced=case == "traced")
    c = _run("c", monkeypatch, traced=case == "traced")
    assert c == python
    # and something happened: every kind of target got events, the rule that never matches none
    assert all(python["deliveries"].values())
    assert sum(r.failed_entry_count for r in python["responses"]) >= 6  # the odd entries were refused
    assert python["rules"]["e-never"].triggered_rules == 0
    assert python["rules"]["c-big"].triggered_rules == len(python["deliveries"][sqs_arn("q.fifo")])
