"""Run one scenario variant: the real engine on a virtual clock, fed by the load generators.

The mesh is built as the daemon builds it: the same wire adapters create the resources through
the config machinery (each resource its AWS create request), python handlers run inline on the
virtual runner, HTTP endpoints (SNS HTTP/S subscriptions, API destinations) are answered by a
double with the scenario's ``http`` status and latency; deliveries between services take the
time the scenario's latency model says (``eventmesh/latency.py``: AWS's figures unless the
scenario's ``latency:`` changes them). Faults go on the mesh's
:class:`~eventmesh.simulate.faults.FaultBoard`, the generators and the metrics sampler on its
clock; then the virtual driver runs the clock to the scenario's end. Everything a run does is a
timer or an effect of that one mesh, nothing reads the wall clock but the progress bar and the
run's wall-time figure, so a run is reproducible and a mesh could later be one partition of many.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from eventmesh.clock import VIRTUAL_EPOCH, VirtualClock
from eventmesh.config import Config, apply_config
from eventmesh.drivers.lambda_.runner import install_virtual_runner
from eventmesh.drivers.virtual import VirtualDriver
from eventmesh.effects import HttpRequest, HttpResponse
from eventmesh.mesh import Mesh
from eventmesh.services import adapters
from eventmesh.services.esm.service import registry
from eventmesh.services.events.service import find_bus
from eventmesh.services.kinesis.stream import Stream
from eventmesh.services.sns.topic import Topic
from eventmesh.services.sqs.queue import Queue
from eventmesh.simulate.faults import FaultBoard
from eventmesh.simulate.generators import API_SERVICES, Generator, GeneratorSpec
from eventmesh.simulate.payloads import compile_template
from eventmesh.simulate.progress import Progress
from eventmesh.simulate.results import RunResult
from eventmesh.simulate.sampling import Sampler
from eventmesh.simulate.scenario import Scenario, ScenarioError, latency_model
from eventmesh.simulate.topology import read_topology
from eventmesh.simulate.totals import collect_totals
from eventmesh.wire.router import Api

__all__ = ["Run", "build_mesh", "check_resources", "fault_windows", "run_variant", "start_run"]

PROGRESS_STEPS = 400   # the clock is run in this many slices (the bar redraws between them)
# The engine allocates and frees many short-lived objects per event (deliveries, records, effects)
# and keeps few: with the collector's default (a young-generation pass per 700 net allocations) a
# run spent ~3% of its time in collections that found no cycles (bench_pipeline.py --duration 2m:
# 0.32 s of 9.4 s; 0.04 s with these thresholds).
RUN_GC_THRESHOLDS = (50_000, 20, 100)
RELEASE_INTERVAL_S = 60.0   # how often stream records every mapping has read are released


def _release_read_records(mesh: Mesh) -> None:
    """A simulation has no wire: nothing but its mappings reads a stream, so records every mapping
    of a stream has read are let go (a 1 h run at 5,000 records/s would otherwise hold 18 M of
    them for their 24 h retention). Metrics and results are unaffected; a stream no mapping
    reads keeps its records."""
    mappings = registry(mesh).by_source
    for stream in mesh.resources("kinesis", Stream):
        readers = [getattr(m.poller, "readers", {}) for m in mappings.get(stream.arn, ()) if m.poller is not None]
        if not readers:
            continue
        for shard in stream.shards:
            positions = [r[shard.shard_id].position for r in readers if shard.shard_id in r]
            if len(positions) == len(readers):
                shard.release_before(min(positions))


def build_mesh(scenario: Scenario) -> tuple[Mesh, Api]:
    """A mesh on a virtual clock with the scenario's resources, made through the wire adapters."""
    mesh = Mesh(VirtualClock(VIRTUAL_EPOCH), account_id=scenario.account_id, region=scenario.region,
                seed=scenario.seed)
    mesh.set_latency(latency_model(scenario))   # deliveries take their modelled time (eventmesh/latency.py)
    mesh.sketches = True   # percentiles, Minimum and Maximum as CloudWatch reports them
    api = Api(mesh, adapters())
    config = Config(account_id=scenario.account_id, region=scenario.region, seed=scenario.seed,
                    resources=scenario.resources, source=scenario.name)
    problems = apply_config(config, api, collect=True)
    if problems:   # what the services refuse (an attribute out of range...): the scenario's fault
        mesh.close()
        raise ScenarioError(problems)
    for topic in mesh.resources("sns", Topic):
        # The simulated HTTP/S endpoints confirm their subscriptions (they visit the SubscribeURL).
        for sub in list(topic.subscriptions):
            if not sub.confirmed and sub.token is not None:
                topic.subscriptions.confirm(sub.token)
    for name, extras in scenario.function_extras.items():
        try:
            if extras.get("ReservedConcurrentExecutions") is not None:
                api.call("lambda", "PutFunctionConcurrency",
                         {"FunctionName": name, "ReservedConcurrentExecutions": extras["ReservedConcurrentExecutions"]})
            if extras.get("EventInvokeConfig"):
                api.call("lambda", "PutFunctionEventInvokeConfig",
                         {"FunctionName": name, **extras["EventInvokeConfig"]})
        except Exception as exc:   # the service's own message, with the function's path
            message = getattr(exc, "message", None) or str(exc)
            raise ScenarioError([f"resources.lambda.functions[{name}]: {getattr(exc, 'code', type(exc).__name__)}: "
                                 f"{message}"]) from exc
    return mesh, api


def check_resources(scenario: Scenario) -> None:
    """``eventmesh validate``: the scenario's resources created on a scratch engine as a run
    creates them; :class:`ScenarioError` with what the services refuse."""
    mesh, _ = build_mesh(scenario)
    mesh.close()


def _answer_http(mesh: Mesh, status: int, latency_s: float, request: HttpRequest) -> None:
    """The simulated HTTP endpoints: every request answered ``status`` after ``latency_s``."""
    response = HttpResponse(status)
    if latency_s > 0:
        mesh.clock.call_later(latency_s, partial(mesh.reply, request.reply_to, response))
    else:
        mesh.reply(request.reply_to, response)


def _target(mesh: Mesh, spec: GeneratorSpec) -> Any:
    service, target = API_SERVICES[spec.api], spec.target
    arn = target if target.startswith("arn:") else None
    if service == "events":
        bus = find_bus(mesh, target)
        found: Any = bus
    elif service == "sns":
        found = mesh.find(arn or mesh.arn("sns", target), Topic)
    elif service == "sqs":
        found = mesh.find(arn or mesh.arn("sqs", target), Queue)
    else:
        found = mesh.find(arn or mesh.arn("kinesis", f"stream/{target}"), Stream)
    if found is None:
        raise ScenarioError([f"load.{spec.name}.target: no {service} resource {target}"])
    return found


def _generator(mesh: Mesh, spec: GeneratorSpec, seed: int, origin: float, end: float) -> Generator:
    rng = random.Random(f"{seed}/{spec.name}")
    templates = {}
    for field, value in spec.fields.items():
        if field == "attributes":
            for name, template in (value or {}).items():
                templates[f"attribute:{name}"] = compile_template(template, rng, mesh.clock.now, as_json=False)
        elif field != "delay_seconds":
            templates[field] = compile_template(value, rng, mesh.clock.now, as_json=True)
    return Generator(mesh, spec, _target(mesh, spec), templates, rng, origin, end)


class Run:
    """A run set up and started (``start_run``): the mesh and what drives and samples it."""

    def __init__(self, mesh: Mesh, runner: Any, generators: list[Generator], sampler: Sampler, board: FaultBoard,
                 origin: float, end: float) -> None:
        self.mesh, self.runner, self.generators, self.sampler, self.board = mesh, runner, generators, sampler, board
        self.origin, self.end = origin, end

    def events(self) -> int:
        return sum(g.totals.offered for g in self.generators)


def start_run(scenario: Scenario, *, select: Callable[[Mesh, list[Generator]], list[Generator]] | None = None,
              exclude: Callable[[Any], bool] | None = None,
              on_sample: Callable[[float], None] | None = None) -> Run:
    """Build the scenario's mesh and start everything on its clock, in one fixed order: faults,
    the sampler, the generators, the release of read stream records. ``select`` (a partition of
    a partitioned run) may drop the resources and generators another partition runs before the
    sampler and generators start; ``exclude`` and ``on_sample`` go to the sampler."""
    mesh, _api = build_mesh(scenario)
    runner = install_virtual_runner(mesh, scenario.handler_duration_s)
    mesh.subscribe(HttpRequest, partial(_answer_http, mesh, scenario.http_status, scenario.http_latency_s))
    origin = mesh.clock.now()
    end = origin + scenario.duration_s
    board = mesh.state(FaultBoard)
    for fault in scenario.faults:
        board.add(fault, origin=origin)
    generators = [_generator(mesh, spec, scenario.seed, origin, end) for spec in scenario.load]
    if select is not None:
        generators = select(mesh, generators)
    sampler = Sampler(mesh, scenario.report.period_s, scenario.report.sample_s, scenario.report.metrics, generators,
                      exclude=exclude, on_sample=on_sample)
    sampler.start(origin, end)
    for generator in generators:
        generator.start()

    def release() -> None:
        _release_read_records(mesh)
        if mesh.clock.now() + RELEASE_INTERVAL_S < end:
            mesh.clock.call_later(RELEASE_INTERVAL_S, release)

    mesh.clock.call_at(origin + RELEASE_INTERVAL_S, release)
    return Run(mesh, runner, generators, sampler, board, origin, end)


def fault_windows(board: FaultBoard, origin: float, end: float) -> list[dict[str, Any]]:
    return [{"id": f.id, "kind": f.kind, "target": f.target, "start": round(start - origin, 6),
             "end": round(stop - origin, 6)} for f, start, stop in board.windows(end)]


@contextmanager
def collector_tuned() -> Iterator[None]:
    """While a simulation runs: what was built before it is frozen out of every collection (it
    lives for the run), and the young generation is collected less often (RUN_GC_THRESHOLDS)."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*RUN_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def run_variant(scenario: Scenario, *, variant: str = "", parameters: dict[str, Any] | None = None,
                progress: bool | Progress = False) -> RunResult:
    """Run ``scenario`` once, on one engine, and collect its results (``partitioned.py`` runs it
    on several processes with the same results)."""
    wall_start = time.perf_counter()
    run = start_run(scenario)
    mesh, generators, origin, end = run.mesh, run.generators, run.origin, run.end
    topology = read_topology(mesh, generators)
    driver = VirtualDriver(mesh)
    bar = progress if isinstance(progress, Progress) else Progress(
        scenario.duration_s, f"{scenario.name}{' ' + variant if variant else ''}", force=False)
    if progress is False:
        bar.enabled = False
    step = scenario.duration_s / PROGRESS_STEPS
    clock = driver.clock
    with collector_tuned():
        for i in range(1, PROGRESS_STEPS + 1):
            target = end if i == PROGRESS_STEPS else origin + i * step
            driver.advance(max(0.0, target - clock.now()))
            bar.update(clock.now() - origin, run.events())
    events = run.events()
    bar.update(scenario.duration_s, events, final=True)
    wall = time.perf_counter() - wall_start
    result = RunResult(
        scenario=scenario.name, seed=scenario.seed, variant=variant, parameters=dict(parameters or {}),
        virtual_seconds=scenario.duration_s, wall_seconds=round(wall, 3), events=events,
        metrics=run.sampler.results(), totals=collect_totals(mesh, generators),
        faults=fault_windows(run.board, origin, end), topology=topology, origin=origin,
        period=scenario.report.period_s)
    run.runner.close()
    return result
