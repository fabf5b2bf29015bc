"""``/_eventmesh/faults`` across workers: a fault goes where its target lives.

A fault acts on a core (a function, a queue, a stream, an API destination, a subscription, or
every subscription delivering to an endpoint URL), which one worker owns — or, for an endpoint,
possibly several. The worker asked checks each posted fault on every worker and adds it on each
that holds its target (all of them or none, as the single daemon does; an id is given here when
the fault has none, so every copy carries the same). ``GET`` lists every worker's faults (one
entry per id), ``DELETE`` clears on every worker.
"""

from __future__ import annotations

import itertools
from typing import Any

from eventmesh.simulate.faults import FaultBoard, FaultError, parse_fault, parse_fault_request
from eventmesh.wire.render import Response
from eventmesh.wire.router import Request
from eventmesh.wire.server import json_response

__all__ = ["install"]

PREFIX = "/_eventmesh/faults"


def install(daemon: Any) -> None:
    node = daemon.node
    mesh = daemon.mesh
    ids = itertools.count(1)

    def board() -> FaultBoard:
        return mesh.state(FaultBoard)

    def check(args: Any) -> list[str]:
        try:
            board().check(parse_fault(args))
        except FaultError as exc:
            return exc.problems
        return []

    def add(args: Any) -> None:
        board().add(parse_fault(args))
        mesh.flush()

    def remove(fault_id: str) -> int:
        if fault_id:
            removed = int(board().remove(fault_id))
        else:
            removed = board().clear()
        mesh.flush()
        return removed

    node.asks["faults.check"] = check
    node.asks["faults.add"] = add
    node.asks["faults.remove"] = remove
    node.asks["faults.describe"] = lambda args: board().describe()

    async def everywhere(topic: str, args: Any) -> list[Any]:
        local = node.asks[topic](args)
        return [local, *(await node.ask_all(topic, args)).values()]

    async def faults(request: Request) -> Response:
        fault_id = request.path[len(PREFIX) + 1:] if request.path.startswith(PREFIX + "/") else ""
        if request.method == "GET" and not fault_id:
            listed: dict[str, Any] = {}
            for part in await everywhere("faults.describe", None):
                for doc in part:
                    listed.setdefault(doc["id"], doc)
            return json_response(200, {"faults": list(listed.values())})
        if request.method == "DELETE":
            cleared = await everywhere("faults.remove", fault_id)
            if fault_id:
                if not any(cleared):
                    return json_response(404, {"message": f"no fault {fault_id}"})
                return json_response(200, {"cleared": 1})
            return json_response(200, {"cleared": sum(cleared)})
        if request.method != "POST" or fault_id:
            return json_response(405, {"message": "use GET, POST or DELETE on /_eventmesh/faults"})
        try:
            parsed, items = parse_fault_request(request.body)
        except FaultError as exc:
            return json_response(400, {"message": "; ".join(exc.problems), "problems": exc.problems})
        plans: list[tuple[dict[str, Any], list[int]]] = []
        for fault, item in zip(parsed, items, strict=True):   # all or none: all checked before any is added
            doc = {**item, "id": fault.id or f"fault-{node.index}-{next(ids)}"}
            answers = await everywhere("faults.check", doc)
            holders = [worker for worker, problems in enumerate(_by_worker(node, answers)) if not problems]
            if not holders:
                problems = answers[0]
                return json_response(400, {"message": "; ".join(problems), "problems": problems})
            plans.append((doc, holders))
        for doc, holders in plans:
            for worker in holders:
                if worker == node.index:
                    add(doc)
                else:
                    await node.ask(worker, "faults.add", doc)
        wanted = {doc["id"] for doc, _ in plans}
        listed = {}
        for part in await everywhere("faults.describe", None):
            for entry in part:
                if entry["id"] in wanted:
                    listed.setdefault(entry["id"], entry)
        return json_response(201, {"faults": [listed[doc["id"]] for doc, _ in plans if doc["id"] in listed]})

    daemon.app.endpoints[PREFIX] = faults


def _by_worker(node: Any, answers: list[Any]) -> list[Any]:
    """``everywhere``'s answers (this worker's first, then the peers') by worker index."""
    ordered = [None] * node.count
    ordered[node.index] = answers[0]
    for worker, answer in zip(node.peers, answers[1:], strict=True):
        ordered[worker] = answer
    return ordered
