"""The delivery latency model: timed deliveries and answers, their order, the edges."""

from __future__ import annotations

import pytest

from eventmesh.effects import Deliver, Delivery, DeliveryResult
from eventmesh.latency import LatencyModel, parse_edge
from eventmesh.mesh import join_order, split_order
from eventmesh.testing import virtual_mesh

RULE = "arn:aws:events:us-east-1:000000000000:rule/shop/r"
TOPIC = "arn:aws:sns:us-east-1:000000000000:t"
QUEUE = "arn:aws:sqs:us-east-1:000000000000:q"


class Sink:
    def __init__(self, arn: str, log: list[tuple[float, str]], clock: object) -> None:
        self.arn, self.log, self.clock = arn, log, clock

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        self.log += [(self.clock.now(), item.body) for item in items]  # type: ignore[attr-defined]
        return DeliveryResult()


def test_edges_resolve_from_the_most_specific() -> None:
    model = LatencyModel({("events", "sqs"): 0.5, ("events", "*"): 0.2, ("*", "lambda"): 0.3}, default=0.05,
                         pairs={(TOPIC, QUEUE): 0.0})
    assert model.between(RULE, QUEUE) == 0.5
    assert model.between(RULE, "arn:aws:lambda:us-east-1:000000000000:function:f") == 0.2
    assert model.between(TOPIC, "arn:aws:lambda:us-east-1:000000000000:function:f") == 0.3
    assert model.between(TOPIC, QUEUE) == 0.0 and model.between(TOPIC, TOPIC) == 0.05
    assert LatencyModel.aws_defaults().between(RULE, QUEUE) == 0.13
    assert LatencyModel.aws_defaults({("*", "*"): 0.0}).between(QUEUE, QUEUE) == 0.0
    assert parse_edge("events->sqs") == ("events", "sqs") and parse_edge("sns") == ("sns", "*")
    with pytest.raises(ValueError):
        parse_edge("events->")
    with pytest.raises(ValueError):
        LatencyModel(default=-1)


def test_a_timed_delivery_arrives_after_its_latency_and_its_answer_after_as_long_again() -> None:
    mesh, driver = virtual_mesh()
    mesh.set_latency(LatencyModel({("events", "sqs"): 0.25}, default=0.0))
    log: list[tuple[float, str]] = []
    mesh.add(Sink(QUEUE, log, mesh.clock))
    answers: list[float] = []
    start = mesh.clock.now()
    mesh.emit(Deliver(QUEUE, [Delivery("a")], RULE, mesh.expect(lambda r: answers.append(mesh.clock.now()))))
    mesh.flush()
    assert log == [] and mesh.waiting_replies() == 1
    driver.run_until_idle()
    assert log == [(start + 0.25, "a")] and answers == [start + 0.25 + 0.25]


def test_a_zero_latency_edge_delivers_inline() -> None:
    mesh, _ = virtual_mesh()
    mesh.set_latency(LatencyModel({("events", "*"): 0.13}, default=0.0))
    log: list[tuple[float, str]] = []
    mesh.add(Sink(QUEUE, log, mesh.clock))
    mesh.emit(Deliver(QUEUE, [Delivery("now")], TOPIC))
    mesh.flush()
    assert [body for _, body in log] == ["now"]


def test_arrivals_of_one_instant_run_in_sender_order_whoever_scheduled_first() -> None:
    """Two senders deliver at the same instant: the order is by sender, then by each sender's
    count, not by which was scheduled first (in a partitioned run they are scheduled in
    different processes); and every arrival comes before other timers of that instant."""
    orders = []
    for schedule in ((RULE, TOPIC, RULE), (TOPIC, RULE, RULE)):
        mesh, driver = virtual_mesh()
        mesh.set_latency(LatencyModel(default=1.0))
        log: list[tuple[float, str]] = []
        mesh.add(Sink(QUEUE, log, mesh.clock))
        mesh.clock.call_later(1.0, lambda log=log: log.append((0.0, "timer")))
        sent: dict[str, int] = {}
        for sender in schedule:
            sent[sender] = sent.get(sender, 0) + 1
            mesh.emit(Deliver(QUEUE, [Delivery(f"{sender.rsplit(':', 1)[1]} #{sent[sender]}")], sender))
        driver.run_until_idle()
        orders.append([body for _, body in log])
    assert orders[0] == orders[1]
    assert orders[0][-1] == "timer" and sorted(orders[0][:3]) == ["rule/shop/r #1", "rule/shop/r #2", "t #1"]
    assert orders[0].index("rule/shop/r #1") < orders[0].index("rule/shop/r #2")


def test_an_arrival_order_travels_as_two_64_bit_ints() -> None:
    mesh, _ = virtual_mesh()
    seq = mesh.arrival_seq(RULE)
    rank, count = split_order(seq)
    assert count == 1 and 0 <= rank < 2 ** 63 and join_order((rank, count)) == seq < 0
    assert split_order(0) == (0, 0) and join_order((0, 0)) == 0


def test_a_window_runs_timers_strictly_before_its_end() -> None:
    mesh, _ = virtual_mesh()
    ran: list[str] = []
    now = mesh.clock.now()
    mesh.clock.call_at(now + 1, lambda: ran.append("inside"))
    mesh.clock.call_at(now + 2, lambda: ran.append("at the end"))
    assert mesh.clock.run_due(now + 2, strictly_before=True) == 1 and ran == ["inside"]
    assert mesh.clock.run_due(now + 2) == 1 and ran == ["inside", "at the end"]
