"""One worker's part in a daemon of several: its channels, the directory, where requests go.

* **Requests.** ``Api.dispatch`` sees every decoded request before its handler runs; the route
  (``routes.py``) names the resource, the directory (``placement.py``) its owner. A request for
  a resource owned here runs here; any other is forwarded as it arrived (``HttpCall``) to its
  owner, which serves it as if a client had sent it there, and its answer is relayed, byte for
  byte. A forwarded request is served where it lands after at most ``MAX_HOPS`` hops, so
  directories that disagree for a moment cannot bounce it around.
* **Creation.** A new spread resource goes through its arbiter, which places it (``placement``)
  and records the choice before passing the request on, so concurrent creations agree. Whoever
  adds a resource tells every peer; a request that added one is answered only once every peer
  has heard (a ``sync`` round trip behind the news on each FIFO channel), so the client's next
  request finds it from any worker.
* **Deliveries.** A ``Deliver`` whose target is not in this mesh goes to the partition layer's
  link (``deliveries.py``), whose frames travel on the same channels.
* **Questions.** ``ask(peer, topic, args)`` calls the peer's handler for ``topic``: list parts,
  metrics, the virtual clock, function facts (the other modules of this package register them).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import resource
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import msgspec

from eventmesh.errors import ServiceError
from eventmesh.mesh import Mesh
from eventmesh.wire.door import close_body
from eventmesh.wire.render import Response
from eventmesh.wire.router import Api, Request
from eventmesh.wire.service import RequestContext
from eventmesh.workers.channel import Channel
from eventmesh.workers.deliveries import WorkerLink
from eventmesh.workers.frames import Answer, Ask, Cancel, Chunk, Deliveries, HttpAnswer, HttpCall, Tell
from eventmesh.workers.placement import Placement
from eventmesh.workers.relay import RelayedBody
from eventmesh.workers.routes import ARN, CREATE, route

__all__ = ["MAX_HOPS", "Forwarded", "Node", "RemoteError"]

log = logging.getLogger("eventmesh.workers")

MAX_HOPS = 2    # client → any worker → arbiter → owner: served where it lands after two hops


class Forwarded(asyncio.Future):  # type: ignore[type-arg]
    """The answer to a request forwarded to worker ``owner`` (the door's connection affinity
    counts where its answers come from: ``wire/server.py``)."""

    __slots__ = ("owner",)

    def __init__(self, owner: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop=loop)
        self.owner = owner


class RemoteError(ServiceError):
    """A ServiceError a peer's handler raised, with its code, status and fault."""

    def __init__(self, message: str, code: str | None, status: int = 400, sender: bool = True) -> None:
        super().__init__(message)
        self.code = code or "InternalFailure"
        self.http_status = status
        self.sender_fault = sender


class Node:
    """Worker ``index`` of ``count``: serves ``api`` over ``mesh`` beside its peers."""

    def __init__(self, mesh: Mesh, api: Api, index: int, count: int) -> None:
        self.mesh = mesh
        self.api = api
        self.index = index
        self.count = count
        self.placement = Placement(index, count, mesh.account_id)
        self.channels: dict[int, Channel] = {}
        self.asks: dict[str, Callable[[Any], Any]] = {"sync": lambda args: None,
                                                      "statistics": lambda args: self.statistics()}
        self.tells: dict[str, Callable[[int, Any], None]] = {"placed": self._on_placed}
        self.added = 0          # resources this worker added: a request that moved it waits for news
        self.created: dict[str, int] = {}   # ARN -> when this worker added it (ns, one clock for all)
        self.timed = [0, 0]     # timed questions and answers sent and received (see ``ask``)
        self.forwarded = 0      # requests this worker passed on, and served for its peers
        self.served = 0
        self.on_peer_lost: Callable[[int], None] | None = None
        self.handover: Any = None   # the worker's ``Handover`` (connection affinity), once it listens
        self._hops = 0          # hops of the forwarded request being served (0: a client's)
        self._backlog: list[Tell] = []   # news from before the channels were up
        self._serving: dict[tuple[int, int], asyncio.Task[None]] = {}
        # Operations that need something from a peer before they run here (a mapping's
        # function): (service, operation) -> (params, account, Region) -> None or an awaitable
        # to wait for first.
        self.before: dict[tuple[str, str], Callable[[Any, str, str], Awaitable[None] | None]] = {}
        self.asks["call"] = lambda args: self.call(*args)
        self.asks["quiet"] = lambda args: self.crossed()
        self.link = WorkerLink(mesh, self.placement, self.channels)
        self.link.install()
        mesh.on_placement = self._placement_changed
        api.dispatch = self.dispatch

    @property
    def peers(self) -> list[int]:
        return [w for w in range(self.count) if w != self.index]

    async def connect(self, sockets: dict[int, socket.socket]) -> None:
        """Open a channel on each peer's socket (one end of a socketpair made by the parent)."""
        loop = asyncio.get_running_loop()
        for peer, sock in sockets.items():
            sock.setblocking(False)
            _, channel = await loop.create_unix_connection(
                lambda peer=peer: Channel(peer, self._on_message, self._lost), sock=sock)  # type: ignore[misc]
            self.channels[peer] = channel
        backlog, self._backlog = self._backlog, []
        for news in backlog:
            self._broadcast(news)

    def statistics(self) -> dict[str, Any]:
        """This worker's process CPU seconds and what crossed its channels (benchmarks read it)."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"cpu_s": usage.ru_utime + usage.ru_stime, "user_s": usage.ru_utime,
                "forwarded": self.forwarded, "served": self.served,
                "handed_over": getattr(self.handover, "handed_over", 0),
                "handed_in": getattr(self.handover, "handed_in", 0),
                "deliveries_sent": self.link.items_sent, "deliveries_received": self.link.items_received,
                "frames_sent": sum(c.frames_sent for c in self.channels.values()),
                "messages_sent": sum(c.messages_sent for c in self.channels.values())}

    def crossed(self) -> list[int]:
        """Deliveries and timed questions this worker sent and received so far, its buffered
        frames sent first (equal sums over every worker, twice in a row: nothing in flight)."""
        link = self.link
        link.send_frames()
        return [link.items_sent + self.timed[0], link.items_received + self.timed[1]]

    async def settle(self, max_rounds: int = 10_000) -> None:
        """Return once every delivery that crossed between workers has landed and been answered."""
        previous: tuple[int, int] | None = None
        for _ in range(max_rounds):
            answers = [self.crossed(), *(await self.ask_all("quiet")).values()]
            counts = (sum(a[0] for a in answers), sum(a[1] for a in answers))
            if counts[0] == counts[1] and counts == previous:
                return
            previous = counts
        raise RuntimeError(f"deliveries between workers did not settle in {max_rounds} rounds")

    def close(self) -> None:
        for task in list(self._serving.values()):
            task.cancel()
        for channel in self.channels.values():
            channel.close()

    # -- the directory ---------------------------------------------------------------------

    def _placement_changed(self, arn: str, added: bool) -> None:
        if added:
            self.added += 1
            # CLOCK_MONOTONIC is the machine's: creation order across workers (list merges)
            self.created[arn] = time.monotonic_ns()
            self.placement.record(arn, self.index)
        else:
            self.placement.forget(arn, self.index)
        self._broadcast(Tell("placed", [arn, added]))

    def _on_placed(self, peer: int, args: Any) -> None:
        arn, added = args
        if added:
            self.placement.record(arn, peer)
        else:
            self.placement.forget(arn, peer)

    def _broadcast(self, message: Any) -> None:
        if len(self.channels) < self.count - 1:
            self._backlog.append(message)
            return
        for channel in self.channels.values():
            if not channel.closed:
                channel.send(message)

    async def sync(self) -> None:
        """Return once every peer has handled everything this worker sent before."""
        await asyncio.gather(*(self.ask(peer, "sync") for peer in self.peers))

    async def after_adding(self, response: Response | Awaitable[Response]) -> Response:
        """``response``, once every peer knows of the resources its request added."""
        answer = response if isinstance(response, tuple) else await response
        await self.sync()
        return answer

    # -- requests --------------------------------------------------------------------------

    def owner(self, service: str, operation: str, params: Any, account: str, region: str) -> tuple[int | None, bool]:
        """The worker a request must run on (None: any, here), and whether that is decided
        (an arbiter placed a new resource there: it runs there, whatever that worker's
        directory says yet)."""
        found = route(service, operation, params, account, region)
        if found.kind == ARN:
            return self.placement.owner(found.arn), False
        if found.kind == CREATE:
            return self._creator(found.arn, found.near)
        return None, False

    def _creator(self, unit: str, near: str) -> tuple[int, bool]:
        """Where a new spread resource is created: where it is already (a repeated, idempotent
        create), else as its arbiter decides (beside ``near``'s owner, or the least loaded)."""
        placement = self.placement
        known = placement.known(unit)
        if known is not None:
            return known, False
        arbiter = placement.arbiter(unit)
        if arbiter != self.index:
            return arbiter, False
        if near:
            owner = placement.owner(near)
            placement.record(unit, owner)
            return owner, True
        return placement.choose(unit), True

    def dispatch(self, request: Request, service: str, operation: str, params: Any,
                 ctx: RequestContext) -> Awaitable[Response] | None:
        """``Api.dispatch``: None to serve the request here, else its forwarded answer."""
        if self._hops >= MAX_HOPS:
            return None
        owner, decided = self.owner(service, operation, params, ctx.account_id, ctx.region)
        if owner is None or owner == self.index:
            before = self.before.get((service, operation))
            waiting = before(params, ctx.account_id, ctx.region) if before is not None else None
            return None if waiting is None else self._serve_after(waiting, request)
        return self.forward(owner, request, MAX_HOPS if decided else self._hops + 1)

    async def _serve_after(self, waiting: Awaitable[None], request: Request) -> Response:
        try:
            await waiting
        except ServiceError as err:   # what the peer answered, in the request's own shape
            return self.api.refuse(request, err)
        response = self.serve_here(request)
        return response if isinstance(response, tuple) else await response

    async def call(self, service: str, operation: str, params: dict[str, Any], host: str, hops: int = 0) -> Any:
        """``Api.call`` (an operation in process, as the config loader makes them) on the worker
        the operation belongs to; its result as plain data."""
        mesh = self.mesh
        owner, decided = (None, False) if hops >= MAX_HOPS else \
            self.owner(service, operation, params, mesh.account_id, mesh.region)
        if owner is not None and owner != self.index:
            return await self.ask(owner, "call", [service, operation, params, host, MAX_HOPS if decided else hops + 1])
        before = self.before.get((service, operation))
        waiting = before(params, mesh.account_id, mesh.region) if before is not None else None
        if waiting is not None:
            await waiting
        added = self.added
        result = self.api.call(service, operation, params, host=host)
        if self.added != added:
            await self.sync()
        return msgspec.to_builtins(result)

    def forward(self, owner: int, request: Request, hops: int) -> Awaitable[Response]:
        """Send ``request`` to ``owner`` (``hops``: how far it has come, counting this one)."""
        channel = self.channels[owner]
        self.forwarded += 1
        future: asyncio.Future[Response] = Forwarded(owner, asyncio.get_running_loop())
        body = request.body if type(request.body) is bytes else bytes(request.body)
        channel.send(HttpCall(channel.expect(future), request.method, request.path, request.query,
                              request.headers, body, hops))
        return future

    def serve_here(self, request: Request) -> Response | Awaitable[Response]:
        """Serve ``request`` in this worker whatever its route (it was forwarded already)."""
        hops, self._hops = self._hops, MAX_HOPS
        try:
            return self.api.handle(request)
        finally:
            self._hops = hops

    def _serve_call(self, channel: Channel, call: HttpCall) -> None:
        request = Request(call.method, call.path, call.query, call.headers, call.body)
        self.served += 1
        added = self.added
        self._hops = call.hops
        try:
            response = self.api.handle(request)
        finally:
            self._hops = 0
        if isinstance(response, tuple) and type(response[2]) is bytes and self.added == added:
            channel.send(HttpAnswer(call.id, response[0], response[1], response[2]))
            return
        key = (channel.peer, call.id)
        self._serving[key] = asyncio.get_running_loop().create_task(
            self._answer_later(channel, call.id, response, added))

    async def _answer_later(self, channel: Channel, ident: int, response: Response | Awaitable[Response],
                            added: int) -> None:
        body: Any = None
        try:
            status, headers, body = response if isinstance(response, tuple) else await response
            if self.added != added:
                await self.sync()
            if type(body) is bytes:
                channel.send(HttpAnswer(ident, status, headers, body))
                return
            channel.send(HttpAnswer(ident, status, headers, b"", True))
            async for piece in body:
                if piece:
                    channel.send(Chunk(ident, bytes(piece)))
            channel.send(Chunk(ident, b"", True))
        except asyncio.CancelledError:
            pass   # the client went away (Cancel) or the daemon stops
        except Exception:
            log.exception("serving a forwarded request")
            if not channel.closed:
                channel.send(Chunk(ident, b"", True))
        finally:
            if body is not None and type(body) is not bytes:
                await close_body(body)
            self._serving.pop((channel.peer, ident), None)

    # -- questions -------------------------------------------------------------------------

    def ask(self, peer: int, topic: str, args: Any = None, *, timed: bool = False) -> asyncio.Future[Any]:
        """The peer's answer to ``topic``. ``timed``: part of the engine's work (an invocation
        across workers), carrying this clock's time and counted for the virtual clock's quiet."""
        channel = self.channels[peer]
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if timed:
            self.timed[0] += 1
            channel.send(Ask(channel.expect(future), topic, args, self._now(), True))
        else:
            channel.send(Ask(channel.expect(future), topic, args))
        return future

    def _now(self) -> float:
        clock = self.link.virtual
        return clock.now() if clock is not None else 0.0

    def catch_up(self, at: float) -> None:
        """A peer's message from its virtual time ``at``: this clock goes there first (nothing
        before it is left on any worker: the clocks move together, see ``vclock``)."""
        clock = self.link.virtual
        if clock is not None and at > clock.now():
            clock.advance_to(at)

    async def ask_all(self, topic: str, args: Any = None, peers: Iterable[int] | None = None) -> dict[int, Any]:
        """Every peer's answer (or of ``peers``), by worker index."""
        chosen = list(self.peers if peers is None else peers)
        answers = await asyncio.gather(*(self.ask(peer, topic, args) for peer in chosen))
        return dict(zip(chosen, answers, strict=True))

    def tell_all(self, topic: str, args: Any = None) -> None:
        self._broadcast(Tell(topic, args))

    def _answer(self, channel: Channel, ask: Ask) -> None:
        if ask.timed:
            self.timed[1] += 1
            self.catch_up(ask.at)
        handler = self.asks.get(ask.topic)
        try:
            if handler is None:
                raise LookupError(f"no handler for {ask.topic!r}")
            value = handler(ask.args)
        except Exception as exc:
            self._reply(channel, ask, _failure(ask.id, exc))
            return
        if not inspect.isawaitable(value):
            self._reply(channel, ask, Answer(ask.id, value))
            return

        async def later() -> None:
            try:
                self._reply(channel, ask, Answer(ask.id, await value))
            except Exception as exc:
                if not channel.closed:
                    self._reply(channel, ask, _failure(ask.id, exc))

        key = (channel.peer, -ask.id)
        self._serving[key] = task = asyncio.get_running_loop().create_task(later())
        task.add_done_callback(lambda _: self._serving.pop(key, None))

    def _reply(self, channel: Channel, ask: Ask, answer: Answer) -> None:
        if ask.timed:
            self.timed[0] += 1
            answer.at, answer.timed = self._now(), True
        channel.send(answer)

    # -- the channels ----------------------------------------------------------------------

    def _on_message(self, channel: Channel, message: Any) -> None:
        kind = type(message)
        if kind is HttpCall:
            self._serve_call(channel, message)
        elif kind is HttpAnswer:
            future = channel.pending.pop(message.id, None)
            if future is None or future.done():
                if message.streamed and not channel.closed:   # its client left already: stop the stream
                    channel.send(Cancel(message.id))
                return
            if message.streamed:
                body = RelayedBody(channel, message.id)
                channel.pending[message.id] = body
                future.set_result((message.status, message.headers, body))  # type: ignore[arg-type]
            else:
                future.set_result((message.status, message.headers, message.body))
        elif kind is Chunk:
            stream = channel.pending.get(message.id)
            if stream is not None:
                stream.take(message.data, message.last)
                if message.last:
                    channel.pending.pop(message.id, None)
        elif kind is Deliveries:
            self.catch_up(message.at)
            self.link.take(message)
        elif kind is Tell:
            handler = self.tells.get(message.topic)
            if handler is not None:
                handler(channel.peer, message.args)
        elif kind is Ask:
            self._answer(channel, message)
        elif kind is Answer:
            if message.timed:
                self.timed[1] += 1
                self.catch_up(message.at)
            waiter = channel.pending.pop(message.id, None)
            if waiter is None or waiter.done():
                return
            if message.error is not None:
                waiter.set_exception(RemoteError(message.error, message.code, message.status, message.sender))
            else:
                waiter.set_result(message.value)
        elif kind is Cancel:
            task = self._serving.pop((channel.peer, message.id), None)
            if task is not None:
                task.cancel()

    def _lost(self, channel: Channel) -> None:
        if self.on_peer_lost is not None:
            self.on_peer_lost(channel.peer)


def _failure(ident: int, exc: BaseException) -> Answer:
    if isinstance(exc, ServiceError):
        return Answer(ident, None, exc.message, exc.code, exc.http_status, exc.sender_fault)
    log.error("answering a peer's question", exc_info=exc)
    return Answer(ident, None, f"{type(exc).__name__}: {exc}", None, 500, False)
