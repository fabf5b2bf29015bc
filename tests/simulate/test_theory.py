"""Simulations against results that hold independently of eventmesh: Kinesis write quotas,
iterator age arithmetic, Lambda async concurrency/retry/event-age rules, SQS mapping throughput
and backlog, Little's law, and the Erlang-C waiting time of an M/M/c queue."""

from __future__ import annotations

import math
import statistics
from typing import Any

import eventmesh.simulate as sim
from tests.simulate.helpers import batch_means_error, function, function_arn, queue_arn, scenario, stream_arn

PERIOD_S = 10


def test_a_stream_accepts_1000_records_per_second_per_shard_and_throttles_the_rest():
    shards, offered = 2, 3_000
    result = sim.run(scenario(
        "60s", resources={"kinesis": {"streams": [{"StreamName": "s", "ShardCount": shards}]}},
        load=[{"name": "p", "api": "PutRecords", "target": "s", "batch": 100, "rate": offered,
               "retry": "none"}]))
    incoming = result.series("IncomingRecords", "Sum", StreamName="s").values
    throttled = result.series("WriteProvisionedThroughputExceeded", "Sum", StreamName="s").values
    # Every whole period: exactly N x 1,000 records/s accepted, the rest of the offer refused.
    assert incoming == [shards * 1_000 * PERIOD_S] * 6
    assert throttled == [(offered - shards * 1_000) * PERIOD_S] * 6
    producer = result.total("generator", "p")
    assert producer.delivered == 120_000 and producer.failed == 60_000 and producer.balanced


def test_sdk_retries_of_throttled_records_still_meet_the_shard_limit():
    result = sim.run(scenario(
        "60s", resources={"kinesis": {"streams": [{"StreamName": "s", "ShardCount": 1}]}},
        load=[{"name": "p", "api": "PutRecords", "target": "s", "batch": 500, "rate": 1_500}]))
    incoming = result.series("IncomingRecords", "Sum", StreamName="s").values
    assert all(v == 1_000 * PERIOD_S for v in incoming)
    producer = result.total("generator", "p")
    assert producer.detail["retried"] > 0 and producer.balanced
    assert producer.sent == producer.delivered + producer.failed + producer.remaining


def test_iterator_age_grows_at_one_minus_capacity_over_arrival_rate():
    # 500 records/s into one shard; the mapping takes 100 records per 0.4 s invocation: 250/s.
    arrival, capacity = 500.0, 100 / 0.4
    result = sim.run(scenario(
        "200s", resources={
            "kinesis": {"streams": [{"StreamName": "s", "ShardCount": 1}]},
            "lambda": {"functions": [function("slow", "model:duration=400ms")],
                       "event_source_mappings": [{"EventSourceArn": stream_arn("s"), "FunctionName": "slow",
                                                  "StartingPosition": "TRIM_HORIZON", "BatchSize": 100}]}},
        load=[{"name": "p", "api": "PutRecords", "target": "s", "batch": 50, "rate": arrival}]))
    age_ms = result.series("IteratorAge", "Maximum").values
    times = [(i + 1) * PERIOD_S for i in range(len(age_ms))]
    slope = statistics.linear_regression(times[2:], age_ms[2:]).slope / 1000.0
    assert math.isclose(slope, 1 - capacity / arrival, rel_tol=0.03), slope
    invoked = result.series("Invocations", "Sum", FunctionName="slow").values
    assert all(abs(v - PERIOD_S / 0.4) <= 1 for v in invoked[1:])   # one invocation per 0.4 s


def _async(reserved: int, max_age_s: int | None, rate: float, seconds: int, run: str) -> sim.RunResult:
    invoke_config: dict = {"DestinationConfig": {"OnFailure": {"Destination": queue_arn("failed")}}}
    if max_age_s is not None:
        invoke_config["MaximumEventAgeInSeconds"] = max_age_s
    return sim.run(scenario(
        run, resources={
            "sqs": {"queues": [{"QueueName": "failed"}]},
            "lambda": {"functions": [function("f", "model:duration=1s", ReservedConcurrentExecutions=reserved,
                                              EventInvokeConfig=invoke_config)]},
            "events": {"rules": [{"Name": "all", "EventPattern": {"source": ["load"]},
                                  "Targets": [{"Id": "f", "Arn": function_arn("f")}]}]}},
        load=[{"name": "p", "api": "PutEvents", "target": "default", "batch": 10, "rate": rate,
               "stop": f"{seconds}s", "payload": {"source": "load", "detail": {"n": "{counter}"}}}]))


def test_async_invokes_over_reserved_concurrency_hold_at_it_and_retries_deliver_everything():
    # 100 events/s for 60 s into a 1 s function with reserved concurrency 50 < 100 x 1.
    result = _async(reserved=50, max_age_s=None, rate=100, seconds=60, run="30m")
    concurrency = result.series("ConcurrentExecutions", "Maximum", FunctionName="f").values
    assert max(concurrency) == 50 and concurrency[1] == 50
    assert sum(result.series("Throttles", "Sum", FunctionName="f").values) > 0
    totals = result.total("lambda", "f")
    assert totals.sent == 6_000 and totals.delivered == 6_000 and totals.failed == totals.dropped_by_age == 0
    assert sum(result.series("Invocations", "Sum", FunctionName="f").values) == 6_000
    assert result.total("sqs", "failed").sent == 0 and result.balanced


def test_async_events_past_their_maximum_age_go_to_the_failure_destination():
    result = _async(reserved=10, max_age_s=60, rate=100, seconds=60, run="20m")
    totals = result.total("lambda", "f")
    assert totals.sent == 6_000 and totals.dropped_by_age > 0
    assert totals.delivered + totals.dropped_by_age == 6_000 and totals.remaining == 0
    # Every dropped event's invocation record reached the OnFailure queue.
    assert result.total("sqs", "failed").sent == totals.dropped_by_age == totals.to_destinations
    # What ran started within its maximum age: capacity 10/s for the 60 s of age each event has.
    assert totals.delivered <= 10 * (60 + 60 + 1)
    assert max(result.series("AsyncEventAge", "Maximum", FunctionName="f").values) <= 60_000


def _sqs_mapping(rate: float, *, batch: int, concurrency: int, handler: str, run: str, arrivals: str = "uniform",
                 sample: str = "0.1s",
                 send_batch: int = 10, period: str = "10s", seed: int = 1) -> sim.RunResult:
    api = "SendMessageBatch" if send_batch > 1 else "SendMessage"
    return sim.run(scenario(
        run, seed=seed, period=period, sample=sample, resources={
            "sqs": {"queues": [{"QueueName": "q", "Attributes": {"VisibilityTimeout": 600}}]},
            "lambda": {"functions": [function("w", handler, Timeout=60)],
                       "event_source_mappings": [{"EventSourceArn": queue_arn("q"), "FunctionName": "w",
                                                  "BatchSize": batch,
                                                  "ScalingConfig": {"MaximumConcurrency": concurrency}}]}},
        load=[{"name": "p", "api": api, "target": "q", "batch": send_batch,
               "rate": {"profile": "constant", "rate": rate, "arrivals": arrivals}}]))


def test_an_sqs_mapping_drains_m_batches_per_duration_and_the_backlog_grows_at_the_difference():
    # Capacity: MaximumConcurrency 2 x BatchSize 10 / 0.1 s = 200 messages/s; arrivals 300/s.
    result = _sqs_mapping(300, batch=10, concurrency=2, handler="model:duration=100ms", run="60s")
    deleted = result.series("NumberOfMessagesDeleted", "Sum", QueueName="q").values
    assert all(abs(v - 200 * PERIOD_S) <= 20 for v in deleted[1:])
    visible = result.series("ApproximateNumberOfMessagesVisible", "Average", QueueName="q").values
    slope = statistics.linear_regression([i * PERIOD_S for i in range(len(visible))], visible).slope
    assert math.isclose(slope, 300 - 200, rel_tol=0.02), slope
    assert max(result.series("ConcurrentExecutions", "Maximum", FunctionName="w").values) == 2


def _erlang_c(c: int, a: float) -> float:
    """Probability an arrival waits in an M/M/c queue with offered load a = λ/μ."""
    rho = a / c
    top = a ** c / math.factorial(c) / (1 - rho)
    return top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)


def test_poisson_arrivals_and_exponential_durations_wait_as_erlang_c_says_and_littles_law_holds():
    # M/M/4: λ = 80/s, exponential durations of mean 40 ms (μ = 25/s), a = 3.2, ρ = 0.8.
    lam, mu, c = 80.0, 25.0, 4
    result = _sqs_mapping(lam, batch=1, concurrency=c, handler="model:duration=exp(40ms)", run="2000s",
                          arrivals="poisson", send_batch=1, period="50s", sample="0.5s")
    sent = result.series("NumberOfMessagesSent", "Sum", QueueName="q").values[1:]
    waiting = result.series("ApproximateNumberOfMessagesVisible", "Average", QueueName="q").values[1:]
    in_service = result.series("ApproximateNumberOfMessagesNotVisible", "Average", QueueName="q").values[1:]
    duration_ms = result.series("Duration", "Average", FunctionName="w").values[1:]
    arrival_rate = sum(sent) / (len(sent) * 50)
    assert abs(arrival_rate - lam) < 4 * math.sqrt(lam / (len(sent) * 50))
    # Little's law on the reported metrics: messages in flight = arrival rate x time in flight.
    little = arrival_rate * statistics.fmean(duration_ms) / 1000
    assert math.isclose(statistics.fmean(in_service), little, rel_tol=0.03)
    # Erlang C: the mean wait in the queue, from its mean length by Little's law.
    expected_wait = _erlang_c(c, lam / mu) / (c * mu - lam)
    waits = [lq / lam for lq in waiting]
    error = batch_means_error(waits)
    assert abs(statistics.fmean(waits) - expected_wait) < max(4 * error, 0.1 * expected_wait), (
        statistics.fmean(waits), expected_wait, error)


def test_exponential_durations_report_the_exponential_quantiles_and_a_fixed_one_its_value_exactly():
    # Mean 40 ms: p50 = 40 ln 2, p90 = 40 ln 10, p99 = 40 ln 100 (ms); the fixed 250 ms function
    # reports 250 in every statistic, not a bucket bound.
    result = _sqs_mapping(100, batch=1, concurrency=50, handler="model:duration=exp(40ms)", run="300s",
                          arrivals="poisson", send_batch=1, period="300s", sample="10s")
    n = result.series("Duration", "SampleCount", FunctionName="w").values[0]
    assert n > 25_000
    for statistic, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        quantile = -40.0 * math.log(1 - q)
        # The sample quantile's standard error: sqrt(q (1 - q) / n) / density at the quantile.
        error = math.sqrt(q * (1 - q) / n) / (math.exp(-quantile / 40.0) / 40.0)
        value = result.series("Duration", statistic, FunctionName="w").values[0]
        assert abs(value - quantile) < 4 * error + 0.01 * quantile, (statistic, value, quantile)
    low = result.series("Duration", "Minimum", FunctionName="w").values[0]
    high = result.series("Duration", "Maximum", FunctionName="w").values[0]
    assert 0 <= low < 1.0 and 40.0 * math.log(n) / 2 < high < 40.0 * math.log(n) * 2
    fixed = _sqs_mapping(20, batch=1, concurrency=10, handler="model:duration=250ms", run="60s", period="60s")
    for statistic in ("Minimum", "p50", "p90", "p99", "Maximum", "Average"):
        assert fixed.series("Duration", statistic, FunctionName="w").values == [250.0], statistic


def test_async_event_age_reports_the_retry_schedule_it_waited_not_a_bucket_bound():
    # Throttled async events come back after 1 + 2 + 4 + ... s (Lambda's backoff); none can be
    # older than the run, and the first minute's first attempts wait nothing.
    result = _async(reserved=5, max_age_s=None, rate=10, seconds=60, run="3m")
    age = result.series("AsyncEventAge", "Maximum", FunctionName="f").values
    elapsed = [(i + 1) * PERIOD_S * 1000 for i in range(len(age))]
    assert all(a <= e for a, e in zip(age, elapsed, strict=True))
    assert max(age) == max(result.series("AsyncEventAge", "p99", FunctionName="f").values) > 60_000


def test_a_bus_counts_unmatched_events_apart_and_one_latency_sample_per_invocation():
    result = sim.run(scenario(
        "60s", period="60s", resources={
            "sqs": {"queues": [{"QueueName": "q"}]},
            "events": {"rules": [{"Name": "r", "EventPattern": {"source": ["app"], "detail": {"kind": ["a"]}},
                                  "Targets": [{"Id": "q", "Arn": queue_arn("q")}]}]}},
        load=[{"name": "p", "api": "PutEvents", "target": "default", "batch": 10, "rate": 100,
               "payload": {"source": "app", "detail": {"kind": "{choice(a, b)}"}}}]))
    bus = result.total("events", "default")
    assert bus.sent == 6_000 and bus.failed == 0 and bus.delivered + bus.detail["unmatched"] == 6_000
    invocations = result.series("Invocations", "Sum", EventBusName="default", RuleName="r").values
    samples = result.series("IngestionToInvocationStartLatency", "SampleCount", EventBusName="default").values
    assert samples == invocations and 2_700 < invocations[0] < 3_300


def test_provisioned_concurrency_above_the_needed_concurrency_leaves_no_cold_start():
    # 20 messages/s into a 200 ms function (with an 800 ms cold start): Little's law says about
    # 4 executions at a time once warm. Five provisioned environments cover that: nothing starts
    # cold and nothing spills over; without them the bursts of the ramp start environments cold.
    def run(provisioned: int | None) -> Any:
        alias: dict[str, Any] = {"FunctionName": "w", "Name": "live", "FunctionVersion": "1"}
        if provisioned:
            alias["ProvisionedConcurrencyConfig"] = {"ProvisionedConcurrentExecutions": provisioned}
        return sim.run(scenario("60s", resources={
            "sqs": {"queues": [{"QueueName": "jobs"}]},
            "lambda": {"functions": [function("w", "model:duration=200ms,cold_start=800ms", Publish=True)],
                       "aliases": [alias],
                       "event_source_mappings": [{"EventSourceArn": queue_arn("jobs"), "FunctionName": "w:live",
                                                  "BatchSize": 1}]}},
            load=[{"name": "p", "api": "SendMessage", "target": "jobs", "rate": 20}]))

    warm, cold = run(5), run(None)
    assert sum(warm.series("ColdStarts", "Sum", FunctionName="w").values) == 0
    assert sum(warm.series("ProvisionedConcurrencySpilloverInvocations", "Sum", FunctionName="w").values) == 0
    ran = sum(warm.series("Invocations", "Sum", FunctionName="w").values)
    assert ran > 1_100 and sum(warm.series("ProvisionedConcurrencyInvocations", "Sum", FunctionName="w").values) >= ran
    assert max(warm.series("ProvisionedConcurrentExecutions", "Maximum", FunctionName="w").values) <= 5
    assert sum(cold.series("ColdStarts", "Sum", FunctionName="w").values) > 0
