"""The console: ``GET /_eventmesh/ui``, a small read-only page served by the daemon.

The page (``static/``: one HTML file, one script, one style sheet; no build step, nothing fetched
from elsewhere, so it works offline) polls small JSON endpoints:

* ``GET /_eventmesh/resources`` — resources by service with live queue depths and concurrency;
* ``GET /_eventmesh/topology`` — nodes and edges: bus → rules → targets, topic → subscriptions,
  source → mapping → function, function → destinations and DLQs;
* ``GET /_eventmesh/messages?queue=NAME&limit=N`` — a queue's messages, peeked (unchanged);
* ``GET /_eventmesh/invocations?function=NAME&limit=N`` — recent invocations with their logs.

The clock shown, and its advance button, use ``/_eventmesh/clock`` (``eventmesh.daemon``).
"""

from __future__ import annotations

from importlib import resources as package_files
from urllib.parse import parse_qs

from eventmesh.console import views
from eventmesh.mesh import Mesh
from eventmesh.wire.render import Response
from eventmesh.wire.router import Api, Request
from eventmesh.wire.server import json_response

__all__ = ["Console"]

_STATIC = {
    "/_eventmesh/ui": ("index.html", "text/html; charset=utf-8"),
    "/_eventmesh/ui/": ("index.html", "text/html; charset=utf-8"),
    "/_eventmesh/ui/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/_eventmesh/ui/style.css": ("style.css", "text/css; charset=utf-8"),
}
_DEFAULT_LIMIT = 20


class Console:
    """Serves the page and its JSON; reads the mesh, never changes it."""

    PREFIXES = ("/_eventmesh/ui", "/_eventmesh/resources", "/_eventmesh/topology", "/_eventmesh/messages",
                "/_eventmesh/invocations")

    def __init__(self, mesh: Mesh, api: Api) -> None:
        self.mesh = mesh
        self.api = api
        self._files: dict[str, bytes] = {}

    def _file(self, name: str) -> bytes:
        if name not in self._files:
            self._files[name] = package_files.files("eventmesh.console").joinpath("static", name).read_bytes()
        return self._files[name]

    def handle(self, request: Request) -> Response:
        path = request.path
        if request.method != "GET":
            return json_response(405, {"message": f"{path} is read-only: GET it"})
        static = _STATIC.get(path)
        if static is not None:
            name, content_type = static
            return 200, [("Content-Type", content_type), ("Cache-Control", "no-cache")], self._file(name)
        query = {k: v[-1] for k, v in parse_qs(request.query).items()}
        try:
            limit = int(query.get("limit", _DEFAULT_LIMIT))
        except ValueError:
            return json_response(400, {"message": "limit must be a whole number"})
        if path == "/_eventmesh/resources":
            return json_response(200, views.resources(self.mesh))
        if path == "/_eventmesh/topology":
            return json_response(200, views.topology(self.mesh))
        if path == "/_eventmesh/messages":
            queue = query.get("queue")
            found = views.messages(self.mesh, queue, limit) if queue else None
            return json_response(200, found) if found else json_response(
                404, {"message": f"no queue {queue!r} (give ?queue=NAME or ARN)"})
        if path == "/_eventmesh/invocations":
            function = query.get("function")
            invocations = views.recent_invocations(self.mesh, function, limit) if function else None
            return json_response(200, invocations) if invocations else json_response(
                404, {"message": f"no function {function!r} (give ?function=NAME)"})
        return json_response(404, {"message": f"no such endpoint {path}"})
