"""One partition per Ray actor, on a local Ray instance: the results of one process (needs the
``ray`` extra; skipped without it)."""

from __future__ import annotations

import pytest

from eventmesh.simulate.partitioned import RunStatistics, run_partitioned
from eventmesh.simulate.runner import run_variant
from eventmesh.simulate.scenario import validate_scenario
from tests.simulate.test_cli import _two_buses
from tests.simulate.test_partitioned import _bytes, _two_busy_functions

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=80 * 1024 * 1024)
    yield
    ray.shutdown()


def test_partitions_as_ray_actors_give_the_results_of_one_process(local_ray):
    from eventmesh.simulate.ray_partitions import run_on_ray

    scenario = validate_scenario(_two_buses())     # each bus's rule targets the other's queue
    stats: list[RunStatistics] = []
    on_ray = run_on_ray(scenario, 2, statistics=stats)
    on_pipes: list[RunStatistics] = []
    run_partitioned(scenario, 2, statistics=on_pipes)
    assert stats[0].partitions == 2 and stats[0].windows > 1 and all(p.items_received for p in stats[0].per_partition)
    # The same windows as the pipes' pairwise barriers, and the same items across.
    assert stats[0].windows == on_pipes[0].windows
    assert [p.items_received for p in stats[0].per_partition] == [p.items_received for p in on_pipes[0].per_partition]
    assert _bytes(on_ray) == _bytes(run_variant(scenario))


def test_a_share_that_runs_out_on_ray_reruns_with_the_functions_together(local_ray, capsys):
    from eventmesh.simulate.ray_partitions import run_on_ray

    scenario = _two_busy_functions(limit_hit=True)
    stats: list[RunStatistics] = []
    assert _bytes(run_on_ray(scenario, 2, statistics=stats)) == _bytes(run_variant(scenario))
    assert stats[0].reruns == 1 and "running again" in capsys.readouterr().err


def test_the_pipeline_scenario_on_ray(local_ray):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "simulate"))
    import bench_pipeline

    from eventmesh.simulate.ray_partitions import run_on_ray

    scenario = validate_scenario(bench_pipeline.scenario("10s", 200))
    assert _bytes(run_on_ray(scenario, 2)) == _bytes(run_variant(scenario))
