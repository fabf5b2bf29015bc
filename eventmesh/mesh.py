"""Mesh: owns the clock, every resource (keyed by ARN), the outbox and the id generator.

There is no module-level state: two meshes in one process never see each other. Any core can
reach any other through ``mesh.emit(Deliver(target_arn, ...))``; the mesh carries in-process
deliveries out itself and hands every other effect to the subscribers a driver registered.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

from eventmesh.arn import format_arn
from eventmesh.clock import Clock, VirtualClock
from eventmesh.effects import Deliver, Delivery, DeliveryResult
from eventmesh.errors import ResourceNotFoundException
from eventmesh.ids import IdGenerator

__all__ = ["DEFAULT_ACCOUNT_ID", "DEFAULT_REGION", "Mesh", "Resource"]

DEFAULT_ACCOUNT_ID = "000000000000"
DEFAULT_REGION = "us-east-1"

R = TypeVar("R")


class Resource(Protocol):
    """What the mesh needs of a resource: its ARN. ``accept`` makes it a delivery target."""

    arn: str


class Mesh:
    """The engine's root object: resources by ARN, one clock, one outbox."""

    def __init__(self, clock: Clock | None = None, *, account_id: str = DEFAULT_ACCOUNT_ID,
                 region: str = DEFAULT_REGION, seed: int | None = None) -> None:
        self.clock: Clock = clock if clock is not None else VirtualClock()
        self.account_id = account_id
        self.region = region
        self.ids = IdGenerator(seed)
        self.outbox: deque[Any] = deque()
        self._resources: dict[str, Any] = {}
        self._by_service: dict[str, dict[str, Any]] = defaultdict(dict)
        self._handlers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)
        self._flushing = False
        self.clock.after_callback = self.flush

    # -- resources ---------------------------------------------------------------------------

    def arn(self, service: str, resource: str) -> str:
        return format_arn(service, self.region, self.account_id, resource)

    def add(self, resource: Any) -> Any:
        arn = resource.arn
        self._resources[arn] = resource
        self._by_service[arn.split(":", 3)[2]][arn] = resource
        return resource

    def get(self, arn: str, kind: type[R] | None = None) -> R | Any:
        resource = self._resources.get(arn)
        if resource is None or (kind is not None and not isinstance(resource, kind)):
            raise ResourceNotFoundException(f"Resource {arn} does not exist")
        return resource

    def find(self, arn: str) -> Any | None:
        return self._resources.get(arn)

    def remove(self, arn: str) -> Any | None:
        resource = self._resources.pop(arn, None)
        if resource is not None:
            self._by_service[arn.split(":", 3)[2]].pop(arn, None)
            close = getattr(resource, "close", None)
            if close is not None:
                close()
        return resource

    def resources(self, service: str | None = None) -> Iterator[Any]:
        if service is None:
            return iter(list(self._resources.values()))
        return iter(list(self._by_service.get(service, {}).values()))

    # -- effects -----------------------------------------------------------------------------

    def emit(self, effect: Any) -> None:
        self.outbox.append(effect)

    def subscribe(self, effect_type: type, handler: Callable[[Any], None]) -> None:
        """Register ``handler`` for effects of ``effect_type`` (drivers and pollers do this)."""
        self._handlers[effect_type].append(handler)

    def unsubscribe(self, effect_type: type, handler: Callable[[Any], None]) -> None:
        handlers = self._handlers.get(effect_type)
        if handlers and handler in handlers:
            handlers.remove(handler)

    def flush(self) -> None:
        """Carry out every effect in the outbox, including the ones carrying them out emits."""
        if self._flushing:
            return
        self._flushing = True
        outbox = self.outbox
        popleft, resources = outbox.popleft, self._resources
        try:
            while outbox:
                effect = popleft()
                if type(effect) is Deliver:
                    # The common case inline: a core of this mesh takes it (one call per target batch).
                    accept = getattr(resources.get(effect.target_arn), "accept", None)
                    if accept is not None:
                        result = accept(effect.items, effect.source_arn)
                        if effect.reply is not None:
                            effect.reply(result)
                        continue
                    if self._deliver_in_process(effect):
                        continue
                for handler in self._handlers.get(type(effect), ()):
                    handler(effect)
        finally:
            self._flushing = False

    def deliver_now(self, target_arn: str, items: list[Delivery], source_arn: str = "") -> DeliveryResult:
        """Deliver synchronously to an in-process target and return how it went."""
        accept = getattr(self._resources.get(target_arn), "accept", None)
        if accept is None:
            return DeliveryResult(False, "ResourceNotFoundException", f"Target {target_arn} does not exist")
        result: DeliveryResult = accept(items, source_arn)
        return result

    def _deliver_in_process(self, effect: Deliver) -> bool:
        """Carry out a delivery to a core in this mesh; False hands it to the Deliver subscribers
        (targets outside the process, such as HTTP endpoints, belong to the driver)."""
        accept = getattr(self._resources.get(effect.target_arn), "accept", None)
        if accept is None:
            if self._handlers.get(Deliver):
                return False
            result = DeliveryResult(False, "ResourceNotFoundException",
                                    f"Target {effect.target_arn} does not exist")
        else:
            result = accept(effect.items, effect.source_arn)
        if effect.reply is not None:
            effect.reply(result)
        return True
