"""The entry point of every input while a daemon keeps a data directory: journal it, then take it.

Each input is appended to the journal and processed with the clock held at one instant (the
instant journaled), so replaying it computes the same results. Three kinds of input reach the
engine from outside (docs/durability.md): API requests, runs of due timers, and the answers
drivers bring back for effects. A daemon without a data directory uses :class:`Direct`, which
takes them with no journal and no hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from eventmesh.drivers.persistence.journal import Journal
from eventmesh.drivers.persistence.records import Answer, RequestRecord, Tick
from eventmesh.effects import HandlerOutcome, HttpResponse
from eventmesh.mesh import Mesh

__all__ = ["Direct", "Inputs", "Recorder"]

T = TypeVar("T")


class Direct:
    """Inputs taken as they come (no data directory)."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh

    def request(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes,
                take: Callable[[], T]) -> tuple[T, int]:
        """Take a request; ``(result, journal seq)`` (0: nothing to wait for)."""
        return take(), 0

    def tick(self, run: Callable[[], object]) -> None:
        run()

    def answer(self, token: int, value: HttpResponse | HandlerOutcome) -> None:
        self.mesh.reply(token, value)
        self.mesh.flush()


class Recorder(Direct):
    """Inputs journaled first, each taken at the instant journaled."""

    def __init__(self, mesh: Mesh, journal: Journal) -> None:
        super().__init__(mesh)
        self.journal = journal
        self.clock = mesh.clock

    def request(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes,
                take: Callable[[], T]) -> tuple[T, int]:
        clock = self.clock
        at = clock.now()
        seq = self.journal.append(RequestRecord(at, method, path, query, headers, body))
        clock.hold(at)
        try:
            return take(), seq
        finally:
            clock.release()

    def tick(self, run: Callable[[], object]) -> None:
        clock = self.clock
        at = clock.now()
        self.journal.append(Tick(at))
        clock.hold(at)
        try:
            run()
        finally:
            clock.release()

    def answer(self, token: int, value: HttpResponse | HandlerOutcome) -> None:
        clock = self.clock
        at = clock.now()
        if isinstance(value, HttpResponse):
            self.journal.append(Answer(at, token, http=value))
        else:
            self.journal.append(Answer(at, token, outcome=value))
        clock.hold(at)
        try:
            self.mesh.reply(token, value)
            self.mesh.flush()
        finally:
            clock.release()


Inputs = Direct
"""What drivers and the server are handed: a :class:`Direct` or a :class:`Recorder`."""
