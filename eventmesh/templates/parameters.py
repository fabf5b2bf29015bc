"""Template ``Parameters``: defaults, overrides (``--parameter-overrides``) and their constraints.

A parameter takes its override, else its ``Default``; a parameter with neither is a problem, as
CloudFormation refuses the deployment. ``AllowedValues``, ``AllowedPattern``, ``MinLength``,
``MaxLength``, ``MinValue`` and ``MaxValue`` are checked as CloudFormation checks them.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["parse_overrides", "resolve_parameters"]

_SAM_CLI_FORM = re.compile(r"ParameterKey=([^,]+),ParameterValue=(.*)")
_LIST_TYPES = ("CommaDelimitedList", "List<")


def parse_overrides(items: list[str] | None) -> dict[str, str]:
    """``Key=Value`` items (the SAM CLI's ``ParameterKey=K,ParameterValue=V`` too) → a mapping."""
    out: dict[str, str] = {}
    for item in items or []:
        for part in _split_items(item):
            found = _SAM_CLI_FORM.fullmatch(part)
            if found:
                out[found.group(1)] = found.group(2)
                continue
            key, sep, value = part.partition("=")
            if not sep or not key:
                raise ValueError(f"parameter override {part!r} is not Key=Value")
            out[key] = value
    return out


def _split_items(text: str) -> list[str]:
    # "A=1 B=2" in one argument, as the SAM CLI accepts; a value with spaces is quoted by the shell.
    if text.startswith("ParameterKey="):
        return [text]
    return [t for t in text.split(" ") if t]


def resolve_parameters(declared: dict[str, Any], overrides: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(values by name, problems) for the template's ``Parameters`` section."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name in overrides:
        if name not in declared:
            problems.append(f"Parameters.{name}: the template declares no such parameter")
    for name, spec in (declared or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        kind = str(spec.get("Type", "String"))
        if name in overrides:
            raw = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            problems.append(f"Parameters.{name}: no value (give it a Default or --parameter-overrides {name}=...)")
            continue
        if kind.startswith("AWS::SSM::Parameter::Value") and name not in overrides:
            problems.append(f"Parameters.{name}: SSM parameters cannot be read here; override it")
            continue
        text = ",".join(str(v) for v in raw) if isinstance(raw, list) else str(raw)
        problems += [f"Parameters.{name}: {p}" for p in _check(spec, kind, text)]
        values[name] = [v.strip() for v in text.split(",")] if kind.startswith(_LIST_TYPES) else text
    return values, problems


def _check(spec: dict[str, Any], kind: str, text: str) -> list[str]:
    problems = []
    allowed = spec.get("AllowedValues")
    if isinstance(allowed, list) and text not in [str(a) for a in allowed]:
        problems.append(f"{text!r} is not one of the AllowedValues {allowed}")
    pattern = spec.get("AllowedPattern")
    if isinstance(pattern, str) and re.fullmatch(pattern, text) is None:
        problems.append(f"{text!r} does not match the AllowedPattern {pattern}")
    if "MinLength" in spec and len(text) < int(spec["MinLength"]):
        problems.append(f"shorter than MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(text) > int(spec["MaxLength"]):
        problems.append(f"longer than MaxLength {spec['MaxLength']}")
    if kind == "Number":
        try:
            number = float(text)
        except ValueError:
            return problems + [f"{text!r} is not a number"]
        if "MinValue" in spec and number < float(spec["MinValue"]):
            problems.append(f"less than MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            problems.append(f"more than MaxValue {spec['MaxValue']}")
    return problems
