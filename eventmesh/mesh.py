"""Mesh: owns the clock, every resource (keyed by ARN), account-level state, the outbox, the ids.

There is no module-level state: two meshes in one process never see each other. Any core can
reach any other through ``mesh.emit(Deliver(target_arn, ...))``; the mesh carries in-process
deliveries out itself and hands every other effect to the subscribers a driver registered.

* Resources are objects with an ``arn``; a delivery target also has ``accept(items, source_arn)``
  (:class:`Target`). Lookups are typed: ``mesh.find(arn, Queue)`` is a ``Queue`` or ``None``.
* AWS keeps most resources per account and Region. ``mesh.scope(account_id, region)`` is the view
  a request for that account and Region works through: the same engine (clock, resources by ARN,
  outbox, ids), with ``arn()`` building that account's and Region's ARNs, ``resources()`` listing
  only theirs, and its own account-level state. The mesh itself is the view of its default
  account and Region. Deliveries address resources by ARN, so they cross scopes freely.
* Account-level state that is not a resource (a Lambda account's concurrency, the event source
  mappings' index) has one typed home per account and Region: ``mesh.state(AccountPool)``.
* Answers to effects travel by token, never by closure: ``token = mesh.expect(callback)`` before
  emitting an effect with ``reply_to=token``; whoever carries it out calls ``mesh.reply(token,
  answer)`` once.
* Delivery latency (``mesh.latency``, a :class:`~eventmesh.latency.LatencyModel`; None in the
  daemon and tests): a ``Deliver`` on an edge of latency L > 0 becomes a timer that hands the
  items to the target L later (``arrive``), and its answer reaches the sender L after that. Such
  timers are ordered among equal deadlines by their sender's ARN and count (``arrival_seq``),
  before any other timer of that instant, so the order does not depend on which process (which
  partition) scheduled them.
* Partitions: when the mesh owns only some resources (``eventmesh.partition``), ``mesh.link``
  takes every delivery whose target is not here (timed or not) and brings back the answers.
* Random draws a resource makes while it runs come from its own stream, ``mesh.ids_for(arn)``
  (seeded from the mesh's seed and the ARN); ``mesh.ids`` is the mesh's own stream (request ids,
  ids drawn while resources are created).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

from eventmesh.arn import format_arn
from eventmesh.clock import Clock, VirtualClock
from eventmesh.effects import Deliver, Delivery, DeliveryResult, Effect, Outcome
from eventmesh.errors import ResourceNotFoundException
from eventmesh.ids import IdGenerator, stable_hash

if TYPE_CHECKING:
    from eventmesh.latency import LatencyModel

__all__ = ["DEFAULT_ACCOUNT_ID", "DEFAULT_REGION", "DeliverBatch", "DeliveryPart", "Ephemeral", "Mesh", "Resource",
           "Target", "join_order", "split_order"]

DEFAULT_ACCOUNT_ID = "000000000000"
DEFAULT_REGION = "us-east-1"

# Timed deliveries and answers sort before any other timer of the same instant (``Timer.seq``
# is positive there): base + sender rank · 2^64 + the sender's count, all negative.
_ARRIVAL_BASE = -(1 << 127)

_ORDER_SHIFT = 64


def split_order(seq: int) -> tuple[int, int]:
    """An arrival's ``seq`` as (sender rank, sender count), two 64-bit ints a frame can carry
    (msgpack has no larger ints); (0, 0) for an untimed item."""
    if not seq:
        return (0, 0)
    rank, count = divmod(seq - _ARRIVAL_BASE, 1 << _ORDER_SHIFT)
    return (rank, count)


def join_order(order: tuple[int, int] | list[int]) -> int:
    """The ``seq`` of (sender rank, sender count): :func:`split_order` reversed."""
    rank, count = order
    return _ARRIVAL_BASE + (rank << _ORDER_SHIFT) + count if count else 0


R = TypeVar("R")
S = TypeVar("S")
E = TypeVar("E")


# One delivery of a DeliverBatch: a Deliver's target ARN, items and source ARN, and the callback
# its answer goes to (what ``Mesh.deliver`` takes).
DeliveryPart = tuple[str, list[Delivery], str, Callable[[DeliveryResult], None]]


class DeliverBatch:
    """Deliveries one sender emits together (:meth:`Mesh.deliver_batch`): one outbox entry for
    them all instead of a ``Deliver`` effect and a reply token each. ``flush`` carries the parts
    out in their order, each as the ``Deliver`` it stands for would be at that point of the
    outbox: a target of this mesh with no latency model takes its items at once and the part's
    callback gets the answer; any other part becomes that ``Deliver``, with a reply token, and
    goes the general way (a timed delivery, ``mesh.link``, a driver). A batch never leaves the
    mesh: subscribers and links see only ``Deliver`` effects."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[DeliveryPart]) -> None:
        self.parts = parts


class Ephemeral:
    """A callback tied to something outside the engine — a client's connection (a waiting long
    poll, a synchronous Invoke), a driver's subscription. It works as the callback it wraps; a
    snapshot of the engine keeps it as a no-op, because after a restart that connection or driver
    is gone (drivers subscribe again)."""

    __slots__ = ("callback",)

    def __init__(self, callback: Callable[..., Any] | None) -> None:
        self.callback = callback

    def __call__(self, *args: Any) -> Any:
        callback = self.callback
        return None if callback is None else callback(*args)

    def __reduce__(self) -> tuple[type[Ephemeral], tuple[None]]:
        return (Ephemeral, (None,))


class Resource(Protocol):
    """What the mesh needs of a resource: its ARN."""

    arn: str


class Link(Protocol):
    """What the mesh needs of a partition link (``eventmesh.partition.Link``)."""

    def send(self, effect: Deliver, when: float, seq: int) -> None: ...

    def answer(self, partition: int, token: int, result: Any, when: float, seq: int) -> None: ...


class Target(Protocol):
    """A resource that takes deliveries from other cores (queues, topics, buses, functions...)."""

    arn: str

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult: ...


class Mesh:
    """The engine's root object: resources by ARN, account-level state, one clock, one outbox."""

    def __init__(self, clock: Clock | None = None, *, account_id: str = DEFAULT_ACCOUNT_ID,
                 region: str = DEFAULT_REGION, seed: int | None = None) -> None:
        self.clock: Clock = clock if clock is not None else VirtualClock()
        self.account_id = account_id
        self.region = region
        self.seed = seed
        self.ids = IdGenerator(seed)
        self.latency: LatencyModel | None = None
        # Histograms of the resources made from now on keep a sketch (eventmesh.histogram): a
        # simulation reads CloudWatch's percentiles, Minimum and Maximum from it.
        self.sketches = False
        self.link: Link | None = None
        self._arn_ids: dict[str, IdGenerator] = {}
        self._sent: dict[str, int] = {}      # timed deliveries and answers sent, by sender ARN
        self._ranks: dict[str, int] = {}
        self.outbox: deque[Effect | DeliverBatch] = deque()
        self._resources: dict[str, Any] = {}
        self._by_service: dict[str, dict[str, Any]] = defaultdict(dict)
        self._state: dict[type, Any] = {}
        self._handlers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)
        self._replies: dict[int, Callable[[Any], None]] = {}
        self._tokens = _Counter()
        self._flushing = False
        self.root = self
        self._scopes: dict[tuple[str, str], Mesh] = {(account_id, region): self}
        # Told of every resource added (True) or removed (False), by ARN: a daemon of several
        # worker processes keeps its directory of who owns what with it (eventmesh.workers).
        self.on_placement: Callable[[str, bool], None] | None = None
        self.clock.after_callback = self.flush

    # -- scopes ------------------------------------------------------------------------------

    def scope(self, account_id: str | None = None, region: str | None = None) -> Mesh:
        """The view of one account and Region (see the module docstring); created on first use.

        A view shares everything with its mesh but ``account_id``, ``region`` and the
        account-level state; its ``flush`` is the mesh's, so effects run in one order."""
        root = self.root
        key = (account_id or root.account_id, region or root.region)
        view = root._scopes.get(key)
        if view is None:
            view = object.__new__(Mesh)
            view.__dict__.update(root.__dict__)
            view.account_id, view.region = key
            view._state = {}
            view.flush = root.flush  # type: ignore[method-assign]  # one _flushing flag for all views
            root._scopes[key] = view
        return view

    def find_scope(self, account_id: str, region: str) -> Mesh | None:
        """The view of ``account_id`` / ``region`` if it is in use, else None (``scope`` would make
        it: a caller that only looks something up must not grow the mesh for every name it is sent)."""
        return self.root._scopes.get((account_id, region))

    def scopes(self) -> list[Mesh]:
        """Every account-and-Region view in use, the mesh's own first."""
        return list(self.root._scopes.values())

    # -- resources ---------------------------------------------------------------------------

    def arn(self, service: str, resource: str) -> str:
        return format_arn(service, self.region, self.account_id, resource)

    def add(self, resource: R) -> R:
        arn: str = resource.arn  # type: ignore[attr-defined]
        self._resources[arn] = resource
        self._by_service[arn.split(":", 3)[2]][arn] = resource
        if self.root.on_placement is not None:
            self.root.on_placement(arn, True)
        return resource

    def get(self, arn: str, kind: type[R]) -> R:
        """The resource at ``arn`` if it is a ``kind``; else ``ResourceNotFoundException``."""
        resource = self._resources.get(arn)
        if not isinstance(resource, kind):
            raise ResourceNotFoundException(f"Resource {arn} does not exist")
        return resource

    def find(self, arn: str, kind: type[R]) -> R | None:
        """The resource at ``arn`` if it is a ``kind``, else None."""
        resource = self._resources.get(arn)
        return resource if isinstance(resource, kind) else None

    def exists(self, arn: str) -> bool:
        return arn in self._resources

    def remove(self, arn: str) -> object | None:
        resource = self._resources.pop(arn, None)
        if resource is not None:
            self._by_service[arn.split(":", 3)[2]].pop(arn, None)
            if self.root.on_placement is not None:
                self.root.on_placement(arn, False)
            close = getattr(resource, "close", None)
            if close is not None:
                close()
        return resource

    def detach(self, arn: str) -> object | None:
        """Forget the resource at ``arn`` without closing it: another partition owns it (its
        account-level effects, a reserved concurrency, stay counted). Deliveries to it then go
        to ``mesh.link``."""
        resource = self._resources.pop(arn, None)
        if resource is not None:
            self._by_service[arn.split(":", 3)[2]].pop(arn, None)
        return resource

    @overload
    def resources(self, service: str | None = None) -> Iterator[Any]: ...

    @overload
    def resources(self, service: str | None, kind: type[R]) -> Iterator[R]: ...

    def resources(self, service: str | None = None, kind: type = object) -> Iterator[Any]:
        """This account's and Region's resources (of one service, of one type), in creation order;
        a snapshot. ``all_resources`` lists every scope's."""
        found = self._resources if service is None else self._by_service.get(service, {})
        where = f":{self.region}:{self.account_id}:"
        return iter([r for arn, r in found.items() if isinstance(r, kind) and _scope_part(arn) == where])

    def all_resources(self) -> Iterator[Any]:
        """Every resource of every account and Region, in creation order; a snapshot."""
        return iter(list(self._resources.values()))

    def ids_for(self, arn: str) -> IdGenerator:
        """The random stream of the resource at ``arn``: seeded from the mesh's seed and the ARN
        alone, so what a resource draws does not depend on what else runs in this process."""
        found = self._arn_ids.get(arn)
        if found is None:
            found = self._arn_ids[arn] = IdGenerator.for_key(self.seed, arn)
        return found

    # -- account-level state -----------------------------------------------------------------

    def state(self, kind: type[S]) -> S:
        """The mesh's one ``kind`` (created on first use as ``kind(mesh)``): per-account state
        that is not a resource, such as Lambda's account concurrency."""
        found = self._state.get(kind)
        if found is None:
            found = self._state[kind] = kind(self)  # type: ignore[call-arg]
        return found  # type: ignore[no-any-return]

    def find_state(self, kind: type[S]) -> S | None:
        """This view's ``kind`` if one was made, else None (``state`` would make it)."""
        found = self._state.get(kind)
        return found if isinstance(found, kind) else None

    def states(self) -> Iterator[object]:
        """The account-level state of every account and Region."""
        return iter([state for view in self.root._scopes.values() for state in view._state.values()])

    def close(self) -> None:
        """Close every resource and state (the daemon stops): timers, workers and sockets go."""
        for item in [*self.all_resources(), *self.states()]:
            close = getattr(item, "close", None)
            if close is not None:
                close()

    # -- effects -----------------------------------------------------------------------------

    def emit(self, effect: Effect) -> None:
        self.outbox.append(effect)

    def subscribe(self, effect_type: type[E], handler: Callable[[E], None]) -> None:
        """Register ``handler`` for effects of ``effect_type`` (drivers and pollers do this)."""
        self._handlers[effect_type].append(handler)

    def has_subscribers(self, effect_type: type) -> bool:
        """Whether anyone takes effects of ``effect_type`` (an emitter may skip building them)."""
        return bool(self._handlers.get(effect_type))

    def unsubscribe(self, effect_type: type[E], handler: Callable[[E], None]) -> None:
        handlers = self._handlers.get(effect_type)
        if handlers and handler in handlers:
            handlers.remove(handler)
            if not handlers:
                del self._handlers[effect_type]

    def expect(self, callback: Callable[[Any], None]) -> int:
        """A token for an effect's ``reply_to``: ``callback(answer)`` runs when it is answered."""
        counter = self._tokens
        counter.n = token = counter.n + 1
        self._replies[token] = callback
        return token

    def deliver(self, target_arn: str, items: list[Delivery], source_arn: str,
                on_result: Callable[[DeliveryResult], None]) -> None:
        """``emit(Deliver(target_arn, items, source_arn, expect(on_result)))`` in one call: the
        per-target hot path of the senders (an EventBridge rule's targets)."""
        counter = self._tokens
        counter.n = token = counter.n + 1
        self._replies[token] = on_result
        self.outbox.append(Deliver(target_arn, items, source_arn, token))

    def reply(self, token: int, answer: object) -> None:
        """Answer the effect that carried ``reply_to=token`` (once; unknown tokens are ignored)."""
        callback = self._replies.pop(token, None)
        if callback is not None:
            callback(answer)

    def waiting_replies(self) -> int:
        """Effects emitted and not answered yet (HTTP requests in flight, handler runs...)."""
        return len(self._replies)

    def deliver_batch(self, parts: list[DeliveryPart]) -> None:
        """``deliver(*part)`` for each part, in order, as one outbox entry (:class:`DeliverBatch`):
        a sender with many targets at once (an EventBridge request's rule targets) pays for one
        effect, not one effect and one reply token per target."""
        self.outbox.append(DeliverBatch(parts))

    def flush(self) -> None:
        """Carry out every effect in the outbox, including the ones carrying them out emits."""
        if self._flushing:
            return
        self._flushing = True
        outbox = self.outbox
        popleft, resources, replies = outbox.popleft, self._resources, self._replies
        latency = self.latency
        try:
            while outbox:
                effect = popleft()
                if type(effect) is Deliver:
                    if latency is None:
                        # The common case inline: a core of this mesh takes it (one call per target batch).
                        accept = getattr(resources.get(effect.target_arn), "accept", None)
                        if accept is not None:
                            result = accept(effect.items, effect.source_arn)
                            if effect.reply_to:
                                callback = replies.pop(effect.reply_to, None)
                                if callback is not None:
                                    callback(result)
                            continue
                    self._carry(effect)
                    continue
                if type(effect) is DeliverBatch:
                    for target_arn, items, source_arn, on_result in effect.parts:
                        if latency is None:  # as a Deliver's common case above, without the token
                            accept = getattr(resources.get(target_arn), "accept", None)
                            if accept is not None:
                                on_result(accept(items, source_arn))
                                continue
                        self._carry(Deliver(target_arn, items, source_arn, self.expect(on_result)))
                    continue
                for handler in self._handlers.get(type(effect), ()):
                    handler(effect)
        finally:
            self._flushing = False

    def _carry(self, effect: Deliver) -> None:
        """A ``Deliver`` off the common path: timed (latency model), to another partition, to a
        driver's target outside this process, or to a target that does not exist."""
        latency = self.latency
        if latency is not None:
            delay = latency.between(effect.source_arn, effect.target_arn)
            if delay > 0.0:
                self._send_later(effect, delay)
                return
        accept = getattr(self._resources.get(effect.target_arn), "accept", None)
        if accept is not None:
            self.reply(effect.reply_to, accept(effect.items, effect.source_arn))
        elif self.link is not None:
            self.link.send(effect, 0.0, 0)  # its owner is another partition
        elif self._handlers.get(Deliver):
            for handler in self._handlers[Deliver]:
                handler(effect)  # a target outside this process
        else:
            self.reply(effect.reply_to, _missing(effect.target_arn))

    # -- timed deliveries ---------------------------------------------------------------------

    def set_latency(self, model: LatencyModel | None) -> None:
        """Model delivery latency (``eventmesh.latency``) on this mesh and all its views."""
        for view in self.root._scopes.values():
            view.latency = model

    def arrival_seq(self, sender_arn: str) -> int:
        """The order of the next timed delivery or answer ``sender_arn`` sends, among timers of
        the same instant: by sender (a stable hash of its ARN), then by its own count. Each sender
        lives in one partition, so every partitioning numbers its sends alike."""
        rank = self._ranks.get(sender_arn)
        if rank is None:
            rank = self._ranks[sender_arn] = _ARRIVAL_BASE + (stable_hash(sender_arn) << _ORDER_SHIFT)
        count = self._sent.get(sender_arn, 0) + 1
        self._sent[sender_arn] = count
        return rank + count

    def _send_later(self, effect: Deliver, delay: float) -> None:
        when = self.clock.now() + delay
        seq = self.arrival_seq(effect.source_arn)
        if self.link is not None and effect.target_arn not in self._resources:
            self.link.send(effect, when, seq)
        else:
            self.clock.call_keyed(when, seq, partial(self.arrive, effect, None))

    def arrive(self, effect: Deliver, origin: int | None = None) -> None:
        """A delivery reaches its target now: the target takes it, and the answer goes back to
        the sender, here (``origin`` None) or in partition ``origin``, after the edge's latency
        (at once on an edge of latency 0)."""
        accept = getattr(self._resources.get(effect.target_arn), "accept", None)
        result = accept(effect.items, effect.source_arn) if accept is not None else _missing(effect.target_arn)
        token = effect.reply_to
        if not token:
            return
        latency = self.latency
        delay = latency.between(effect.source_arn, effect.target_arn) if latency is not None else 0.0
        if origin is not None:
            assert self.link is not None
            if delay > 0.0:
                self.link.answer(origin, token, result, self.clock.now() + delay, self.arrival_seq(effect.target_arn))
            else:
                self.link.answer(origin, token, result, 0.0, 0)
        elif delay > 0.0:
            self.clock.call_keyed(self.clock.now() + delay, self.arrival_seq(effect.target_arn),
                                  partial(self.reply, token, result))
        else:
            self.reply(token, result)

    def deliver_now(self, target_arn: str, items: list[Delivery], source_arn: str = "") -> DeliveryResult:
        """Deliver synchronously to an in-process target and return how it went."""
        accept = getattr(self._resources.get(target_arn), "accept", None)
        if accept is None:
            return _missing(target_arn)
        result: DeliveryResult = accept(items, source_arn)
        return result


class _Counter:
    """The reply tokens handed out so far (one object every scope shares; a plain int pickles)."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


def _scope_part(arn: str) -> str:
    """``:region:account:`` of an ARN (``arn:partition:service:region:account:resource``)."""
    parts = arn.split(":", 5)
    return f":{parts[3]}:{parts[4]}:" if len(parts) == 6 else ""


def _missing(arn: str) -> DeliveryResult:
    return DeliveryResult(Outcome.MISSING, "ResourceNotFoundException", f"Target {arn} does not exist")
