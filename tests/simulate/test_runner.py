"""Whole runs: reproducible to the byte, seeds that matter, totals that balance, files written."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import eventmesh.simulate as sim
from eventmesh.simulate.results import WALL_CLOCK_FIELDS
from tests.simulate.helpers import function, function_arn, queue_arn, scenario

ROOT = Path(__file__).resolve().parents[2]


def _busy(seed: int = 5) -> dict:
    """EventBridge (two rules, one with a DLQ) → SQS (redrive to a DLQ) → a failing function, SNS →
    an async function with an OnFailure destination, a fault window."""
    return scenario("5m", seed=seed, period="30s", resources={
        "sqs": {"queues": [{"QueueName": "dlq"}, {"QueueName": "failures"},
                           {"QueueName": "work", "Attributes": {"VisibilityTimeout": 10, "RedrivePolicy": {
                               "deadLetterTargetArn": queue_arn("dlq"), "maxReceiveCount": 2}}}]},
        "sns": {"topics": [{"Name": "fan"}],
                "subscriptions": [{"TopicArn": "arn:aws:sns:us-east-1:000000000000:fan", "Protocol": "lambda",
                                   "Endpoint": function_arn("notify")}]},
        "lambda": {"functions": [
            function("worker", "model:p50=30ms,p99=300ms,error_rate=0.2", Timeout=5),
            function("notify", "model:duration=exp(200ms)", ReservedConcurrentExecutions=3,
                     EventInvokeConfig={"MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": 1,
                                        "DestinationConfig": {"OnFailure": {"Destination": queue_arn("failures")}}})],
            "event_source_mappings": [{"EventSourceArn": queue_arn("work"), "FunctionName": "worker",
                                       "BatchSize": 5}]},
        "events": {"rules": [
            {"Name": "work", "EventPattern": {"source": ["app"]},
             "Targets": [{"Id": "q", "Arn": queue_arn("work")}]},
            {"Name": "fan", "EventPattern": {"detail": {"kind": ["b"]}},
             "Targets": [{"Id": "t", "Arn": "arn:aws:sns:us-east-1:000000000000:fan",
                          "DeadLetterConfig": {"Arn": queue_arn("dlq")}}]}]}},
        load=[{"name": "app", "api": "PutEvents", "batch": 10, "rate": {"profile": "poisson", "rate": 60},
               "payload": {"source": "app", "detail": {"kind": "{choice(a, b)}", "n": "{counter}"}}}],
        faults=[{"kind": "errors", "target": "worker", "rate": 1, "at": "1m", "duration": "30s"},
                {"kind": "unavailable", "target": "work", "at": "3m", "duration": "20s"}])


def test_every_resource_balances_through_failures_dead_letters_and_destinations():
    result = sim.run(_busy())
    assert result.balanced, [t for t in result.totals if not t.balanced]
    assert result.total("sqs", "dlq").sent > 0 and result.total("sqs", "work").dead_lettered > 0
    notify = result.total("lambda", "notify")
    assert notify.dropped_by_age + notify.failed > 0 and notify.to_destinations > 0
    # A record reaches the queue 100 ms after it was sent, the function hears 100 ms later: at the
    # end, the queue holds what the function counted plus some of what is still on its way.
    on_their_way = notify.detail["records_in_flight"]
    assert notify.to_destinations <= result.total("sqs", "failures").sent <= notify.to_destinations + on_their_way
    assert [f["kind"] for f in result.faults] == ["errors", "unavailable"]


def _strip(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in WALL_CLOCK_FIELDS}


def test_the_same_seed_gives_the_same_bytes_across_processes_and_another_seed_does_not(tmp_path):
    path = tmp_path / "busy.yaml"
    path.write_text(yaml.safe_dump(_busy()))
    outs = []
    for i, (seed, hash_seed) in enumerate([(5, "1"), (5, "2"), (6, "1")]):
        out = tmp_path / f"out{i}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run([sys.executable, "-m", "eventmesh", "simulate", str(path), "--seed", str(seed),
                              "--out", str(out), "--no-report", "--quiet"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        outs.append(out)
    first, second, other = outs
    assert (first / "metrics.csv").read_bytes() == (second / "metrics.csv").read_bytes()
    summaries = [json.loads((o / "summary.json").read_text()) for o in outs]
    assert _strip(summaries[0]) == _strip(summaries[1])
    assert (first / "metrics.csv").read_bytes() != (other / "metrics.csv").read_bytes()
    assert summaries[2]["seed"] == 6


def test_summary_json_has_get_metric_data_shapes_and_metrics_csv_is_long_format(tmp_path):
    result = sim.run(_busy(), out=tmp_path, report=False)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {"scenario", "seed", "variant", "virtual_seconds", "wall_seconds", "events", "metrics", "totals"} <= set(
        summary)
    age = next(m for m in summary["metrics"] if m["metric"] == "ApproximateAgeOfOldestMessage"
               and m["statistic"] == "Maximum" and m["dimensions"] == [{"Name": "QueueName", "Value": "work"}])
    assert age["namespace"] == "AWS/SQS" and age["period"] == 30 and len(age["values"]) == 10
    assert age["timestamps"][:2] == ["2023-11-14T22:13:20.000Z", "2023-11-14T22:13:50.000Z"]
    namespaces = {m["namespace"] for m in summary["metrics"]}
    assert namespaces == {"AWS/SQS", "AWS/SNS", "AWS/Lambda", "AWS/Events", "EventMesh/Load"}
    rows = list(csv.reader((tmp_path / "metrics.csv").open()))
    assert rows[0] == ["time", "namespace", "metric", "dimensions", "statistic", "value"]
    assert ["2023-11-14T22:13:20.000Z", "AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName=work",
            "Maximum", repr(age["values"][0])] in rows
    assert len(rows) - 1 == sum(len(m["values"]) for m in summary["metrics"])
    totals = {(t["kind"], t["name"]): t for t in summary["totals"]}
    assert totals[("generator", "app")]["sent"] == result.events


def test_to_pandas_gives_the_datapoints_in_long_format():
    pandas = pytest.importorskip("pandas")
    frame = sim.run(_busy()).to_pandas()
    assert list(frame.columns) == ["time", "namespace", "metric", "dimensions", "statistic", "value"]
    assert isinstance(frame["time"].dtype, pandas.DatetimeTZDtype)
    sent = frame[(frame.metric == "NumberOfMessagesSent") & (frame.dimensions == "QueueName=work")]
    assert len(sent) == 10 and sent.value.sum() > 0


def test_a_real_python_handler_runs_in_a_scenario_with_its_partial_batch_response():
    result = sim.run(scenario(
        "1m", handlers={"duration": "50ms"}, resources={
            "sqs": {"queues": [{"QueueName": "dlq"}, {"QueueName": "q", "Attributes": {
                "VisibilityTimeout": 5, "RedrivePolicy": {"deadLetterTargetArn": queue_arn("dlq"),
                                                          "maxReceiveCount": 2}}}]},
            "lambda": {"functions": [function("py", "tests.simulate.handler_module:handle", Runtime="python3.11")],
                       "event_source_mappings": [{"EventSourceArn": queue_arn("q"), "FunctionName": "py",
                                                  "BatchSize": 10,
                                                  "FunctionResponseTypes": ["ReportBatchItemFailures"]}]}},
        load=[{"name": "p", "api": "SendMessageBatch", "target": "q", "batch": 10, "rate": 20,
               "payload": {"body": {"n": "{counter}", "fail": "{choice(yes=1, no=9)}"}}}]))
    queue, dlq = result.total("sqs", "q"), result.total("sqs", "dlq")
    assert queue.sent == 1_200 and queue.balanced
    # About one message in ten fails twice and is redriven; the rest are deleted by the mapping.
    assert 60 < queue.dead_lettered < 180 and dlq.sent == queue.dead_lettered
    assert queue.delivered + queue.dead_lettered + queue.remaining == 1_200
