"""Create / Get / List / Update / Delete event source mappings.

The checks that need other resources live here: the source exists, the function exists, no
other mapping joins the same pair, and (SQS) the queue's visibility timeout is at least the
function's timeout. Mappings are mesh resources; one :class:`Registry` per mesh routes
``Available(source_arn)`` effects to the pollers of that source.
https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from eventmesh.effects import Available
from eventmesh.errors import ResourceNotFoundException
from eventmesh.mesh import Mesh
from eventmesh.services.esm.invoke import find_target, function_timeout
from eventmesh.services.esm.mapping import EventSourceMapping, source_kind
from eventmesh.services.esm.queue_poller import QueuePoller
from eventmesh.services.esm.stream_poller import StreamPoller
from eventmesh.services.kinesis.stream import Stream
from eventmesh.services.lambda_.errors import InvalidParameterValueException, ResourceConflictException
from eventmesh.services.sqs.queue import Queue

__all__ = ["Registry", "create_mapping", "delete_mapping", "get_mapping", "list_mappings",
           "registry", "update_mapping", "DEFAULT_LIST_MAX_ITEMS"]

DEFAULT_LIST_MAX_ITEMS = 100      # ListEventSourceMappings page (MaxItems 1–10,000)


class Registry:
    """The mesh's mappings by UUID and by source ARN; wakes pollers on ``Available``."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.by_uuid: dict[str, EventSourceMapping] = {}
        self.by_source: dict[str, list[EventSourceMapping]] = defaultdict(list)
        mesh.subscribe(Available, self._on_available)

    def _on_available(self, effect: Available) -> None:
        for mapping in self.by_source.get(effect.arn, ()):
            if mapping.poller is not None and mapping.active:
                mapping.poller.wake()

    def add(self, mapping: EventSourceMapping) -> None:
        self.by_uuid[mapping.uuid] = mapping
        self.by_source[mapping.source_arn].append(mapping)
        mapping.registry = self  # type: ignore[attr-defined]

    def forget(self, mapping: EventSourceMapping) -> None:
        self.by_uuid.pop(mapping.uuid, None)
        peers = self.by_source.get(mapping.source_arn)
        if peers and mapping in peers:
            peers.remove(mapping)

    def close(self) -> None:
        self.mesh.unsubscribe(Available, self._on_available)


def registry(mesh: Mesh) -> Registry:
    """The mesh's registry (account-level state: two meshes never share one)."""
    return mesh.state(Registry)


def _function_arn(mesh: Mesh, identifier: str) -> str:
    """Name | name:qualifier | account:function:name | full ARN → the ARN as mapped."""
    parts = identifier.split(":")
    if parts[0] == "arn":
        if len(parts) < 7 or parts[5] != "function":
            raise InvalidParameterValueException(f"Invalid function ARN: {identifier}")
        return identifier
    if len(parts) >= 3 and parts[1] == "function":
        parts = parts[2:]
    return mesh.arn("lambda", "function:" + ":".join(parts))


def _source(mesh: Mesh, kind: str, arn: str) -> Queue | Stream:
    """The mapping's event source: the one place a service reads another's core directly."""
    if kind == "sqs":
        queue = mesh.find(arn, Queue)
        if queue is None or queue.closed:
            raise InvalidParameterValueException(
                "Error occurred while ReceiveMessage. SQS Error Code: "
                "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: "
                "The specified queue does not exist.")
        return queue
    stream = mesh.find(arn, Stream)
    if stream is None:
        raise InvalidParameterValueException(f"Stream not found: {arn}")
    return stream


def _check_visibility(mapping: EventSourceMapping, queue: Any) -> None:
    """the function's timeout may not exceed the queue's visibility timeout."""
    function = find_target(mapping.mesh, mapping.function_arn)
    if function is None:
        return
    timeout = int(function_timeout(function))
    visibility = queue.config.visibility_timeout
    if visibility < timeout:
        raise InvalidParameterValueException(
            f"Queue visibility timeout: {visibility} seconds is less than Function timeout: "
            f"{timeout} seconds")


def create_mapping(mesh: Mesh, params: dict[str, Any]) -> EventSourceMapping:
    """CreateEventSourceMapping: answered in state ``Creating``; polling starts once ``Enabled``."""
    source_arn = params.get("EventSourceArn")
    if not source_arn:
        raise InvalidParameterValueException(
            "Unrecognized event source, must be kafka or specify a stream/queue arn")
    kind = source_kind(source_arn)
    function_arn = _function_arn(mesh, params["FunctionName"])
    if find_target(mesh, function_arn) is None:
        raise ResourceNotFoundException(f"Function not found: {function_arn}")
    source = _source(mesh, kind, source_arn)
    mapping = EventSourceMapping(mesh, mesh.ids.uuid(), kind, source_arn, function_arn)
    mapping.configure(params, creating=True, fifo=bool(getattr(source, "fifo", False)))
    reg = registry(mesh)
    for other in reg.by_source.get(source_arn, ()):
        if other.function_arn == function_arn:
            if kind == "sqs":
                raise ResourceConflictException(
                    f'An event source mapping with SQS arn (" {source_arn} ") and function '
                    f'(" {function_arn} ") '
                    f"already exists. Please update or delete the existing mapping with UUID {other.uuid}")
            raise ResourceConflictException(
                f'The event source arn (" {source_arn} ") and function (" {function_arn} ") provided mapping '
                f"already exists. Please update or delete the existing mapping with UUID {other.uuid}")
    if kind == "sqs":
        _check_visibility(mapping, source)
        mapping.poller = QueuePoller(mapping, source)
    else:
        mapping.poller = StreamPoller(mapping, source)
    reg.add(mapping)
    mesh.add(mapping)
    mapping.transition("Creating")
    return mapping


def get_mapping(mesh: Mesh, uuid: str) -> EventSourceMapping:
    mapping = registry(mesh).by_uuid.get(uuid)
    if mapping is None:
        raise ResourceNotFoundException(
            f"The resource you requested does not exist. (Service: Lambda, Status Code: 404, Request ID: "
            f"{mesh.ids.uuid()})")
    return mapping


def list_mappings(mesh: Mesh, *, source_arn: str | None = None, function_name: str | None = None,
                  marker: str | None = None, max_items: int | None = None,
                  ) -> tuple[list[EventSourceMapping], str | None]:
    """ListEventSourceMappings: filtered by source and/or function, in creation order, paged."""
    mappings = list(registry(mesh).by_uuid.values())
    if source_arn:
        mappings = [m for m in mappings if m.source_arn == source_arn]
    if function_name:
        wanted = _function_arn(mesh, function_name)
        mappings = [m for m in mappings if m.function_arn == wanted]
    start = 0
    if marker:
        uuids = [m.uuid for m in mappings]
        start = uuids.index(marker) if marker in uuids else len(uuids)
    size = max_items or DEFAULT_LIST_MAX_ITEMS
    page = mappings[start:start + size]
    following = mappings[start + size:start + size + 1]
    return page, (following[0].uuid if following else None)


def update_mapping(mesh: Mesh, uuid: str, params: dict[str, Any]) -> EventSourceMapping:
    """UpdateEventSourceMapping: answered in state ``Updating`` (202)."""
    mapping = get_mapping(mesh, uuid)
    if "FunctionName" in params and params["FunctionName"]:
        function_arn = _function_arn(mesh, params["FunctionName"])
        if find_target(mesh, function_arn) is None:
            raise ResourceNotFoundException(f"Function not found: {function_arn}")
        mapping.function_arn = function_arn
    queue = mesh.find(mapping.source_arn, Queue)
    mapping.configure(params, creating=False, fifo=queue is not None and queue.fifo)
    if mapping.kind == "sqs" and queue is not None:
        _check_visibility(mapping, queue)
    mapping.transition("Updating")
    return mapping


def delete_mapping(mesh: Mesh, uuid: str) -> EventSourceMapping:
    """DeleteEventSourceMapping: answered in state ``Deleting`` (202); removed after the delay."""
    mapping = get_mapping(mesh, uuid)
    if mapping.poller is not None:
        mapping.poller.stop()
    registry(mesh).forget(mapping)
    mapping.enabled = False
    mapping.transition("Deleting")
    return mapping
