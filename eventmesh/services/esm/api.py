"""Lambda event source mappings over REST-JSON (``/2015-03-31/event-source-mappings/…``): adapters only.

``register(service)`` adds the five operations to the Lambda ``Service`` (the router calls it, see
``SERVICE_EXTENSIONS``). Behaviour lives in ``eventmesh.services.esm.service``; the handlers answer the
``EventSourceMappingConfiguration`` document (Create/Update/Delete answer 202 per the model).
"""

from __future__ import annotations

from typing import Any

from eventmesh.services.esm import service as esm
from eventmesh.wire.service import RequestContext, Service

__all__ = ["register"]


def register(service: Service) -> None:
    """Serve Create/Get/List/Update/DeleteEventSourceMapping on the Lambda service."""

    @service.operation("CreateEventSourceMapping")
    def create(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return esm.create_mapping(ctx.mesh, params).document()

    @service.operation("GetEventSourceMapping")
    def get(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return esm.get_mapping(ctx.mesh, params["UUID"]).document()

    @service.operation("ListEventSourceMappings")
    def list_(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        page, marker = esm.list_mappings(
            ctx.mesh, source_arn=params.get("EventSourceArn"), function_name=params.get("FunctionName"),
            marker=params.get("Marker"), max_items=params.get("MaxItems"))
        out: dict[str, Any] = {"EventSourceMappings": [m.document() for m in page]}
        if marker is not None:
            out["NextMarker"] = marker
        return out

    @service.operation("UpdateEventSourceMapping")
    def update(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        changes = {k: v for k, v in params.items() if k != "UUID"}
        return esm.update_mapping(ctx.mesh, params["UUID"], changes).document()

    @service.operation("DeleteEventSourceMapping")
    def delete(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return esm.delete_mapping(ctx.mesh, params["UUID"]).document()
