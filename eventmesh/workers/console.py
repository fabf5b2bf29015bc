"""The console's JSON across workers (``eventmesh.console``): the whole daemon from any worker.

``/_eventmesh/resources`` and ``/_eventmesh/topology`` gather every worker's view and merge them
(a node drawn by the worker that owns it wins over the placeholder another worker drew for an
edge's far end; "is a dead-letter queue" is decided on the merged graph, since what sends its
failures to a queue may live elsewhere). ``/_eventmesh/messages?queue=`` is answered by the
queue's worker, ``/_eventmesh/invocations?function=`` by the function's home.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import msgspec

from eventmesh.wire.render import Response
from eventmesh.wire.router import Request
from eventmesh.wire.server import json_response

__all__ = ["install"]


def _merge_topology(node: Any, parts: list[dict[str, Any]]) -> dict[str, Any]:
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, str]] = []
    for worker, part in enumerate(parts):
        for entry in part["nodes"]:
            ident = entry["id"]
            owned = ident.startswith("arn:") and node.placement.owner(ident) == worker
            if ident not in nodes or owned:
                nodes[ident] = entry
        edges += part["edges"]
    return {"nodes": list(nodes.values()), "edges": edges}


def _merge_resources(parts: list[dict[str, Any]], topology: dict[str, Any]) -> dict[str, Any]:
    merged = dict(parts[0])
    for key, value in parts[0].items():
        if isinstance(value, list):
            merged[key] = [item for part in parts for item in part[key]]
    dead_letter = {q["dlq"] for q in merged["sqs"] if q.get("dlq")}
    dead_letter |= {e["to"] for e in topology["edges"] if e["kind"] in ("dlq", "on-failure")}
    for queue in merged["sqs"]:
        queue["is_dlq"] = queue["arn"] in dead_letter
    return merged


def install(daemon: Any) -> None:
    node, console, mesh = daemon.node, daemon.app.console, daemon.mesh

    def view(args: list[str]) -> Any:
        path, query = args
        status, _, body = console.handle(Request("GET", path, query, {}, b""))
        return [status, msgspec.json.decode(body)]

    node.asks["console.view"] = view

    async def everywhere(path: str) -> list[Any]:
        answers = await node.ask_all("console.view", [path, ""])
        by_worker = {node.index: view([path, ""]), **answers}
        return [by_worker[w][1] for w in range(node.count)]

    async def gathered(request: Request) -> Response:
        if request.method != "GET":
            return console.handle(request)
        topology = _merge_topology(node, await everywhere("/_eventmesh/topology"))
        if request.path == "/_eventmesh/topology":
            return json_response(200, topology)
        return json_response(200, _merge_resources(await everywhere("/_eventmesh/resources"), topology))

    def owned(kind: str, parameter: str) -> Any:
        async def answer(request: Request) -> Response:
            query = {k: v[-1] for k, v in parse_qs(request.query).items()}
            name = query.get(parameter, "")
            arn = name if name.startswith("arn:") else mesh.arn(kind, name if kind == "sqs" else f"function:{name}")
            owner = node.placement.owner(arn)
            if request.method != "GET" or not name or owner == node.index:
                return console.handle(request)
            status, body = await node.ask(owner, "console.view", [request.path, request.query])
            return json_response(status, body)
        return answer

    endpoints = daemon.app.endpoints
    endpoints["/_eventmesh/resources"] = gathered
    endpoints["/_eventmesh/topology"] = gathered
    endpoints["/_eventmesh/messages"] = owned("sqs", "queue")
    endpoints["/_eventmesh/invocations"] = owned("lambda", "function")
