"""``eventmesh test-pattern``: answer as ``aws events test-event-pattern`` does, explain a non-match,
or run a directory of rules over a file of events.

    eventmesh test-pattern --pattern '{"source": ["aws.ec2"]}' --event @event.json     # true / false
    eventmesh test-pattern --pattern @rule.json --event @event.json --explain
    eventmesh test-pattern --rules rules/ --events events.jsonl                        # rule names per event
    eventmesh test-pattern --flavor sns --scope MessageBody --pattern @policy.json --event @body.json

Exit status: 0 match (or ``--rules`` mode done), 1 no match, 2 invalid pattern or event (AWS's message
is printed). The lead's CLI wires ``add_arguments`` and ``run``; ``python -m eventmesh.patterns.cli``
runs it directly.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from eventmesh.patterns._errors import InvalidEventError, InvalidPatternError
from eventmesh.patterns._rules import RuleSet, compile_filter_policy, compile_pattern, test_event_pattern

__all__ = ["add_arguments", "run", "main", "EXIT_MATCH", "EXIT_NO_MATCH", "EXIT_INVALID"]

EXIT_MATCH = 0
EXIT_NO_MATCH = 1
EXIT_INVALID = 2
RULE_FILE_SUFFIXES = (".json",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pattern", help="event pattern / filter policy, inline JSON or @file")
    parser.add_argument(
        "--event",
        help="event (SNS: message body, or attributes with --scope MessageAttributes), inline JSON or @file",
    )
    parser.add_argument(
        "--explain", action="store_true", help="for a non-match, say which field and condition failed"
    )
    parser.add_argument("--rules", metavar="DIR", help="directory of rule files (*.json, name = file stem)")
    parser.add_argument("--events", metavar="FILE", help="events: JSON lines, or one JSON array of events")
    parser.add_argument("--flavor", choices=("eventbridge", "sns"), default="eventbridge")
    parser.add_argument(
        "--scope",
        choices=("MessageAttributes", "MessageBody"),
        default="MessageAttributes",
        help="SNS FilterPolicyScope (with --flavor sns)",
    )
    parser.add_argument(
        "--no-envelope-check",
        action="store_true",
        help="match events that lack TestEventPattern's envelope fields (id, source, ...)",
    )


def _read(value: str) -> str:
    if value.startswith("@"):
        return Path(value[1:]).read_text(encoding="utf-8")
    return value


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        return _run(args, out)
    except OSError as exc:  # a missing or unreadable @file, --rules DIR or --events FILE
        print(f"cannot read {exc.filename}: {exc.strerror}", file=out)
        return EXIT_INVALID


def _run(args: argparse.Namespace, out: TextIO) -> int:
    if args.rules or args.events:
        if not (args.rules and args.events):
            print("--rules and --events go together", file=out)
            return EXIT_INVALID
        return _run_rules(args, out)
    if args.pattern is None or args.event is None:
        print("--pattern and --event are required (or --rules DIR --events FILE)", file=out)
        return EXIT_INVALID
    pattern, event = _read(args.pattern), _read(args.event)
    try:
        if args.flavor == "sns":
            policy = compile_filter_policy(pattern, args.scope)
            body, attributes = (event, None) if args.scope == "MessageBody" else (None, json.loads(event))
            result = policy.matches(body=body, attributes=attributes)
            why = policy.explain(body=body, attributes=attributes) if args.explain and not result else None
        else:
            compiled = compile_pattern(pattern)
            result = compiled.matches(event) if args.no_envelope_check else test_event_pattern(pattern, event)
            why = compiled.explain(event) if args.explain and not result else None
    except (InvalidPatternError, InvalidEventError) as exc:
        print(exc.message, file=out)
        return EXIT_INVALID
    except ValueError as exc:  # attributes that are not JSON
        print(f"invalid input: {exc}", file=out)
        return EXIT_INVALID
    print("true" if result else "false", file=out)
    if why:
        print(why, file=out)
    return EXIT_MATCH if result else EXIT_NO_MATCH


def _load_events(text: str, name: str, objects: bool) -> tuple[list[Any], list[str]]:
    """The events of an --events file (one JSON array, or JSON lines) and the problems found:
    text that is not JSON, by line; an event that is not an object, by its number (``objects``:
    every event must be one, as an EventBridge event or SNS message attributes are)."""
    stripped = text.strip()
    problems: list[str] = []
    found: list[tuple[str, Any]] = []   # (where it is in the file, the event)
    if stripped.startswith("["):
        try:
            found = [(f"event {n}", e) for n, e in enumerate(json.loads(stripped), 1)]
        except ValueError as exc:
            return [], [f"{name}: not a JSON array of events: {exc}"]
    else:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                found.append((f"line {number}", json.loads(line)))
            except ValueError as exc:
                problems.append(f"{name}, line {number}: not JSON: {exc}")
    if objects:
        problems += [f"{name}, {where}: not a JSON object" for where, event in found if not isinstance(event, dict)]
    return [event for _, event in found], problems


def _run_rules(args: argparse.Namespace, out: TextIO) -> int:
    rules = RuleSet(flavor=args.flavor, scope=args.scope)
    invalid = 0
    for path in sorted(Path(args.rules).iterdir()):
        if path.suffix not in RULE_FILE_SUFFIXES:
            continue
        try:
            rules.add(path.stem, path.read_text(encoding="utf-8"))
        except InvalidPatternError as exc:
            print(f"{path.name}: {exc.message}", file=out)
            invalid += 1
    events, problems = _load_events(Path(args.events).read_text(encoding="utf-8"), args.events,
                                    objects=not (args.flavor == "sns" and args.scope == "MessageBody"))
    for problem in problems:
        print(problem, file=out)
    if problems:
        return EXIT_INVALID
    for number, event in enumerate(events, 1):
        if args.flavor == "sns":
            names = (
                rules.matches(body=json.dumps(event))
                if args.scope == "MessageBody"
                else rules.matches(attributes=event)
            )
        else:
            names = rules.matches(event)
        print(f"{number}: {', '.join(sorted(map(str, names))) or '-'}", file=out)
    return EXIT_INVALID if invalid else EXIT_MATCH


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eventmesh test-pattern", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
