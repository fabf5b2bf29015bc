"""Sweeps: every combination of values is a variant; variants run in parallel processes (or on
a Dask cluster) and give the results they give alone."""

from __future__ import annotations

import json

import pytest

import eventmesh.simulate as sim
from eventmesh.simulate.sweep import variants
from tests.simulate.helpers import function, queue_arn, scenario


def _sweep() -> dict:
    return scenario("2m", period="30s", resources={
        "sqs": {"queues": [{"QueueName": "q"}]},
        "lambda": {"functions": [function("w", "model:duration=200ms", ReservedConcurrentExecutions=1)],
                   "event_source_mappings": [{"EventSourceArn": queue_arn("q"), "FunctionName": "w",
                                              "BatchSize": 1}]}},
        load=[{"name": "p", "api": "SendMessage", "target": "q", "rate": 20}],
        sweep={"functions.w.ReservedConcurrentExecutions": [1, 4],
               "event_source_mappings.w.BatchSize": [1, 5]})


def test_a_sweep_runs_every_combination_and_more_capacity_ages_messages_less(tmp_path):
    result = sim.run(_sweep(), jobs=2, out=tmp_path)
    assert isinstance(result, sim.SweepResult)
    assert [v.variant for v in result.variants] == [
        "ReservedConcurrentExecutions=1,BatchSize=1", "ReservedConcurrentExecutions=1,BatchSize=5",
        "ReservedConcurrentExecutions=4,BatchSize=1", "ReservedConcurrentExecutions=4,BatchSize=5"]
    oldest = {v.variant: max(v.series("ApproximateAgeOfOldestMessage", "Maximum", QueueName="q").values)
              for v in result.variants}
    # 20 messages/s into 200 ms invocations: 1 x 1 drains 5/s (the backlog ages), 4 x 5 keeps up.
    assert oldest["ReservedConcurrentExecutions=1,BatchSize=1"] > 60
    assert oldest["ReservedConcurrentExecutions=4,BatchSize=5"] <= 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["parameters"] == ["functions.w.ReservedConcurrentExecutions", "event_source_mappings.w.BatchSize"]
    assert (tmp_path / "variants" / "ReservedConcurrentExecutions=4_BatchSize=5" / "report.html").exists()
    page = (tmp_path / "report.html").read_text()
    assert "Comparison" in page and "p99 age of oldest message (s)" in page


def test_variants_give_the_same_results_in_parallel_as_one_after_the_other():
    data = _sweep()
    data["sweep"] = {"functions.w.ReservedConcurrentExecutions": [1, 3]}
    serial, parallel = sim.run(data, jobs=1), sim.run(data, jobs=2)
    assert [v.csv_text() for v in serial.variants] == [v.csv_text() for v in parallel.variants]
    single = {k: v for k, v in data.items() if k != "sweep"}
    alone = sim.run(single, settings=["functions.w.ReservedConcurrentExecutions=3"])
    assert isinstance(alone, sim.RunResult) and alone.csv_text() == parallel.variants[1].csv_text()
    assert len(variants(sim.validate_scenario(data))) == 2


def test_a_local_dask_cluster_runs_the_variants():
    distributed = pytest.importorskip("distributed")
    data = _sweep()
    data["sweep"] = {"functions.w.ReservedConcurrentExecutions": [1, 3]}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster, distributed.Client(cluster) as client:
        on_dask = sim.run(data, executor=client)
    here = sim.run(data, jobs=1)
    assert [v.csv_text() for v in on_dask.variants] == [v.csv_text() for v in here.variants]
