"""``--clock virtual`` across workers: every worker's clock moves together, exactly.

``POST /_eventmesh/clock {"advance": s}`` on any worker (the console's button,
``ServerHandle.advance``) makes that worker the coordinator of a conservative advance: it asks
every worker for its next deadline, moves them all to the earliest (each runs what falls due
then), and repeats until the target. Between two moves it waits for quiet: deliveries that
crossed to another worker have been received and answered, counted as sent and received by
every worker's link (two rounds in a row with equal, unchanged sums). A frame carries its
sender's virtual time, and a receiver whose clock is behind catches up before taking it; since no worker
moves past the earliest deadline of all, catching up runs only what falls due at that instant.
So a timer on one worker and the delivery it causes on another happen at the virtual times they
would in one process (the order of events at the same instant on different workers is the one
freedom left).
"""

from __future__ import annotations

from typing import Any

import msgspec

from eventmesh.clock import VirtualClock, advance_problem
from eventmesh.wire.render import Response
from eventmesh.wire.router import Request
from eventmesh.wire.server import json_response

__all__ = ["advance_all", "install"]


class _ClockRequest(msgspec.Struct):
    advance: float | None = None


def _step(daemon: Any, when: float) -> list[Any]:
    """Move this worker's clock to ``when`` (running what falls due), carry out the effects."""
    clock: VirtualClock = daemon.mesh.clock
    ran = clock.advance_to(when) if when > clock.now() else clock.run_due()
    daemon.mesh.flush()
    link = daemon.node.link
    link.send_frames()   # counted as sent now, not at the end of the turn
    sent, received = daemon.node.timed
    return [ran, link.items_sent + sent, link.items_received + received, clock.next_deadline()]


async def advance_all(daemon: Any, seconds: float) -> int:
    """Advance every worker's virtual clock by ``seconds``; returns how many timers ran."""
    node = daemon.node
    clock: VirtualClock = daemon.mesh.clock
    target = clock.now() + seconds
    when = clock.now()
    total = 0
    while True:
        previous: tuple[int, int] | None = None
        while True:   # at ``when`` until every worker is quiet
            answers = [_step(daemon, when), *(await node.ask_all("clock.step", when)).values()]
            ran = sum(a[0] for a in answers)
            total += ran
            counts = (sum(a[1] for a in answers), sum(a[2] for a in answers))
            if not ran and counts[0] == counts[1] and counts == previous:
                break
            previous = counts
        deadlines = [a[3] for a in answers if a[3] is not None]
        upcoming = min(deadlines) if deadlines else None
        if upcoming is None or upcoming > target:
            break
        when = max(upcoming, when)
    if when < target:
        _step(daemon, target)
        await node.ask_all("clock.step", target)
    return total


def install(daemon: Any) -> None:
    if not isinstance(daemon.mesh.clock, VirtualClock):
        return
    node = daemon.node
    node.asks["clock.step"] = lambda when: _step(daemon, float(when))

    async def advance(request: Request) -> Response:
        body = msgspec.json.decode(request.body or b"{}", type=_ClockRequest)
        assert body.advance is not None
        ran = await advance_all(daemon, body.advance)
        return json_response(200, {"now": daemon.mesh.clock.now(), "mode": "virtual", "timers_run": ran})

    def clock(request: Request) -> Response | Any:
        if request.method != "POST":
            return daemon.app._clock(request)
        try:   # the single daemon words a bad request; a good one advances every worker
            body = msgspec.json.decode(request.body or b"{}", type=_ClockRequest)
        except msgspec.DecodeError:
            return daemon.app._clock(request)
        if advance_problem(body.advance) is not None:
            return daemon.app._clock(request)
        return advance(request)

    daemon.app.endpoints["/_eventmesh/clock"] = clock
