"""``eventmesh simulate --partitions N``: one scenario on N processes, with the results of one.

Each partition is a process that builds the whole scenario (so every id drawn while resources
are made is the same everywhere), then keeps only what it owns (``placement.py``): the other
resources leave its mesh (``Mesh.detach``; a mapping is removed, which stops its poller), their
generators are not started, and a :class:`~eventmesh.partition.Link` takes the deliveries bound
for them. The coordinator (this process) moves the frames and keeps the partitions in step.

Synchronisation is conservative, in windows of virtual time. Every delivery between partitions
takes at least the lookahead L (the smallest latency of an edge between them; answers travel
back as long). A window starts at T, the earliest thing anyone has to do (a timer, or an
arrival in a frame), and every partition runs its timers strictly before T + L: nothing another
partition does in the window can reach it before T + L. At the barrier each partition hands over
its frames; arrivals become timers at their virtual time, in the order one process would have
run them (``Mesh.arrival_seq``). The last window runs to the end inclusive, as one process does.

Why the results are the same as with one process, bit for bit:

* the latency model is the single-process model too: with one partition the same deliveries
  become the same timers, at the same virtual times;
* at an instant, timed arrivals run first, ordered by sender and the sender's own count, which
  does not depend on the process; other timers of a partition keep their relative order, which
  only depends on that partition's own past;
* what a resource draws at random comes from its own stream (``Mesh.ids_for``), generators and
  faults from theirs;
* the account's unreserved concurrency, shared by all its functions, is split into shares
  (``pool.py``); as long as no share cuts an admission short, each admission is what the whole
  pool would have decided. If one does, the run is redone with that account's unreserved
  functions in one partition (and says so);
* metrics are sampled at the same instants in each partition; the account-level Lambda series
  (ConcurrentExecutions without dimensions, ...) are sums over partitions, so each partition
  records its samples and the coordinator samples their sums (a Maximum of sums is not a sum of
  Maximums).

At a barrier every pair of partitions swaps one message on its own pipe: the frame for the
other, the sender's next deadline and the earliest arrival it sent (so each computes the next
window alike, with no coordinator in the loop); the frames are msgpack
(``eventmesh/partition/frames.py``). The coordinator only starts the partitions, shows their
progress and merges their results. A partition's engine between barriers is
:class:`PartitionEngine`, whatever carries its frames (``ray_partitions.py`` drives the same
engines as Ray actors).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

import msgspec

from eventmesh.mesh import Mesh
from eventmesh.partition import Link, Ownership
from eventmesh.services.esm.mapping import EventSourceMapping
from eventmesh.services.events.bus import EventBus
from eventmesh.services.lambda_.pool import AccountPool, AccountStatistics
from eventmesh.simulate.placement import Placement, plan
from eventmesh.simulate.progress import Progress
from eventmesh.simulate.results import RunResult
from eventmesh.simulate.runner import _generator, build_mesh, collector_tuned, fault_windows, run_variant, start_run
from eventmesh.simulate.sampling import Sampler, Series, _Source, series_key
from eventmesh.simulate.scenario import Scenario
from eventmesh.simulate.topology import read_topology
from eventmesh.simulate.totals import ResourceTotals, collect_totals

__all__ = ["Driver", "PartitionEngine", "PartitionStatistics", "RunStatistics", "next_window", "partition_count",
           "run_partitioned"]


def partition_count(value: str | int) -> int:
    """``--partitions``: a whole number >= 1, or ``auto`` (the machine's cores)."""
    if value == "auto":
        return os.cpu_count() or 1
    count = int(value)
    if count < 1:
        raise ValueError("--partitions takes a whole number >= 1 or auto")
    return count


class PartitionStatistics(msgspec.Struct, frozen=True):
    """How one partition spent its wall time, and what crossed its link."""

    partition: int
    busy_s: float          # running its windows, encoding its frames and carrying in the others'
    wait_s: float          # at the barriers: swapping frames with the others and waiting for them
    windows: int
    events: int            # events its generators offered
    items_sent: int
    items_received: int
    bytes_sent: int
    cpu_s: float = 0.0     # CPU time of its process, building the scenario to sending its results
    setup_s: float = 0.0   # building the scenario and keeping its own part, before the first window


class RunStatistics(msgspec.Struct, frozen=True):
    """A partitioned run's own figures (not part of its results: summary.json has none of them)."""

    partitions: int
    lookahead_s: float
    windows: int
    reruns: int            # runs redone because a concurrency share was too small
    placement: list[str]
    per_partition: list[PartitionStatistics]


class _Outcome(msgspec.Struct):
    """What a partition sends back at the end."""

    metrics: list[Series]
    totals: list[ResourceTotals]
    pools: dict[str, list[tuple[float, int, int, int]]]   # "account/region" → samples
    faults: list[dict[str, Any]]
    statistics: PartitionStatistics


_encode = msgspec.msgpack.encode
PROGRESS_EVERY_S = 0.2      # partition 0 tells the coordinator how far it got, at most this often
_outcome = msgspec.msgpack.Decoder(_Outcome)


# -- a partition (a child process) ---------------------------------------------------------------


def _keep_own(ownership: Ownership, partition: int) -> Callable[[Mesh, list[Any]], list[Any]]:
    """``start_run``'s select hook: drop what other partitions run, keep our generators."""

    def select(mesh: Mesh, generators: list[Any]) -> list[Any]:
        detached: dict[int, str] = {}
        for resource in list(mesh.all_resources()):
            arn = resource.arn
            if ownership.owner(arn) == partition:
                continue
            if isinstance(resource, EventSourceMapping):
                mesh.remove(arn)            # its poller stops, its registry entry goes
            else:
                if isinstance(resource, EventBus):
                    for rule in resource.rules.values():
                        rule.close()        # scheduled rules stop here (they fire in their owner)
                mesh.detach(arn)
            detached[id(resource)] = arn
        for timer in mesh.clock.scheduled():
            callback: Any = timer.callback
            owner = getattr(callback, "__self__", None) or getattr(getattr(callback, "func", None), "__self__", None)
            if owner is not None and id(owner) in detached:
                raise RuntimeError(f"{detached[id(owner)]} has a timer but another partition runs it")
        return [g for g in generators if ownership.owner(g.target.arn) == partition]

    return select


def _pools(mesh: Mesh) -> list[tuple[str, AccountPool]]:
    out = []
    for view in mesh.scopes():
        pool = view.find_state(AccountPool)
        if pool is not None:
            out.append((f"{view.account_id}/{view.region}", pool))
    return out


def _partition_main(conn: Connection, peers: dict[int, Connection], others: list[Connection], scenario: Scenario,
                    ownership_data: bytes, partition: int, shares: dict[str, int], lookahead: float) -> None:
    for other in others:     # pipe ends of other pairs (inherited by fork): a dead peer must show as EOF
        other.close()
    try:
        _partition(conn, peers, scenario, Ownership.from_bytes(ownership_data), partition, shares, lookahead)
    except (EOFError, BrokenPipeError, ConnectionResetError):   # the run stopped elsewhere
        pass
    except BaseException:   # the coordinator raises it with the partition's traceback
        try:
            conn.send(("error", partition, traceback.format_exc()))
        except OSError:
            pass
    finally:
        conn.close()
        for peer in peers.values():
            peer.close()


_NONE = -1.0    # "no deadline" in an exchange (virtual times are epoch seconds, never negative)
_exchange = msgspec.msgpack.Decoder(tuple[bytes, float, float, list[str]])


def _swap(peers: dict[int, Connection], partition: int, message: dict[int, bytes], deadline: float | None,
          earliest: float | None, exceeded: list[str]) -> list[tuple[bytes, float, float, list[str]]]:
    """One barrier: every pair of partitions swaps (frame, next deadline, earliest arrival sent,
    exceeded shares). Pairs go in a fixed order, the lower partition sending first, so two large
    frames never wait on each other's pipe buffers."""
    out = []
    for peer in sorted(peers):
        conn = peers[peer]
        data = _encode((message.get(peer, b""), _NONE if deadline is None else deadline,
                        _NONE if earliest is None else earliest, exceeded))
        if partition < peer:
            conn.send_bytes(data)
            out.append(_exchange.decode(conn.recv_bytes()))
        else:
            received = conn.recv_bytes()
            conn.send_bytes(data)
            out.append(_exchange.decode(received))
    return out


class PartitionEngine:
    """One partition's engine between barriers, whatever carries its frames: the pipes of
    :func:`run_partitioned`, or the actor calls of ``ray_partitions.py``.

    ``window(start)`` runs its timers in [start, start + lookahead) (the last window: to the end
    inclusive) and says whether a barrier follows; ``barrier()`` hands out what the others need
    (frames by destination, its next timer, the earliest item it sent, shares that ran out);
    ``receive`` takes their frames; ``outcome()`` is its results, encoded."""

    def __init__(self, scenario: Scenario, ownership: Ownership, partition: int, shares: dict[str, int],
                 lookahead: float) -> None:
        self.partition, self.lookahead = partition, lookahead
        self.samples: dict[str, list[tuple[float, int, int, int]]] = defaultdict(list)
        self.busy = self.wait_s = 0.0
        self.windows = 0
        self._meshes: list[Mesh] = []
        links: list[Link] = []

        def select(mesh: Mesh, generators: list[Any]) -> list[Any]:
            self._meshes.append(mesh)
            for key, pool in _pools(mesh):
                if key in shares:
                    pool.share = shares[key]
            kept = _keep_own(ownership, partition)(mesh, generators)
            links.append(Link(mesh, ownership, partition).install())
            return kept

        self._cpu, setup = time.process_time(), time.perf_counter()
        self.run = start_run(scenario, select=select, exclude=lambda r: isinstance(r, AccountPool),
                             on_sample=self._on_sample)
        self.setup_s = time.perf_counter() - setup
        self.mesh, self.clock, self.link = self.run.mesh, self.run.mesh.clock, links[0]
        self.end = self.run.end
        self.pools = _pools(self.mesh)

    def _on_sample(self, now: float) -> None:
        for key, pool in _pools(self._meshes[0]):
            s = pool.statistics()
            self.samples[key].append((now, s.concurrent_executions, s.unreserved_concurrent_executions,
                                      s.claimed_account_concurrency))

    def next_deadline(self) -> float | None:
        return self.clock.next_deadline()

    def window(self, start: float) -> tuple[bool, float]:
        """Run the window that starts at ``start``: (whether a barrier follows, its end)."""
        began = time.perf_counter()
        strict = start < self.end
        limit = min(start + self.lookahead, self.end) if strict else self.end
        if strict:
            self.clock.run_due(limit, strictly_before=True)
        else:
            self.clock.advance_to(limit)  # type: ignore[attr-defined]
            self.mesh.flush()
        self.windows += 1
        self.busy += time.perf_counter() - began
        return strict, limit

    def barrier(self) -> tuple[dict[int, bytes], float | None, float | None, list[str]]:
        """(frames by destination, next timer, earliest item sent, shares that ran out); encoding
        the frames counts as running."""
        began = time.perf_counter()
        exceeded = [key for key, pool in self.pools if pool.share_exceeded_at is not None]
        earliest, deadline = self.link.earliest(), self.clock.next_deadline()
        frames = self.link.frames()
        self.busy += time.perf_counter() - began
        return frames, deadline, earliest, exceeded

    def receive(self, frame: bytes) -> None:
        """Carry in another partition's frame (its time counts as running, not as waiting)."""
        began = time.perf_counter()
        self.link.receive(frame)
        self.busy += time.perf_counter() - began

    def outcome(self) -> bytes:
        """The partition's results (an encoded ``_Outcome``); the engine is done after it."""
        run, stats = self.run, self.link.statistics()
        outcome = _Outcome(
            metrics=run.sampler.results(), totals=collect_totals(self.mesh, run.generators), pools=dict(self.samples),
            faults=fault_windows(run.board, run.origin, run.end),
            statistics=PartitionStatistics(self.partition, round(self.busy, 3), round(self.wait_s, 3), self.windows,
                                           run.events(), stats.items_sent, stats.items_received, stats.bytes_sent,
                                           round(time.process_time() - self._cpu, 3), round(self.setup_s, 3)))
        run.runner.close()
        return _encode(outcome)


def next_window(limit: float, end: float, times: list[float | None]) -> float:
    """Where the next window starts: the earliest timer or timed item anywhere, never before
    the end of the last window (``limit``); ``end`` when nothing is left."""
    return max(limit, min([t for t in times if t is not None], default=end))


def _partition(conn: Connection, peers: dict[int, Connection], scenario: Scenario, ownership: Ownership,
               partition: int, shares: dict[str, int], lookahead: float) -> None:
    engine = PartitionEngine(scenario, ownership, partition, shares, lookahead)
    with collector_tuned():
        _run_windows(engine, conn, peers, partition)


def _run_windows(engine: PartitionEngine, conn: Connection, peers: dict[int, Connection], partition: int) -> None:
    reported = waited = time.perf_counter()
    deadline = engine.next_deadline()
    times = [None if d == _NONE else d for _, d, _, _ in _swap(peers, partition, {}, deadline, None, [])]
    start = next_window(0.0, engine.end, [deadline, *times])
    engine.wait_s += time.perf_counter() - waited
    while True:
        strict, limit = engine.window(start)
        if not strict:
            break
        now, busy = time.perf_counter(), engine.busy
        frames, deadline, earliest, exceeded = engine.barrier()
        swapped = _swap(peers, partition, frames, deadline, earliest, exceeded)
        nexts: list[float | None] = [deadline, earliest]
        for frame, their_deadline, their_earliest, their_exceeded in swapped:
            if frame:
                engine.receive(frame)
            nexts += [None if t == _NONE else t for t in (their_deadline, their_earliest)]
            exceeded += their_exceeded
        engine.wait_s += time.perf_counter() - now - (engine.busy - busy)
        if exceeded:     # every partition saw it at this barrier: all stop, each says why
            conn.send(("exceeded", sorted(set(exceeded))))
            return
        start = next_window(limit, engine.end, nexts)
        if partition == 0 and now - reported > PROGRESS_EVERY_S:
            reported = now
            conn.send(("progress", limit))
    conn.send(("done", engine.outcome()))


# -- the coordinator ------------------------------------------------------------------------------


class _ShareExceeded(Exception):
    def __init__(self, keys: set[str]) -> None:
        super().__init__(", ".join(sorted(keys)))
        self.keys = keys


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods and sys.platform != "darwin" else "spawn")


def _drive(scenario: Scenario, placement: Placement, origin: float, bar: Progress,
           rate: float) -> tuple[list[_Outcome], int]:
    """Start the partitions, show their progress, collect their outcomes (and windows run)."""
    ctx = _context()
    n = placement.partitions
    pairs = {(i, j): ctx.Pipe() for i in range(n) for j in range(i + 1, n)}
    ends: dict[int, dict[int, Connection]] = {p: {} for p in range(n)}
    for (i, j), (a, b) in pairs.items():
        ends[i][j], ends[j][i] = a, b
    every_end = [c for pair in pairs.values() for c in pair]
    conns: list[Connection] = []
    processes = []
    data = placement.ownership.to_bytes()
    for p in range(n):
        shares = {f"{a}/{r}": s[p] for (a, r), s in placement.shares.items() if s[p] is not None}
        parent, child = ctx.Pipe()
        own = ends[p]
        others = [c for c in every_end if all(c is not mine for mine in own.values())]
        process = ctx.Process(target=_partition_main, daemon=True, name=f"eventmesh-partition-{p}",
                              args=(child, own, others, scenario, data, p, shares, placement.lookahead_s))
        process.start()
        child.close()
        conns.append(parent)
        processes.append(process)
    for c in every_end:
        c.close()
    try:
        outcomes: dict[int, _Outcome] = {}
        while len(outcomes) < n:
            for ready in wait([c for p, c in enumerate(conns) if p not in outcomes]):
                p = conns.index(ready)    # type: ignore[arg-type]
                try:
                    message: Any = conns[p].recv()
                except EOFError:
                    # A partition whose peer failed stops quietly: report the failure itself if it came.
                    for other in conns:
                        if other is not conns[p] and other.poll(1.0):
                            found = other.recv()
                            if found[0] == "error":
                                raise RuntimeError(f"partition {found[1]} failed:\n{found[2]}") from None
                    processes[p].join(timeout=5)
                    raise RuntimeError(f"partition {p} ended without its results "
                                       f"(exit code {processes[p].exitcode})") from None
                if message[0] == "error":
                    raise RuntimeError(f"partition {message[1]} failed:\n{message[2]}")
                if message[0] == "exceeded":
                    raise _ShareExceeded(set(message[1]))
                if message[0] == "progress":
                    bar.update(message[1] - origin, int(rate * (message[1] - origin)))
                else:
                    outcomes[p] = _outcome.decode(message[1])
        ordered = [outcomes[p] for p in range(n)]
        return ordered, ordered[0].statistics.windows
    finally:
        for conn in conns:
            conn.close()        # a partition still running sees the end of its pipe
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()


Driver = Callable[[Scenario, Placement, float, Progress, float], tuple[list[_Outcome], int]]


class _Replay:
    """An account's Lambda concurrency as the sum of its partitions' samples."""

    metric_namespace = "AWS/Lambda"

    def __init__(self, clock: Any, values: dict[float, AccountStatistics]) -> None:
        self.clock, self.values = clock, values

    def metric_dimensions(self) -> dict[str, str]:
        return {}

    def statistics(self) -> AccountStatistics:
        return self.values[self.clock.now()]


class _ReplaySampler(Sampler):
    """The sampler, over the summed account-level samples instead of a mesh's resources."""

    replays: list[_Replay]

    def _discover(self) -> None:
        now = self.clock.now()
        for replay in self.replays:
            if id(replay) not in self._sources and now in replay.values:
                self._sources[id(replay)] = _Source(replay, "AWS/Lambda", [], replay.statistics())


def _pool_series(scenario: Scenario, outcomes: list[_Outcome], origin: float, end: float) -> list[Series]:
    merged: dict[str, dict[float, list[int]]] = {}
    reserved: dict[str, dict[float, int]] = {}
    for outcome in outcomes:
        for key, rows in outcome.pools.items():
            into = merged.setdefault(key, {})
            for t, concurrent, unreserved, claimed in rows:
                total = into.setdefault(t, [0, 0])
                total[0] += concurrent
                total[1] += unreserved
                reserved.setdefault(key, {})[t] = claimed - unreserved   # Σ reserved: the same everywhere
    if not merged:
        return []
    from eventmesh.clock import VirtualClock

    clock = VirtualClock(origin)
    sampler = _ReplaySampler(Mesh(clock), scenario.report.period_s, scenario.report.sample_s, scenario.report.metrics)
    sampler.replays = [_Replay(clock, {t: AccountStatistics(c, u, u + reserved[key][t]) for t, (c, u) in rows.items()})
                       for key, rows in merged.items()]
    sampler.start(origin, end)
    clock.advance_to(end)
    return sampler.results()


def run_partitioned(scenario: Scenario, partitions: int, *, variant: str = "", parameters: dict[str, Any] | None = None,
                    progress: bool | Progress = False, statistics: list[RunStatistics] | None = None,
                    driver: Driver | None = None) -> RunResult:
    """Run ``scenario`` on up to ``partitions`` processes (see the module docstring): the same
    result as one process but for the wall-clock fields. ``statistics`` (a list) receives the
    run's own figures: windows, barrier waits, what crossed. ``driver`` runs the partitions of a
    placement and returns their outcomes (default: forked processes swapping frames on pipes;
    ``ray_partitions.py``: Ray actors)."""
    drive = driver or _drive
    wall_start = time.perf_counter()
    mesh, _api = build_mesh(scenario)      # the whole topology: to place it, and for the results' shape
    origin = mesh.clock.now()
    end = origin + scenario.duration_s
    generators = [_generator(mesh, spec, scenario.seed, origin, end) for spec in scenario.load]
    topology = read_topology(mesh, generators)
    order = {(row.kind, row.name): i for i, row in enumerate(collect_totals(mesh, generators))}
    colocate: set[tuple[str, str]] = set()
    placement = plan(mesh, generators, partitions, scenario.duration_s)
    mesh.close()
    if placement.partitions == 1:
        result = run_variant(scenario, variant=variant, parameters=parameters, progress=progress)
        if statistics is not None:
            statistics.append(RunStatistics(1, math.inf, 0, 0, placement.describe(), []))
        return result
    bar = progress if isinstance(progress, Progress) else Progress(
        scenario.duration_s, f"{scenario.name}{' ' + variant if variant else ''}", force=False)
    if progress is False:
        bar.enabled = False
    rate = sum(g.profile.mean_rate(scenario.duration_s) for g in scenario.load)
    reruns = 0
    while True:
        try:
            outcomes, windows = drive(scenario, placement, origin, bar, rate)
            break
        except _ShareExceeded as exc:
            reruns += 1
            for key in exc.keys:
                account, region = key.split("/", 1)
                colocate.add((account, region))
            mesh, _api = build_mesh(scenario)
            generators = [_generator(mesh, spec, scenario.seed, origin, end) for spec in scenario.load]
            placement = plan(mesh, generators, partitions, scenario.duration_s, frozenset(colocate))
            mesh.close()
            print(f"eventmesh simulate: the unreserved concurrency of {exc} is shared by functions in several "
                  "partitions and one's share ran out: running again with them in one partition", file=sys.stderr)
            if placement.partitions == 1:
                return run_variant(scenario, variant=variant, parameters=parameters, progress=progress)
    metrics = sorted([s for o in outcomes for s in o.metrics] + _pool_series(scenario, outcomes, origin, end),
                     key=series_key)
    totals = sorted((row for o in outcomes for row in o.totals), key=lambda r: order.get((r.kind, r.name), len(order)))
    events = sum(o.statistics.events for o in outcomes)
    bar.update(scenario.duration_s, events, final=True)
    result = RunResult(
        scenario=scenario.name, seed=scenario.seed, variant=variant, parameters=dict(parameters or {}),
        virtual_seconds=scenario.duration_s, wall_seconds=round(time.perf_counter() - wall_start, 3), events=events,
        metrics=metrics, totals=totals, faults=outcomes[0].faults, topology=topology, origin=origin,
        period=scenario.report.period_s)
    if statistics is not None:
        statistics.append(RunStatistics(placement.partitions, placement.lookahead_s, windows, reruns,
                                        placement.describe(), [o.statistics for o in outcomes]))
    return result
