"""Asynchronous invocation: retries, event age look-ahead, throttles, destinations, DLQ."""

from __future__ import annotations

import json

import pytest

from eventmesh.clock import VIRTUAL_EPOCH as T0
from eventmesh.effects import Delivery, DeliveryResult, Outcome
from eventmesh.services.lambda_.errors import TooManyRequestsException
from eventmesh.services.lambda_.service import put_concurrency, put_invoke_config
from tests.services.lambda_.fnhelpers import DLQ_ARN, QUEUE_ARN, invoke_sync, model_function, on_failure, target

FAILING = "model:duration=0.5,error_rate=1"
FN_ARN = "arn:aws:lambda:us-east-1:000000000000:function:f"


def _error(request_id):
    return {"errorMessage": "Simulated function error", "errorType": "ModelError",
            "requestId": request_id, "stackTrace": []}


def test_event_invocation_is_accepted_with_202_and_runs(vmesh, driver):
    fn = model_function(vmesh)
    result = fn.invoke(b'{"a": 1}', invocation_type="Event", request_id="req-1")
    assert (result.status, result.payload, result.request_id) == (202, b"", "req-1")
    driver.run_until_idle()
    stats = fn.statistics()
    assert (stats.async_events_received, stats.invocations, stats.async_events_dropped) == (1, 1, 0)
    assert sum(stats.async_event_age.counts) == 1 and stats.async_event_age.sum == 0.0


def test_dry_run_only_checks(vmesh, driver):
    fn = model_function(vmesh)
    assert fn.invoke(b"{}", invocation_type="DryRun").status == 204
    driver.run_until_idle()
    assert fn.statistics().invocations == 0


def test_function_errors_retry_after_one_then_two_minutes_then_record(vmesh, driver):
    fn = model_function(vmesh, handler=FAILING)
    dest = target(vmesh)
    on_failure(fn)
    fn.invoke(b'{"order": 1}', invocation_type="Event", request_id="req-1")
    driver.advance(60.4)
    assert fn.statistics().invocations == 1
    driver.advance(0.2)
    assert fn.statistics().concurrent_executions == 1   # retry 1 started at 0.5 + 60
    driver.advance(0.5)
    assert fn.statistics().invocations == 2
    driver.advance(120.0)
    assert fn.statistics().concurrent_executions == 1   # retry 2 started at 61.0 + 120
    driver.advance(0.5)
    assert fn.statistics().invocations == 3
    assert dest.times == [T0 + 181.5]
    expected = {
        "version": "1.0",
        "timestamp": "2023-11-14T22:16:21.500Z",
        "requestContext": {"requestId": "req-1", "functionArn": f"{FN_ARN}:$LATEST",
                           "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": {"order": 1},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": _error("req-1"),
    }
    assert dest.items[0].body == json.dumps(expected, separators=(",", ":"))
    stats = fn.statistics()
    assert (stats.errors, stats.async_events_dropped, stats.throttles) == (3, 1, 0)


def test_maximum_retry_attempts_zero_gives_up_after_one_run(vmesh, driver):
    fn = model_function(vmesh, handler=FAILING)
    dest = target(vmesh)
    on_failure(fn, max_retry_attempts=0)
    fn.invoke(b"{}", invocation_type="Event")
    driver.run_until_idle()
    assert dest.bodies()[0]["requestContext"]["approximateInvokeCount"] == 1
    assert dest.bodies()[0]["requestContext"]["condition"] == "RetriesExhausted"
    assert dest.times == [T0 + 0.5]


def test_event_age_lookahead_gives_up_before_a_retry_past_60s(vmesh, driver):
    fn = model_function(vmesh, handler=FAILING)
    dest = target(vmesh)
    on_failure(fn, max_event_age_s=60)
    fn.invoke(b"{}", invocation_type="Event", request_id="r")
    driver.run_until_idle()
    record = dest.bodies()[0]
    assert dest.times == [T0 + 0.5]
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                         "functionError": "Unhandled"}
    assert record["responsePayload"] == _error("r")


def test_event_age_lookahead_after_one_retry_at_90s(vmesh, driver):
    fn = model_function(vmesh, handler=FAILING)
    dest = target(vmesh)
    on_failure(fn, max_event_age_s=90)
    fn.invoke(b"{}", invocation_type="Event")
    driver.run_until_idle()
    assert dest.times == [T0 + 61.0]
    context = dest.bodies()[0]["requestContext"]
    assert (context["condition"], context["approximateInvokeCount"]) == ("EventAgeExceeded", 2)


def test_throttled_events_back_off_1_2_4_8_seconds_without_using_retries(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=10", timeout=60)
    put_concurrency(fn, 1)
    fn.invoke(b"{}", invocation_type="Event")
    fn.invoke(b"{}", invocation_type="Event")
    driver.advance(14.9)
    # throttled at 0, 1, 3, 7; the retry at 15 finds the capacity free since 10
    assert (fn.statistics().invocations, fn.statistics().concurrent_executions) == (1, 0)
    assert fn.statistics().throttles == 4
    driver.advance(0.2)
    assert fn.statistics().concurrent_executions == 1
    driver.run_until_idle()
    stats = fn.statistics()
    assert (stats.throttles, stats.invocations, stats.async_events_dropped) == (4, 2, 0)
    assert stats.async_event_age.sum == 15.0


def test_six_hours_of_throttles_and_event_age_play_out_in_virtual_time(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=900", timeout=900)
    put_concurrency(fn, 1)
    dest = target(vmesh)
    on_failure(fn)
    fn.accept([Delivery(json.dumps({"n": i})) for i in range(100)], "arn:aws:sns:us-east-1:000000000000:t")
    driver.advance(6 * 3600 + 3600)
    stats = fn.statistics()
    # One event runs at once; the others retry on the same back-off schedule (…, 511, 811, 1111 …)
    # and one of them starts each time the running one finishes (1111, 2011, … 20911).
    assert stats.invocations == 24
    assert stats.async_events_dropped == 76
    assert len(dest.items) == 76 and set(dest.times) == {T0 + 21_511}
    record = dest.bodies()[0]
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in record and "responsePayload" not in record
    assert stats.concurrent_executions == 0 and stats.async_queue_depth == 0
    assert vmesh.clock.now() == T0 + 7 * 3600 and vmesh.clock.pending() == 0


def test_reserved_concurrency_zero_fails_events_at_once_to_destination_and_dlq(vmesh, driver):
    fn = model_function(vmesh, dead_letter_arn=DLQ_ARN)
    put_concurrency(fn, 0)
    dest = target(vmesh)
    dlq = target(vmesh, DLQ_ARN)
    on_failure(fn)
    fn.invoke(b'{"k": "v"}', invocation_type="Event", request_id="req-0")
    driver.advance(0)
    assert dest.times == [T0] and dlq.times == [T0]
    assert json.loads(dest.items[0].body) == {
        "version": "1.0", "timestamp": "2023-11-14T22:13:20.000Z",
        "requestContext": {"requestId": "req-0", "functionArn": f"{FN_ARN}:$LATEST",
                           "condition": "ZeroReservedConcurrency", "approximateInvokeCount": 0},
        "requestPayload": {"k": "v"}}
    assert dlq.items[0].body == '{"k": "v"}'
    assert dlq.items[0].attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "429"}
    stats = fn.statistics()
    assert (stats.invocations, stats.async_events_dropped, stats.throttles) == (0, 1, 1)


def test_dlq_message_is_the_original_event_with_error_attributes(vmesh, driver):
    fn = model_function(vmesh, handler=FAILING, dead_letter_arn=DLQ_ARN)
    dlq = target(vmesh, DLQ_ARN)
    fn.invoke(b'{"original": true}', invocation_type="Event", request_id="req-9")
    driver.run_until_idle()
    assert dlq.times == [T0 + 181.5]
    assert dlq.items[0].body == '{"original": true}'
    assert dlq.items[0].attributes == {
        "RequestID": {"DataType": "String", "StringValue": "req-9"},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {"DataType": "String", "StringValue": "Simulated function error"},
    }


def test_timeout_error_message_reaches_the_dlq(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=5", timeout=1, dead_letter_arn=DLQ_ARN)
    dlq = target(vmesh, DLQ_ARN)
    put_invoke_config(fn, None, max_retry_attempts=0)
    fn.invoke(b"{}", invocation_type="Event", request_id="rid")
    driver.run_until_idle()
    assert dlq.items[0].attributes["ErrorMessage"]["StringValue"] == (
        "RequestId: rid Error: Task timed out after 1.00 seconds")


def test_success_destination_gets_the_success_record(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=0.25")
    dest = target(vmesh)
    put_invoke_config(fn, None, destination_config={"OnSuccess": {"Destination": QUEUE_ARN}})
    fn.invoke(b'[1, 2]', invocation_type="Event", request_id="ok-1")
    driver.run_until_idle()
    assert dest.items[0].body == json.dumps({
        "version": "1.0", "timestamp": "2023-11-14T22:13:20.250Z",
        "requestContext": {"requestId": "ok-1", "functionArn": f"{FN_ARN}:$LATEST",
                           "condition": "Success", "approximateInvokeCount": 1},
        "requestPayload": [1, 2],
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "responsePayload": None}, separators=(",", ":"))


def test_eventbridge_destination_gets_the_envelope(vmesh, driver):
    from eventmesh.services.events.service import default_bus

    bus = default_bus(vmesh).arn
    default_bus(vmesh).put_rule("results", event_pattern='{"source": ["lambda"]}')
    queue = target(vmesh, "arn:aws:sqs:us-east-1:000000000000:results")
    default_bus(vmesh).put_targets("results", [{"Id": "q", "Arn": queue.arn}])
    fn = model_function(vmesh)
    put_invoke_config(fn, None, destination_config={"OnSuccess": {"Destination": bus}})
    fn.invoke(b"{}", invocation_type="Event", request_id="e")
    driver.advance(1)
    envelope = queue.bodies()[0]
    assert envelope["detail-type"] == "Lambda Function Invocation Result - Success"
    assert envelope["source"] == "lambda"
    assert (envelope["account"], envelope["region"]) == ("000000000000", "us-east-1")
    assert envelope["resources"] == [bus, f"{FN_ARN}:$LATEST"]
    assert envelope["time"] == "2023-11-14T22:13:20Z"
    assert envelope["detail"]["requestContext"]["condition"] == "Success"


def test_lambda_destination_invokes_the_function_with_the_record(vmesh, driver):
    fn = model_function(vmesh, handler=FAILING)
    other = model_function(vmesh, "g")
    on_failure(fn, other.arn, max_retry_attempts=0)
    fn.invoke(b"{}", invocation_type="Event")
    driver.run_until_idle()
    assert other.statistics().async_events_received == 1 and other.statistics().invocations == 1


def test_destination_created_later_still_gets_the_record(vmesh, driver):
    fn = model_function(vmesh, handler=FAILING)
    on_failure(fn, max_retry_attempts=0)
    fn.invoke(b"{}", invocation_type="Event")
    driver.advance(10)             # failed at 0.5; redelivery tries at 1.5, 3.5, 7.5, 15.5 …
    dest = target(vmesh)
    driver.run_until_idle()
    assert dest.times == [T0 + 15.5]
    assert fn.statistics().destination_delivery_failures == 0


def test_destination_that_never_appears_counts_a_delivery_failure(vmesh, driver):
    fn = model_function(vmesh, handler=FAILING)
    on_failure(fn, max_retry_attempts=0, max_event_age_s=60)
    fn.invoke(b"{}", invocation_type="Event")
    driver.run_until_idle()
    assert fn.statistics().destination_delivery_failures == 1
    assert vmesh.clock.now() == T0 + 0.5 + 31


def test_rejected_delivery_counts_at_once(vmesh, driver):
    fn = model_function(vmesh, handler=FAILING, dead_letter_arn=DLQ_ARN)
    target(vmesh, result=DeliveryResult(Outcome.INVALID, "InvalidParameterValue", "FIFO"))
    target(vmesh, DLQ_ARN, result=DeliveryResult(Outcome.DENIED, "KMS.AccessDenied", "no"))
    on_failure(fn, max_retry_attempts=0)
    fn.invoke(b"{}", invocation_type="Event")
    driver.run_until_idle()
    stats = fn.statistics()
    assert (stats.destination_delivery_failures, stats.dead_letter_errors) == (1, 1)


def test_accept_invokes_each_item_asynchronously(vmesh, driver):
    fn = model_function(vmesh)
    result = fn.accept([Delivery("{}"), Delivery('{"b": 2}')], "arn:aws:sns:us-east-1:000000000000:t")
    assert result.ok
    driver.run_until_idle()
    assert fn.statistics().async_events_received == 2 and fn.statistics().invocations == 2


def test_sync_invocation_after_async_ones_sees_the_same_pool(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=1")
    put_concurrency(fn, 1)
    fn.invoke(b"{}", invocation_type="Event")
    driver.advance(0)
    with pytest.raises(TooManyRequestsException):
        invoke_sync(fn)
    assert fn.statistics().concurrent_executions == 1
