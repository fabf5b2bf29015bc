"""``eventmesh serve -v``: one log line per request — operation, resource, status, latency.

    INFO eventmesh.access: sqs.SendMessage orders 200 0.41ms
    INFO eventmesh.access: lambda.Invoke process-order 429 0.12ms

Only installed with ``-v``: describing a request decodes its body a second time, which the hot
path never pays. The latency is the daemon's own (request parsed → response ready), read from
the wall clock as the drivers read measured durations.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from typing import Any

import msgspec

from eventmesh.wire.door import Door
from eventmesh.wire.protocols import query
from eventmesh.wire.render import Response
from eventmesh.wire.router import Api, Request

__all__ = ["AccessLog", "describe"]

log = logging.getLogger("eventmesh.access")

# Request members that name the resource an operation acts on, most specific first.
_RESOURCE_MEMBERS = ("QueueUrl", "QueueName", "TopicArn", "SubscriptionArn", "StreamName", "StreamARN",
                     "FunctionName", "EventBusName", "Rule", "Name", "UUID", "TargetArn", "ResourceArn")


def _short(value: str) -> str:
    if value.startswith("http"):
        return value.rstrip("/").rsplit("/", 1)[-1]
    if value.startswith("arn:"):
        return value.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    return value


def _resource(params: dict[str, Any]) -> str:
    for member in _RESOURCE_MEMBERS:
        value = params.get(member)
        if isinstance(value, str) and value:
            return _short(value)
    entries = params.get("Entries")
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        bus = entries[0].get("EventBusName")
        return _short(bus) if isinstance(bus, str) else "default"
    return "-"


def describe(api: Api, request: Request) -> tuple[str, str]:
    """(``service.Operation``, resource name) of a request, as well as can be read from it."""
    headers = request.headers
    target = headers.get("x-amz-target")
    try:
        if target:
            prefix, _, operation = target.partition(".")
            service = next((name for name, b in api.services.items()
                            if b.model.metadata.get("targetPrefix") == prefix), prefix)
            params = (msgspec.json.decode(request.body) if request.body
                      and "cbor" not in headers.get("content-type", "") else {})
            return f"{service}.{operation}", _resource(params if isinstance(params, dict) else {})
        if "Action=" in request.query or headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"):
            form = query.parse_form(request.query.encode()) if request.query else {}
            if request.body:
                form.update(query.parse_form(request.body))
            # Version names the service (SNS, SQS, STS, IAM share the Query protocol); without
            # one, a queue path is SQS and the root SNS, as the router reads it.
            version = form.get("Version")
            service = next((name for name, b in api.services.items() if version and b.model.api_version == version),
                           "sqs" if request.path.count("/") >= 2 or "QueueUrl" in form else "sns")
            resource = _resource(form)
            if resource == "-" and request.path.count("/") >= 2:
                resource = request.path.rstrip("/").rsplit("/", 1)[-1]
            return f"{service}.{form.get('Action', '?')}", resource
        bound = api.services.get("lambda")
        found = bound.rest.match(request.method, request.path, request.query) if bound and bound.rest else None
        if found is not None:
            op, labels = found
            return f"lambda.{op.name}", _resource(dict(labels))
    except (msgspec.DecodeError, ValueError, UnicodeDecodeError):
        pass
    return f"{request.method} {request.path}", "-"


class AccessLog:
    """Wraps the daemon's door and logs each request once its response is ready (the door's
    refusals, sent before a handler runs, are not logged)."""

    def __init__(self, api: Api, door: Door) -> None:
        self.api = api
        self.door = door

    def admit(self, request: Request) -> Response | int:
        return self.door.admit(request)

    def too_large(self, request: Request, limit: int) -> Response:
        return self.door.too_large(request, limit)

    def __call__(self, request: Request) -> Response | Awaitable[Response]:
        started = time.perf_counter()
        response = self.door(request)
        if isinstance(response, tuple):
            self._log(request, response[0], started)
            return response
        return self._later(request, response, started)

    async def _later(self, request: Request, pending: Awaitable[Response], started: float) -> Response:
        response = await pending
        self._log(request, response[0], started)
        return response

    def _log(self, request: Request, status: int, started: float) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        if request.path.startswith("/_eventmesh/") or request.path == "/metrics":
            operation, resource = f"{request.method} {request.path}", "-"
        else:
            operation, resource = describe(self.api, request)
        log.info("%s %s %d %.2fms", operation, resource, status, elapsed_ms)
