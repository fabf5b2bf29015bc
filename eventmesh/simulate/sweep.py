"""Sweeps: every combination of the ``sweep:`` values, each a variant run in its own process.

Variants are independent runs of the same scenario with some parameters set (``paths.py``), so
they parallelise perfectly: by default over the machine's cores with a process pool
(``--jobs``); across hosts on an existing distributed engine: any executor with ``submit``
(``concurrent.futures``), or a Dask ``distributed.Client`` (``--cluster tcp://scheduler:8786``,
the ``distributed`` extra). A variant's results do not depend on where it ran: the scenario, its
settings and the seed travel to the worker, which parses and runs them there.
"""

from __future__ import annotations

import copy
import itertools
import os
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from eventmesh.simulate.paths import set_path
from eventmesh.simulate.results import RunResult, SweepResult
from eventmesh.simulate.scenario import Scenario, ScenarioError, validate_scenario

__all__ = ["default_jobs", "run_sweep", "variants"]


def default_jobs() -> int:
    """The machine's cores (those this process may use)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not on Linux
        return os.cpu_count() or 1


def variants(scenario: Scenario) -> list[tuple[str, dict[str, Any]]]:
    """``(name, {path: value})`` for every combination of the sweep's values, in order."""
    if not scenario.sweep:
        return [("", {})]
    paths = [path for path, _ in scenario.sweep]
    out = []
    for combination in itertools.product(*(values for _, values in scenario.sweep)):
        parameters = dict(zip(paths, combination, strict=True))
        name = ",".join(f"{path.rsplit('.', 1)[-1]}={value}" for path, value in parameters.items())
        out.append((name, parameters))
    return out


def run_one(raw: dict[str, Any], base_dir: str, variant: str, parameters: dict[str, Any]) -> RunResult:
    """Run one variant from the scenario's raw mapping (a worker process's entry point)."""
    from eventmesh.simulate.runner import run_variant

    data = copy.deepcopy(raw)
    data.pop("sweep", None)
    for path, value in parameters.items():
        set_path(data, path, value)
    try:
        return run_variant(validate_scenario(data, base_dir), variant=variant, parameters=parameters)
    except ScenarioError as exc:   # say which variant: the base scenario may be fine
        raise ScenarioError([f"variant {variant}: {problem}" for problem in exc.problems]) from None


def run_sweep(scenario: Scenario, *, jobs: int | None = None, executor: Any = None,
              on_done: Callable[[RunResult], None] | None = None) -> SweepResult:
    """Run every variant of ``scenario``'s sweep: on ``executor`` if given (anything with
    ``submit``: a ``concurrent.futures`` executor or a Dask client), else in ``jobs`` processes
    (default: the machine's cores; 1 runs them here, one after the other)."""
    started = time.perf_counter()
    todo = variants(scenario)
    raw, base = scenario.raw, str(Path(scenario.base_dir))
    results: list[RunResult]
    if executor is not None:
        futures = [_submit(executor, raw, base, name, params) for name, params in todo]
        results = []
        for future in futures:
            result = future.result()
            results.append(result)
            if on_done is not None:
                on_done(result)
    else:
        workers = min(jobs or default_jobs(), len(todo))
        if workers <= 1:
            results = []
            for name, params in todo:
                result = run_one(raw, base, name, params)
                results.append(result)
                if on_done is not None:
                    on_done(result)
        else:
            pool: Executor = ProcessPoolExecutor(max_workers=workers)
            with pool:
                futures = [pool.submit(run_one, raw, base, name, params) for name, params in todo]
                results = []
                for future in futures:
                    result = future.result()
                    results.append(result)
                    if on_done is not None:
                        on_done(result)
    return SweepResult(scenario=scenario.name, parameters=[path for path, _ in scenario.sweep], variants=results,
                       wall_seconds=round(time.perf_counter() - started, 3))


def _submit(executor: Any, raw: dict[str, Any], base: str, name: str, params: dict[str, Any]) -> Any:
    if hasattr(executor, "gather") and hasattr(executor, "scheduler_info"):   # a Dask client
        return executor.submit(run_one, raw, base, name, params, pure=False)
    return executor.submit(run_one, raw, base, name, params)


def dask_client(address: str) -> Any:
    """A Dask client of the scheduler at ``address`` (``tcp://host:8786``); needs the
    ``distributed`` extra."""
    try:
        from distributed import Client
    except ImportError:   # an optional dependency
        raise ImportError("--cluster needs Dask's scheduler client: pip install 'eventmesh[distributed]'") from None
    return Client(address)
