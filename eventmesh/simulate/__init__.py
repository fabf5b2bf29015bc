"""eventmesh simulate: scenarios, load profiles, faults and what-if sweeps in virtual time.

The real engine (the daemon's cores, function pool, mappings and limits) runs on a virtual
clock, fed by load generators, with faults injected on schedule; the results are CloudWatch
metrics, per-resource totals that balance, and a report::

    import eventmesh.simulate as sim

    result = sim.run("configs/scenarios/ecommerce-fanout.yaml", seed=7, out="out/")
    result.series("ApproximateAgeOfOldestMessage", "Maximum", QueueName="orders").values
    result.to_pandas()          # with pandas installed

A scenario with a ``sweep:`` returns a :class:`SweepResult` of its variants, run in parallel
processes (``jobs``) or on a given executor (a Dask client). ``eventmesh simulate`` is the same
from the command line. Scenario files are described in ``scenario.py`` and docs/simulate.md.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventmesh.simulate.results import RunResult, SweepResult
    from eventmesh.simulate.scenario import Scenario

__all__ = ["Fault", "FaultBoard", "FaultError", "RunResult", "Scenario", "ScenarioError", "SweepResult",
           "load_scenario", "parse_fault", "read_scenario", "run", "validate_scenario", "write_outputs"]

# Public names and the modules they live in, imported when first used: ``eventmesh`` commands that
# do not simulate (``eventmesh serve``) should not pay for the simulator's imports.
_LAZY = {
    "Fault": "faults", "FaultBoard": "faults", "FaultError": "faults", "parse_fault": "faults",
    "RunResult": "results", "SweepResult": "results",
    "Scenario": "scenario", "ScenarioError": "scenario", "load_scenario": "scenario", "read_scenario": "scenario",
    "validate_scenario": "scenario",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'eventmesh.simulate' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"eventmesh.simulate.{module}"), name)
    globals()[name] = value
    return value


def run(scenario: str | Path | Scenario | dict[str, Any], *, seed: int | None = None,
        settings: list[str] | None = None, jobs: int | None = None, executor: Any = None,
        out: str | Path | None = None, progress: bool = False, report: bool = True,
        partitions: int | str = 1) -> RunResult | SweepResult:
    """Run a scenario (a file, a raw mapping or a :class:`Scenario`) and return its results; with
    ``out``, also write summary.json, metrics.csv and (``report``) report.html with its PNGs.

    ``settings`` are ``PATH=VALUE`` overrides (as ``--set``); ``seed`` replaces the scenario's.
    A sweep runs its variants in ``jobs`` processes (default: the machine's cores) or on
    ``executor`` (anything with ``submit``, e.g. a ``distributed.Client``). ``partitions`` > 1
    (or ``"auto"``: the machine's cores) runs a single scenario on that many processes, with the
    same results (docs/scale-out.md); ValueError for a count below 1 or with a sweep.
    """
    from eventmesh.simulate.paths import apply_setting
    from eventmesh.simulate.runner import run_variant
    from eventmesh.simulate.scenario import Scenario, load_scenario, validate_scenario
    from eventmesh.simulate.sweep import run_sweep

    if isinstance(scenario, Scenario):
        if settings or seed is not None:
            data = dict(scenario.raw)
            for setting in settings or ():
                apply_setting(data, setting)
            if seed is not None:
                data["seed"] = seed
            scenario = validate_scenario(data, scenario.base_dir)
    elif isinstance(scenario, dict):
        data = dict(scenario)
        for setting in settings or ():
            apply_setting(data, setting)
        if seed is not None:
            data["seed"] = seed
        scenario = validate_scenario(data, ".")
    else:
        scenario = load_scenario(scenario, settings, seed)
    count = 1
    if partitions != 1:
        from eventmesh.simulate.partitioned import partition_count

        count = partition_count(partitions)
    result: RunResult | SweepResult
    if scenario.sweep:
        if count > 1:
            raise ValueError("partitions split one run; a sweep runs its variants in parallel already (jobs)")
        result = run_sweep(scenario, jobs=jobs, executor=executor)
    elif count > 1:
        from eventmesh.simulate.partitioned import run_partitioned

        result = run_partitioned(scenario, count, progress=progress)
    else:
        result = run_variant(scenario, progress=progress)
    if out is not None:
        write_outputs(result, out, report=report)
    return result


def write_outputs(result: RunResult | SweepResult, out: str | Path, *, report: bool = True) -> list[Path]:
    """Write a run's or a sweep's files into ``out``; the report needs matplotlib."""
    from eventmesh.simulate.results import SweepResult

    written = result.write(out)
    if report:
        from eventmesh.simulate.report import write_report, write_sweep_report

        if isinstance(result, SweepResult):
            written.append(write_sweep_report(result, out))
        else:
            written.append(write_report(result, out))
    return written
