"""Links: deliveries to resources another partition owns travel as frames, answers come back."""

from __future__ import annotations

from eventmesh.clock import VirtualClock
from eventmesh.effects import Deliver, Delivery, HandlerOutcome, InvocationJob, Outcome, RunInvocation
from eventmesh.latency import LatencyModel
from eventmesh.mesh import Mesh
from eventmesh.partition import Link, Ownership, decode_frame
from eventmesh.services import adapters
from eventmesh.services.events.service import find_bus
from eventmesh.services.sqs.queue import Queue
from eventmesh.wire.router import Api

QUEUE = "arn:aws:sqs:us-east-1:000000000000:orders"
BUS = "arn:aws:events:us-east-1:000000000000:event-bus/shop"
RULE = "arn:aws:events:us-east-1:000000000000:rule/shop/all"


def _partition(partition: int, ownership: Ownership, latency: LatencyModel | None = None) -> tuple[Mesh, Api, Link]:
    mesh = Mesh(VirtualClock(), seed=1)
    mesh.set_latency(latency)
    api = Api(mesh, adapters())
    return mesh, api, Link(mesh, ownership, partition).install()


def _bus_with_rule(api: Api) -> None:
    api.call("events", "CreateEventBus", {"Name": "shop"})
    api.call("events", "PutRule", {"Name": "all", "EventBusName": "shop", "EventPattern": '{"source": ["shop"]}'})
    api.call("events", "PutTargets", {"Rule": "all", "EventBusName": "shop", "Targets": [{"Id": "q", "Arn": QUEUE}]})


def _put(api: Api, n: int = 1) -> None:
    api.call("events", "PutEvents", {"Entries": [
        {"Source": "shop", "DetailType": "Order", "Detail": f'{{"n": {i}}}', "EventBusName": "shop"}
        for i in range(n)]})


def _ownership() -> Ownership:
    return Ownership(2, assignments={BUS: 0, QUEUE: 1})


def test_a_rule_in_one_partition_delivers_to_a_queue_in_another_and_hears_back() -> None:
    ownership = _ownership()
    a, api_a, link_a = _partition(0, ownership)
    b, api_b, link_b = _partition(1, ownership)
    _bus_with_rule(api_a)
    api_b.call("sqs", "CreateQueue", {"QueueName": "orders"})
    _put(api_a, 3)
    rule = find_bus(a, "shop").rules["all"]     # type: ignore[union-attr]
    assert rule.counters.invocations == 0 and a.waiting_replies() == 1
    frames = link_a.frames()
    assert list(frames) == [1] and not link_a.pending()
    assert link_b.receive(frames[1]) == 1        # one Deliver: the rule's batch of three
    queue = b.get(QUEUE, Queue)
    assert queue.counts()[0] == 3
    answers = link_b.frames()
    assert list(answers) == [0]
    link_a.receive(answers[0])
    assert rule.counters.invocations == 3 and a.waiting_replies() == 0
    assert link_a.statistics().items_sent == 1 and link_a.statistics().items_received == 1


def test_timed_deliveries_take_effect_at_their_virtual_time_as_in_one_process() -> None:
    latency = LatencyModel.aws_defaults()
    ownership = _ownership()
    a, api_a, link_a = _partition(0, ownership, latency)
    b, api_b, link_b = _partition(1, ownership, latency)
    _bus_with_rule(api_a)
    api_b.call("sqs", "CreateQueue", {"QueueName": "orders"})
    start = a.clock.now()
    _put(api_a)
    frame = link_a.frames()[1]
    (carry,) = decode_frame(frame).items
    assert carry.when == start + 0.13     # type: ignore[union-attr]
    link_b.receive(frame)
    queue = b.get(QUEUE, Queue)
    assert queue.counts()[0] == 0          # not before its time
    b.clock.run_due(start + 0.13)          # type: ignore[attr-defined]
    assert queue.counts()[0] == 1
    (answer,) = decode_frame(link_b.frames()[0]).items
    assert answer.when == start + 0.13 + 0.13     # type: ignore[union-attr]

    # One process, the same model: the message lands at +0.13, the rule hears at +0.26.
    one = Mesh(VirtualClock(), seed=1)
    one.set_latency(latency)
    api = Api(one, adapters())
    _bus_with_rule(api)
    api.call("sqs", "CreateQueue", {"QueueName": "orders"})
    _put(api)
    rule = find_bus(one, "shop").rules["all"]     # type: ignore[union-attr]
    one.clock.run_due(start + 0.13)       # type: ignore[attr-defined]
    assert one.get(QUEUE, Queue).counts()[0] == 1 and rule.counters.invocations == 0
    one.clock.run_due(start + 0.13 + 0.13)       # type: ignore[attr-defined]
    assert rule.counters.invocations == 1


def test_a_missing_target_is_answered_by_its_owner() -> None:
    ownership = _ownership()
    a, _, link_a = _partition(0, ownership)
    b, _, link_b = _partition(1, ownership)
    answers: list[object] = []
    mine = "arn:aws:sqs:us-east-1:000000000000:not-made"
    ownership.assign(mine, 0)
    a.emit(Deliver(mine, [Delivery("x")], BUS, a.expect(answers.append)))
    a.emit(Deliver(QUEUE, [Delivery("y")], BUS, a.expect(answers.append)))
    a.flush()
    assert [r.kind for r in answers] == [Outcome.MISSING]     # type: ignore[attr-defined]
    link_b.receive(link_a.frames()[1])
    link_a.receive(link_b.frames()[0])
    assert [r.kind for r in answers] == [Outcome.MISSING, Outcome.MISSING]     # type: ignore[attr-defined]


def test_other_effects_are_forwarded_and_answered() -> None:
    ownership = _ownership()
    a, _, link_a = _partition(0, ownership)
    b, _, link_b = _partition(1, ownership)
    ran: list[RunInvocation] = []

    def run(effect: RunInvocation) -> None:
        ran.append(effect)
        b.reply(effect.reply_to, HandlerOutcome(b'"done"', duration_s=0.25))

    b.subscribe(RunInvocation, run)
    outcomes: list[HandlerOutcome] = []
    job = InvocationJob("python", "m:f", b"{}", "req-1", "f", "$LATEST",
                        "arn:aws:lambda:us-east-1:000000000000:function:f", 128, 3.0, "us-east-1", "000000000000")
    link_a.forward(1, RunInvocation(job, None, a.expect(outcomes.append)))
    link_b.receive(link_a.frames()[1])
    assert ran[0].job.request_id == "req-1" and ran[0].reply_to != 0
    link_a.receive(link_b.frames()[0])
    assert outcomes == [HandlerOutcome(b'"done"', duration_s=0.25)]
