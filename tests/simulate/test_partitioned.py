"""Partitioned runs give the results of one process, byte for byte, on every example scenario."""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec
import pytest

import eventmesh.simulate as sim
from eventmesh.simulate.partitioned import RunStatistics, partition_count, run_partitioned
from eventmesh.simulate.runner import run_variant
from eventmesh.simulate.scenario import Scenario, load_scenario, validate_scenario
from tests.simulate.helpers import function, function_arn, queue_arn, scenario

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "simulate"))
import bench_pipeline  # noqa: E402

# Shorter than the files say (CI time), with their faults and bursts moved inside the window.
SHORTER = {
    "ecommerce-fanout": ["duration=20m", "faults[0].at=5m", "faults[0].duration=5m", "load.flash-sale.start=10m",
                         "load.flash-sale.stop=14m", "report.period=1m", "report.sample=5s"],
    "kinesis-hot-partition": ["duration=1m"],
    "sqs-worker-dlq": ["duration=12m", "faults[0].at=3m", "faults[0].duration=3m", "faults[1].at=6m",
                       "faults[1].duration=2m", "load.jobs.rate.every=5m", "load.jobs.rate.start=1m"],
}
EXAMPLES = sorted((ROOT / "configs" / "scenarios").glob("*.yaml"))


def _bytes(result: sim.RunResult) -> bytes:
    summary = result.summary()
    for field in ("wall_seconds", "events_per_wall_second"):
        summary.pop(field)
    return msgspec.json.encode(summary) + result.csv_text().encode()


def _both(scenario: Scenario, partitions: int = 2) -> tuple[sim.RunResult, sim.RunResult, RunStatistics]:
    stats: list[RunStatistics] = []
    two = run_partitioned(scenario, partitions, statistics=stats)
    return run_variant(scenario), two, stats[0]


def test_every_example_scenario_is_covered():
    assert {p.stem for p in EXAMPLES} == set(SHORTER)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_an_example_scenario_gives_the_same_results_on_two_partitions(path: Path):
    scenario = msgspec.structs.replace(load_scenario(path, SHORTER[path.stem]), sweep=[])
    one, two, stats = _both(scenario)
    assert one.balanced and one.events > 0
    assert _bytes(two) == _bytes(one)
    if path.stem == "ecommerce-fanout":
        assert stats.partitions == 2 and stats.windows > 1 and stats.lookahead_s == 0.1
        assert all(p.items_received > 0 for p in stats.per_partition)
    else:
        # One stream (or one queue) and its mapping and function: a poller reads its source in
        # place and invokes its function synchronously, so they share a partition: nothing to split.
        assert stats.partitions == 1


def test_the_pipeline_benchmark_gives_the_same_results_on_two_partitions():
    scenario = validate_scenario(bench_pipeline.scenario("40s", 1_000))
    one, two, stats = _both(scenario)
    assert _bytes(two) == _bytes(one)
    assert stats.partitions == 2 and stats.lookahead_s == 0.13
    assert sum(p.events for p in stats.per_partition) == one.events == 80_000


def _two_busy_functions(limit_hit: bool) -> Scenario:
    # Two unreserved functions of one account on two partitions (each with its own bus), 1 s each:
    # 600 + 600 concurrent executions want more than the account's 1,000 when limit_hit.
    rate = 600 if limit_hit else 100
    resources = {
        "sqs": {"queues": [{"QueueName": "a-out"}, {"QueueName": "b-out"}]},
        "lambda": {"functions": [
            function("a", "model:duration=1s", EventInvokeConfig={
                "DestinationConfig": {"OnSuccess": {"Destination": queue_arn("a-out")}}}),
            function("b", "model:duration=1s", EventInvokeConfig={
                "DestinationConfig": {"OnSuccess": {"Destination": queue_arn("b-out")}}})]},
        "events": {"buses": [{"Name": "x"}, {"Name": "y"}], "rules": [
            {"Name": "to-a", "EventBusName": "x", "EventPattern": {"source": ["x"]},
             "Targets": [{"Id": "a", "Arn": function_arn("a")}]},
            {"Name": "to-b", "EventBusName": "y", "EventPattern": {"source": ["y"]},
             "Targets": [{"Id": "b", "Arn": function_arn("b")}]}]}}
    load = [{"name": name, "api": "PutEvents", "target": name, "batch": 10, "rate": rate, "stop": "10s",
             "payload": {"source": name, "detail": {"n": "{counter}"}}} for name in ("x", "y")]
    return validate_scenario(scenario("40s", resources=resources, load=load))


def test_an_account_pool_shared_across_partitions_stays_exact():
    one, two, stats = _both(_two_busy_functions(limit_hit=False))
    assert stats.partitions == 2 and stats.reruns == 0 and _bytes(two) == _bytes(one)


def test_when_a_share_of_the_account_pool_runs_out_the_run_is_redone_with_its_functions_together(capsys):
    one, two, stats = _both(_two_busy_functions(limit_hit=True))
    assert sum(one.total("lambda", name).throttled for name in ("a", "b")) > 0   # the account limit bites
    (account,) = [m for m in one.metrics if m.metric == "ConcurrentExecutions" and m.statistic == "Maximum"
                  and not m.dimensions]
    assert max(account.values) == 1_000
    assert stats.reruns == 1 and _bytes(two) == _bytes(one)
    assert "running again with them in one partition" in capsys.readouterr().err


def test_a_zero_latency_edge_keeps_its_two_ends_together():
    data = _two_busy_functions(limit_hit=False).raw
    data["latency"] = {"lambda->sqs": 0}
    stats: list[RunStatistics] = []
    run_partitioned(validate_scenario(data), 4, statistics=stats)
    placed = {line.split(" ", 2)[1]: line for line in stats[0].placement}
    for name, out in (("a", "a-out"), ("b", "b-out")):
        assert any(f" {name}," in line and f"{out}" in line for line in placed.values())


def test_partition_counts():
    assert partition_count("3") == 3 and partition_count("auto") >= 1
    with pytest.raises(ValueError):
        partition_count("0")


def test_run_takes_partitions_and_refuses_them_for_a_sweep():
    data = _two_busy_functions(limit_hit=False).raw
    assert _bytes(sim.run(data, partitions=2)) == _bytes(sim.run(data))
    with pytest.raises(ValueError, match="whole number >= 1"):
        sim.run(data, partitions=0)
    data["sweep"] = {"load.x.rate": [10, 20]}
    with pytest.raises(ValueError, match="partitions split one run"):
        sim.run(data, partitions=2)
