"""A partitioned simulation with one partition per Ray actor (a prototype; the ``ray`` extra).

    import ray
    from eventmesh.simulate.ray_partitions import run_on_ray

    ray.init()                          # or ray.init(address="auto"): a cluster of hosts
    result = run_on_ray(scenario, 4)    # the RunResult of one process, as run_partitioned gives

Each actor holds a :class:`~eventmesh.simulate.partitioned.PartitionEngine`: the same
placement, lookahead, windows and merge as ``eventmesh simulate --partitions N``, so the results
are again those of one process. What differs is who carries the frames: here the driver (this
process) calls every actor's ``step`` once per window, hands each the frames the others
produced for it and computes the next window from their deadlines. That costs a round trip
through the driver per window (the pipes of ``partitioned.py`` swap pairwise instead); with a
lookahead of 100 ms or more it is a few thousand calls per simulated hour, and the frames
(msgpack bytes) travel as Ray objects. docs/scale-out.md, "Beyond one host", says what crosses
the network and what a larger run would need.
"""

from __future__ import annotations

from typing import Any

from eventmesh.partition import Ownership
from eventmesh.simulate.partitioned import (
    PartitionEngine,
    RunStatistics,
    _Outcome,
    _outcome,
    next_window,
    run_partitioned,
)
from eventmesh.simulate.placement import Placement
from eventmesh.simulate.progress import Progress
from eventmesh.simulate.results import RunResult
from eventmesh.simulate.scenario import Scenario

__all__ = ["PartitionActor", "run_on_ray"]


class PartitionActor:
    """One partition as an actor (wrapped by ``ray.remote`` when a run starts)."""

    def __init__(self, scenario: Scenario, ownership_data: bytes, partition: int, shares: dict[str, int],
                 lookahead: float) -> None:
        self.engine = PartitionEngine(scenario, Ownership.from_bytes(ownership_data), partition, shares, lookahead)

    def next_deadline(self) -> float | None:
        return self.engine.next_deadline()

    def step(self, start: float, frames: list[bytes]) -> tuple[bool, float, dict[int, bytes], float | None,
                                                               float | None, list[str]]:
        """Carry in ``frames``, run the window from ``start``; then what the barrier needs."""
        for frame in frames:
            self.engine.receive(frame)
        strict, limit = self.engine.window(start)
        if not strict:
            return False, limit, {}, None, None, []
        return (True, limit, *self.engine.barrier())

    def outcome(self) -> bytes:
        return self.engine.outcome()


def _ray() -> Any:
    try:
        import ray
    except ImportError:   # an optional dependency
        raise ImportError("run_on_ray needs Ray: pip install 'eventmesh[ray]'") from None
    return ray


def _drive_on_ray(scenario: Scenario, placement: Placement, origin: float, bar: Progress,
                  rate: float) -> tuple[list[_Outcome], int]:
    from eventmesh.simulate.partitioned import _ShareExceeded

    ray = _ray()
    if not ray.is_initialized():
        ray.init()
    remote = ray.remote(num_cpus=1)(PartitionActor)
    n = placement.partitions
    data = ray.put(placement.ownership.to_bytes())
    actors = [remote.remote(scenario, data, p,
                            {f"{a}/{r}": s[p] for (a, r), s in placement.shares.items() if s[p] is not None},
                            placement.lookahead_s)
              for p in range(n)]
    try:
        deadlines = ray.get([actor.next_deadline.remote() for actor in actors])
        start = next_window(0.0, origin + scenario.duration_s, deadlines)
        end = origin + scenario.duration_s
        incoming: list[list[bytes]] = [[] for _ in range(n)]
        windows = 0
        while True:
            steps = ray.get([actor.step.remote(start, incoming[p]) for p, actor in enumerate(actors)])
            windows += 1
            if not steps[0][0]:
                break
            incoming = [[] for _ in range(n)]
            nexts: list[float | None] = []
            exceeded: set[str] = set()
            for _strict, _limit, frames, deadline, earliest, over in steps:
                for destination, frame in frames.items():
                    incoming[destination].append(frame)
                nexts += [deadline, earliest]
                exceeded.update(over)
            if exceeded:
                raise _ShareExceeded(exceeded)
            limit = steps[0][1]
            start = next_window(limit, end, nexts)
            bar.update(limit - origin, int(rate * (limit - origin)))
        return [_outcome.decode(data) for data in ray.get([actor.outcome.remote() for actor in actors])], windows
    finally:
        for actor in actors:
            ray.kill(actor)


def run_on_ray(scenario: Scenario, partitions: int, *, progress: bool | Progress = False,
               statistics: list[RunStatistics] | None = None) -> RunResult:
    """Run ``scenario`` with one partition per Ray actor (Ray started locally unless it is
    already): the same result as one process but for the wall-clock fields."""
    return run_partitioned(scenario, partitions, progress=progress, statistics=statistics, driver=_drive_on_ray)
