"""What the shipped dashboards and alerting rules use: PromQL expressions, and the metric names
and labels in them (a small reader for the PromQL the dashboards write, not a PromQL parser)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
_METRIC = re.compile(r"\b((?:aws|eventmesh)_[a-z0-9_]+)\b")
_MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
_GROUPING = re.compile(r"\b(?:by|on|without|group_left|group_right|ignoring)\s*\(([^)]*)\)")
_LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_LABEL_VALUES = re.compile(r"label_values\((\w+),\s*(\w+)\)")


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted((CONFIGS / "grafana" / "dashboards").glob("*.json"))}


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((CONFIGS / "prometheus" / "rules.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def expressions() -> list[tuple[str, str, str]]:
    """(where, expression, legend) of every dashboard target and alerting rule."""
    found = []
    for name, board in dashboards().items():
        for panel in board["panels"]:
            for target in panel["targets"]:
                found.append((f"{name}: {panel['title']}", target["expr"], target.get("legendFormat", "")))
    for rule in rules():
        found.append((f"rules.yml: {rule['alert']}", rule["expr"],
                      " ".join(str(v) for v in rule.get("annotations", {}).values())))
    return found


def variables() -> list[tuple[str, str, str]]:
    """(dashboard, metric, label) of every label_values() template variable."""
    out = []
    for name, board in dashboards().items():
        for var in board["templating"]["list"]:
            if var.get("type") == "query":
                metric, label = _LABEL_VALUES.fullmatch(var["query"]["query"]).groups()  # type: ignore[union-attr]
                out.append((name, metric, label))
    return out


def metrics_in(expr: str) -> set[str]:
    return set(_METRIC.findall(expr))


def selector_labels(expr: str) -> list[tuple[str, str, str, str]]:
    """(metric, label, operator, value) of each label matcher, with the metric it selects on."""
    out = []
    for found in re.finditer(r"((?:aws|eventmesh)_[a-z0-9_]+)\{([^}]*)\}", expr):
        for label, op, value in _MATCHER.findall(found.group(2)):
            out.append((found.group(1), label, op, value))
    return out


def grouping_labels(expr: str) -> set[str]:
    return {label.strip() for group in _GROUPING.findall(expr) for label in group.split(",") if label.strip()}


def legend_labels(legend: str) -> set[str]:
    return set(_LEGEND.findall(legend)) | {m for m in re.findall(r"\$labels\.(\w+)", legend)}


def concrete(expr: str) -> str:
    """The expression with the dashboards' variables filled in (all values, a 1 m rate window)."""
    return re.sub(r'=~"\$\w+"', '=~".*"', expr).replace("$__rate_interval", "1m")
