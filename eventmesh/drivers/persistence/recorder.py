"""The entry point of every input while a daemon keeps a data directory: journal it, then take it.

Each input is appended to the journal and processed with the clock held at one instant (the
instant journaled), so replaying it computes the same results. Four kinds of input reach the
engine from outside (docs/durability.md): API requests, runs of due timers, the answers
drivers bring back for effects, and the start of a graceful shutdown. A daemon without a data
directory uses :class:`Direct`, which takes them with no journal and no hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from eventmesh.drivers.persistence.journal import Journal
from eventmesh.drivers.persistence.records import Answer, Drain, RequestRecord, Tick
from eventmesh.effects import HandlerOutcome, HttpRequest, HttpResponse, RunInvocation
from eventmesh.mesh import Ephemeral, Mesh

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
        self.mesh.flush()

    def drain(self, run: Callable[[], object]) -> None:
        """A graceful shutdown began: ``run`` ends what waits on connections (long polls)."""
        run()
        self.mesh.flush()

    def answer(self, token: int, value: HttpResponse | HandlerOutcome) -> None:
        self.mesh.reply(token, value)
        self.mesh.flush()


class Recorder(Direct):
    """Inputs journaled first, each taken at the instant journaled. ``outstanding`` holds the
    effects sent outside the engine (handler runs, HTTP requests) until their answer is taken:
    a snapshot keeps them, so a restart sends them again."""

    def __init__(self, mesh: Mesh, journal: Journal) -> None:
        super().__init__(mesh)
        self.journal = journal
        self.clock = mesh.clock
        self.outstanding: dict[int, HttpRequest | RunInvocation] = {}
        self._subscription = Ephemeral(self._sent)
        mesh.subscribe(HttpRequest, self._subscription)
        mesh.subscribe(RunInvocation, self._subscription)

    def _sent(self, effect: HttpRequest | RunInvocation) -> None:
        if effect.reply_to:
            self.outstanding[effect.reply_to] = effect

    def close(self) -> None:
        self.mesh.unsubscribe(HttpRequest, self._subscription)
        self.mesh.unsubscribe(RunInvocation, self._subscription)

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
        self._take(Tick, run)

    def drain(self, run: Callable[[], object]) -> None:
        self._take(Drain, run)

    def _take(self, kind: type[Tick] | type[Drain], run: Callable[[], object]) -> None:
        clock = self.clock
        at = clock.now()
        self.journal.append(kind(at))
        clock.hold(at)
        try:
            run()
            self.mesh.flush()
        finally:
            clock.release()

    def answer(self, token: int, value: HttpResponse | HandlerOutcome) -> None:
        self.outstanding.pop(token, None)
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
