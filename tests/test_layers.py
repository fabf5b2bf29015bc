"""The import contract: the tree is the architecture, and this test keeps it so.

Layers (DESIGN.md, README "Layout"):
* the kernel (clock, timers, ids, arn, mesh, effects, errors, histogram, twins) imports only itself;
* ``patterns`` imports only itself and the kernel;
* ``partition`` (ownership, frames, links) imports only itself and the kernel: no transport, no
  service, so the simulator and the daemon share it;
* a service's cores (every module of ``services/<svc>/`` but its wire adapter ``api.py``) never
  import ``wire``, ``drivers``, ``metrics`` or the composition root (daemon, config, cli, testing);
* services meet only through effects. The one named exception: event source mappings (``esm``,
  part of the Lambda API) read their sources' cores and share Lambda's errors, record helpers
  and its lazily encoded event (``jobs.LazyEvent``);
* ``wire`` knows no service, no driver and no composition root;
* ``drivers`` carry out effects: no wire, no composition root;
* no import cycle between modules, deferred (inside a function, under ``TYPE_CHECKING``) or not.
Every import counts, wherever it sits in the module.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "eventmesh"
KERNEL = {"eventmesh", "eventmesh.clock", "eventmesh.timers", "eventmesh.ids", "eventmesh.arn", "eventmesh.mesh",
          "eventmesh.quotas", "eventmesh.latency", "eventmesh.twins",
          "eventmesh.effects", "eventmesh.errors", "eventmesh.histogram"}
ROOT = ("eventmesh.daemon", "eventmesh.config", "eventmesh.cli", "eventmesh.testing", "eventmesh.__main__",
        "eventmesh.templates", "eventmesh.console", "eventmesh.access_log")
# The one place services reach into each other directly (see the module docstring).
CROSS_SERVICE = {
    "esm": {"eventmesh.services.sqs.queue", "eventmesh.services.kinesis.stream", "eventmesh.services.kinesis.shards",
            "eventmesh.services.lambda_.errors", "eventmesh.services.lambda_.records",
            "eventmesh.services.lambda_.jobs"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every eventmesh module ``path`` imports, anywhere in the file (``from pkg import module``
    counts as importing the module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("eventmesh"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("eventmesh"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in modules else node.module)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) for name, path in modules.items()}


def _service(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "services" else None


def test_the_kernel_imports_only_the_kernel() -> None:
    bad = [(m, d) for m, deps in _graph().items() if m in KERNEL for d in deps if d not in KERNEL]
    assert bad == []


def test_patterns_import_only_patterns_and_the_kernel() -> None:
    bad = [(m, d) for m, deps in _graph().items() if m.startswith("eventmesh.patterns")
           for d in deps if not (d.startswith("eventmesh.patterns") or d in KERNEL)]
    assert bad == []


def test_partitions_import_only_themselves_and_the_kernel() -> None:
    bad = [(m, d) for m, deps in _graph().items() if m.startswith("eventmesh.partition")
           for d in deps if not (d.startswith("eventmesh.partition") or d in KERNEL)]
    assert bad == []


def test_cores_never_import_the_wire_the_drivers_the_exporter_or_the_root() -> None:
    forbidden = ("eventmesh.wire", "eventmesh.drivers", "eventmesh.metrics", *ROOT)
    bad = [(m, d) for m, deps in _graph().items()
           if _service(m) and not m.endswith(".api") for d in deps if d.startswith(forbidden)]
    assert bad == []


def test_services_meet_only_through_effects_but_where_mappings_read_their_sources() -> None:
    bad = []
    for module, deps in _graph().items():
        own = _service(module)
        if own is None:
            continue
        for dep in deps:
            other = _service(dep)
            if other is None or other == own or (module.endswith(".api") and dep == "eventmesh.services"):
                continue
            if dep not in CROSS_SERVICE.get(own, set()):
                bad.append((module, dep))
    assert bad == []


def test_the_wire_knows_no_service_driver_or_root() -> None:
    forbidden = ("eventmesh.services", "eventmesh.drivers", *ROOT)
    bad = [(m, d) for m, deps in _graph().items() if m.startswith("eventmesh.wire")
           for d in deps if d.startswith(forbidden)]
    assert bad == []


def test_drivers_carry_out_effects_without_the_wire_or_the_root() -> None:
    forbidden = ("eventmesh.wire", *ROOT)
    bad = [(m, d) for m, deps in _graph().items() if m.startswith("eventmesh.drivers")
           for d in deps if d.startswith(forbidden)]
    assert bad == []


def test_no_import_cycle_deferred_or_not() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if dep == node or (node.startswith(dep + ".") and dep in graph):
                continue  # a package's own modules importing their package's __init__ is Python's, not ours
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep in graph and dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert cycles == []


def test_the_contract_sees_the_imports_it_is_about() -> None:
    graph = _graph()
    assert "eventmesh.mesh" in graph["eventmesh.services.sqs.queue"]
    assert "eventmesh.wire.service" in graph["eventmesh.services.sqs.api"]
    assert "eventmesh.services.sqs.queue" in graph["eventmesh.services.esm.service"]
    assert "eventmesh.services.sqs.service" in graph["eventmesh.services.sqs.api"]  # from pkg import module
