"""CloudFormation intrinsic functions, conditions and pseudo parameters, resolved at load time.

Every value a deployed stack would compute is computed here from names alone (eventmesh picks
the physical names, so ``Ref`` and ``Fn::GetAtt`` are known before anything is created):
``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::Join``, ``Fn::If``, ``Fn::Select``, ``Fn::Split``,
``Fn::FindInMap``, ``Fn::Base64``, ``Fn::GetAZs``, ``Fn::ToJsonString``, ``Fn::Equals``,
``Fn::And``, ``Fn::Or``, ``Fn::Not``, ``Condition``, and ``AWS::NoValue`` (the key goes away).
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

__all__ = ["NO_VALUE", "IntrinsicError", "Resolver", "pseudo_parameters", "references"]

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_AZ_LETTERS = "abc"


class IntrinsicError(ValueError):
    """An intrinsic that cannot be resolved (unknown reference, wrong arguments)."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()


def pseudo_parameters(account_id: str, region: str, stack_name: str) -> dict[str, Any]:
    """The values of the ``AWS::`` pseudo parameters for a stack deployed here."""
    partition = "aws-cn" if region.startswith("cn-") else ("aws-us-gov" if region.startswith("us-gov") else "aws")
    return {
        "AWS::AccountId": account_id,
        "AWS::Region": region,
        "AWS::Partition": partition,
        "AWS::StackName": stack_name,
        "AWS::StackId": f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/"
                        f"00000000-0000-0000-0000-000000000000",
        "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
        "AWS::NotificationARNs": [],
    }


def references(value: Any) -> set[str]:
    """Logical ids (or parameter names) a value refers to through Ref, GetAtt and Sub."""
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if len(node) == 1:
                (key, arg), = node.items()
                if key == "Ref" and isinstance(arg, str):
                    found.add(arg)
                elif key == "Fn::GetAtt":
                    target = arg[0] if isinstance(arg, list) and arg else (
                        arg.split(".", 1)[0] if isinstance(arg, str) else None)
                    if isinstance(target, str):
                        found.add(target)
                elif key == "Fn::Sub":
                    text = arg[0] if isinstance(arg, list) and arg else arg
                    if isinstance(text, str):
                        found.update(m.group(1).split(".", 1)[0] for m in _SUB_VARIABLE.finditer(text))
            for item in node.values():
                visit(item)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(value)
    return found


class Resolver:
    """Resolves a template's values. ``ref(logical_id)`` and ``get_att(logical_id, attribute)``
    answer for resources; parameters and pseudo parameters come as a mapping."""

    def __init__(self, parameters: dict[str, Any], conditions: dict[str, Any], mappings: dict[str, Any],
                 ref: Callable[[str], Any], get_att: Callable[[str, str], Any], region: str) -> None:
        self.parameters = parameters
        self.mappings = mappings
        self.region = region
        self._ref = ref
        self._get_att = get_att
        self._condition_defs = conditions
        self._conditions: dict[str, bool] = {}

    # -- conditions ----------------------------------------------------------------------------

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            if name not in self._condition_defs:
                raise IntrinsicError(f"unknown condition {name}")
            self._conditions[name] = False  # a condition naming itself resolves to false, not forever
            self._conditions[name] = bool(self.resolve(self._condition_defs[name]))
        return self._conditions[name]

    # -- values --------------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            handler = _FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, arg)
        out = {}
        for key, item in value.items():
            resolved = self.resolve(item)
            if resolved is not NO_VALUE:
                out[key] = resolved
        return out

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        return self._ref(name)

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            if len(arg) != 2 or not isinstance(arg[1], dict):
                raise IntrinsicError("Fn::Sub takes a string or [string, {variables}]")
            text, variables = self.resolve(arg[0]), {k: self.resolve(v) for k, v in arg[1].items()}
        else:
            text, variables = arg, {}
        if not isinstance(text, str):
            raise IntrinsicError("Fn::Sub needs a string")

        def value(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in variables:
                found = variables[name]
            elif "." in name and name.split(".", 1)[0] not in self.parameters:
                logical_id, attribute = name.split(".", 1)
                found = self._get_att(logical_id, attribute)
            else:
                found = self.ref(name)
            if isinstance(found, list):
                return ",".join(str(v) for v in found)
            return str(found)

        # ${!Literal} stands for the literal ${Literal}.
        return _SUB_VARIABLE.sub(value, text).replace("${!", "${")


def _get_att(resolver: Resolver, arg: Any) -> Any:
    if isinstance(arg, str):
        arg = arg.split(".", 1)
    if not (isinstance(arg, list) and len(arg) == 2):
        raise IntrinsicError("Fn::GetAtt takes [LogicalId, Attribute]")
    attribute = resolver.resolve(arg[1])
    return resolver._get_att(str(arg[0]), str(attribute))


def _join(resolver: Resolver, arg: Any) -> str:
    if not (isinstance(arg, list) and len(arg) == 2):
        raise IntrinsicError("Fn::Join takes [delimiter, [values]]")
    delimiter, items = resolver.resolve(arg[0]), resolver.resolve(arg[1])
    if not isinstance(items, list):
        raise IntrinsicError("Fn::Join needs a list of values")
    return str(delimiter).join(str(v) for v in items)


def _if(resolver: Resolver, arg: Any) -> Any:
    if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str)):
        raise IntrinsicError("Fn::If takes [condition, value if true, value if false]")
    return resolver.resolve(arg[1] if resolver.condition(arg[0]) else arg[2])


def _select(resolver: Resolver, arg: Any) -> Any:
    if not (isinstance(arg, list) and len(arg) == 2):
        raise IntrinsicError("Fn::Select takes [index, [values]]")
    index, items = resolver.resolve(arg[0]), resolver.resolve(arg[1])
    try:
        return items[int(index)]
    except (ValueError, TypeError, IndexError):
        raise IntrinsicError(f"Fn::Select index {index!r} is out of range") from None


def _split(resolver: Resolver, arg: Any) -> list[str]:
    if not (isinstance(arg, list) and len(arg) == 2):
        raise IntrinsicError("Fn::Split takes [delimiter, string]")
    return str(resolver.resolve(arg[1])).split(str(resolver.resolve(arg[0])))


def _find_in_map(resolver: Resolver, arg: Any) -> Any:
    if not (isinstance(arg, list) and len(arg) >= 3):
        raise IntrinsicError("Fn::FindInMap takes [map, top-level key, second-level key]")
    name, top, second = (resolver.resolve(a) for a in arg[:3])
    try:
        return resolver.mappings[name][top][second]
    except (KeyError, TypeError):
        if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
            return resolver.resolve(arg[3]["DefaultValue"])
        raise IntrinsicError(f"Fn::FindInMap: no {name}.{top}.{second} in Mappings") from None


def _equals(resolver: Resolver, arg: Any) -> bool:
    if not (isinstance(arg, list) and len(arg) == 2):
        raise IntrinsicError("Fn::Equals takes two values")
    return bool(str(resolver.resolve(arg[0])) == str(resolver.resolve(arg[1])))


def _condition_list(resolver: Resolver, arg: Any, name: str) -> list[bool]:
    if not isinstance(arg, list):
        raise IntrinsicError(f"{name} takes a list of conditions")
    return [bool(resolver.resolve(a)) for a in arg]


def _condition(resolver: Resolver, arg: Any) -> Any:
    if isinstance(arg, str) and arg in resolver._condition_defs:
        return resolver.condition(arg)
    return {"Condition": resolver.resolve(arg)}  # a "Condition" property that is not the function


_FUNCTIONS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": lambda r, a: r.ref(str(r.resolve(a))),
    "Fn::GetAtt": _get_att,
    "Fn::Sub": lambda r, a: r._sub(a),
    "Fn::Join": _join,
    "Fn::If": _if,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::FindInMap": _find_in_map,
    "Fn::Base64": lambda r, a: base64.b64encode(str(r.resolve(a)).encode()).decode(),
    "Fn::GetAZs": lambda r, a: [f"{r.resolve(a) or r.region}{letter}" for letter in _AZ_LETTERS],
    "Fn::ToJsonString": lambda r, a: json.dumps(r.resolve(a), separators=(",", ":")),
    "Fn::Equals": _equals,
    "Fn::And": lambda r, a: all(_condition_list(r, a, "Fn::And")),
    "Fn::Or": lambda r, a: any(_condition_list(r, a, "Fn::Or")),
    "Fn::Not": lambda r, a: not all(_condition_list(r, a, "Fn::Not")),
    "Condition": _condition,
    "Fn::ImportValue": lambda r, a: _unavailable("Fn::ImportValue (exports of other stacks)"),
    "Fn::Cidr": lambda r, a: _unavailable("Fn::Cidr"),
}


def _unavailable(what: str) -> Any:
    raise IntrinsicError(f"{what} is not available here")
