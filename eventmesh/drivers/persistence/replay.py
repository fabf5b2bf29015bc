"""Recovery: the engine of a data directory, rebuilt from its snapshot and journal.

The newest snapshot gives the engine as of a journal position; every record after it is taken
again, in order, with the clock held at the record's instant: requests through the same
``take`` the daemon uses live, timer runs, and drivers' answers. Effects the replay emits towards
drivers (handler runs, HTTP requests) are kept, not carried out: those whose answer the journal
holds are answered from it; the rest were in flight at the crash and are handed back to be sent
again (at least once).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from eventmesh.drivers.persistence import snapshot
from eventmesh.drivers.persistence.journal import read_records, segments
from eventmesh.drivers.persistence.records import Answer, Drain, RequestRecord, Tick
from eventmesh.effects import HttpRequest, RunInvocation
from eventmesh.mesh import Ephemeral, Mesh

__all__ = ["Recovered", "recover"]

TakeRequest = Callable[[RequestRecord], object]


class Recovered:
    """What recovery hands the daemon: the engine, the next journal position, the effects still
    waiting for an answer, and how many records were replayed."""

    def __init__(self, mesh: Mesh, next_seq: int, in_flight: list[HttpRequest | RunInvocation],
                 replayed: int) -> None:
        self.mesh = mesh
        self.next_seq = next_seq
        self.in_flight = in_flight
        self.replayed = replayed


def recover(directory: Path, fresh: Callable[[], Mesh], bind: Callable[[Mesh], TakeRequest],
            drain: Callable[[Mesh], object] = lambda mesh: None) -> Recovered:
    """Rebuild the engine of ``directory``: from its newest snapshot, else from ``fresh()``; then
    replay the journal. ``bind(mesh)`` returns how a request is taken (the daemon's router);
    ``drain(mesh)`` is what a graceful shutdown does to the engine."""
    found = snapshot.latest(directory)
    if found is not None:
        start = found[0]
        mesh, outstanding = snapshot.load(found[1])
    else:
        start, mesh, outstanding = 0, fresh(), []
    take = bind(mesh)
    # Effects waiting for an answer from outside: those the snapshot still waited for, then those
    # the replay emits; an answer in the journal settles one.
    waiting: dict[int, HttpRequest | RunInvocation] = {effect.reply_to: effect for effect in outstanding}

    def keep(effect: HttpRequest | RunInvocation) -> None:
        waiting[effect.reply_to] = effect

    capture = Ephemeral(keep)
    mesh.subscribe(HttpRequest, capture)
    mesh.subscribe(RunInvocation, capture)
    clock = mesh.clock
    next_seq, replayed = start, 0
    try:
        for first, path in segments(directory):
            for seq, record in read_records(path, first):
                if seq < start:
                    continue
                clock.hold(record.at)
                try:
                    if isinstance(record, RequestRecord):
                        take(record)
                    elif isinstance(record, Tick):
                        clock.run_due(record.at)
                    elif isinstance(record, Drain):
                        drain(mesh)
                    elif isinstance(record, Answer):
                        waiting.pop(record.token, None)
                        mesh.reply(record.token, record.value)
                    mesh.flush()
                finally:
                    clock.release()
                next_seq, replayed = seq + 1, replayed + 1
    finally:
        mesh.unsubscribe(HttpRequest, capture)
        mesh.unsubscribe(RunInvocation, capture)
    return Recovered(mesh, next_seq, list(waiting.values()), replayed)
