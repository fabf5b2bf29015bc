"""Rule targets that fail: retries with back-off, maximum event age, the rule DLQ, API destinations."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventmesh.clock import VIRTUAL_EPOCH
from eventmesh.effects import DeliveryResult, HttpRequest, HttpResponse, Outcome
from eventmesh.services.events.api_destinations import ApiDestination, Connection, http_result
from eventmesh.services.events.errors import ValidationException
from eventmesh.services.events.records import PutEventsRequestEntry
from eventmesh.services.events.service import default_bus, put_events
from eventmesh.services.events.targets import RETRY_MAX_DELAY_S, dlq_error_code
from eventmesh.testing import virtual_mesh
from tests.services.events.helpers import ACCOUNT, REGION, recorder, sqs_arn

pytestmark = pytest.mark.usefixtures("events_engine")  # the bus's Python loop and its C twin

PATTERN = json.dumps({"source": ["my.app"]})
THROTTLED = DeliveryResult(Outcome.THROTTLED, "ThrottlingException", "Rate exceeded")


def entry(n: int = 1) -> PutEventsRequestEntry:
    return PutEventsRequestEntry(source="my.app", detail_type="T", detail=json.dumps({"n": n}))


def setup(target: dict[str, Any], *results: DeliveryResult) -> Any:
    mesh, driver = virtual_mesh()
    bus = default_bus(mesh)
    queue = recorder(mesh, sqs_arn("target"), *results)
    dlq = recorder(mesh, sqs_arn("dlq"))
    bus.put_rule("r1", event_pattern=PATTERN)
    bus.put_targets("r1", [{"Id": "t1", "Arn": queue.arn, "DeadLetterConfig": {"Arn": dlq.arn}, **target}])
    return mesh, driver, bus, queue, dlq


def strings(attributes: dict[str, Any]) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in attributes.items()}


def test_failing_target_lands_in_the_rule_dlq_with_its_attributes() -> None:
    mesh, driver, bus, queue, dlq = setup({"RetryPolicy": {"MaximumRetryAttempts": 2}},
                                          THROTTLED, THROTTLED, THROTTLED)
    response = put_events(mesh, [entry()])
    driver.run_until_idle()
    assert len(queue.batches) == 3  # the first try and two retries
    gaps = [b[0] - a[0] for a, b in zip(queue.batches, queue.batches[1:], strict=False)]
    assert 0.5 <= gaps[0] <= 1.0 and 1.0 <= gaps[1] <= 2.0  # exponential back-off with jitter
    rule = bus.rules["r1"]
    (item,) = dlq.items
    assert json.loads(item.body)["id"] == response.entries[0].event_id
    assert strings(item.attributes) == {
        "RULE_ARN": rule.arn, "TARGET_ARN": queue.arn, "ERROR_CODE": "THROTTLING",
        "ERROR_MESSAGE": "Rate exceeded",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts", "RETRY_ATTEMPTS": "2"}
    assert all(v["DataType"] == "String" for v in item.attributes.values())
    stats = rule.statistics()
    assert (stats.invocations, stats.failed_invocations, stats.invocations_sent_to_dlq) == (0, 0, 1)


def test_missing_target_is_not_retried() -> None:
    mesh, driver = virtual_mesh()
    bus = default_bus(mesh)
    dlq = recorder(mesh, sqs_arn("dlq"))
    bus.put_rule("r1", event_pattern=PATTERN)
    missing = sqs_arn("gone")
    bus.put_targets("r1", [{"Id": "t1", "Arn": missing, "DeadLetterConfig": {"Arn": dlq.arn}}])
    put_events(mesh, [entry()])
    driver.run_until_idle()
    (item,) = dlq.items
    attributes = strings(item.attributes)
    assert (attributes["ERROR_CODE"], attributes["RETRY_ATTEMPTS"]) == ("NO_RESOURCE", "0")
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes
    assert dlq.batches[0][0] == VIRTUAL_EPOCH


def test_maximum_event_age_ends_the_retries() -> None:
    always = [THROTTLED] * 100
    mesh, driver, bus, queue, dlq = setup({"RetryPolicy": {"MaximumEventAgeInSeconds": 60}}, *always)
    put_events(mesh, [entry()])
    driver.run_until_idle()
    assert 5 <= len(queue.batches) <= 8
    assert queue.batches[-1][0] - VIRTUAL_EPOCH <= 60
    assert strings(dlq.items[0].attributes)["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"


def test_default_policy_retries_185_times_within_a_day() -> None:
    mesh, driver, bus, queue, dlq = setup({}, *([THROTTLED] * 200))
    put_events(mesh, [entry()])
    driver.run_until_idle()
    assert len(queue.batches) == 186
    assert queue.batches[-1][0] - VIRTUAL_EPOCH < 86_400
    gaps = [b[0] - a[0] for a, b in zip(queue.batches, queue.batches[1:], strict=False)]
    assert max(gaps) <= RETRY_MAX_DELAY_S
    assert strings(dlq.items[0].attributes)["RETRY_ATTEMPTS"] == "185"


def test_a_retry_that_succeeds_is_one_invocation() -> None:
    mesh, driver, bus, queue, dlq = setup({}, THROTTLED)
    put_events(mesh, [entry(1), entry(2)])
    driver.run_until_idle()
    assert len(queue.batches) == 2 and len(queue.batches[1][1]) == 2  # the batch retries whole
    assert dlq.items == []
    assert bus.rules["r1"].statistics().invocations == 2
    latency = bus.statistics().ingestion_to_invocation_start_latency
    assert sum(latency.counts) == 2 and latency.sum == 0.0   # one sample per event, at its first attempt


def test_without_a_dlq_a_failed_invocation_is_counted() -> None:
    mesh, driver = virtual_mesh()
    bus = default_bus(mesh)
    bus.put_rule("r1", event_pattern=PATTERN)
    bus.put_targets("r1", [{"Id": "t1", "Arn": sqs_arn("gone"), "RetryPolicy": {"MaximumRetryAttempts": 0}}])
    put_events(mesh, [entry()])
    driver.run_until_idle()
    stats = bus.rules["r1"].statistics()
    assert (stats.invocations, stats.failed_invocations, stats.invocations_sent_to_dlq) == (1, 1, 0)


@pytest.mark.parametrize("target", [
    {"RetryPolicy": {"MaximumRetryAttempts": 186}},
    {"RetryPolicy": {"MaximumEventAgeInSeconds": 59}},
    {"DeadLetterConfig": {"Arn": sqs_arn("dlq.fifo")}},
    {"DeadLetterConfig": {"Arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:topic"}},
])
def test_invalid_retry_settings_are_rejected(target: dict[str, Any]) -> None:
    mesh, _ = virtual_mesh()
    bus = default_bus(mesh)
    bus.put_rule("r1", event_pattern=PATTERN)
    with pytest.raises(ValidationException):
        bus.put_targets("r1", [{"Id": "t1", "Arn": sqs_arn("q"), **target}])


@pytest.mark.parametrize(("kind", "code"), [
    (Outcome.MISSING, "NO_RESOURCE"), (Outcome.DENIED, "NO_PERMISSIONS"), (Outcome.INVALID, "INVALID_PARAMETER"),
    (Outcome.THROTTLED, "THROTTLING"), (Outcome.FAILED, "SDK_CLIENT_ERROR"), (Outcome.TIMEOUT, "TIMEOUT")])
def test_dlq_error_codes_follow_how_the_delivery_failed(kind: Outcome, code: str) -> None:
    assert dlq_error_code(DeliveryResult(kind, "AnyServiceCode", "m")) == code


def test_each_service_error_family_tells_its_sender_how_the_delivery_failed() -> None:
    from eventmesh.services.lambda_.errors import TooManyRequestsException
    from eventmesh.services.sqs.errors import AccessDeniedException, InvalidMessageContents, QueueDoesNotExist

    assert QueueDoesNotExist().delivery_result().kind is Outcome.MISSING
    assert AccessDeniedException("no").delivery_result().kind is Outcome.DENIED
    assert TooManyRequestsException("slow down").delivery_result().kind is Outcome.THROTTLED
    assert InvalidMessageContents("bad").delivery_result().kind is Outcome.INVALID


def api_destination_setup() -> Any:
    mesh, driver = virtual_mesh()
    bus = default_bus(mesh)
    now = mesh.clock.now()
    conn_arn = mesh.arn("events", "connection/c/1")
    mesh.add(Connection(conn_arn, "c", {"AuthorizationType": "API_KEY", "AuthParameters": {
        "ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "secret"}}}, now))
    dest_arn = mesh.arn("events", "api-destination/d/2")
    mesh.add(ApiDestination(dest_arn, "d", {"ConnectionArn": conn_arn, "HttpMethod": "POST",
                                            "InvocationEndpoint": "http://127.0.0.1:9/hooks/*"}, now))
    dlq = recorder(mesh, sqs_arn("dlq"))
    bus.put_rule("r1", event_pattern=PATTERN)
    bus.put_targets("r1", [{"Id": "h", "Arn": dest_arn, "DeadLetterConfig": {"Arn": dlq.arn},
                            "RetryPolicy": {"MaximumRetryAttempts": 1},
                            "HttpParameters": {"PathParameterValues": ["orders"],
                                               "QueryStringParameters": {"a": "1"},
                                               "HeaderParameters": {"x-extra": "y"}},
                            "InputPath": "$.detail"}])
    return mesh, driver, bus, dlq


def test_api_destination_calls_go_one_event_per_request() -> None:
    mesh, driver, bus, dlq = api_destination_setup()
    calls: list[HttpRequest] = []

    def endpoint(call: HttpRequest) -> None:
        calls.append(call)
        mesh.reply(call.reply_to, HttpResponse(200))

    mesh.subscribe(HttpRequest, endpoint)
    put_events(mesh, [entry(1), entry(2)])
    driver.run_until_idle()
    assert [(c.method, c.url, c.body) for c in calls] == [
        ("POST", "http://127.0.0.1:9/hooks/orders?a=1", '{"n":1}'),
        ("POST", "http://127.0.0.1:9/hooks/orders?a=1", '{"n":2}')]
    assert calls[0].headers == {"Content-Type": "application/json; charset=utf-8", "x-key": "secret",
                                "x-extra": "y"}
    assert bus.rules["r1"].statistics().invocations == 2


def test_api_destination_server_errors_are_retried_then_dead_lettered() -> None:
    mesh, driver, bus, dlq = api_destination_setup()
    statuses: list[int] = []

    def endpoint(call: HttpRequest) -> None:
        statuses.append(503)
        mesh.reply(call.reply_to, HttpResponse(503))

    mesh.subscribe(HttpRequest, endpoint)
    put_events(mesh, [entry()])
    driver.run_until_idle()
    assert statuses == [503, 503]
    assert strings(dlq.items[0].attributes)["ERROR_CODE"] == "SDK_CLIENT_ERROR"


@pytest.mark.parametrize(("response", "kind"), [
    (HttpResponse(204), Outcome.DELIVERED), (HttpResponse(404), Outcome.MISSING), (HttpResponse(403), Outcome.DENIED),
    (HttpResponse(400), Outcome.INVALID), (HttpResponse(429), Outcome.THROTTLED), (HttpResponse(409), Outcome.FAILED),
    (HttpResponse(502), Outcome.FAILED), (HttpResponse(None, "timeout"), Outcome.TIMEOUT),
    (HttpResponse(None, "ConnectionRefusedError"), Outcome.FAILED)])
def test_api_destination_answers_are_read_as_eventbridge_reads_them(response: HttpResponse, kind: Outcome) -> None:
    assert http_result(response).kind is kind


def test_real_sqs_queues_as_target_and_rule_dlq() -> None:
    from eventmesh.services.sqs.service import create_queue, delete_queue

    mesh, driver = virtual_mesh()
    bus = default_bus(mesh)
    target = create_queue(mesh, "orders")
    fifo = create_queue(mesh, "orders.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    dlq = create_queue(mesh, "rule-dlq")
    bus.put_rule("r1", event_pattern=PATTERN)
    bus.put_targets("r1", [
        {"Id": "q", "Arn": target.arn, "DeadLetterConfig": {"Arn": dlq.arn}},
        {"Id": "f", "Arn": fifo.arn, "SqsParameters": {"MessageGroupId": "g"}}])
    put_events(mesh, [entry(1)])
    driver.advance(1)  # not run_until_idle: the queues would reach their retention period
    assert [json.loads(m.body)["detail"] for m in target.receive(10)] == [{"n": 1}]
    (in_fifo,) = fifo.receive(10)
    assert in_fifo.group_id == "g"
    delete_queue(mesh, target)
    put_events(mesh, [entry(2)])
    driver.advance(1)  # not run_until_idle: the queues would reach their retention period
    (dead,) = dlq.receive(10)
    assert json.loads(dead.body)["detail"] == {"n": 2}
    assert dead.attributes is not None
    assert strings(dead.attributes)["ERROR_CODE"] == "NO_RESOURCE"
    assert strings(dead.attributes)["TARGET_ARN"] == target.arn
