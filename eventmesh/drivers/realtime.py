"""The real-time driver: one event-loop timer for the clock's earliest deadline.

When it fires, every due timer runs and the mesh carries out its effects; then the loop timer is
set for the next deadline. A timer scheduled earlier than the current one moves it. Effects that
need I/O (HTTP deliveries, handler runs in worker processes) are started by runners the daemon
installs, each as one task per batch or invocation, never one per event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from eventmesh.clock import RealClock
from eventmesh.mesh import Mesh

__all__ = ["RealtimeDriver"]


class RealtimeDriver:
    """Runs a mesh on a :class:`RealClock` inside the running asyncio loop."""

    def __init__(self, mesh: Mesh, loop: asyncio.AbstractEventLoop | None = None,
                 tick: Callable[[Callable[[], object]], None] | None = None) -> None:
        if not isinstance(mesh.clock, RealClock):
            raise TypeError("the real-time driver needs a mesh on a RealClock")
        self.mesh = mesh
        # How a run of due timers enters the engine (a daemon with a data directory journals it).
        self._tick = tick or self._run
        self.clock = mesh.clock
        self.loop = loop or asyncio.get_running_loop()
        self._handle: asyncio.TimerHandle | None = None
        self._at: float | None = None
        self.clock.on_earlier_deadline = self._reschedule
        self._reschedule()

    def _reschedule(self) -> None:
        deadline = self.clock.next_deadline()
        if deadline is None or deadline == self._at:
            return
        if self._handle is not None:
            self._handle.cancel()
        self._at = deadline
        delay = max(0.0, deadline - self.clock.now())
        self._handle = self.loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._at = None
        deadline = self.clock.next_deadline()
        if deadline is not None and deadline <= self.clock.now():
            self._tick(self.clock.run_due)
        self._reschedule()

    def _run(self, run: Callable[[], object]) -> None:
        run()
        self.mesh.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self.clock.on_earlier_deadline = None
