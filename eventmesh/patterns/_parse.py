"""Pattern text -> sub-rules: ``[{path: [condition, ...]}, ...]``, one dict per ``$or`` branch.

Everything that decides whether a pattern is valid, and with which message, lives here (messages as
AWS gives them; the order of checks follows AWS's compiler,
aws/event-ruler JsonRuleCompiler). Paths join nested keys with ``.``, as AWS flattens events, so
``{"a": {"b": ...}}`` and ``{"a.b": ...}`` name the same field.

``$or`` is recognised when its value is an array of at least two objects; otherwise ``$or`` is an
ordinary field name (so ``{"$or": [{"x": ["y"]}]}`` fails with ``Unrecognized match type x``).
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from eventmesh.patterns._budget import MAX_SUB_RULES_PER_PATTERN
from eventmesh.patterns._errors import PatternSyntaxError
from eventmesh.patterns._json import JsonNumber, JsonObject, JsonValue, parse_json
from eventmesh.patterns._numbers import NumberKey
from eventmesh.patterns.ops import Condition
from eventmesh.patterns.ops.anything_but import (
    AnythingBut,
    AnythingButIgnoreCase,
    AnythingButPrefix,
    AnythingButSuffix,
    AnythingButWildcard,
)
from eventmesh.patterns.ops.cidr import exact_ip, parse_cidr
from eventmesh.patterns.ops.exact import ExactLiteral, ExactNumber, ExactString
from eventmesh.patterns.ops.exists import Exists
from eventmesh.patterns.ops.ignore_case import EqualsIgnoreCase
from eventmesh.patterns.ops.numeric import NumericRange
from eventmesh.patterns.ops.prefix_suffix import Prefix, PrefixIgnoreCase, Suffix, SuffixIgnoreCase
from eventmesh.patterns.ops.wildcard import Wildcard

__all__ = [
    "Dialect",
    "SubRule",
    "compile_text",
    "compile_tree",
    "OutOfRangeNumber",
    "OR_KEYWORD",
    "NESTED_SCOPE_REASON",
]

OR_KEYWORD = "$or"
NESTED_SCOPE_REASON = "Filter policy scope MessageAttributes does not support nested filter policy"
SubRule = dict[str, list[Condition]]
_INF = float("inf")
_TOO_MANY_ELEMENTS = "Too many elements in numeric expression"
_ONE_KEY = "Only one key allowed in match expression"


class Dialect(NamedTuple):
    """What differs between EventBridge patterns and SNS filter policies."""

    name: str  # "eventbridge" or "sns"
    numkey: NumberKey
    nested: bool = True  # False for SNS FilterPolicyScope=MessageAttributes
    empty_matches_all: bool = False  # SNS: "{}" means no filtering

    @property
    def sns(self) -> bool:
        return self.name == "sns"


class OutOfRangeNumber(PatternSyntaxError):
    """SNS answers a policy number outside +/-1e9 with an internal error rather than a validation one."""


def compile_text(text: str, dialect: Dialect) -> list[SubRule]:
    return compile_tree(parse_json(text), dialect)


def compile_tree(tree: JsonValue, dialect: Dialect) -> list[SubRule]:
    if not isinstance(tree, JsonObject):
        raise PatternSyntaxError("Filter is not an object")
    if not tree and dialect.empty_matches_all:
        return [{}]
    rules: list[SubRule] = []
    _Compiler(dialect).object(tree, "", rules, top=True)
    return rules


def _text(v: JsonValue) -> str:
    """Jackson's getText() for the token that starts ``v``."""
    if isinstance(v, JsonObject):
        return "{"
    if isinstance(v, list):
        return "["
    if isinstance(v, JsonNumber):
        return v.text
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def _is_or(value: JsonValue) -> bool:
    return isinstance(value, list) and len(value) >= 2 and all(isinstance(v, JsonObject) for v in value)


class _Compiler:
    def __init__(self, dialect: Dialect) -> None:
        self.d = dialect
        self.numkey = dialect.numkey

    # -- structure -------------------------------------------------------------------------------
    def object(self, obj: JsonObject, prefix: str, rules: list[SubRule], top: bool = False) -> None:
        if not obj:
            raise PatternSyntaxError("Empty objects are not allowed")
        for key, value in obj:
            if key == OR_KEYWORD and _is_or(value):
                self.or_branches(value, prefix, rules)  # type: ignore[arg-type]
                continue
            path = prefix + key
            if isinstance(value, JsonObject):
                self.object(value, path + ".", rules)
            elif isinstance(value, list):
                if prefix and not self.d.nested:
                    # SNS checks the structure first and rejects nesting when it reaches a value list.
                    raise PatternSyntaxError(NESTED_SCOPE_REASON)
                conditions = self.values(value)
                if not rules:
                    rules.append({})
                for rule in rules:
                    rule[path] = conditions
            else:
                raise PatternSyntaxError(f'"{key}" must be an object or an array')

    def or_branches(self, branches: Sequence[JsonObject], prefix: str, rules: list[SubRule]) -> None:
        current = [dict(r) for r in rules] or [{}]
        rules.clear()
        for branch in branches:
            forked = [dict(r) for r in current]
            self.object(branch, prefix, forked)
            rules.extend(forked)
            if len(rules) > MAX_SUB_RULES_PER_PATTERN:
                raise PatternSyntaxError("Rule is too complex")

    def values(self, items: list) -> list[Condition]:  # type: ignore[type-arg]
        conditions: list[Condition] = []
        for item in items:
            if isinstance(item, JsonObject):
                conditions.append(self.expression(item))
            elif isinstance(item, str):
                conditions.append(exact_ip(item) or ExactString(item))
            elif isinstance(item, JsonNumber):
                key = self.numkey(item.text)
                if key is None and self.d.sns:
                    raise OutOfRangeNumber(f"Numeric value out of range: {item.text}")
                conditions.append(ExactNumber(item.text, key, self.numkey))
            elif item is None or item is True or item is False:
                conditions.append(ExactLiteral(item))
            else:
                raise PatternSyntaxError("Match value must be String, number, true, false, or null")
        if not conditions:
            raise PatternSyntaxError("Empty arrays are not allowed")
        return conditions

    # -- match expressions -----------------------------------------------------------------------
    def expression(self, obj: JsonObject) -> Condition:
        if not obj:
            raise PatternSyntaxError("Match expression name not found")
        op, value = obj[0]
        extra = len(obj) > 1
        if op == "prefix" or op == "suffix":
            if isinstance(value, JsonObject):
                return self.affix_ignore_case(op, value, extra)
            if not isinstance(value, str):
                raise PatternSyntaxError(f"{op} match pattern must be a string")
            cond: Condition = Prefix(value) if op == "prefix" else Suffix(value)
        elif op == "numeric":
            if not isinstance(value, list):
                raise PatternSyntaxError("Value of numeric must be an array.")
            cond = self.numeric(value)
            if extra:
                raise PatternSyntaxError(_TOO_MANY_ELEMENTS)
            return cond
        elif op == "anything-but":
            cond = self.anything_but(value)
            if extra:
                raise PatternSyntaxError(_TOO_MANY_ELEMENTS)
            return cond
        elif op == "exists":
            if value is not True and value is not False:
                raise PatternSyntaxError("exists match pattern must be either true or false.")
            cond = Exists(value)
        elif op == "cidr":
            if not isinstance(value, str):
                raise PatternSyntaxError("prefix match pattern must be a string")
            cond = parse_cidr(value)
        elif op == "equals-ignore-case":
            if not isinstance(value, str):
                raise PatternSyntaxError("equals-ignore-case match pattern must be a string")
            cond = EqualsIgnoreCase(value)
        elif op == "wildcard" and not self.d.sns:
            if not isinstance(value, str):
                raise PatternSyntaxError("wildcard match pattern must be a string")
            cond = Wildcard(value)
        elif op == "exactly" and not self.d.sns:
            if not isinstance(value, str):
                raise PatternSyntaxError("exact match pattern must be a string")
            cond = ExactString(value)
        else:
            raise PatternSyntaxError(f"Unrecognized match type {op}")
        if extra:
            raise PatternSyntaxError(_ONE_KEY)
        return cond

    def affix_ignore_case(self, op: str, inner: JsonObject, extra: bool) -> Condition:
        if not inner:
            raise PatternSyntaxError(f"{op.capitalize()} expression name not found")
        name, value = inner[0]
        if name != "equals-ignore-case":
            raise PatternSyntaxError(f"Unsupported {op} pattern: {name}")
        if not isinstance(value, str):
            raise PatternSyntaxError("equals-ignore-case match pattern must be a string")
        if len(inner) > 1 or extra:
            raise PatternSyntaxError(_ONE_KEY)
        return PrefixIgnoreCase(value) if op == "prefix" else SuffixIgnoreCase(value)

    def number(self, v: JsonValue, message: str) -> tuple[float, str]:
        if not isinstance(v, JsonNumber):
            raise PatternSyntaxError(message)
        key = self.numkey(v.text)
        if key is None:
            if self.d.sns:
                raise OutOfRangeNumber(f"Numeric value out of range: {v.text}")
            raise PatternSyntaxError(f"Cannot compare number : {v.text}")
        return key, v.text

    def numeric(self, items: list) -> Condition:  # type: ignore[type-arg]
        text = "[" + ", ".join(_quote(i) for i in items) + "]"
        if not items or not isinstance(items[0], str):
            raise PatternSyntaxError(f"Invalid member in numeric match: {_text(items[0]) if items else ']'}")
        op = items[0]
        operand = items[1] if len(items) > 1 else None
        if op == "=":
            key, num_text = self.number(operand, "Value of equals must be numeric")
            if len(items) > 2:
                raise PatternSyntaxError(_TOO_MANY_ELEMENTS)
            return ExactNumber(num_text, key, self.numkey)
        if op in ("<", "<="):
            key, _ = self.number(operand, f"Value of {op} must be numeric")
            if len(items) > 2:
                raise PatternSyntaxError(_TOO_MANY_ELEMENTS)
            return NumericRange(-_INF, True, key, op == "<", self.numkey, text)
        if op not in (">", ">="):
            raise PatternSyntaxError(f"Unrecognized numeric range operator: {op}")
        low, _ = self.number(operand, f"Value of {op} must be numeric")
        if len(items) == 2:
            return NumericRange(low, op == ">", _INF, True, self.numkey, text)
        top_op = items[2]
        if not isinstance(top_op, str):
            raise PatternSyntaxError(f"Bad value in numeric range: {_text(top_op)}")
        if top_op not in ("<", "<="):
            raise PatternSyntaxError(f"Bad numeric range operator: {top_op}")
        high, _ = self.number(items[3] if len(items) > 3 else None, f"Value of {top_op} must be numeric")
        if len(items) > 4:
            raise PatternSyntaxError("Too many terms in numeric range expression")
        if low >= high:
            raise PatternSyntaxError("Bottom must be less than top")
        return NumericRange(low, op == ">", high, top_op == "<", self.numkey, text)

    def anything_but(self, value: JsonValue) -> Condition:
        if isinstance(value, JsonObject):
            return self.anything_but_of(value)
        if isinstance(value, list):
            strings: set[str] = set()
            keys: set[float] = set()
            for item in value:
                if isinstance(item, str):
                    strings.add(item)
                elif isinstance(item, JsonNumber):
                    keys.add(self.number(item, "")[0])
                else:
                    raise PatternSyntaxError("Inside anything but list, start|null|boolean is not supported.")
            if bool(strings) == bool(keys):
                raise PatternSyntaxError(
                    "Inside anything but list, either all values are number or string, "
                    "mixed type is not supported"
                )
            return AnythingBut(frozenset(strings), frozenset(keys), self.numkey, _quote_list(value))
        if isinstance(value, str):
            return AnythingBut(frozenset([value]), frozenset(), self.numkey, _quote(value))
        if isinstance(value, JsonNumber):
            return AnythingBut(frozenset(), frozenset([self.number(value, "")[0]]), self.numkey, value.text)
        raise PatternSyntaxError("Value of anything-but must be an array or single string/number value.")

    def anything_but_of(self, obj: JsonObject) -> Condition:
        """``{"anything-but": {"prefix"|"suffix"|"wildcard"|"equals-ignore-case": value or list}}``."""
        if not obj:
            raise PatternSyntaxError("Anything-But expression name not found")
        kind, value = obj[0]
        allowed = (
            ("prefix", "equals-ignore-case")
            if self.d.sns
            else ("prefix", "suffix", "wildcard", "equals-ignore-case")
        )
        if kind not in allowed:
            raise PatternSyntaxError(f"Unsupported anything-but pattern: {kind}")
        if not isinstance(value, (list, str, JsonNumber)):
            if self.d.sns and kind == "prefix":
                raise PatternSyntaxError("prefix match pattern must be a string")
            raise PatternSyntaxError("Value of anything-but must be an array or single string/number value.")
        items = value if isinstance(value, list) else [value]
        texts: list[str] = []
        for item in items:
            if not isinstance(item, str):
                if kind == "equals-ignore-case":
                    raise PatternSyntaxError(
                        "Inside anything-but/equals-ignore-case list, "
                        "number|start|null|boolean is not supported."
                    )
                if kind == "wildcard":
                    raise PatternSyntaxError("wildcard match pattern must be a string")
                if self.d.sns:
                    raise PatternSyntaxError("prefix match pattern must be a string")
                raise PatternSyntaxError("prefix/suffix match pattern must be a string")
            if not item and kind in ("prefix", "suffix"):
                raise PatternSyntaxError("Null prefix/suffix not allowed")
            texts.append(item)
        if len(obj) > 1:
            raise PatternSyntaxError(_TOO_MANY_ELEMENTS)
        shown = _quote_list(value) if isinstance(value, list) else _quote(value)
        if kind == "prefix":
            return AnythingButPrefix(texts, shown)
        if kind == "suffix":
            return AnythingButSuffix(texts, shown)
        if kind == "wildcard":
            return AnythingButWildcard(texts, shown)
        return AnythingButIgnoreCase(texts, shown)


def _quote_list(items: list) -> str:  # type: ignore[type-arg]
    return "[" + ", ".join(_quote(i) for i in items) + "]"


def _quote(v: JsonValue) -> str:
    if isinstance(v, str):
        import json

        return json.dumps(v, ensure_ascii=False)
    return _text(v)
