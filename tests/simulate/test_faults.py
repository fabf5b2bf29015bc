"""The fault model on a mesh in virtual time: each kind on its resource, windows, overlaps."""

from __future__ import annotations

import json

import pytest

from eventmesh.clock import VIRTUAL_EPOCH as T0
from eventmesh.effects import Delivery
from eventmesh.services.kinesis.service import create_stream
from eventmesh.services.kinesis.stream import PutRecordsRequestEntry
from eventmesh.services.lambda_ import create_function
from eventmesh.services.lambda_.errors import TooManyRequestsException
from eventmesh.services.sqs.errors import ServiceUnavailable
from eventmesh.services.sqs.message import SendEntry
from eventmesh.services.sqs.service import create_queue
from eventmesh.simulate.faults import INJECTED_ERROR_TYPE, Fault, FaultBoard, FaultError, parse_fault
from eventmesh.testing import virtual_mesh
from tests.simulate.helpers import ROLE


def _function(mesh, handler="model:duration=100ms", **kwargs):
    return create_function(mesh, "f", role=ROLE, handler=handler, **kwargs)


def _invoke(fn, n=1):
    results = []
    for _ in range(n):
        fn.invoke(b"{}", on_done=results.append)
    return results


def test_errors_fail_that_share_of_invocations_only_inside_the_window():
    mesh, driver = virtual_mesh(seed=3)
    fn = _function(mesh)
    mesh.state(FaultBoard).add(parse_fault({"kind": "errors", "target": "f", "rate": 0.5, "at": 10,
                                            "duration": 10}))
    before = _invoke(fn, 400)
    driver.advance(11)
    during = _invoke(fn, 400)
    driver.advance(10)
    after = _invoke(fn, 400)
    driver.advance(1)
    assert all(r.function_error is None for r in before + after)
    failed = [r for r in during if r.function_error == "Unhandled"]
    assert 150 < len(failed) < 250
    assert json.loads(failed[0].payload)["errorType"] == INJECTED_ERROR_TYPE
    assert fn.statistics().errors == len(failed)


def test_latency_holds_concurrency_longer_and_timeouts_end_at_the_function_timeout():
    mesh, driver = virtual_mesh()
    fn = _function(mesh, timeout=2)
    board = mesh.state(FaultBoard)
    latency = board.add(parse_fault({"kind": "latency", "target": "f", "latency": "300ms"}))
    results = _invoke(fn)
    driver.advance(0.39)
    assert results == [] and fn.statistics().concurrent_executions == 1
    driver.advance(0.02)
    assert round(results[0].duration_s, 6) == 0.4 and results[0].function_error is None
    assert fn.statistics().concurrent_executions == 0
    board.remove(latency.id)
    board.add(parse_fault({"kind": "timeouts", "target": "arn:aws:lambda:us-east-1:000000000000:function:f"}))
    started = mesh.clock.now()
    ended: list[float] = []
    timed_out = _invoke(fn)
    fn.invoke(b"{}", on_done=lambda r: ended.append(mesh.clock.now()))
    driver.advance(1.99)
    assert timed_out == []
    driver.advance(0.02)
    assert timed_out[0].error_type == "Sandbox.Timedout" and timed_out[0].duration_s == 2
    assert ended == [pytest.approx(started + 2)]


def test_throttles_refuse_invocations_as_lambda_does():
    mesh, driver = virtual_mesh()
    fn = _function(mesh)
    mesh.state(FaultBoard).add(parse_fault({"kind": "throttles", "target": "f", "duration": "5s"}))
    with pytest.raises(TooManyRequestsException):
        fn.invoke(b"{}", on_done=lambda r: None)
    assert fn.statistics().throttles == 1
    driver.advance(5)
    assert len(_invoke(fn)) == 0 and fn.statistics().concurrent_executions == 1


def test_an_unavailable_queue_answers_503_and_recovers():
    mesh, driver = virtual_mesh()
    queue = create_queue(mesh, "q")
    mesh.state(FaultBoard).add(parse_fault({"kind": "unavailable", "target": "q", "at": 1, "duration": 2}))
    queue.send(SendEntry("before"))
    driver.advance(1)
    with pytest.raises(ServiceUnavailable):
        queue.send(SendEntry("during"))
    with pytest.raises(ServiceUnavailable):
        queue.receive(1)
    assert mesh.deliver_now(queue.arn, [Delivery("x")]).retryable
    driver.advance(2)
    assert [m.body for m in queue.receive(10)] == ["before"]
    assert queue.statistics().number_of_messages_sent == 1


def test_a_lowered_shard_write_limit_throttles_until_it_ends():
    mesh, driver = virtual_mesh()
    stream = create_stream(mesh, "s", 2)
    mesh.state(FaultBoard).add(parse_fault({"kind": "shard_write_limit", "target": "s", "records_per_second": 10,
                                            "duration": "1s"}))
    entries = [PutRecordsRequestEntry(b"x", f"k{i}") for i in range(100)]
    assert stream.put_records(entries).failed_record_count == 80
    driver.advance(1)
    assert stream.put_records(entries).failed_record_count == 0


def test_overlapping_outages_end_with_the_last():
    mesh, driver = virtual_mesh()
    queue = create_queue(mesh, "q")
    board = mesh.state(FaultBoard)
    board.add(Fault(kind="unavailable", target="q", duration=5))
    board.add(Fault(kind="unavailable", target="q", at=2, duration=5))
    driver.advance(5)
    assert queue.unavailable
    driver.advance(2)
    assert not queue.unavailable
    assert [(f.kind, round(s - T0), round(e - T0)) for f, s, e in board.windows(T0 + 10)] == [
        ("unavailable", 0, 5), ("unavailable", 2, 7)]


def test_faults_name_their_problems_by_key():
    with pytest.raises(FaultError) as bad:
        parse_fault({"kind": "errors", "rate": 2, "color": "red"}, "faults[0]")
    assert bad.value.problems == [
        "faults[0].color: not a parameter of a errors fault (takes at, duration, kind, rate, target)",
        "faults[0].target: required (a resource name or ARN)",
        "faults[0].rate: must be a number from 0 to 1"]
    with pytest.raises(FaultError, match="kind: must be one of"):
        parse_fault({"kind": "meteor"})
    mesh, _ = virtual_mesh()
    with pytest.raises(FaultError, match="no function nope"):
        mesh.state(FaultBoard).add(Fault(kind="errors", target="nope"))


def test_an_endpoint_that_is_down_is_retried_by_sns_and_its_notifications_dead_lettered():
    from eventmesh.services.sns.service import create_topic

    mesh, driver = virtual_mesh()
    create_queue(mesh, "dlq")
    topic = create_topic(mesh, "t")
    sub = topic.subscriptions.subscribe("https", "https://hooks.example/x")
    topic.subscriptions.confirm(sub.token)
    sub.redrive_policy = '{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq"}'
    sub.dlq_arn = "arn:aws:sqs:us-east-1:000000000000:dlq"
    answered: list[str] = []
    from eventmesh.effects import HttpRequest, HttpResponse

    mesh.flush()   # the SubscriptionConfirmation request, before anyone listens
    mesh.subscribe(HttpRequest, lambda r: (answered.append(r.url), mesh.reply(r.reply_to, HttpResponse(200))))
    mesh.state(FaultBoard).add(parse_fault({"kind": "unavailable", "target": "https://hooks.example/x",
                                            "duration": "5m"}))
    from eventmesh.services.sns.topic import PublishEntry

    topic.publish(PublishEntry(message="lost"))
    driver.advance(120)   # the default HTTP policy: 3 retries, 20 s apart, then the DLQ
    assert answered == [] and topic.statistics().number_of_notifications_failed == 1
    assert topic.statistics().number_of_notifications_redriven_to_dlq == 1
    driver.advance(300)
    topic.publish(PublishEntry(message="delivered"))
    mesh.flush()
    assert answered == ["https://hooks.example/x"]


def test_an_api_destination_that_is_down_is_retried_by_eventbridge():
    from eventmesh.effects import HttpRequest, HttpResponse
    from eventmesh.services.events.api_destinations import ApiDestination, Connection
    from eventmesh.services.events.records import PutEventsRequestEntry
    from eventmesh.services.events.service import default_bus, put_events

    mesh, driver = virtual_mesh()
    connection = mesh.add(Connection(mesh.arn("events", "connection/c"), "c", {"AuthorizationType": "API_KEY"},
                                     0.0))
    destination = mesh.add(ApiDestination(mesh.arn("events", "api-destination/d"), "d", {
        "ConnectionArn": connection.arn, "InvocationEndpoint": "https://api.example/in", "HttpMethod": "POST"}, 0.0))
    bus = default_bus(mesh)
    bus.put_rule("r", event_pattern='{"source": ["app"]}')
    bus.put_targets("r", [{"Id": "d", "Arn": destination.arn}])
    calls: list[float] = []
    mesh.subscribe(HttpRequest, lambda r: (calls.append(mesh.clock.now()), mesh.reply(r.reply_to, HttpResponse(200))))
    mesh.state(FaultBoard).add(parse_fault({"kind": "unavailable", "target": destination.arn, "duration": "30s"}))
    put_events(mesh, [PutEventsRequestEntry(source="app", detail_type="x", detail="{}")])
    driver.advance(29)
    assert calls == [] and bus.rules["r"].counters.retrying == 1
    driver.advance(600)
    assert len(calls) == 1 and calls[0] >= T0 + 30
    assert bus.rules["r"].statistics().invocations == 1 and bus.rules["r"].counters.retrying == 0
