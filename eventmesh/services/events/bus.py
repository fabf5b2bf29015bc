"""EventBridge event buses: PutEvents, rules, matching and dispatch to targets.

Everything that decides which targets an event reaches lives here. Every account/Region has
the bus ``default``; custom buses are created (≤ 100 per account). ``PutEvents`` takes 1–10
entries totalling < 256 KB and answers one result per entry in a 200; an entry for a bus that
does not exist is accepted and dropped. Each event is matched **once** against every enabled
rule of its bus by the pattern engine's many-rule matcher; each matched rule's targets (≤ 5)
get the event, or their Input / InputPath / InputTransformer rendering. Schedule rules (default
bus only) fire from one clock timer each.
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html

Cost per event: one JSON decode of ``Detail``, one encode of the envelope, one ``RuleSet``
match (O(fields of the event), independent of the rule count), and per (target, request) one
delivery carrying every event of the request bound for that target (the request's deliveries
go out as one ``Mesh.deliver_batch``).
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any, ClassVar

import msgspec

from eventmesh import twins
from eventmesh.effects import DELIVERED, Delivery, DeliveryResult, Outcome
from eventmesh.histogram import Histogram, HistogramSnapshot
from eventmesh.mesh import DeliveryPart, Mesh
from eventmesh.patterns import InvalidPatternError, RuleSet, compile_pattern, decoded_detail, envelope_json
from eventmesh.quotas import Quota, quota_value
from eventmesh.services.events.errors import (
    LIMIT_EXCEEDED_MESSAGE,
    InvalidEventPatternException,
    LimitExceededException,
    ResourceNotFoundException,
    ValidationException,
)
from eventmesh.services.events.records import (
    RESERVED_SOURCE_PREFIX,
    SCHEDULED_EVENT_DETAIL_TYPE,
    SCHEDULED_EVENT_SOURCE,
    PutEventsRequestEntry,
    PutEventsResultEntry,
    forwarded_event,
    iso_seconds,
    lambda_result_event,
)
from eventmesh.services.events.schedules import ScheduleTimer, parse_schedule
from eventmesh.services.events.targets import (
    HOPS_ATTRIBUTE,
    LOOP_ERROR_CODE,
    MAX_BUS_HOPS,
    RuleCounters,
    RuleTarget,
    TargetDelivery,
    check_target_arn,
)
from eventmesh.services.events.transform import RenderContext, TransformFailed

__all__ = ["EventBus", "Rule", "BusStatistics", "RuleStatistics", "bus_arn", "compile_event_pattern",
           "DEFAULT_BUS_NAME", "RULES_PER_BUS", "RULES_PER_BUS_QUOTA", "TARGETS_PER_RULE", "EVENT_PATTERN_QUOTA_CHARS",
           "LATENCY_BUCKETS_MS"]

DEFAULT_BUS_NAME = "default"
RULES_PER_BUS = 300                 # quota "Rules per event bus" (adjustable)
RULES_PER_BUS_QUOTA = Quota("events", "Rules per event bus", RULES_PER_BUS)
TARGETS_PER_RULE = 5
# Quota "Event pattern size": 2,048 characters by default, adjustable up to the 4,096 the API takes
# (patterns.EVENT_PATTERN_QUOTA_CHARS). https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
EVENT_PATTERN_QUOTA_CHARS = 2048
RULE_STATES = ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
LATENCY_BUCKETS_MS = (1.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1_000.0, 5_000.0, 60_000.0, 600_000.0)
RULE_NAME_MAX_CHARS = 64
_NAME_PATTERN = r"[\.\-_A-Za-z0-9]+"
_NAME = re.compile(_NAME_PATTERN)
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

# The per-event loop's implementation: ``auto`` (the default: ingest's C twin in _speedups.c when
# it was built at install, else Python), ``python``, or ``c`` (an error when it is not built).
# Read once, when this module is imported (``compiled_ingest`` here, ``compiled_entries`` in
# service.py; tests set them to compare the two).
ENGINE_ENV = "EVENTMESH_EVENTS_ENGINE"


def check_name(value: str, member: str, max_chars: int = RULE_NAME_MAX_CHARS) -> None:
    """Rule and target names: 1–64 characters of ``[.-_A-Za-z0-9]``, in AWS's words."""
    if not _NAME.fullmatch(value) or len(value) > max_chars:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {_NAME_PATTERN}")


def bus_arn(mesh: Mesh, name_or_arn: str) -> str:
    """The ARN of a bus given by name or ARN."""
    return name_or_arn if name_or_arn.startswith("arn:") else mesh.arn("events", f"event-bus/{name_or_arn}")


def compile_event_pattern(text: str) -> None:
    """Validate an event pattern as PutRule does: InvalidEventPatternException when bad."""
    if len(text) > EVENT_PATTERN_QUOTA_CHARS:
        raise InvalidEventPatternException(
            "Event pattern is not valid. Reason: "
            f"Event pattern exceeds {EVENT_PATTERN_QUOTA_CHARS} characters.")
    try:
        compile_pattern(text)
    except InvalidPatternError as err:
        raise InvalidEventPatternException(err.message) from None


class RuleStatistics(msgspec.Struct, frozen=True):
    """CloudWatch ``AWS/Events`` metrics per rule."""

    invocations: int
    failed_invocations: int
    triggered_rules: int
    dead_letter_invocations: int
    invocations_sent_to_dlq: int
    invocations_failed_to_be_sent_to_dlq: int
    counters: ClassVar[frozenset[str]] = frozenset({
        "invocations", "failed_invocations", "triggered_rules", "dead_letter_invocations",
        "invocations_sent_to_dlq", "invocations_failed_to_be_sent_to_dlq"})


class BusStatistics(msgspec.Struct, frozen=True):
    """CloudWatch ``AWS/Events`` metrics per bus; the latency is in milliseconds."""

    matched_events: int
    ingestion_to_invocation_start_latency: HistogramSnapshot
    counters: ClassVar[frozenset[str]] = frozenset({"matched_events"})
    units: ClassVar[dict[str, str]] = {"ingestion_to_invocation_start_latency": "milliseconds"}


class Rule:
    """A rule: an event pattern and/or a schedule, a state, and up to 5 targets."""

    metric_namespace = "AWS/Events"

    def __init__(self, bus: EventBus, name: str) -> None:
        self.bus = bus
        self.mesh = bus.mesh
        self.name = name
        resource = f"rule/{name}" if bus.name == DEFAULT_BUS_NAME else f"rule/{bus.name}/{name}"
        self.arn = bus.mesh.arn("events", resource)
        self.targets: dict[str, RuleTarget] = {}
        self.target_list: list[RuleTarget] = []
        self.context = RenderContext(self.arn, name, 0.0)
        self.event_pattern: str | None = None
        self.schedule_expression: str | None = None
        self.state = "ENABLED"
        self.description: str | None = None
        self.role_arn: str | None = None
        self.tags: dict[str, str] = {}
        self.schedule: ScheduleTimer | None = None
        self.counters = RuleCounters(bus.mesh, self.arn, bus.latency_ms)

    @property
    def enabled(self) -> bool:
        return self.state != "DISABLED"

    def describe(self) -> dict[str, Any]:
        out = {"Name": self.name, "Arn": self.arn, "EventPattern": self.event_pattern,
               "ScheduleExpression": self.schedule_expression, "State": self.state,
               "Description": self.description, "RoleArn": self.role_arn, "EventBusName": self.bus.name}
        return {k: v for k, v in out.items() if v is not None}

    def statistics(self) -> RuleStatistics:
        c = self.counters
        return RuleStatistics(c.invocations, c.failed_invocations, c.triggered_rules,
                              c.dead_letter_invocations, c.invocations_sent_to_dlq,
                              c.invocations_failed_to_be_sent_to_dlq)

    def metric_dimensions(self) -> dict[str, str]:
        return {"EventBusName": self.bus.name, "RuleName": self.name}

    def close(self) -> None:
        if self.schedule is not None:
            self.schedule.stop()

    def fire_schedule(self, when: float) -> None:
        """Send the Scheduled Event of to this rule's targets."""
        mesh = self.mesh
        event = {"version": "0", "id": self.counters.ids.uuid(), "detail-type": SCHEDULED_EVENT_DETAIL_TYPE,
                 "source": SCHEDULED_EVENT_SOURCE, "account": mesh.account_id, "time": iso_seconds(when),
                 "region": mesh.region, "resources": [self.arn], "detail": {}}
        pending: dict[RuleTarget, tuple[Rule, list[Delivery]]] = {}
        self.counters.triggered_rules += 1
        self.bus._collect(self, event, _encode(event).decode(), when, pending, 0)
        self.bus._dispatch(pending, when)


class EventBus:
    """One event bus: its rules, their compiled matcher, its archives."""

    metric_namespace = "AWS/Events"

    def __init__(self, mesh: Mesh, name: str, *, description: str | None = None,
                 kms_key_identifier: str | None = None, dead_letter_config: Mapping[str, Any] | None = None,
                 tags: Mapping[str, str] | None = None, max_rules: int | None = None) -> None:
        self.mesh = mesh
        self.name = name
        self.arn = bus_arn(mesh, name)
        self.ids = mesh.ids_for(self.arn)   # ids of events it makes: this bus's own random stream
        self.description = description
        self.kms_key_identifier = kms_key_identifier
        self.dead_letter_config = dict(dead_letter_config) if dead_letter_config else None
        self.tags: dict[str, str] = dict(tags or {})
        self.created = self.modified = mesh.clock.now()
        self.policy: dict[str, Any] | None = None  # the resource policy (PutPermission), not enforced
        self.max_rules = max_rules  # None: the account's "Rules per event bus" quota
        self.rules: dict[str, Rule] = {}
        self.archives: dict[str, Any] = {}   # name → archive.Archive
        self._matcher = RuleSet()
        self.matched_events = 0
        self.ingested = 0   # events that reached the bus (matched or not)
        self.latency_ms = Histogram(LATENCY_BUCKETS_MS, sketch=mesh.sketches)  # moved by the rules' target deliveries

    # -- metrics -----------------------------------------------------------------------------

    def statistics(self) -> BusStatistics:
        return BusStatistics(self.matched_events, self.latency_ms.snapshot())

    def metric_dimensions(self) -> dict[str, str]:
        return {"EventBusName": self.name}

    # -- rules -------------------------------------------------------------------------------

    def rule(self, name: str) -> Rule:
        rule = self.rules.get(name)
        if rule is None:
            raise ResourceNotFoundException(f"Rule {name} does not exist on EventBus {self.name}.")
        return rule

    def put_rule(self, name: str, *, event_pattern: str | None = None, schedule_expression: str | None = None,
                 state: str | None = None, description: str | None = None, role_arn: str | None = None,
                 tags: Mapping[str, str] | None = None) -> Rule:
        """Create or replace a rule; omitted fields are cleared, tags only apply on creation."""
        check_name(name, "name")
        if event_pattern is None and schedule_expression is None:
            raise ValidationException("Parameter(s) EventPattern or ScheduleExpression must be specified.")
        if state is not None and state not in RULE_STATES:
            raise ValidationException(f"Parameter State is not valid. Reason: {state} is not a valid state.")
        schedule = None
        if schedule_expression is not None:
            if self.name != DEFAULT_BUS_NAME:
                raise ValidationException("ScheduleExpression is supported only on the default event bus.")
            schedule = parse_schedule(schedule_expression)
        if event_pattern is not None:
            compile_event_pattern(event_pattern)
        rule = self.rules.get(name)
        if rule is None:
            limit = self.max_rules if self.max_rules is not None else quota_value(self.mesh, RULES_PER_BUS_QUOTA)
            if len(self.rules) >= limit:
                raise LimitExceededException(LIMIT_EXCEEDED_MESSAGE)
            rule = self.rules[name] = Rule(self, name)
            rule.tags = dict(tags or {})
            self.mesh.add(rule)
        else:
            self._unindex(rule)
        rule.event_pattern, rule.schedule_expression = event_pattern, schedule_expression
        rule.state, rule.description, rule.role_arn = state or "ENABLED", description, role_arn
        rule.schedule = (None if schedule is None
                         else ScheduleTimer(self.mesh.clock, schedule, rule.fire_schedule))
        self._index(rule)
        return rule

    def set_rule_state(self, name: str, enabled: bool) -> None:
        rule = self.rule(name)
        self._unindex(rule)
        rule.state = "ENABLED" if enabled else "DISABLED"
        self._index(rule)

    def delete_rule(self, name: str, force: bool = False) -> None:
        rule = self.rules.get(name)
        if rule is None:
            return  # DeleteRule of a missing rule succeeds
        if rule.targets:
            raise ValidationException("Rule can't be deleted since it has targets.")
        self._unindex(rule)
        del self.rules[name]
        self.mesh.remove(rule.arn)

    def _index(self, rule: Rule) -> None:
        if not rule.enabled:
            return
        if rule.event_pattern is not None:
            self._matcher.add(rule.name, rule.event_pattern)
        if rule.schedule is not None:
            rule.schedule.start()

    def _unindex(self, rule: Rule) -> None:
        if rule.event_pattern is not None and rule.enabled:
            self._matcher.remove(rule.name)
        if rule.schedule is not None:
            rule.schedule.stop()

    def put_targets(self, rule_name: str, targets: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
        """Add or update targets (by Id); ≤ 5 per rule → LimitExceededException."""
        rule = self.rule(rule_name)
        specs = list(targets)
        for index, spec in enumerate(specs, 1):
            check_name(spec["Id"], f"targets.{index}.member.id")
        for spec in specs:
            check_target_arn(spec)
        compiled = [RuleTarget(spec) for spec in specs]
        new_ids = {t.id for t in compiled} - set(rule.targets)
        if len(rule.targets) + len(new_ids) > TARGETS_PER_RULE:
            raise LimitExceededException(LIMIT_EXCEEDED_MESSAGE)
        for target in compiled:
            rule.targets[target.id] = target
        rule.target_list = list(rule.targets.values())
        return []

    def remove_targets(self, rule_name: str, ids: Iterable[str]) -> list[dict[str, str]]:
        rule = self.rule(rule_name)
        failed = []
        for target_id in ids:
            if rule.targets.pop(target_id, None) is None:
                failed.append({"TargetId": target_id, "ErrorCode": "ResourceNotFoundException",
                               "ErrorMessage": f"Target {target_id} does not exist on rule {rule_name}."})
        rule.target_list = list(rule.targets.values())
        return failed

    def close(self) -> None:
        for rule in list(self.rules.values()):
            rule.targets.clear()
            rule.target_list = []
            self.delete_rule(rule.name)
        for archive in list(self.archives.values()):
            archive.source_deleted()

    # -- events ------------------------------------------------------------------------------

    def ingest(self, events: list[dict[str, Any]], ingested_at: float, *, replay_name: str | None = None,
               only: frozenset[str] | None = None, hops: int = 0,
               traces: Mapping[str, str] | None = None) -> None:
        """Match each event once against every enabled rule and deliver to their targets.

        ``replay_name`` marks replayed events (never archived again); ``only`` restricts a replay
        to the rules of its FilterArns; ``hops`` counts the buses the events came through;
        ``traces`` holds the X-Ray trace header of events that have one, by event id.
        The hot path: keep it on one screen. Its common case has a C twin (``compiled_ingest``,
        _speedups.c): keep the two alike.
        """
        pending: dict[RuleTarget, tuple[Rule, list[Delivery]]] = {}
        self.ingested += len(events)
        matches, rules, collect, envelope = self._matcher.batch_matcher(), self.rules, self._collect_one, envelope_json
        archives = self.archives if replay_name is None else None
        if compiled_ingest is not None and not archives and replay_name is None and only is None and not traces:
            # The common case, this loop's C twin (_speedups.c): the same steps, no trace headers.
            self.matched_events += compiled_ingest(events, matches, envelope, _encode, rules, pending, collect,
                                                   ingested_at, hops)
            if pending:
                self._dispatch(pending, ingested_at)
            return
        trace = None
        matched = 0
        for event in events:
            if replay_name is not None:
                event["replay-name"] = replay_name
            event_json = None
            if archives:
                event_json = envelope(event) or _encode(event).decode()
                for archive in archives.values():
                    archive.offer(event, event_json, ingested_at)
            names: set[Any] = matches(event)
            if only is not None:
                names = names & only
            if not names:
                continue  # encoded only for its archives: no target gets it
            if event_json is None:
                event_json = envelope(event) or _encode(event).decode()  # one pass where the C engine is built
            if traces:
                trace = traces.get(event["id"])
            matched += 1
            if len(names) > 1:   # a set's order follows the hash seed: keep runs reproducible
                names = sorted(names)  # type: ignore[assignment]
            item = None  # what every plain target gets: one Delivery (plain data, never changed) for all
            for name in names:
                rule = rules[name]
                rule.counters.triggered_rules += 1
                for target in rule.target_list:
                    if target.plain:  # the event itself, no group id or other extras
                        if item is None:
                            item = Delivery(event_json, trace_header=trace, json_text=True)
                        entry = pending.get(target)
                        if entry is None:
                            pending[target] = (rule, [item])
                        else:
                            entry[1].append(item)
                    else:
                        collect(rule, target, event, event_json, ingested_at, pending, hops, trace)
        self.matched_events += matched
        if pending:
            self._dispatch(pending, ingested_at)

    def _collect(self, rule: Rule, event: dict[str, Any], event_json: str, ingested_at: float,
                 pending: dict[RuleTarget, tuple[Rule, list[Delivery]]], hops: int) -> None:
        for target in rule.target_list:
            self._collect_one(rule, target, event, event_json, ingested_at, pending, hops)

    @staticmethod
    def _collect_one(rule: Rule, target: RuleTarget, event: dict[str, Any], event_json: str,
                     ingested_at: float, pending: dict[RuleTarget, tuple[Rule, list[Delivery]]],
                     hops: int, trace: str | None = None) -> None:
        payload = event_json
        if target.input is not None or target.partition_key_path is not None:
            decoded_detail(event)  # what a path into the event reads (patterns/_text.py)
        if target.input is not None:
            rule.context.ingestion_time = ingested_at
            try:
                payload = target.input.render(event, event_json, rule.context)
            except TransformFailed:
                rule.counters.invocations += 1  # AWS drops it silently and counts a failed invocation
                rule.counters.failed_invocations += 1
                return
        entry = pending.get(target)
        if entry is None:
            entry = pending[target] = (rule, [])
        entry[1].append(target.delivery(payload, event, hops, trace))

    def _dispatch(self, pending: dict[RuleTarget, tuple[Rule, list[Delivery]]], ingested_at: float) -> None:
        """Each (rule, target)'s events as one delivery, in ``pending`` order: one
        ``Mesh.deliver_batch`` for a run of them, whose parts the mesh carries out as the
        ``Deliver`` effects they stand for (TargetDelivery.send, inline); an HTTP endpoint takes
        one event per request, at its place in the order."""
        parts: list[DeliveryPart] = []
        for target, (rule, items) in pending.items():
            counters = rule.counters
            counters.in_flight += len(items)
            if target.kind == "api":
                if parts:
                    self.mesh.deliver_batch(parts)
                    parts = []
                for item in items:
                    TargetDelivery(counters, target, [item], ingested_at).send()
            else:
                parts.append((target.arn, items, counters.arn,
                              TargetDelivery(counters, target, items, ingested_at).on_result))
        if parts:
            self.mesh.deliver_batch(parts)

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        """Events from a rule on another bus (the envelope, same ``id``) or from a Lambda
        destination (the invocation record becomes ``detail``)."""
        now = self.mesh.clock.now()
        hops = int((items[0].attributes.get(HOPS_ATTRIBUTE) or {}).get("StringValue", 0)) if items else 0
        if hops > MAX_BUS_HOPS:
            return DeliveryResult(Outcome.INVALID, LOOP_ERROR_CODE, f"The event crossed more than {MAX_BUS_HOPS} buses")
        events = []
        traces: dict[str, str] = {}
        for item in items:
            try:
                doc = _decode(item.body)
            except msgspec.DecodeError:
                return DeliveryResult(Outcome.INVALID, "InvalidParameterValue", "The event is not valid JSON")
            if isinstance(doc, dict) and "detail-type" in doc and "source" in doc and "detail" in doc:
                event = forwarded_event(doc, self.ids.uuid, self.mesh.account_id, self.mesh.region, now)
            else:
                event = lambda_result_event(doc, self.ids.uuid(), source_arn, self.mesh.account_id,
                                            self.mesh.region, now, self.arn)
            events.append(event)
            if item.trace_header:
                traces[event["id"]] = item.trace_header
        self.ingest(events, now, hops=hops, traces=traces or None)
        return DELIVERED


def _compiled() -> ModuleType | None:
    """The C twins of the bus's loops as the environment asks for them (see ENGINE_ENV)."""
    speedups, chosen = twins.load(ENGINE_ENV, "eventmesh.services.events._speedups", "the compiled EventBridge loops")
    if speedups is not None:  # told the classes it reads (their slot offsets), once
        speedups.init(Delivery, RuleTarget, RuleCounters, Rule, PutEventsRequestEntry, PutEventsResultEntry,
                      RESERVED_SOURCE_PREFIX)
    return speedups if chosen else None


compiled = _compiled()  # the module: ``entries`` for put_events (service.py), ``ingest`` below
compiled_ingest: Callable[..., int] | None = None if compiled is None else compiled.ingest
