"""The public objects: Pattern, FilterPolicy, RuleSet (re-exported by eventmesh.patterns).

A Pattern or FilterPolicy is a RuleSet of one rule, so single-pattern matching and many-rule matching
share one implementation. Events are decoded once with msgspec (a str/bytes event) or used as given
(a Mapping); a RuleSet then answers every rule in one pass (see _machine.py for the cost model).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import msgspec

from eventmesh.patterns._budget import EVENT_PATTERN_MAX_CHARS, FILTER_POLICY_MAX_BYTES
from eventmesh.patterns._engines import C, resolve
from eventmesh.patterns._errors import (
    EVENTBRIDGE_CODE,
    SNS_CODE,
    InvalidEventError,
    InvalidPatternError,
    PatternSyntaxError,
)
from eventmesh.patterns._explain import explain
from eventmesh.patterns._json import parse_json
from eventmesh.patterns._machine import Machine
from eventmesh.patterns._numbers import eventbridge_number, sns_number
from eventmesh.patterns._parse import NESTED_SCOPE_REASON, Dialect, OutOfRangeNumber, SubRule, compile_tree
from eventmesh.patterns._stats import RuleSetStatistics, machine_statistics
from eventmesh.patterns._text import raw_json
from eventmesh.patterns.sns_policy import (
    SCOPES,
    attributes_to_event,
    check_policy_limits,
    invalid_scope_message,
)

__all__ = [
    "Pattern",
    "FilterPolicy",
    "RuleSet",
    "compile_pattern",
    "compile_filter_policy",
    "test_event_pattern",
    "TEST_EVENT_REQUIRED_FIELDS",
]

# TestEventPattern refuses an Event without these envelope fields. The API reference also lists
# "resources", but AWS accepts an event without it (recorded answers):
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html
TEST_EVENT_REQUIRED_FIELDS = ("id", "account", "source", "time", "region", "detail-type")

EVENTBRIDGE = Dialect("eventbridge", eventbridge_number)
FLAVORS = ("eventbridge", "sns")
# SNS answers a policy number beyond +/-1e9 with a server-side error (recorded by moto's tests).
SNS_INTERNAL_ERROR_CODE = "InternalError"


def _as_text(pattern: str | bytes | Mapping[str, Any]) -> str:
    if isinstance(pattern, (bytes, bytearray)):
        return bytes(pattern).decode("utf-8")
    if isinstance(pattern, Mapping):
        return json.dumps(pattern)
    return pattern


def compile_event_pattern(text: str) -> list[SubRule]:
    """EventBridge pattern text -> sub-rules, or InvalidEventPatternException."""
    if len(text) > EVENT_PATTERN_MAX_CHARS:
        raise InvalidPatternError(
            EVENTBRIDGE_CODE, f"Event pattern is longer than {EVENT_PATTERN_MAX_CHARS} characters"
        )
    try:
        return compile_tree(parse_json(text), EVENTBRIDGE)
    except PatternSyntaxError as exc:
        raise InvalidPatternError(EVENTBRIDGE_CODE, exc.reason) from None


def sns_dialect(scope: str) -> Dialect:
    if scope not in SCOPES:
        raise InvalidPatternError(
            SNS_CODE, f"FilterPolicyScope: Invalid value [{scope}]", invalid_scope_message(scope)
        )
    return Dialect("sns", sns_number, nested=scope == "MessageBody", empty_matches_all=True)


def compile_sns_policy(text: str, scope: str) -> list[SubRule]:
    """SNS filter policy text -> sub-rules, or InvalidParameter with SNS's message."""
    dialect = sns_dialect(scope)
    if len(text.encode("utf-8")) > FILTER_POLICY_MAX_BYTES:
        raise InvalidPatternError(SNS_CODE, "Filter policy is too long")
    try:
        tree = parse_json(text)
    except PatternSyntaxError as exc:
        raise InvalidPatternError(SNS_CODE, "failed to parse JSON. " + exc.reason) from None
    try:
        subrules = compile_tree(tree, dialect)
        check_policy_limits(tree)
    except OutOfRangeNumber as exc:
        raise InvalidPatternError(SNS_INTERNAL_ERROR_CODE, exc.reason, "Internal Error") from None
    except PatternSyntaxError as exc:
        message = "Invalid parameter: " + exc.reason if exc.reason == NESTED_SCOPE_REASON else None
        raise InvalidPatternError(SNS_CODE, exc.reason, message) from None
    return subrules


class RuleSet:
    """Many named patterns matched together: ``matches(event)`` decodes the event once and returns the
    names of every rule that matches, at a cost that grows with the event's fields, not the rules.

    ``RuleSet()`` holds EventBridge patterns; ``RuleSet(flavor="sns", scope="MessageBody")`` holds SNS
    filter policies and is asked ``matches(body=..., attributes=...)``. ``engine`` picks the hot-path
    implementation (``"python"``, ``"c"`` or ``"auto"``; None reads EVENTMESH_PATTERNS_ENGINE, see
    _engines.py). Like the cores that own one, a RuleSet belongs to one thread: rules are not added or
    removed while another thread matches on it.
    """

    def __init__(
        self, flavor: str = "eventbridge", scope: str = "MessageAttributes", *, engine: str | None = None
    ) -> None:
        if flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {FLAVORS}, not {flavor!r}")
        self.flavor = flavor
        self.scope = scope
        if flavor == "sns":
            sns_dialect(scope)  # validates the scope
        self._machine = Machine(sns_number if flavor == "sns" else eventbridge_number, resolve(engine))
        self._match_all: set[Hashable] = set()  # SNS rules with an empty policy
        self._decoder = msgspec.json.Decoder()
        if flavor == "eventbridge":
            # ``match_event(event)``: ``matches`` for an event already decoded to a dict (a bus's
            # case), straight to the machine: two Python calls less per event.
            self.match_event: Callable[[dict[str, Any]], set[Hashable]] = self._machine.match
            # ``batch_matcher()``: match_event for a batch of events, valid until a rule is added or
            # removed (one call per event into the compiled engine, no Python frame).
            self.batch_matcher = self._machine.batch_match

    def add(self, name: Hashable, pattern: str | bytes | Mapping[str, Any]) -> None:
        """Compile and add (or replace) a rule. Raises InvalidPatternError for a rejected pattern."""
        text = _as_text(pattern)
        subrules = (
            compile_sns_policy(text, self.scope) if self.flavor == "sns" else compile_event_pattern(text)
        )
        self.remove(name)
        if subrules == [{}]:
            self._match_all.add(name)
        self._machine.add(name, subrules)

    def remove(self, name: Hashable) -> bool:
        self._match_all.discard(name)
        return self._machine.remove(name)

    def __len__(self) -> int:
        return len(self._machine)

    def __contains__(self, name: Hashable) -> bool:
        return name in self._machine

    def names(self) -> list[Hashable]:
        return list(self._machine.rules())

    def statistics(self) -> RuleSetStatistics:
        """Rules, sub-rules, states, edges, conditions and the memory the compiled machine holds
        (``memory_bytes``, ``bytes_per_rule``). O(size of the rule set): read it when asked."""
        return machine_statistics(self._machine)

    def decode(self, event: str | bytes | Mapping[str, Any]) -> dict[str, Any] | None:
        """The event as a dict, or None when it is not a JSON object."""
        if isinstance(event, (str, bytes, bytearray, memoryview)):
            raw = event
            try:
                event = self._decoder.decode(raw)
            except msgspec.DecodeError:
                try:  # msgspec refuses some JSON the stdlib reads (integers beyond 64 bits)
                    event = json.loads(raw if isinstance(raw, str) else bytes(raw))
                except ValueError:
                    return None
        if isinstance(event, dict):
            return event
        if isinstance(event, Mapping):
            return dict(event)
        return None

    def sns_event(
        self, body: str | bytes | None, attributes: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        if self.scope == "MessageBody":
            return self.decode(body) if body is not None else None
        return attributes_to_event(attributes or {}, self._decoder.decode)

    def matches(
        self,
        event: str | bytes | Mapping[str, Any] | None = None,
        *,
        body: str | bytes | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> set[Hashable]:
        """Names of the rules matching the event (EventBridge), or the message (SNS: ``body`` and/or
        ``attributes`` in the SNS MessageAttributes shape, per the rule set's scope)."""
        if type(event) is dict and self.flavor != "sns":  # the bus's case: an event decoded once
            return self._machine.match(event)
        text = body if self.flavor == "sns" and self.scope == "MessageBody" else event
        if (type(text) is str or type(text) is bytes) and self._machine.engine == C:  # as text where exact
            raw = raw_json(text)
            if raw is not None:
                return self._machine.match(raw)
        if self.flavor == "sns":
            decoded = self.sns_event(body, attributes)
        elif type(event) is bytes or type(event) is str:
            try:
                decoded = self._decoder.decode(event)
            except msgspec.DecodeError:
                decoded = self.decode(event)
            if type(decoded) is not dict:
                decoded = None
        else:
            decoded = self.decode(event)  # type: ignore[arg-type]
        if decoded is None:
            return set(self._match_all)
        return self._machine.match(decoded)


class Pattern:
    """A compiled EventBridge event pattern (also used for Lambda event-source-mapping filters)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._rules = RuleSet()
        self._rules.add(0, text)

    def matches(self, event: str | bytes | Mapping[str, Any]) -> bool:
        """True when the event (JSON text, bytes or a mapping) matches, as TestEventPattern answers."""
        return bool(self._rules.matches(event))

    def explain(self, event: str | bytes | Mapping[str, Any]) -> str | None:
        """None when the event matches; otherwise which field and condition failed."""
        decoded = self._rules.decode(event)
        if decoded is None:
            return "the event is not a JSON object"
        if self.matches(decoded):
            return None
        return explain(self._rules._machine, decoded)

    def __repr__(self) -> str:
        return f"Pattern({self.text!r})"


class FilterPolicy:
    """A compiled SNS subscription filter policy for one FilterPolicyScope."""

    def __init__(self, text: str, scope: str = "MessageAttributes") -> None:
        self.text = text
        self.scope = scope
        self._rules = RuleSet(flavor="sns", scope=scope)
        self._rules.add(0, text)

    def matches(self, body: str | bytes | None = None, attributes: Mapping[str, Any] | None = None) -> bool:
        """True when a message with this body / MessageAttributes would be delivered."""
        return bool(self._rules.matches(body=body, attributes=attributes))

    def explain(
        self, body: str | bytes | None = None, attributes: Mapping[str, Any] | None = None
    ) -> str | None:
        event = self._rules.sns_event(body, attributes)
        if self.matches(body, attributes):
            return None
        if event is None:
            return "the message body is not a JSON object"
        return explain(self._rules._machine, event)

    def __repr__(self) -> str:
        return f"FilterPolicy({self.text!r}, scope={self.scope!r})"


def compile_pattern(text: str | bytes | Mapping[str, Any]) -> Pattern:
    """Compile an EventBridge event pattern; raises InvalidPatternError (InvalidEventPatternException)."""
    return Pattern(_as_text(text))


def compile_filter_policy(
    text: str | bytes | Mapping[str, Any], scope: str = "MessageAttributes"
) -> FilterPolicy:
    """Compile an SNS filter policy for ``scope`` (``MessageAttributes`` or ``MessageBody``); raises
    InvalidPatternError (InvalidParameter)."""
    return FilterPolicy(_as_text(text), scope)


def test_event_pattern(
    pattern: str | bytes | Mapping[str, Any], event: str | bytes | Mapping[str, Any]
) -> bool:
    """EventBridge TestEventPattern: the pattern is compiled first (InvalidPatternError), then the
    event must be a JSON object with the envelope fields (InvalidEventError), then the answer."""
    compiled = compile_pattern(pattern)
    decoded = compiled._rules.decode(event)
    if decoded is None or any(name not in decoded for name in TEST_EVENT_REQUIRED_FIELDS):
        raise InvalidEventError()
    return compiled.matches(decoded)
