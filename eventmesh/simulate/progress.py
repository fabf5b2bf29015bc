"""A one-line progress bar on a terminal: virtual time reached, events/s, ETA; silent otherwise.

Redrawn at most every ``MIN_REDRAW_S`` of wall time, with a carriage return (no cursor codes
beyond erasing the line), so it costs nothing a run would notice and a log file never sees it.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from eventmesh.simulate.units import format_duration

__all__ = ["Progress"]

MIN_REDRAW_S = 0.1
BAR_WIDTH = 24


class Progress:
    """Draws to ``stream`` (default stderr) only when it is a TTY (or ``force``)."""

    def __init__(self, total_s: float, label: str = "", stream: TextIO | None = None, *, force: bool = False,
                 wall: object = time.perf_counter) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = force or bool(getattr(self.stream, "isatty", lambda: False)())
        self.total_s = total_s
        self.label = label
        self._wall = wall
        self._started = self._now()
        self._drawn_at = -MIN_REDRAW_S
        self._width = 0

    def _now(self) -> float:
        return float(self._wall())  # type: ignore[operator]

    def line(self, virtual_s: float, events: int) -> str:
        """The text of the bar at ``virtual_s`` of virtual time with ``events`` generated so far."""
        elapsed = max(1e-9, self._now() - self._started)
        fraction = min(1.0, virtual_s / self.total_s) if self.total_s else 1.0
        filled = int(fraction * BAR_WIDTH)
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else 0.0
        rate = events / elapsed
        label = f"{self.label} " if self.label else ""
        return (f"{label}[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction * 100:5.1f}% "
                f"{format_duration(virtual_s)}/{format_duration(self.total_s)} virtual  "
                f"{rate:,.0f} events/s  ETA {format_duration(eta)}")

    def update(self, virtual_s: float, events: int, *, final: bool = False) -> None:
        if not self.enabled:
            return
        now = self._now()
        if not final and now - self._drawn_at < MIN_REDRAW_S:
            return
        self._drawn_at = now
        text = self.line(virtual_s, events)
        pad = max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + " " * pad + ("\n" if final else ""))
        self.stream.flush()
