"""``report.html`` and its PNGs: the topology drawn, a plot per key metric with the fault windows
shaded, the totals table and, for a sweep, the variants compared.

One self-contained page: CSS inline, every image a ``data:`` URI (no script, no CDN), so it opens
from a mail attachment as well as from disk; each plot is also written as a PNG beside it for
documents. Plots use matplotlib (the ``simulate`` extra: ``pip install 'eventmesh[simulate]'``)
with the Agg backend, which needs no display.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from eventmesh.simulate.results import RunResult, SweepResult, _slug
from eventmesh.simulate.sampling import LOAD_NAMESPACE, Series
from eventmesh.simulate.topology import LAYERS, Topology
from eventmesh.simulate.units import format_duration

__all__ = ["KEY_METRICS", "write_report", "write_sweep_report"]

# (namespace, metric, statistic, title, per-second?) in the order the page shows them.
KEY_METRICS: list[tuple[str, str, str, str, bool]] = [
    (LOAD_NAMESPACE, "EventsAccepted", "Sum", "Load accepted (events/s)", True),
    (LOAD_NAMESPACE, "EntriesThrottled", "Sum", "Producer entries throttled (/s)", True),
    ("AWS/Events", "MatchedEvents", "Sum", "EventBridge matched events (/s)", True),
    ("AWS/Events", "FailedInvocations", "Sum", "EventBridge failed invocations", False),
    ("AWS/SNS", "NumberOfNotificationsFailed", "Sum", "SNS notifications failed", False),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "SQS messages visible (max)", False),
    ("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", "SQS age of oldest message (s)", False),
    ("AWS/Kinesis", "IncomingRecords", "Sum", "Kinesis incoming records (/s)", True),
    ("AWS/Kinesis", "WriteProvisionedThroughputExceeded", "Sum", "Kinesis write throttles (/s)", True),
    ("AWS/Lambda", "IteratorAge", "Maximum", "Lambda IteratorAge (ms)", False),
    ("AWS/Lambda", "ConcurrentExecutions", "Maximum", "Lambda concurrent executions (max)", False),
    ("AWS/Lambda", "Throttles", "Sum", "Lambda throttles", False),
    ("AWS/Lambda", "Errors", "Sum", "Lambda errors", False),
    ("AWS/Lambda", "Duration", "p99", "Lambda duration p99 (ms)", False),
    ("AWS/Lambda", "AsyncEventAge", "p99", "Lambda async event age p99 (ms)", False),
    ("AWS/Lambda", "AsyncEventsDropped", "Sum", "Lambda async events dropped", False),
]
_COLORS = {"generator": "#6b7280", "events": "#db2777", "sns": "#d97706", "sqs": "#7c3aed", "kinesis": "#2563eb",
           "lambda": "#ea580c", "dlq": "#b91c1c", "other": "#475569"}
_FAULT_COLORS = ["#ef4444", "#f59e0b", "#10b981", "#3b82f6", "#8b5cf6"]
_TOTAL_COLUMNS = ("kind", "name", "sent", "delivered", "throttled", "failed", "dead_lettered", "dropped_by_age",
                  "to_destinations", "remaining", "balanced")
_DPI = 110


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:   # an optional dependency: the caller says how to install it
        raise ImportError("report.html and its plots need matplotlib: pip install 'eventmesh[simulate]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any, path: Path) -> str:
    """Save ``fig`` as ``path`` and return it as a data URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight", metadata={"Software": None})
    data = buffer.getvalue()
    path.write_bytes(data)
    return "data:image/png;base64," + base64.b64encode(data).decode()


def _label(series: Series, labels: dict[str, str]) -> str:
    return ", ".join(labels.get(d["Value"], d["Value"]) for d in series.dimensions) or "account"


def _plot_metric(plt: Any, result: RunResult, group: list[Series], title: str, per_second: bool,
                 path: Path) -> str:
    fig, ax = plt.subplots(figsize=(7.2, 2.6))
    scale, unit = _time_axis(result.virtual_seconds)
    for series in group:
        xs = [(i + 0.5) * result.period / scale for i in range(len(series.values))]
        ys = [v / result.period for v in series.values] if per_second else list(series.values)
        ax.plot(xs, ys, linewidth=1.4, label=_label(series, result.topology.labels))
    _shade_faults(ax, result, scale)
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xlabel(f"virtual time ({unit})", fontsize=8)
    ax.set_xlim(0, result.virtual_seconds / scale)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.25)
    ax.set_ylim(bottom=0)
    if len(group) > 1 or result.faults:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    uri = _png(fig, path)
    plt.close(fig)
    return uri


def _time_axis(total_s: float) -> tuple[float, str]:
    if total_s > 3 * 3_600:
        return 3_600.0, "h"
    if total_s > 180:
        return 60.0, "min"
    return 1.0, "s"


def _shade_faults(ax: Any, result: RunResult, scale: float) -> None:
    for i, fault in enumerate(result.faults):
        color = _FAULT_COLORS[i % len(_FAULT_COLORS)]
        ax.axvspan(fault["start"] / scale, fault["end"] / scale, color=color, alpha=0.15,
                   label=f"{fault['kind']} {fault['target'].rsplit(':', 1)[-1]}")


_SKIP_ARC = 0.2     # the bend of an edge that passes a column (matplotlib's arc3 radius)
_NODE_HALF_HEIGHT = 0.4   # a straight edge this close to a node's centre would run through it


def _draw_topology(plt: Any, topology: Topology, path: Path) -> str:
    """Nodes in columns by kind (producers, buses/topics/streams, queues, functions, dead
    letters), edges as labelled arrows."""
    columns: dict[int, list[Any]] = defaultdict(list)
    for node in topology.nodes:
        columns[LAYERS.get(node.kind, LAYERS["other"])].append(node)
    used = sorted(columns)
    height = max((len(nodes) for nodes in columns.values()), default=1)
    fig, ax = plt.subplots(figsize=(max(6.0, 2.3 * len(used)), max(2.2, 0.9 * height + 0.8)))
    where: dict[str, tuple[float, float]] = {}
    sources: dict[str, list[str]] = defaultdict(list)
    for edge in topology.edges:
        sources[edge.target].append(edge.source)
    for x, layer in enumerate(used):
        nodes = columns[layer]
        if x:   # order a column by where its inputs sit, so arrows cross less
            nodes.sort(key=lambda n: min((-where[s][1] for s in sources[n.id] if s in where), default=0.0))
        for j, node in enumerate(nodes):
            y = (height - 1) / 2 - j + (len(nodes) - 1) / 2
            where[node.id] = (x, y)
    ax.set_xlim(-0.6, len(used) - 0.4)   # the limits first: arc labels are placed in display space
    ax.set_ylim(-0.8, height - 0.2)
    for edge in topology.edges:
        if edge.source not in where or edge.target not in where:
            continue
        (x0, y0), (x1, y1) = where[edge.source], where[edge.target]
        # Backwards edges curve; an edge past a column arcs over it (a straight one would run
        # through the nodes between, its label hidden behind them).
        blocking = [y for node_id, (x, y) in where.items() if x0 < x < x1
                    and abs(y0 + (y1 - y0) * (x - x0) / (x1 - x0) - y) < _NODE_HALF_HEIGHT]
        skips = bool(blocking)   # over the nodes in the way (under them if they sit above the line)
        curve = 0.25 if x1 <= x0 else (_SKIP_ARC if min(blocking) > y0 else -_SKIP_ARC) if skips else 0.0
        ax.annotate("", xy=(x1 - 0.36 if x1 > x0 else x1, y1), xytext=(x0 + 0.36 if x1 > x0 else x0, y0),
                    arrowprops={"arrowstyle": "-|>", "color": "#64748b", "lw": 1.1,
                                "connectionstyle": f"arc3,rad={curve}"})
        if edge.label:
            lx, ly = x0 + (x1 - x0) * 0.55, y0 + (y1 - y0) * 0.55 + 0.1
            if skips:   # on the arc's top: its midpoint, from the control point in display space
                (ax0, ay0), (ax1, ay1) = ax.transData.transform([(x0 + 0.36, y0), (x1 - 0.36, y1)])
                cx, cy = (ax0 + ax1) / 2 + curve * (ay1 - ay0), (ay0 + ay1) / 2 - curve * (ax1 - ax0)
                lx, ly = ax.transData.inverted().transform((0.25 * ax0 + 0.5 * cx + 0.25 * ax1,
                                                            0.25 * ay0 + 0.5 * cy + 0.25 * ay1))
                ly += 0.05 if curve < 0 else -0.2
            ax.text(lx, ly, edge.label, fontsize=6.5, color="#334155", ha="center",
                    bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})
    for node in topology.nodes:
        nx, ny = where[node.id]
        color = _COLORS.get(node.kind, _COLORS["other"])
        ax.text(nx, ny, f"{node.name}\n{_KIND_LABELS.get(node.kind, node.kind)}", ha="center", va="center",
                fontsize=7.5, color="white",
                bbox={"boxstyle": "round,pad=0.4", "facecolor": color, "edgecolor": "none"})
    ax.axis("off")
    uri = _png(fig, path)
    plt.close(fig)
    return uri


_KIND_LABELS = {"generator": "load", "events": "EventBridge", "sns": "SNS", "sqs": "SQS", "kinesis": "Kinesis",
                "lambda": "Lambda", "dlq": "SQS (DLQ)", "other": "endpoint"}


def _totals_table(result: RunResult) -> str:
    head = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in _TOTAL_COLUMNS)
    rows = []
    for row in result.totals:
        cells = []
        for column in _TOTAL_COLUMNS:
            value = getattr(row, column)
            if column == "balanced":
                cells.append(f'<td class="{"ok" if value else "bad"}">{"yes" if value else "NO"}</td>')
            elif isinstance(value, int):
                cells.append(f'<td class="n">{value:,}</td>')
            else:
                cells.append(f"<td>{html.escape(str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#111827}
h1{font-size:22px;margin-bottom:4px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #e5e7eb}
.meta{color:#4b5563;font-size:13px}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:10px}
img{max-width:100%}table{border-collapse:collapse;font-size:12px;width:100%}
th,td{border-bottom:1px solid #e5e7eb;padding:4px 6px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
td.ok{color:#047857}td.bad{color:#b91c1c;font-weight:bold}.faults li{font-size:13px}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;color:white}
"""


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head><body>{body}</body></html>\n")


def _run_sections(plt: Any, result: RunResult, out: Path) -> str:
    images = out / "plots"
    images.mkdir(parents=True, exist_ok=True)
    parts = []
    topology_uri = _draw_topology(plt, result.topology, images / "topology.png")
    parts.append(f'<h2>Topology</h2><img alt="topology" src="{topology_uri}">')
    if result.faults:
        items = "".join(f"<li><b>{html.escape(f['kind'])}</b> on {html.escape(f['target'])}: from "
                        f"{format_duration(f['start'])} to {format_duration(f['end'])}</li>" for f in result.faults)
        parts.append(f'<h2>Faults</h2><ul class="faults">{items}</ul>')
    plots = []
    for namespace, metric, statistic, title, per_second in KEY_METRICS:
        group = [s for s in result.metrics if s.namespace == namespace and s.metric == metric
                 and s.statistic == statistic and any(s.values)]
        if not group:
            continue
        name = _slug(f"{namespace.replace('/', '_')}_{metric}_{statistic}") + ".png"
        uri = _plot_metric(plt, result, group, title, per_second, images / name)
        plots.append(f'<img alt="{html.escape(title)}" src="{uri}">')
    parts.append('<h2>Metrics</h2><div class="grid">' + ("".join(plots) or "<p>No activity.</p>") + "</div>")
    badge = ('<span class="badge" style="background:#047857">balanced</span>' if result.balanced
             else '<span class="badge" style="background:#b91c1c">NOT balanced</span>')
    parts.append(f"<h2>Totals {badge}</h2>{_totals_table(result)}")
    return "".join(parts)


def write_report(result: RunResult, out: str | Path) -> Path:
    """Write ``report.html`` and ``plots/*.png`` of one run into ``out``."""
    plt = _pyplot()
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    title = f"{result.scenario}{' — ' + result.variant if result.variant else ''}"
    meta = (f'<p class="meta">seed {result.seed} · {result.virtual_seconds:g} s of virtual time · '
            f"{result.events:,} events · period {result.period:g} s</p>")
    body = f"<h1>{html.escape(title)}</h1>{meta}{_run_sections(plt, result, directory)}"
    path = directory / "report.html"
    path.write_text(_page(title, body))
    return path


def _p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


def sweep_figures(result: RunResult) -> dict[str, float]:
    """The figures a sweep compares its variants by."""
    def values(metric: str, statistic: str) -> list[list[float]]:
        return [s.values for s in result.metrics if s.metric == metric and s.statistic == statistic]

    age = [v for series in values("ApproximateAgeOfOldestMessage", "Maximum") for v in series]
    throttles = sum(sum(s) for s in values("Throttles", "Sum"))
    errors = sum(sum(s) for s in values("Errors", "Sum"))
    concurrency = max((max(s) for s in values("ConcurrentExecutions", "Maximum") if s), default=0.0)
    iterator = max((max(s) for s in values("IteratorAge", "Maximum") if s), default=0.0)
    dropped = sum(t.failed + t.dropped_by_age for t in result.totals if t.kind in ("lambda", "kinesis"))
    dead = sum(t.dead_lettered for t in result.totals)
    return {"p99 age of oldest message (s)": _p99(age), "Lambda throttles": throttles, "Lambda errors": errors,
            "max concurrency": concurrency, "max IteratorAge (ms)": iterator, "dropped": float(dropped),
            "dead-lettered": float(dead)}


def write_sweep_report(sweep: SweepResult, out: str | Path) -> Path:
    """Write the sweep's ``report.html``: the variants compared (table and plots against the
    first parameter), each variant's own report under ``variants/``."""
    plt = _pyplot()
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    figures = [sweep_figures(v) for v in sweep.variants]
    names = list(figures[0]) if figures else []
    head = "".join(f'<th title="{html.escape(p)}">{html.escape(p.rsplit(".", 1)[-1])}</th>'
                   for p in sweep.parameters) + "".join(
        f"<th>{html.escape(n)}</th>" for n in names) + "<th>balanced</th><th>report</th>"
    rows = []
    for v, fig in zip(sweep.variants, figures, strict=True):
        link = f"variants/{_slug(v.variant)}/report.html"
        cells = "".join(f"<td>{html.escape(str(v.parameters.get(p)))}</td>" for p in sweep.parameters)
        cells += "".join(f'<td class="n">{fig[n]:,.1f}</td>' for n in names)
        cells += f'<td class="{"ok" if v.balanced else "bad"}">{"yes" if v.balanced else "NO"}</td>'
        rows.append(f'<tr>{cells}<td><a href="{link}">open</a></td></tr>')
        write_report(v, directory / "variants" / _slug(v.variant))
    images = directory / "plots"
    images.mkdir(parents=True, exist_ok=True)
    plots = []
    if sweep.parameters:
        first = sweep.parameters[0]
        others = sweep.parameters[1:]
        for name in names:
            series: dict[str, list[tuple[Any, float]]] = defaultdict(list)
            for v, fig in zip(sweep.variants, figures, strict=True):
                key = ", ".join(f"{p.rsplit('.', 1)[-1]}={v.parameters.get(p)}" for p in others) or name
                series[key].append((v.parameters.get(first), fig[name]))
            if not any(y for points in series.values() for _, y in points):
                continue
            chart, ax = plt.subplots(figsize=(5.6, 2.8))
            for key, points in series.items():
                xs = [str(x) for x, _ in points]
                ax.plot(xs, [y for _, y in points], marker="o", linewidth=1.4, label=key)
            ax.set_title(f"{name} against {first.rsplit('.', 1)[-1]}", fontsize=10, loc="left")
            ax.set_xlabel(first, fontsize=8)
            ax.tick_params(labelsize=8)
            ax.grid(alpha=0.25)
            if len(series) > 1:
                ax.legend(fontsize=7, frameon=False)
            uri = _png(chart, images / (_slug(f"sweep_{name}") + ".png"))
            plt.close(chart)
            plots.append(f'<img alt="{html.escape(name)}" src="{uri}">')
    body = (f"<h1>{html.escape(sweep.scenario)} — sweep of {len(sweep.variants)} variants</h1>"
            f'<p class="meta">parameters: {html.escape(", ".join(sweep.parameters))}</p>'
            f'<h2>Comparison</h2><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f'<div class="grid">{"".join(plots)}</div>')
    if sweep.variants:
        body += f"<h2>First variant: {html.escape(sweep.variants[0].variant)}</h2>"
        body += _run_sections(plt, sweep.variants[0], directory)
    path = directory / "report.html"
    path.write_text(_page(f"{sweep.scenario} sweep", body))
    return path
